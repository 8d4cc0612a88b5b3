"""Compile hot loops with numba.

Kernels (the decoders, the resize) are written once, in the subset of Python
that numba compiles (loops over numpy arrays, no Python objects), and run as
machine code cached on disk after the first compilation. numba is a core
dependency because it earns it: the resize is ~1.5 ms compiled and ~2 s as a
Python loop, the decoders 0.1 ms against 5-10 ms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numba

F = TypeVar("F", bound=Callable)


def kernel(function: F) -> F:
    """numba.njit(cache=True, nogil=True), keeping the Python original as `.py_func`.

    The tests run `.py_func` beside the compiled kernel to check they agree.
    """
    compiled = numba.njit(cache=True, nogil=True)(function)
    if not hasattr(compiled, "py_func"):  # NUMBA_DISABLE_JIT=1 returns the function itself
        compiled.py_func = function
    return compiled
