"""Writing outputs: replaced through a temporary file renamed into place, inputs never."""

from __future__ import annotations

import os
import stat

import pytest

from posenet.errors import PosenetError
from posenet.files import Inputs, atomic_writer, check_output, same_file, write_atomic


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("the earlier run's")
    with pytest.raises(KeyboardInterrupt), atomic_writer(target) as out:
        out.write(b"half of the new")
        raise KeyboardInterrupt
    assert target.read_text() == "the earlier run's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_files_get_the_mode_of_any_new_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "a", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o666 & ~umask


def test_inputs_are_known_by_real_path_and_by_inode(tmp_path):
    source = tmp_path / "in.jpg"
    source.write_bytes(b"pixels")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jpg").symlink_to(source)
    os.link(source, tmp_path / "hard.jpg")
    inputs = Inputs([tmp_path / "sub" / ".." / "in.jpg"])
    for alias in ("in.jpg", "link.jpg", "hard.jpg", "sub/../in.jpg"):
        assert tmp_path / alias in inputs and same_file(tmp_path / alias, source)
        with pytest.raises(PosenetError, match="is one of the inputs"):
            check_output(tmp_path / alias, inputs=inputs)
    assert tmp_path / "other.jpg" not in inputs
    assert check_output(tmp_path / "other.jpg", inputs=inputs) == tmp_path / "other.jpg"
    assert source.read_bytes() == b"pixels"
