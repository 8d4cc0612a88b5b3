"""The command itself: usage, help texts, --debug, install hints."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib

import pytest

from posenet.cli import COMMANDS, build_parser, main, walk
from posenet.commands import models as models_command

from .conftest import ROOT


def test_bare_posenet_prints_the_usage_and_the_commands(capsys):
    """Like argparse with a missing required argument: on stderr, exit 2."""
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: posenet ")
    listed = re.findall(r"^    (\w+) ", captured.err, flags=re.MULTILINE)
    assert listed == list(COMMANDS)


def test_a_command_without_its_verb_prints_its_usage(capsys):
    assert main(["models"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: posenet models ")
    assert re.findall(r"^    (\w+) ", err, flags=re.MULTILINE) == ["list", "pull", "path"]


def test_every_command_has_a_description_and_every_option_a_help_text():
    parsers = list(walk(build_parser()))
    assert len(parsers) == 1 + len(COMMANDS) + 3  # posenet, its commands, models' verbs
    for parser in parsers:
        assert parser.description, f"{parser.prog}: no description"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(a.help for a in action._choices_actions), parser.prog
            else:
                name = action.option_strings or action.dest
                assert action.help and action.help != argparse.SUPPRESS, (parser.prog, name)


@pytest.mark.parametrize(
    "argv", [["models", "list", "-v", "--debug"], ["--debug", "models", "list"]]
)
def test_debug_and_verbose_before_or_after_the_command(argv, capsys):
    assert main(argv) == 0
    assert "coral-075-353x481" in capsys.readouterr().out


def _broken(args: argparse.Namespace) -> int:
    raise RuntimeError("a bug")


def test_internal_error_is_one_line_saying_how_to_see_the_traceback(monkeypatch, capsys):
    monkeypatch.setattr(models_command, "_models_list", _broken)
    monkeypatch.delenv("POSENET_DEBUG", raising=False)
    assert main(["models", "list"]) == 1
    assert capsys.readouterr().err == (
        "posenet: internal error: RuntimeError: a bug "
        "(--debug or POSENET_DEBUG=1 shows the traceback)\n"
    )


@pytest.mark.parametrize("how", ["--debug", "POSENET_DEBUG=1"])
def test_debug_shows_the_traceback_of_an_internal_error(how, monkeypatch, capsys):
    monkeypatch.setattr(models_command, "_models_list", _broken)
    monkeypatch.delenv("POSENET_DEBUG", raising=False)
    argv = ["models", "list"]
    if how == "--debug":
        argv.append("--debug")
    else:
        monkeypatch.setenv("POSENET_DEBUG", "1")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("a bug")' in err
    assert err.endswith("posenet: internal error: RuntimeError: a bug\n")


def test_posenet_debug_0_is_off(monkeypatch, capsys):
    monkeypatch.setattr(models_command, "_models_list", _broken)
    monkeypatch.setenv("POSENET_DEBUG", "0")
    assert main(["models", "list"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_a_user_error_under_debug_is_still_one_line_and_exit_2(tmp_path):
    """Through a real process: a missing image is the user's to fix, not a bug."""
    proc = subprocess.run(
        [sys.executable, "-m", "posenet.cli", "detect", "nothing.jpg", "--debug"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "posenet: error: nothing.jpg: no such file or folder\n"


def test_install_hints_name_the_distribution():
    """The public index has an unrelated `posenet`: every hint names posenet-toolkit."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "posenet-toolkit"
    hints = []
    for path in [*(ROOT / "src").rglob("*.py"), ROOT / "README.md", *(ROOT / "scripts").iterdir()]:
        hints += re.findall(r"pip install[^\n]*?['\"]?([\w.-]+)\[", path.read_text())
    named = set(hints) - {"."}  # scripts/setup installs the checkout itself: pip install -e .
    assert len(hints) > 3 and named == {"posenet-toolkit"}, hints
    extras = set(project["optional-dependencies"])
    for path in (ROOT / "src").rglob("*.py"):
        for extra in re.findall(r"posenet-toolkit\[(\w+)\]", path.read_text()):
            assert extra in extras, (path, extra)
