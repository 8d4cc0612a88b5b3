"""Compile hot loops with numba.

Kernels (the decoders, the resize) are written once, in the subset of Python
that numba compiles (loops over numpy arrays, no Python objects), and run as
machine code cached on disk after the first compilation. numba is a core
dependency because it earns it: the resize is ~1.5 ms compiled and ~2 s as a
Python loop, the decoders 0.1 ms against 5-10 ms.

What numba's disk cache does, and what it does not: each kernel's cache entry is
keyed on its own source file (its contents in recent numba, its modification
stamp before) and the argument types. A kernel that calls a kernel of another
file compiles the callee into its own machine code, and numba does not track
that dependency: after an edit to a shared helper module (`decode/_heap.py`,
`decode/_tfjs_score.py`) its callers keep the old code until their own file
changes. Numba offers no dependency tracking (its cache locators see one file),
so the helpers each live in one module, never copied, and a developer who edits
one clears `src/posenet/decode/__pycache__`. Installed packages are not affected:
an upgrade rewrites every file, which invalidates every entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import numba
from numba.core import event

F = TypeVar("F", bound=Callable)

log = logging.getLogger(__name__)


class _CompileNotice(event.Listener):
    """Says once per process, on stderr, that numba is compiling posenet's kernels: the
    first run after an install (or a change to a kernel's file) waits a few seconds for
    it, and a silent wait looks like a hang. Loading compiled kernels from numba's disk
    cache fires no compile event, so warm runs say nothing."""

    def __init__(self) -> None:
        self.said = False

    def on_start(self, compiling: event.Event) -> None:
        dispatcher = (compiling.data or {}).get("dispatcher")
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        if not self.said and module.startswith("posenet."):
            self.said = True
            log.warning(
                "compiling the resize and decoder kernels with numba (first run after "
                "installing: a few seconds, then cached on disk)"
            )

    def on_end(self, compiling: event.Event) -> None:
        pass


event.register("numba:compile", _CompileNotice())


def kernel(function: F) -> F:
    """numba.njit(cache=True, nogil=True), keeping the Python original as `.py_func`.

    The tests run `.py_func` beside the compiled kernel to check they agree.
    """
    compiled = numba.njit(cache=True, nogil=True)(function)
    if not hasattr(compiled, "py_func"):  # NUMBA_DISABLE_JIT=1 returns the function itself
        compiled.py_func = function
    return compiled
