"""The user's files: the images named on a command line, and writing safely (outputs, cache).

Every command that writes checks its outputs before it starts working (so a bad
path fails in a second, not after a long run) and writes through a temporary
file in the same folder, renamed into place (so an interrupted run never leaves
half a file, and a reader never sees one). Re-running a command replaces what it
wrote before; what is never written over is anything the user gave as input,
compared by real path, and anything that is not a regular file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import PosenetError
from .image import IMAGE_SUFFIXES, find_images

__all__ = [
    "IMAGE_SUFFIXES",
    "Inputs",
    "atomic_writer",
    "check_output",
    "find_images",
    "same_file",
    "save_image",
    "write_atomic",
]


class Inputs:
    """The files a command reads, to check its outputs against: each known by its real
    path and by its inode (a hard link has another path), computed once, so that
    checking many outputs against many inputs stays linear."""

    def __init__(self, paths: Iterable[str | Path] = ()) -> None:
        self._real: set[Path] = set()
        self._inodes: set[tuple[int, int]] = set()
        for path in paths:
            self._real.add(_real_path(path))
            if inode := _inode(path):
                self._inodes.add(inode)

    def __contains__(self, path: str | Path) -> bool:
        if _real_path(path) in self._real:
            return True
        inode = _inode(path)
        return inode is not None and inode in self._inodes


def _real_path(path: str | Path) -> Path:
    """The path with symbolic links resolved; a symlink loop resolves as far as it can
    (Path.resolve raises RuntimeError on one: a model naming a looping shard did)."""
    return Path(os.path.realpath(path))


def check_output(path: str | Path, *, inputs: Inputs | Iterable[str | Path] = ()) -> Path:
    """`path` as a Path if it may be written (created or replaced); PosenetError saying why not.

    Refused: an empty path, a folder (or a name ending in a separator), one of
    `inputs` (the same file by any path: symbolic links, `..`, hard links),
    anything but a regular file (a symbolic link, a device, a pipe), a missing
    parent folder, and a place that cannot be written, found by trying:
    permission bits alone would pass root on a read-only or pseudo file system.
    """
    text = str(path)
    if not text.strip():
        raise PosenetError("an output path is empty")
    path = Path(path)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise PosenetError(f"{path}: is a folder, expected a file name")
    if path in (inputs if isinstance(inputs, Inputs) else Inputs(inputs)):
        raise PosenetError(f"{path}: is one of the inputs; refusing to write over it")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise PosenetError(f"{path}: is not a regular file; refusing to replace it")
    if not path.resolve().parent.is_dir():
        raise PosenetError(f"{path}: folder {path.parent} does not exist")
    try:  # atomic_writer creates a temporary file beside it: try exactly that
        fd, probe = _temporary(path)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise PosenetError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when a and b name one file: the same real path, or the same inode."""
    return a in Inputs([b])


def _inode(path: str | Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


@contextlib.contextmanager
def atomic_writer(path: str | Path, *, durable: bool = False) -> Iterator[BinaryIO]:
    """A binary file whose content replaces `path` when the block ends without error.

    The temporary file is created in path's folder (a rename never crosses file
    systems) with the mode any new file gets (0666 less the umask, so 0644
    usually); on error it is removed and `path` is left as it was. `durable`
    flushes it to the disk before the rename (the cache: a power cut must not
    leave an empty model under a good name); a drawing does not pay for that.
    """
    path = Path(path)
    try:
        fd, tmp = _temporary(path)
    except OSError as exc:
        raise PosenetError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise PosenetError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder (atomic_writer)."""
    with atomic_writer(path) as out:
        out.write(data)


def save_image(image, path: str | Path, **params) -> None:
    """Save a PIL image atomically, in the format path's suffix names."""
    from PIL import Image

    Image.init()
    suffix = Path(path).suffix.lower()
    try:
        format = Image.registered_extensions()[suffix]
    except KeyError:
        raise PosenetError(f"{path}: unknown image format {suffix or '(none)'!r}") from None
    with atomic_writer(path) as out:
        image.save(out, format=format, **params)


def _temporary(path: Path) -> tuple[int, Path]:
    """Create `.<name>.<random>.partial` beside path, exclusively; (fd, its path).

    Not tempfile.mkstemp: that makes 0600 files, and a cache or a drawing should
    be readable like any other file the user makes.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")
