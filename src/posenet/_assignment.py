"""Matching detections to tracks: optimal (Hungarian) or greedy assignment.

A frame has at most a few dozen poses and tracks, so an O(n^2 m) Hungarian
method in numpy takes microseconds; SciPy's `linear_sum_assignment` would do the
same job but is a 40 MB dependency that tracking (which must work from the core
install) cannot require.
"""

from __future__ import annotations

import numpy as np

ASSIGNMENTS: tuple[str, ...] = ("optimal", "greedy")


def assign(
    similarity: np.ndarray, min_similarity: float | np.ndarray, method: str = "optimal"
) -> list[tuple[int, int]]:
    """(row, column) pairs matching rows (detections) to columns (tracks), each at most once.

    similarity: float[n, m]; a pair is admissible when its similarity is at least
    `min_similarity` (a number or a float[n, m] of per-pair thresholds).
    `optimal` maximises the summed similarity of the admissible pairs; `greedy`
    takes the rows in order and gives each its most similar free column, as TF.js
    pose-detection's tracker does. Pairs come sorted by row.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    admissible = similarity >= min_similarity
    if method == "greedy":
        return _greedy(np.where(admissible, similarity, -np.inf))
    if method != "optimal":
        raise ValueError(f"assignment {method!r}: expected one of {', '.join(ASSIGNMENTS)}")
    if not admissible.any():
        return []
    # Inadmissible pairs weigh 0: they add nothing to any total, so an optimal full
    # assignment, less its inadmissible pairs, is an optimal admissible matching.
    weight = np.where(admissible, similarity, 0.0)
    rows, cols = weight.shape
    pairs = _hungarian(-weight) if rows <= cols else [(r, c) for c, r in _hungarian(-weight.T)]
    return sorted((r, c) for r, c in pairs if admissible[r, c])


def _greedy(similarity: np.ndarray) -> list[tuple[int, int]]:
    taken = np.zeros(similarity.shape[1], dtype=bool)
    pairs = []
    for row, values in enumerate(similarity):
        candidates = np.where(taken, -np.inf, values)
        if candidates.size and np.isfinite(best := candidates.max()):
            col = int(np.flatnonzero(candidates == best)[0])
            taken[col] = True
            pairs.append((row, col))
    return pairs


def _hungarian(cost: np.ndarray) -> list[tuple[int, int]]:
    """Minimum-cost assignment of every row of cost[n, m] (n <= m) to a distinct column.

    Shortest augmenting paths with row and column potentials (Kuhn-Munkres as
    Jonker and Volgenant arrange it): each row in turn is added by growing a
    Dijkstra-like tree over reduced costs until it reaches a free column, then
    flipping the path. Index 0 of the column arrays is a virtual column.
    """
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: 1-based row matched to column j
    way = np.zeros(m + 1, dtype=np.int64)
    for row in range(1, n + 1):
        owner[0] = row
        col = 0
        min_reduced = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while owner[col] != 0:
            used[col] = True
            current = owner[col]
            reduced = cost[current - 1] - u[current] - v[1:]
            free = ~used[1:]
            better = free & (reduced < min_reduced[1:])
            min_reduced[1:][better] = reduced[better]
            way[1:][better] = col
            candidates = np.where(free, min_reduced[1:], np.inf)
            nxt = int(np.argmin(candidates)) + 1
            delta = candidates[nxt - 1]
            u[owner[used]] += delta
            v[used] -= delta
            min_reduced[~used] -= delta
            col = nxt
        while col != 0:  # flip the augmenting path back to the virtual column
            previous = way[col]
            owner[col] = owner[previous]
            col = previous
    return [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j] != 0]
