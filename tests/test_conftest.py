"""The test suite itself: without the shared assets it says so in one line, at once."""

from __future__ import annotations

import os
import subprocess
import sys

from posenet import store
from posenet.export import k210

from .conftest import ROOT


def test_without_the_assets_pytest_stops_with_one_line_naming_the_folder(tmp_path):
    empty = tmp_path / "no-assets"
    empty.mkdir()
    env = {**os.environ, "POSENET_ASSETS": str(empty)}
    for quiet in ([], ["-q"]):
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *quiet, "-p", "no:cacheprovider", "tests"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            env=env,
        )
        lines = (proc.stdout + proc.stderr).splitlines()
        assert proc.returncode != 0 and len(lines) == 1, lines
        assert f"shared assets (models, images, reference outputs) at {empty}" in lines[0]
        assert "POSENET_ASSETS" in lines[0]


def test_the_tests_and_the_export_share_one_nncase_environment(monkeypatch, tmp_path):
    """The export's default is the user's posenet cache; the suite pins that same folder
    before each test moves POSENET_HOME, unless POSENET_NNCASE_VENV names another."""
    pinned = os.environ["POSENET_NNCASE_VENV"]
    monkeypatch.delenv("POSENET_NNCASE_VENV")
    monkeypatch.setenv("POSENET_HOME", str(tmp_path))
    assert k210.nncase_venv() == store.home() / "nncase-venv"
    monkeypatch.setenv("POSENET_NNCASE_VENV", pinned)
    assert k210.nncase_venv() == type(k210.nncase_venv())(pinned)
