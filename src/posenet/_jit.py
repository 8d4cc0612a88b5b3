"""Compile hot loops with numba when it is installed.

Kernels (the decoders, the resize) are written once, in the subset of Python
that numba compiles (loops over numpy arrays, no Python objects). With the `fast` extra installed
they run as machine code (cached on disk after the first call); without it the
very same functions run as plain Python, slower but identical in result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised on installs without the extra
    numba = None
    HAVE_NUMBA = False


def kernel(function: F) -> F:
    """numba.njit(cache=True, nogil=True) when numba is present, else the function itself.

    The plain-Python original stays reachable as `function.py_func` either way,
    which the tests use to check both paths agree.
    """
    if not HAVE_NUMBA:
        function.py_func = function  # type: ignore[attr-defined]
        return function
    compiled = numba.njit(cache=True, nogil=True)(function)
    if not hasattr(compiled, "py_func"):  # NUMBA_DISABLE_JIT=1 returns the function itself
        compiled.py_func = function
    return compiled
