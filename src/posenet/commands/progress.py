"""One progress bar for long commands: on stderr, only when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable


def progress_bar(label: str, unit: str, divisor: int = 1) -> Callable[[int, int], None] | None:
    """show(done, total) drawing `label [####......] done/total unit`, wiped when done;
    None when stderr is not a terminal (logs and pipes get no bar)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = 30 * done // total if total else 0
        bar = "#" * filled + "." * (30 - filled)
        line = f"{label} [{bar}] {done // divisor}/{total // divisor} {unit}"
        sys.stderr.write("\r" + line)
        if total and done >= total:
            sys.stderr.write("\r" + " " * len(line) + "\r")
        sys.stderr.flush()

    return show
