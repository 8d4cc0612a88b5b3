"""Reading what users hand us: bounded, never blocking, and honest about what is wrong."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from posenet._inputs import (
    MAX_JSON_DEPTH,
    check_exists,
    open_input,
    read_input,
    read_json,
    resolve_inside,
)
from posenet.cli import main
from posenet.errors import PosenetError

from .conftest import IMAGES, MODELS


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(PosenetError) as caught:
        call()
    return str(caught.value)


def _unprivileged(call: Callable[[], object]) -> str:
    """The PosenetError message of call() made by a user without root's power to read
    anything: as root, in a forked child that becomes nobody first."""
    if os.geteuid() != 0:
        return _message(call)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's cleanup
        try:
            os.setgid(65534)
            os.setuid(65534)
            call()
            text = "no error"
        except PosenetError as exc:
            text = str(exc)
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}"
        os.write(write_end, text.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    return text


def test_what_is_not_a_regular_file_is_named(tmp_path: Path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    assert "is a FIFO (named pipe), expected a regular image" in _message(
        lambda: open_input(fifo, "image")
    )
    assert "is a device" in _message(lambda: read_input("/dev/zero", 100))
    assert "is a folder" in _message(lambda: open_input(tmp_path))
    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    assert _message(lambda: open_input(loop)).endswith("is a symlink loop")
    dangling = tmp_path / "dangling.jpg"
    dangling.symlink_to(tmp_path / "gone.jpg")
    assert "is a symlink to" in _message(lambda: check_exists(dangling))
    assert "no such file" in _message(lambda: check_exists(tmp_path / "none"))
    assert "NUL" in _message(lambda: open_input("a\0b"))
    assert "too long" in _message(lambda: open_input(tmp_path / ("x" * 5000)))


def test_unreadable_file_says_permission(tmp_path: Path):
    private = tmp_path / "private.jpg"
    private.write_bytes((IMAGES / "frisbee.jpg").read_bytes())
    private.chmod(0)
    assert "permission denied (cannot read this image)" in _unprivileged(
        lambda: open_input(private, "image")
    )


def test_sizes_are_checked_before_reading(tmp_path: Path):
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(1000))
    assert len(read_input(path, 1000)) == 1000
    assert "1,000 bytes is too large for a weight shard (at most 999 bytes)" in _message(
        lambda: read_input(path, 999, "weight shard")
    )


def test_json_is_bounded(tmp_path: Path):
    path = tmp_path / "model.json"
    path.write_text("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert f"nested {MAX_JSON_DEPTH + 1}+ levels deep" in _message(lambda: read_json(path))
    path.write_text("[" * 100_000 + "]" * 100_000)  # past Python's recursion limit
    assert "nested too deeply" in _message(lambda: read_json(path))
    path.write_text("[1" + "0" * 5000 + "]")  # past int's 4300-digit limit: a ValueError
    assert "not a JSON file" in _message(lambda: read_json(path))
    path.write_bytes(b'{"a": "\xff"}')
    assert "not UTF-8" in _message(lambda: read_json(path))
    path.write_bytes(b'\xef\xbb\xbf{"a": [1]}')  # a byte order mark is fine
    assert read_json(path) == {"a": [1]}


def test_manifest_paths_stay_inside_the_model_folder(tmp_path: Path):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "outside.bin").write_bytes(b"x")
    (folder / "link.bin").symlink_to(tmp_path / "outside.bin")
    (folder / "loop.bin").symlink_to(folder / "loop.bin")
    (folder / "ok.bin").write_bytes(b"x")
    assert resolve_inside(folder, "ok.bin", "m.json", "shard") == (folder / "ok.bin").resolve()
    for name in ("../outside.bin", str(tmp_path / "outside.bin"), "link.bin"):
        assert "is outside the model's folder" in _message(
            lambda name=name: resolve_inside(folder, name, "m.json", "shard")
        )
    assert "symlink loop" in _message(lambda: resolve_inside(folder, "loop.bin", "m", "shard"))
    for bad in (None, 5, "", "a\0b", ["x"]):
        assert "is not a file name" in _message(
            lambda bad=bad: resolve_inside(folder, bad, "m", "shard")
        )


@pytest.mark.parametrize("case", ["fifo", "loop", "dangling", "folder", "device", "permission"])
def test_detect_says_what_is_wrong_with_an_image(case: str, tmp_path: Path, capsys):
    """The issue's dishonest messages: a FIFO was 'empty (0 bytes)', a symlink loop 'no
    such file', an unreadable file a 'damaged image'."""
    path = tmp_path / "image.jpg"
    expected = {
        "fifo": "is a FIFO (named pipe)",
        "loop": "is a symlink loop",
        "dangling": "is a symlink to",
        "folder": "folder contains no images",
        "device": "is a device",
        "permission": "permission denied",
    }[case]
    if case == "fifo":
        os.mkfifo(path)
    elif case == "loop":
        path.symlink_to(path)
    elif case == "dangling":
        path.symlink_to(tmp_path / "gone.jpg")
    elif case == "folder":
        path.mkdir()
    elif case == "device":
        path.symlink_to("/dev/zero")
    else:
        path.write_bytes((IMAGES / "frisbee.jpg").read_bytes())
        path.chmod(0)
        assert expected in _unprivileged(lambda: _cli_error(["detect", str(path)], capsys))
        return
    code = main(["detect", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and expected in err, err


def _cli_error(argv: list[str], capsys) -> None:
    """Run the CLI; raise what it printed on stderr, with its exit code, as a PosenetError."""
    code = main(argv)
    raise PosenetError(f"exit {code}: {capsys.readouterr().err.strip()}")


def test_a_manifest_naming_a_looping_shard_is_one_line(tmp_path: Path, capsys):
    """The shard is checked by detect's input protection (real paths) and by the reader."""
    model = json.loads(
        (MODELS / "tfjs" / "posenet-mobilenet-float-075" / "posenet.json").read_text()
    )
    model["weightsManifest"][0]["paths"] = ["loop.bin"]
    (tmp_path / "posenet.json").write_text(json.dumps(model))
    (tmp_path / "loop.bin").symlink_to(tmp_path / "loop.bin")
    code = main(["detect", str(IMAGES / "frisbee.jpg"), "--model", str(tmp_path / "posenet.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'loop.bin' is a symlink loop" in err, err
