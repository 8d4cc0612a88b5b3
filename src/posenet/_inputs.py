"""Opening the files a user hands us: bounded, never blocking, honest about what is wrong.

Every reader of models and images opens its files here. A file is opened with
O_NONBLOCK (so a FIFO cannot make us wait forever), must be a regular file (not
/dev/zero, a folder or a socket), and its size is checked against a limit
before a byte is read, so a 3 MB model cannot make the process allocate
gigabytes. Errors say what is wrong in the user's terms: no such file, a
symlink loop, a symlink to nothing, permission denied, a FIFO, too large.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from .errors import PosenetError

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MODEL_BYTES",
    "MAX_WEIGHT_ELEMENTS",
    "check_exists",
    "is_folder",
    "is_regular",
    "open_input",
    "read_input",
    "read_json",
    "resolve_inside",
]

#: Largest model file, or total of weight files, read (PoseNet ResNet50 is 90 MB).
MAX_MODEL_BYTES = 512 << 20
#: Most elements one weight may hold: 16 M, far above PoseNet's largest (1024 x 1024).
MAX_WEIGHT_ELEMENTS = 1 << 24
#: Largest model.json / manifest.json read (the BodyPix graphs are under 1 MB).
MAX_JSON_BYTES = 64 << 20
#: Deepest nesting of lists and objects in such a file (PoseNet's have 7).
MAX_JSON_DEPTH = 64


def check_exists(path: str | Path, what: str = "file", missing: str = "") -> os.stat_result:
    """stat(path), or a PosenetError saying why it cannot be used (missing, symlink loop ...);
    `missing` replaces the whole message when nothing is there at all."""
    try:
        return os.stat(path)
    except (OSError, ValueError) as exc:
        if missing and isinstance(exc, FileNotFoundError) and not os.path.islink(path):
            raise PosenetError(missing) from None
        raise PosenetError(f"{path}: {_why(path, exc, what)}") from None


def is_regular(path: str | Path) -> bool:
    """Whether path is a regular file (following symlinks); False, not an error, for
    anything that cannot be looked at (a loop, a name too long, a NUL in it)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def is_folder(path: str | Path) -> bool:
    """Whether path is a folder (following symlinks); False for what cannot be looked at."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def resolve_inside(folder: Path, name: Any, source: str, what: str) -> Path:
    """The file a manifest names, folder / name with symlinks resolved; PosenetError
    unless name is a non-empty string naming something inside folder (no "../", no
    absolute path, no symlink out of it)."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise PosenetError(f"{source}: {what} {name!r:.60} is not a file name")
    try:
        root = folder.resolve()
        path = (root / name).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        raise PosenetError(f"{source}: {what} {name!r:.60} is a symlink loop") from None
    if not path.is_relative_to(root):
        raise PosenetError(f"{source}: {what} {name!r:.60} is outside the model's folder {root}")
    return path


def open_input(path: str | Path, what: str = "file") -> BinaryIO:
    """A regular file opened for reading; PosenetError for anything else.

    The caller closes it (use `with`). O_NONBLOCK makes opening a FIFO return at
    once, so it is refused instead of waited on; for regular files it changes nothing.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise PosenetError(f"{path}: {_why(path, exc, what)}") from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind != "file":
            raise PosenetError(f"{path}: is {kind}, expected a regular {what}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_input(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most `limit` bytes (checked before reading)."""
    with open_input(path, what) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise PosenetError(
                f"{path}: {_mb(size)} is too large for a {what} (at most {_mb(limit)})"
            )
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise PosenetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > limit:  # grew while we read it
        raise PosenetError(f"{path}: is too large for a {what} (at most {_mb(limit)})")
    return data


def read_json(path: str | Path, what: str = "JSON file", limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON file's value; PosenetError for unreadable, invalid or too deeply nested text."""
    data = read_input(path, limit, what)
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise PosenetError(f"{path}: not a {what} (not UTF-8 text: {exc.reason})") from None
    except RecursionError:
        raise PosenetError(f"{path}: {what} is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        raise PosenetError(f"{path}: not a {what} ({_first_line(exc)})") from None
    depth = _depth(value)
    if depth > MAX_JSON_DEPTH:
        raise PosenetError(
            f"{path}: {what} is nested {depth}+ levels deep (at most {MAX_JSON_DEPTH})"
        )
    return value


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts, counted without recursion; stops past the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _why(path: str | Path, exc: BaseException, what: str) -> str:
    """Words for an error opening or stat-ing path."""
    if isinstance(exc, ValueError):  # "embedded null byte"
        return "the name contains a NUL character"
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT:
        if os.path.islink(path):
            return f"is a symlink to {os.readlink(path)}, which does not exist"
        return "no such file or folder"
    if code == errno.ELOOP:
        return "is a symlink loop"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied (cannot read this {what})"
    if code == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if code == errno.ENAMETOOLONG:
        return "the name is too long"
    return f"cannot open it ({getattr(exc, 'strerror', None) or exc})"


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
