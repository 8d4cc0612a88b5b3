"""Multi-pose decoding, Coral flavour: `decode_coral`, a re-implementation of `PosenetDecoderOp`.

Coral's op (libcoral / edgetpu `posenet_decoder.cc`, after PersonLab,
arXiv:1803.08225) works in grid units, keeps the heatmap as logits and samples
every tensor bilinearly. POSENET.md §5 lists how it differs from TF.js.

Everything per image runs in one compiled kernel (`_decode`): candidate search,
root queue, best-first traversal and soft keypoint NMS. Its arithmetic is
float32 like the C++ original, and both priority queues pop equal scores in
libstdc++'s order (see `_heap`), so results follow Coral's op closely even
where the quantized heatmap has ties.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import kernel
from ..heads import Heads
from ..keypoints import EDGE_CHILDREN, EDGE_PARENTS, NUM_EDGES
from ..poses import Pose
from ._heap import heap_pop, heap_push
from ._options import MAX_DETECTIONS, NMS_RADIUS, SCORE_THRESHOLD, Range, check_ranges

__all__ = ["OPTION_RANGES", "decode_coral"]

#: The allowed values of each option of `decode_coral` (errors and help read them).
OPTION_RANGES: dict[str, Range] = {
    "max_detections": MAX_DETECTIONS,
    "score_threshold": SCORE_THRESHOLD,
    "nms_radius": NMS_RADIUS,
}

#: Short-offset refinement steps after each displacement (fixed in Coral's op).
_REFINEMENT_STEPS = 5
#: Half-size of the window in which a candidate must be a local maximum.
_LOCAL_MAXIMUM_RADIUS = 1

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
#: Logit of a keypoint the traversal has not reached (never kept: the graph is connected).
_UNREACHED_LOGIT = np.float32(-1e5)

# Coral's 32 directed edges: the pose chain forwards (parent -> child), then backwards.
_SOURCES = np.concatenate([EDGE_PARENTS, EDGE_CHILDREN])
_TARGETS = np.concatenate([EDGE_CHILDREN, EDGE_PARENTS])


def _mid_channels() -> tuple[np.ndarray, np.ndarray]:
    """Channels of the (y, x) displacement of each directed edge, as Coral reads them.

    Coral's op sees fwd and bwd displacements as one 64-channel tensor
    [fwd y | fwd x | bwd y | bwd x] and reads edge d at channels (m, m + 16),
    where m = d + 16 for a backward edge. It tests `d > 16` rather than
    `d >= 16`, so the first backward edge (leftEye -> nose) reads fwd x of edge
    0 as its y and bwd y of edge 0 as its x. The five short-offset steps that
    follow usually pull the nose back; we keep the quirk because it is what
    the reference does.
    """
    directed = np.arange(2 * NUM_EDGES)
    first = np.where(directed > NUM_EDGES, directed + NUM_EDGES, directed)
    return first.astype(np.int64), (first + NUM_EDGES).astype(np.int64)


_MID_Y, _MID_X = _mid_channels()


def decode_coral(
    heads: Heads,
    *,
    max_detections: int = 10,
    score_threshold: float = 0.2,
    nms_radius: float = 10.0,
) -> list[Pose]:
    """Decode several poses the way Coral's `PosenetDecoderOp` does.

    Works in grid units (offsets and radius divided by the stride). Candidates
    are heatmap logits >= logit(score_threshold) that no cell of their 3x3
    window beats; each is moved by its own short offset and queued by logit in
    scan order. Popping a candidate within `nms_radius` of the same keypoint
    of a kept pose skips it; otherwise the pose grows best-first over the 32
    directed chain edges: a keypoint is fixed when popped, and its unfixed
    neighbours are queued by their bilinear logit after one displacement and
    five short-offset steps (all samples bilinear, positions clamped to the
    grid). Keypoint score = sigmoid of that logit; a pose with mean keypoint
    score >= score_threshold is kept. Finally soft keypoint NMS: in score
    order, a pose is rescored as the sum of its keypoint scores not within
    `nms_radius` of the same keypoint of a higher pose, over 17, and poses
    below score_threshold are dropped.

    heads: heatmap logits float32[H, W, 17], offsets float32[H, W, 34],
        displacements_fwd / displacements_bwd float32[H, W, 32], output stride.
    max_detections: most poses to decode (before soft NMS drops any).
    score_threshold: minimum keypoint score of a root and minimum pose score.
    nms_radius: radius in input pixels within which the same keypoint of two
        poses counts as one.

    Returns poses sorted by score, highest first, keypoints (x, y) in
    model-input pixels. Matches libcoral's `posenet_decoder.cc` (the op in the
    `_quant_decoder.tflite` models; their defaults are this function's),
    including its reading of the leftEye -> nose displacement (`_mid_channels`).
    Raises PosenetError for an option outside `OPTION_RANGES` or heads that
    fail `Heads.validate` (NaN, Inf, shapes).
    """
    check_ranges(
        "coral",
        OPTION_RANGES,
        {
            "max_detections": max_detections,
            "score_threshold": score_threshold,
            "nms_radius": nms_radius,
        },
    )
    heads.validate()
    stride = np.float32(heads.output_stride)
    radius = np.float32(nms_radius) / stride
    yx, keypoint_scores, pose_scores = _decode(
        heads.heatmap,
        heads.offsets,
        heads.displacements_fwd,
        heads.displacements_bwd,
        stride,
        np.float32(1.0 / heads.output_stride),
        int(max_detections),
        _logodds(score_threshold),
        np.float32(score_threshold),
        radius * radius,
    )
    return [
        Pose.from_yx(yx[i], keypoint_scores[i], pose_scores[i]) for i in range(len(pose_scores))
    ]


def _logodds(probability: float) -> np.float32:
    """Coral's `Logodds`: -log(1 / (p + 1e-6) - 1) in double precision, as float32.

    For p near 1 the C++ gives NaN or +inf, which no finite logit reaches; +inf
    does the same here.
    """
    ratio = 1.0 / (float(np.float32(probability)) + 1e-6) - 1.0
    return np.float32(-math.log(ratio)) if ratio > 0.0 else np.float32(np.inf)


@kernel
def _clamp(v, lo, hi):
    return lo if v < lo else (hi if hi < v else v)


@kernel
def _sigmoid(logit):
    """float32 sigmoid, computed in double (Coral uses float; they differ by <= 1 ulp)."""
    return np.float32(1.0 / (1.0 + math.exp(-np.float64(logit))))


@kernel
def _axis(v, n):
    """Cells either side of coordinate v on an axis of n cells, and v's weight towards the far one.

    The cells come from v clamped to the grid, the weight from v itself (as Coral does).
    """
    clamped = _clamp(v, _ZERO, np.float32(n - 1))
    near = math.floor(clamped)
    far = math.ceil(clamped)
    return near, far, v - np.float32(near)


@kernel
def _blend(top_left, top_right, bottom_left, bottom_right, wy, wx):
    """Bilinear mix, in Coral's order of float32 operations."""
    return (_ONE - wy) * ((_ONE - wx) * top_left + wx * top_right) + wy * (
        (_ONE - wx) * bottom_left + wx * bottom_right
    )


