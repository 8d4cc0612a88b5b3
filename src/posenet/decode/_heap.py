"""A max-heap that pops equal keys in exactly the order C++ `std::priority_queue` does.

Reference decoders keep their candidates in `std::priority_queue` (libstdc++,
comparison `less` on the score). When two keys are equal, which one comes out
first depends on the heap's internal layout, and a different heap (Python's
`heapq`, a sorted list) breaks those ties differently: a keypoint can then
start from another, equally scored cell and land pixels away. These kernels
reproduce libstdc++'s `push_heap` / `pop_heap` move for move.

The heap lives in two caller-owned arrays of the same capacity: `keys`
(float, the priority) and `values` (int, a payload, typically an index into
the caller's own tables). Entries `[0, size)` form the heap; the top is
`keys[0]`, `values[0]`. Both functions return the new size.

Developers: numba keys a cached kernel on its own file only (see `_jit`), so
coral.py's compiled decoder keeps the old heap after an edit here until
coral.py changes or `src/posenet/decode/__pycache__` is cleared.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel


@kernel
def heap_push(keys: np.ndarray, values: np.ndarray, size: int, key, value) -> int:
    """Add (key, value) as `std::priority_queue::push` does; return the new size.

    The new entry starts at the end and climbs while its parent's key is
    strictly smaller. The arrays must have room for `size + 1` entries.
    """
    hole = size
    while hole > 0:
        parent = (hole - 1) // 2
        if not keys[parent] < key:
            break
        keys[hole] = keys[parent]
        values[hole] = values[parent]
        hole = parent
    keys[hole] = key
    values[hole] = value
    return size + 1


@kernel
def heap_pop(keys: np.ndarray, values: np.ndarray, size: int) -> int:
    """Remove the top entry as `std::priority_queue::pop` does; return the new size.

    libstdc++ takes the last entry out, then walks the hole left at the root
    all the way down, always to the larger child (the right one when both are
    equal), and finally lets the taken entry climb back up from where the hole
    ended. Read `keys[0]`, `values[0]` before calling. `size` must be >= 1.
    """
    length = size - 1
    if length == 0:
        return 0
    key = keys[length]
    value = values[length]
    hole = 0
    child = 0
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if keys[child] < keys[child - 1]:
            child -= 1
        keys[hole] = keys[child]
        values[hole] = values[child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1) - 1
        keys[hole] = keys[child]
        values[hole] = values[child]
        hole = child
    heap_push(keys, values, hole, key, value)  # climb from the hole, as __push_heap does
    return length
