"""Bad input gets one clear line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from posenet.cli import main

from .conftest import CORAL, IMAGES
from .fuzzing import run_cli
from .helpers import png_bomb


def _bad_inputs(tmp: Path) -> dict[str, list[str]]:
    text = tmp / "notes.txt"
    text.write_text("hello\n")
    empty = tmp / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp / "truncated.jpg"
    truncated.write_bytes((IMAGES / "test_couple.jpg").read_bytes()[:20000])
    no_images = tmp / "no-images"
    no_images.mkdir()
    (no_images / "readme.txt").write_text("nothing to see")
    fake_model = tmp / "fake.tflite"
    fake_model.write_text("this is not a model\n")
    bomb = png_bomb(tmp / "bomb.png", 30000, 30000)
    couple = str(IMAGES / "test_couple.jpg")
    edgetpu = CORAL / "posenet_mobilenet_v1_075_353_481_quant_decoder_edgetpu.tflite"
    return {
        "missing file": ["detect", str(tmp / "missing.jpg")],
        "folder without images": ["detect", str(no_images)],
        "text file": ["detect", str(text)],
        "0-byte file": ["detect", str(empty)],
        "truncated jpeg": ["detect", str(truncated)],
        "decompression bomb": ["detect", str(bomb)],
        "edge tpu model": ["detect", couple, "--model", str(edgetpu)],
        "text file named .tflite": ["detect", couple, "--model", str(fake_model)],
        "unknown model name": ["detect", couple, "--model", "no-such-model"],
        "unknown option": ["detect", couple, "--no-such-flag"],
        "bad max poses": ["detect", couple, "--max-poses", "-1"],
        "bad min score": ["detect", couple, "--min-score", "1.5"],
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "folder without images",
        "text file",
        "0-byte file",
        "truncated jpeg",
        "decompression bomb",
        "edge tpu model",
        "text file named .tflite",
        "unknown model name",
        "unknown option",
        "bad max poses",
        "bad min score",
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    argv = _bad_inputs(tmp_path)[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("posenet: error: ")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_decompression_bomb_is_refused_for_its_size(tmp_path, capsys, monkeypatch):
    bomb = png_bomb(tmp_path / "bomb.png", 30000, 30000)
    with monkeypatch.context() as unlimited:  # a well-formed PNG Pillow would decode
        unlimited.setattr(Image, "MAX_IMAGE_PIXELS", None)
        with Image.open(bomb) as check:
            assert check.size == (30000, 30000)
    assert main(["detect", str(bomb)]) == 2
    assert "too large" in capsys.readouterr().err


def test_edge_tpu_message_names_the_cpu_model(tmp_path, capsys):
    main(_bad_inputs(tmp_path)["edge tpu model"])
    err = capsys.readouterr().err
    assert "Edge TPU" in err and "coral-075-353x481" in err


def test_real_process_exit_code_and_clean_stderr(tmp_path):
    """Through the installed console script: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "posenet.cli", "detect", str(tmp_path / "nope.jpg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"posenet: error: {tmp_path / 'nope.jpg'}: no such file or folder\n"


def test_importing_the_cli_is_light():
    """posenet/__init__ imports its public names lazily: until main() runs, nothing heavy
    is loaded, so Ctrl-C at start-up reaches main's one-line handler."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, posenet.cli; print(sorted({'numpy', 'PIL', "
            "'numba', 'ai_edge_litert'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.strip() == "[]"


def test_interrupt_while_importing_is_one_line(capsys, monkeypatch):
    def interrupted(name: str, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr("importlib.import_module", interrupted)
    assert main(["detect", "x.jpg"]) == 130
    assert capsys.readouterr().err == "posenet: interrupted\n"


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    """A real SIGINT while the model is being fetched from a mirror that never answers."""
    with socket.socket() as mirror:
        mirror.bind(("127.0.0.1", 0))
        mirror.listen(1)
        env = {
            "POSENET_HOME": str(tmp_path),
            "POSENET_MIRROR": f"http://127.0.0.1:{mirror.getsockname()[1]}",
            "POSENET_OFFLINE": "1",
        }
        argv = ["detect", str(IMAGES / "frisbee.jpg"), "--model", "tfjs-075"]  # not embedded
        outcome = run_cli(argv, env, interrupt_after=3.0)
    assert outcome.returncode == 130 and "Traceback" not in outcome.stderr
    assert outcome.stderr_lines[-1] == "posenet: interrupted"  # after the fetch's own line


def test_internal_errors_are_one_line_and_debug_shows_the_traceback(capsys, monkeypatch):
    def bug(*args):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr("posenet.store.is_cached", bug)
    assert main(["models", "list"]) == 1
    assert capsys.readouterr().err == (
        "posenet: internal error: RuntimeError: a bug "
        "(--debug or POSENET_DEBUG=1 shows the traceback)\n"
    )
    assert main(["--debug", "models", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and 'raise RuntimeError("a bug' in err
    logging.getLogger("posenet").setLevel(logging.NOTSET)