@kernel
def _sample(tensor, channel, y, x):
    """tensor[y, x, channel], bilinear."""
    y0, y1, wy = _axis(y, tensor.shape[0])
    x0, x1, wx = _axis(x, tensor.shape[1])
    return _blend(
        tensor[y0, x0, channel],
        tensor[y0, x1, channel],
        tensor[y1, x0, channel],
        tensor[y1, x1, channel],
        wy,
        wx,
    )


@kernel
def _mid(fwd, bwd, y, x, channel):
    """Channel of Coral's 64-channel mid-offset tensor [fwd | bwd] at cell (y, x)."""
    if channel < fwd.shape[2]:
        return fwd[y, x, channel]
    return bwd[y, x, channel - fwd.shape[2]]


@kernel
def _sample_mid(fwd, bwd, channel, y, x):
    """Channel of the mid-offset tensor [fwd | bwd] at (y, x), bilinear."""
    y0, y1, wy = _axis(y, fwd.shape[0])
    x0, x1, wx = _axis(x, fwd.shape[1])
    return _blend(
        _mid(fwd, bwd, y0, x0, channel),
        _mid(fwd, bwd, y0, x1, channel),
        _mid(fwd, bwd, y1, x0, channel),
        _mid(fwd, bwd, y1, x1, channel),
        wy,
        wx,
    )


