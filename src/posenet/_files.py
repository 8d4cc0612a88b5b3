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

    Refused: an empty path, a folder, a missing or read-only parent folder, one
    of `inputs` (never overwritten, even with force), an existing file without
    `force`.
    """
    if not str(path).strip():
        raise PosenetError("an output path is empty")
    path = Path(path)
    if path.is_dir():
        raise PosenetError(f"{path}: is a folder, expected a file name")
    resolved = path.resolve()
    if any(resolved == Path(p).resolve() for p in inputs):
        raise PosenetError(f"{path}: is one of the inputs; refusing to write over it")
    parent = resolved.parent
    if not parent.is_dir():
        raise PosenetError(f"{path}: folder {path.parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise PosenetError(f"{path}: folder {path.parent} is not writable")
    if path.exists() and not force:
        raise PosenetError(f"{path}: exists; use --force to overwrite")
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
