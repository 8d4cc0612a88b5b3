"""Writing the user's output files safely.

Every command that writes checks its outputs before it starts working (so a bad
path fails in a second, not after a long run) and writes through a temporary
file renamed into place (so an interrupted run never leaves half a file).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import PosenetError


def check_output(path: str | Path, *, force: bool, inputs: Iterable[Path] = ()) -> Path:
    """`path` as a Path if it may be written; PosenetError saying why not.

    Refused: an empty path, a folder (or a name ending in a separator), anything
    but a regular file, a missing parent folder, one of `inputs` (never
    overwritten, even with force), an existing file without `force`, and a place
    that cannot be written, found by trying: permission bits alone would pass
    root on a read-only or pseudo file system.
    """
    text = str(path)
    if not text.strip():
        raise PosenetError("an output path is empty")
    path = Path(path)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise PosenetError(f"{path}: is a folder, expected a file name")
    if path.exists() and not path.is_file():
        raise PosenetError(f"{path}: is not a regular file")
    resolved = path.resolve()
    if any(resolved == Path(p).resolve() for p in inputs):
        raise PosenetError(f"{path}: is one of the inputs; refusing to write over it")
    if not resolved.parent.is_dir():
        raise PosenetError(f"{path}: folder {path.parent} does not exist")
    if path.exists() and not force:
        raise PosenetError(f"{path}: exists; use --force to overwrite")
    try:  # write_atomic creates a temporary file beside it: try exactly that
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PosenetError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise PosenetError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