@kernel
def _displaced(offsets, fwd, bwd, inv_stride, y, x, edge, target):
    """Where directed `edge` leads from (y, x): one displacement, then the short-offset steps.

    Grid units; every step is clamped to the grid.
    """
    y_max = np.float32(offsets.shape[0] - 1)
    x_max = np.float32(offsets.shape[1] - 1)
    dy = _sample_mid(fwd, bwd, _MID_Y[edge], y, x) * inv_stride
    dx = _sample_mid(fwd, bwd, _MID_X[edge], y, x) * inv_stride
    y = _clamp(y + dy, _ZERO, y_max)
    x = _clamp(x + dx, _ZERO, x_max)
    x_channel = target + offsets.shape[2] // 2
    for _ in range(_REFINEMENT_STEPS):
        dy = _sample(offsets, target, y, x) * inv_stride
        dx = _sample(offsets, x_channel, y, x) * inv_stride
        y = _clamp(y + dy, _ZERO, y_max)
        x = _clamp(x + dx, _ZERO, x_max)
    return y, x


@kernel
def _grow_pose(heatmap, offsets, fwd, bwd, inv_stride, root_y, root_x, root_k, yx, logits):
    """Best-first traversal from a root; fills yx[17, 2] (grid units) and logits[17]."""
    num_keypoints = heatmap.shape[2]
    capacity = 1 + _SOURCES.shape[0]  # the root, then each directed edge at most once
    keys = np.empty(capacity, np.float32)
    items = np.empty(capacity, np.int64)
    item_y = np.empty(capacity, np.float32)
    item_x = np.empty(capacity, np.float32)
    item_k = np.empty(capacity, np.int64)
    fixed = np.zeros(num_keypoints, np.bool_)
    item_y[0] = root_y
    item_x[0] = root_x
    item_k[0] = root_k
    pushed = 1
    size = heap_push(keys, items, 0, _sample(heatmap, root_k, root_y, root_x), 0)
    while size > 0:
        logit = keys[0]
        item = items[0]
        size = heap_pop(keys, items, size)
        k = item_k[item]
        if fixed[k]:
            continue
        fixed[k] = True
        yx[k, 0] = item_y[item]
        yx[k, 1] = item_x[item]
        logits[k] = logit
        for edge in range(_SOURCES.shape[0]):
            target = _TARGETS[edge]
            if _SOURCES[edge] != k or fixed[target]:
                continue
            y, x = _displaced(
                offsets, fwd, bwd, inv_stride, item_y[item], item_x[item], edge, target
            )
            item_y[pushed] = y
            item_x[pushed] = x
            item_k[pushed] = target
            size = heap_push(keys, items, size, _sample(heatmap, target, y, x), pushed)
            pushed += 1


@kernel
def _squared_distance(ay, ax, by, bx):
    dy = by - ay
    dx = bx - ax
    return dy * dy + dx * dx


@kernel
def _descending(values, n):
    """Indices of values[:n] by decreasing value, ties in index order.

    An insertion sort: what libstdc++'s std::sort does for up to 16 elements.
    """
    order = np.empty(n, np.int64)
    for i in range(n):
        j = i
        while j > 0 and values[order[j - 1]] < values[i]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    return order


@kernel
def _mean_score(scores, keep):
    """Sum of scores[k] where keep[k], added in decreasing score order (as Coral), over 17."""
    order = _descending(scores, scores.shape[0])
    total = _ZERO
    for k in order:
        if keep[k]:
            total += scores[k]
    return total / np.float32(scores.shape[0])


