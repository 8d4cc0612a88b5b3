"""Shared fixtures: the read-only assets in ../shared/assets, never copied.

POSENET_ASSETS names another assets folder; without one the session stops at once.
The K210 tests use the nncase environment `posenet export --format k210` uses
(export.k210.nncase_venv(): POSENET_NNCASE_VENV, else the user's posenet cache),
fixed here before each test points POSENET_HOME at a temporary cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posenet.export.k210 import nncase_venv

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
MODELS = ASSETS / "models"
IMAGES = ASSETS / "images"
REFERENCE = ASSETS / "reference"
CORAL = MODELS / "coral"


def pytest_configure(config: pytest.Config) -> None:
    """Without the shared assets every test would fail: stop at once, in one line."""
    if not (MODELS.is_dir() and IMAGES.is_dir() and REFERENCE.is_dir()):
        pytest.exit(
            f"the tests need the shared assets (models, images, reference outputs) at "
            f"{ASSETS}, which is missing or incomplete: put them there or set POSENET_ASSETS "
            "to their folder",
            returncode=4,
        )
    os.environ["POSENET_NNCASE_VENV"] = str(nncase_venv())  # one venv, the export's own


def coral_model(size: str) -> Path:
    """Path of a Coral `_quant_decoder` model, size as 'HHH_WWW'."""
    return CORAL / f"posenet_mobilenet_v1_075_{size}_quant_decoder.tflite"


@pytest.fixture(scope="session")
def couple_path() -> Path:
    return IMAGES / "test_couple.jpg"


@pytest.fixture(scope="session")
def couple(couple_path: Path) -> np.ndarray:
    return np.asarray(Image.open(couple_path).convert("RGB"))


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test session gets its own model cache, with ../shared/assets/models as the
    mirror and no public downloads, so the suite behaves the same with or without network."""
    home = tmp_path_factory.getbasetemp() / "posenet-home"
    monkeypatch.setenv("POSENET_HOME", str(home))
    monkeypatch.setenv("POSENET_MIRROR", str(MODELS))
    monkeypatch.setenv("POSENET_OFFLINE", "1")  # tests never reach for the internet
