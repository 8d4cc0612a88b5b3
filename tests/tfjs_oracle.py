"""A slow, literal reading of TF.js PoseNet 2.x decoding, used by the tests as an oracle.

Written for obviousness, not speed: every score is computed up front, every
window is scanned in full, the heap is TF.js's MaxHeap transcribed as a class
and the walk follows `decodePose` step by step. It shares no code with
`posenet.decode`. Results are raw TF.js: positions unclipped, poses in the
order their roots were popped.
"""

from __future__ import annotations

import math

import numpy as np

from posenet.heads import Heads
from posenet.keypoints import POSE_CHAIN


def sigmoid32(logit: float) -> float:
    """TF.js CPU sigmoid: 1 / (1 + exp(-x)) in double, stored in a Float32Array."""
    try:
        e = math.exp(-float(logit))
    except OverflowError:
        return 0.0
    return float(np.float32(1.0 / (1.0 + e)))


def js_round(value: float) -> int:
    """JavaScript Math.round: the nearest integer, halves towards +infinity."""
    below = math.floor(value)
    return below + 1 if value - below >= 0.5 else below


class MaxHeap:
    """TF.js's MaxHeap: 0-based array, parent of i is i // 2, strict `<` on values."""

    def __init__(self) -> None:
        self.items: list[tuple[float, tuple[int, int, int]]] = []

    def less(self, i: int, j: int) -> bool:
        return self.items[i][0] < self.items[j][0]

    def exchange(self, i: int, j: int) -> None:
        self.items[i], self.items[j] = self.items[j], self.items[i]

    def enqueue(self, score: float, part: tuple[int, int, int]) -> None:
        self.items.append((score, part))
        k = len(self.items) - 1
        while k > 0 and self.less(k // 2, k):
            self.exchange(k, k // 2)
            k = k // 2

    def dequeue(self) -> tuple[float, tuple[int, int, int]]:
        top = self.items[0]
        self.exchange(0, len(self.items) - 1)
        self.items.pop()
        last = len(self.items) - 1
        k = 0
        while 2 * k <= last:
            j = 2 * k
            if j < last and self.less(j, j + 1):
                j += 1
            if not self.less(k, j):
                break
            self.exchange(k, j)
            k = j
        return top

    def empty(self) -> bool:
        return not self.items


def all_scores(heads: Heads) -> np.ndarray:
    """float64[H, W, 17] holding the float32 TF.js scores of every cell."""
    h, w, parts = heads.heatmap.shape
    scores = np.zeros((h, w, parts))
    for y in range(h):
        for x in range(w):
            for k in range(parts):
                scores[y, x, k] = sigmoid32(heads.heatmap[y, x, k])
    return scores


def decode_multiple_poses(
    heads: Heads,
    max_detections: int = 5,
    score_threshold: float = 0.5,
    nms_radius: float = 20.0,
    local_maximum_radius: int = 1,
    refine_steps: int = 2,
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """TF.js decodeMultiplePoses: [(yx float64[17, 2], scores float64[17], score)], raw."""
    scores = all_scores(heads)
    offsets = heads.offsets.astype(np.float64)
    fwd = heads.displacements_fwd.astype(np.float64)
    bwd = heads.displacements_bwd.astype(np.float64)
    stride = heads.output_stride
    height, width, parts = scores.shape
    r = local_maximum_radius

    # buildPartWithScoreQueue
    queue = MaxHeap()
    for y in range(height):
        for x in range(width):
            for k in range(parts):
                score = scores[y, x, k]
                if score < score_threshold:
                    continue
                window = scores[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1, k]
                if (window > score).any():
                    continue
                queue.enqueue(score, (y, x, k))

    def position(y: int, x: int, k: int) -> tuple[float, float]:
        return y * stride + offsets[y, x, k], x * stride + offsets[y, x, parts + k]

    def near(point: tuple[float, float]) -> tuple[int, int]:
        y = min(max(js_round(point[0] / stride), 0), height - 1)
        x = min(max(js_round(point[1] / stride), 0), width - 1)
        return y, x

    def within_nms(poses: list, point: tuple[float, float], k: int) -> bool:
        for pose_yx, _, _ in poses:
            dy = pose_yx[k][0] - point[0]
            dx = pose_yx[k][1] - point[1]
            if dy * dy + dx * dx <= nms_radius * nms_radius:
                return True
        return False

    def traverse(edge: int, source: tuple[float, float], target: int, displacements):
        sy, sx = near(source)
        num_edges = displacements.shape[2] // 2
        point = (
            source[0] + displacements[sy, sx, edge],
            source[1] + displacements[sy, sx, num_edges + edge],
        )
        for _ in range(refine_steps):
            cy, cx = near(point)
            point = position(cy, cx, target)
        cy, cx = near(point)
        return point, scores[cy, cx, target]

    poses: list[tuple[list, list, float]] = []
    while len(poses) < max_detections and not queue.empty():
        root_score, (y, x, k) = queue.dequeue()
        root = position(y, x, k)
        if within_nms(poses, root, k):
            continue
        keypoints: list = [None] * parts
        keypoints[k] = (root, root_score)
        for edge in reversed(range(len(POSE_CHAIN))):
            parent, child = POSE_CHAIN[edge]
            if keypoints[child] is not None and keypoints[parent] is None:
                keypoints[parent] = traverse(edge, keypoints[child][0], parent, bwd)
        for edge in range(len(POSE_CHAIN)):
            parent, child = POSE_CHAIN[edge]
            if keypoints[parent] is not None and keypoints[child] is None:
                keypoints[child] = traverse(edge, keypoints[parent][0], child, fwd)
        total = 0.0
        for j, (point, score) in enumerate(keypoints):
            if not within_nms(poses, point, j):
                total += score
        poses.append(([p for p, _ in keypoints], [s for _, s in keypoints], total / parts))
    return [(np.array(p, dtype=np.float64), np.array(s), score) for p, s, score in poses]


def decode_single_pose(heads: Heads) -> tuple[np.ndarray, np.ndarray, float]:
    """TF.js decodeSinglePose: (yx float32[17, 2], scores[17], score), raw."""
    scores = all_scores(heads)
    height, width, parts = scores.shape
    yx = np.zeros((parts, 2), np.float32)
    best = np.zeros(parts)
    for k in range(parts):
        flat = [scores[y, x, k] for y in range(height) for x in range(width)]
        index = flat.index(max(flat))  # argMax: the first of equal maxima
        y, x = divmod(index, width)
        yx[k, 0] = np.float32(y * heads.output_stride) + heads.offsets[y, x, k]
        yx[k, 1] = np.float32(x * heads.output_stride) + heads.offsets[y, x, parts + k]
        best[k] = scores[y, x, k]
    total = 0.0
    for k in range(parts):
        total += best[k]
    return yx, best, total / parts