@kernel
def _decode(
    heatmap,
    offsets,
    fwd,
    bwd,
    stride,
    inv_stride,
    max_detections,
    min_logit,
    score_threshold,
    squared_radius,
):
    """All of Coral's DecodeAllPoses on float32 heads.

    Returns keypoints float32[N, 17, 2] (y, x) in input pixels, keypoint scores
    float32[N, 17] and pose scores float32[N], best first.
    """
    height, width, num_keypoints = heatmap.shape
    y_max = np.float32(height - 1)
    x_max = np.float32(width - 1)

    # Root candidates: local maxima above the threshold, moved by their own short
    # offset, queued in scan order (y, x, keypoint).
    cells = height * width * num_keypoints
    keys = np.empty(cells, np.float32)
    items = np.empty(cells, np.int64)
    cand_y = np.empty(cells, np.float32)
    cand_x = np.empty(cells, np.float32)
    cand_k = np.empty(cells, np.int64)
    size = 0
    r = _LOCAL_MAXIMUM_RADIUS
    for y in range(height):
        for x in range(width):
            for k in range(num_keypoints):
                logit = heatmap[y, x, k]
                if not logit >= min_logit:
                    continue
                local_maximum = True
                for yy in range(max(y - r, 0), min(y + r + 1, height)):
                    for xx in range(max(x - r, 0), min(x + r + 1, width)):
                        if heatmap[yy, xx, k] > logit:
                            local_maximum = False
                            break
                    if not local_maximum:
                        break
                if not local_maximum:
                    continue
                cand_y[size] = _clamp(np.float32(y) + offsets[y, x, k] * inv_stride, _ZERO, y_max)
                cand_x[size] = _clamp(
                    np.float32(x) + offsets[y, x, k + num_keypoints] * inv_stride, _ZERO, x_max
                )
                cand_k[size] = k
                size = heap_push(keys, items, size, logit, size)

    # Poses, best root first, until max_detections are kept or the roots run out.
    capacity = min(max_detections, size)
    poses = np.empty((capacity, num_keypoints, 2), np.float32)
    scores = np.empty((capacity, num_keypoints), np.float32)
    pose_scores = np.empty(capacity, np.float32)
    everything = np.ones(num_keypoints, np.bool_)
    count = 0
    while count < max_detections and size > 0:
        item = items[0]
        size = heap_pop(keys, items, size)
        ry = cand_y[item]
        rx = cand_x[item]
        rk = cand_k[item]
        suppressed = False
        for p in range(count):
            if _squared_distance(ry, rx, poses[p, rk, 0], poses[p, rk, 1]) <= squared_radius:
                suppressed = True
                break
        if suppressed:
            continue
        poses[count] = np.float32(-1.0)
        scores[count] = _UNREACHED_LOGIT
        _grow_pose(heatmap, offsets, fwd, bwd, inv_stride, ry, rx, rk, poses[count], scores[count])
        for k in range(num_keypoints):
            scores[count, k] = _sigmoid(scores[count, k])
        score = _mean_score(scores[count], everything)
        if score >= score_threshold:
            pose_scores[count] = score
            count += 1

    # Soft keypoint NMS: rescore each pose without the keypoints that a
    # higher-scoring pose already has nearby.
    order = _descending(pose_scores, count)
    rescored = np.empty(count, np.float32)
    for i in range(count):
        current = order[i]
        free = np.ones(num_keypoints, np.bool_)
        for j in range(i):
            previous = order[j]
            for k in range(num_keypoints):
                distance = _squared_distance(
                    poses[current, k, 0],
                    poses[current, k, 1],
                    poses[previous, k, 0],
                    poses[previous, k, 1],
                )
                if distance <= squared_radius:
                    free[k] = False
        rescored[current] = _mean_score(scores[current], free)

    order = _descending(rescored, count)
    kept = 0
    while kept < count and rescored[order[kept]] >= score_threshold:
        kept += 1
    out_yx = np.empty((kept, num_keypoints, 2), np.float32)
    out_scores = np.empty((kept, num_keypoints), np.float32)
    out_pose = np.empty(kept, np.float32)
    for i in range(kept):
        p = order[i]
        for k in range(num_keypoints):
            out_yx[i, k, 0] = poses[p, k, 0] * stride
            out_yx[i, k, 1] = poses[p, k, 1] * stride
            out_scores[i, k] = scores[p, k]
        out_pose[i] = rescored[p]
    return out_yx, out_scores, out_pose
