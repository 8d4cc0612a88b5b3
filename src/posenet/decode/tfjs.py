"""Multi-pose decoding, TF.js flavour (tfjs-models/posenet 2.x `decodeMultiplePoses`).

The whole search runs in one compiled kernel (`_decode`) that returns arrays;
`decode_tfjs` checks the options, validates the heads and builds the Poses.
Scores are computed lazily, only for the few cells the search looks at.
"""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from ..heads import Heads
from ..keypoints import EDGE_CHILDREN, EDGE_PARENTS
from ..poses import Pose
from ._options import MAX_DETECTIONS, NMS_RADIUS, SCORE_THRESHOLD, Range, check_ranges
from ._tfjs_score import logit_floor, tfjs_score

__all__ = ["OPTION_RANGES", "decode_tfjs"]

#: The allowed values of each option of `decode_tfjs` (errors and help read them).
#: A window of radius r costs up to (2r + 1)^2 comparisons per cell (when many
#: cells tie); 8, a 17 x 17-cell window, keeps that fast. TF.js uses 1.
OPTION_RANGES: dict[str, Range] = {
    "max_detections": MAX_DETECTIONS,
    "score_threshold": SCORE_THRESHOLD,
    "nms_radius": NMS_RADIUS,
    "local_maximum_radius": Range(0, 8, whole=True),
    "refine_steps": Range(0, 100, whole=True),
}


def decode_tfjs(
    heads: Heads,
    *,
    max_detections: int = 5,
    score_threshold: float = 0.5,
    nms_radius: float = 20.0,
    local_maximum_radius: int = 1,
    refine_steps: int = 2,
) -> list[Pose]:
    """Decode several poses the way TF.js PoseNet 2.x `decodeMultiplePoses` does.

    Keypoint scores are sigmoids of the heatmap logits. Every (y, x, keypoint)
    whose score is >= `score_threshold` and which no cell of its
    (2 * local_maximum_radius + 1)^2 window (clipped at the grid border) beats
    strictly is a root candidate; all keypoint types share one max-queue, a
    copy of TF.js's MaxHeap, so that equal scores pop in TF.js's order. The
    best candidate is popped and placed at `cell * stride + offset`; it is
    skipped if it lies within `nms_radius` (squared distance <= radius^2) of
    the same keypoint of a pose already found. Otherwise the pose is walked
    from it: backwards over the chain edges in reverse order (child -> parent,
    backward displacements), then forwards in order (parent -> child, forward
    displacements), each edge taken when its source is known and its target
    is not. One hop: the source's nearest cell (rounded as JavaScript's
    Math.round does, clamped to the grid) gives a displacement to add; then
    `refine_steps` times the point moves to `cell * stride + offset` of its
    nearest cell; the keypoint's score is the target's score at the nearest
    cell of the final point. The pose score is the sum of the scores of its
    keypoints that are not within `nms_radius` of the same keypoint of an
    earlier pose, over 17. This repeats until `max_detections` poses are
    found or the queue is empty.

    heads: heatmap logits float32[H, W, 17], offsets float32[H, W, 34]
        (y in [:17], x in [17:]), displacements_fwd / displacements_bwd
        float32[H, W, 32] (y in [:16], x in [16:]), output stride, input size.
    max_detections: most poses to return.
    score_threshold: lowest score of a root candidate.
    nms_radius: radius in input pixels within which the same keypoint of two
        poses counts as one.
    local_maximum_radius: half-width in cells of the window a candidate must
        top (TF.js fixes it at 1).
    refine_steps: short-offset refinement steps per hop (TF.js: 2).

    Returns at most `max_detections` poses in TF.js's order (the order their
    roots were popped, which is not always decreasing score), keypoints (x, y)
    in model-input pixels where TF.js puts them, even outside the input when an
    offset points there (`posenet.poses.to_image` sorts and clips them for the
    estimator's default). Raises PosenetError for an option outside
    `OPTION_RANGES` or heads that fail `Heads.validate` (NaN, Inf, shapes).

    Matches `decodeMultiplePoses` / `decodePose` / `buildPartWithScoreQueue`
    of tfjs-models/posenet 2.x, with scores computed as its CPU backend does
    (the sigmoid in double precision, rounded to float32; `Heads.scores()`
    may differ from it by one float32 ulp).
    """
    yx, keypoint_scores, pose_scores = _decode(
        *_kernel_arguments(
            heads,
            max_detections,
            score_threshold,
            nms_radius,
            local_maximum_radius,
            refine_steps,
        )
    )
    return [Pose.from_yx(*pose) for pose in zip(yx, keypoint_scores, pose_scores, strict=True)]


def _kernel_arguments(
    heads: Heads,
    max_detections: int,
    score_threshold: float,
    nms_radius: float,
    local_maximum_radius: int,
    refine_steps: int,
) -> tuple:
    """Check the options and the heads; the arguments of `_decode`, in order."""
    check_ranges(
        "tfjs",
        OPTION_RANGES,
        {
            "max_detections": max_detections,
            "score_threshold": score_threshold,
            "nms_radius": nms_radius,
            "local_maximum_radius": local_maximum_radius,
            "refine_steps": refine_steps,
        },
    )
    heads.validate()
    return (
        heads.heatmap,
        heads.offsets,
        heads.displacements_fwd,
        heads.displacements_bwd,
        int(heads.output_stride),
        int(max_detections),
        float(score_threshold),
        float(nms_radius),
        int(local_maximum_radius),
        int(refine_steps),
        EDGE_PARENTS,
        EDGE_CHILDREN,
    )


@kernel
def _nearest_cell(position, stride, cells):
    """Grid index nearest to `position` pixels: JavaScript Math.round (halves up), clamped."""
    scaled = position / stride
    index = np.floor(scaled)
    if scaled - index >= 0.5:
        index += 1.0
    if index < 0.0:
        return 0
    if index > cells - 1.0:
        return cells - 1
    return int(index)


@kernel
def _is_local_maximum(heatmap, y, x, k, logit, score, radius):
    """True if no cell of the clipped window around (y, x) has a higher score for keypoint k.

    The sigmoid is monotonic, so only cells with a higher logit can have a
    higher score; they alone need their score computed.
    """
    height, width = heatmap.shape[0], heatmap.shape[1]
    for yy in range(max(y - radius, 0), min(y + radius + 1, height)):
        for xx in range(max(x - radius, 0), min(x + radius + 1, width)):
            other = heatmap[yy, xx, k]
            if other > logit and tfjs_score(other) > score:
                return False
    return True


@kernel
def _heap_push(heap, size, item, values):
    """Append `item` to TF.js's MaxHeap (`size` items before) and swim it up; new size.

    TF.js's heap is 0-based with parent(i) = i // 2 (so item 1's parent is
    item 0), ordered by `values[item]` with a strict `<`.
    """
    i = size
    heap[i] = item
    while i > 0 and values[heap[i // 2]] < values[heap[i]]:
        parent = i // 2
        heap[i], heap[parent] = heap[parent], heap[i]
        i = parent
    return size + 1


@kernel
def _heap_pop(heap, size, values):
    """Remove the top of TF.js's MaxHeap (`size` > 0 items) as its `dequeue` does; the item."""
    top = heap[0]
    last = size - 1
    heap[0], heap[last] = heap[last], heap[0]
    last -= 1  # index of the last item still queued
    i = 0
    while 2 * i <= last:
        j = 2 * i
        if j < last and values[heap[j]] < values[heap[j + 1]]:
            j += 1
        if not values[heap[i]] < values[heap[j]]:
            break
        heap[i], heap[j] = heap[j], heap[i]
        i = j
    return top


@kernel
def _claimed(yx, poses, k, y, x, squared_radius):
    """True if (y, x) lies within the radius of keypoint k of one of the first `poses` poses."""
    for p in range(poses):
        dy = yx[p, k, 0] - y
        dx = yx[p, k, 1] - x
        if dy * dy + dx * dx <= squared_radius:
            return True
    return False


@kernel
def _hop(heatmap, offsets, displacements, stride, refine_steps, edge, source_y, source_x, target):
    """Position (y, x) and score of keypoint `target`, one edge away from a known point."""
    height, width, parts = heatmap.shape
    edges = displacements.shape[2] // 2
    cy = _nearest_cell(source_y, stride, height)
    cx = _nearest_cell(source_x, stride, width)
    y = source_y + np.float64(displacements[cy, cx, edge])
    x = source_x + np.float64(displacements[cy, cx, edges + edge])
    for _ in range(refine_steps):
        cy = _nearest_cell(y, stride, height)
        cx = _nearest_cell(x, stride, width)
        y = cy * stride + np.float64(offsets[cy, cx, target])
        x = cx * stride + np.float64(offsets[cy, cx, parts + target])
    cy = _nearest_cell(y, stride, height)
    cx = _nearest_cell(x, stride, width)
    return y, x, tfjs_score(heatmap[cy, cx, target])


@kernel
def _decode(
    heatmap,
    offsets,
    displacements_fwd,
    displacements_bwd,
    stride,
    max_detections,
    score_threshold,
    nms_radius,
    local_maximum_radius,
    refine_steps,
    edge_parents,
    edge_children,
):
    """TF.js multi-pose decoding (see `decode_tfjs`) on raw arrays.

    Returns yx float64[N, 17, 2] (unclipped, input pixels), keypoint scores
    float64[N, 17] and pose scores float64[N], in TF.js's order (root popped).
    """
    height, width, parts = heatmap.shape
    edges = edge_parents.shape[0]

    # Root candidates, in TF.js's scan order (y, x, keypoint), straight into the heap.
    min_logit = logit_floor(score_threshold)
    values = np.empty(64, np.float64)  # candidate -> score
    cells = np.empty(64, np.int64)  # candidate -> flat (y, x, keypoint) index
    found = 0
    for y in range(height):
        for x in range(width):
            for k in range(parts):
                logit = heatmap[y, x, k]
                if logit < min_logit:
                    continue
                score = tfjs_score(logit)
                if score < score_threshold:
                    continue
                if not _is_local_maximum(heatmap, y, x, k, logit, score, local_maximum_radius):
                    continue
                if found == values.shape[0]:
                    values = np.concatenate((values, np.empty(found, np.float64)))
                    cells = np.concatenate((cells, np.empty(found, np.int64)))
                values[found] = score
                cells[found] = (y * width + x) * parts + k
                found += 1
    heap = np.empty(found, np.int64)
    queued = 0
    for candidate in range(found):
        queued = _heap_push(heap, queued, candidate, values)

    capacity = min(max_detections, found)
    yx = np.zeros((capacity, parts, 2), np.float64)
    scores = np.zeros((capacity, parts), np.float64)
    pose_scores = np.zeros(capacity, np.float64)
    known = np.zeros(parts, np.bool_)
    squared_radius = nms_radius * nms_radius
    poses = 0
    while poses < max_detections and queued > 0:
        candidate = _heap_pop(heap, queued, values)
        queued -= 1
        cell, k = divmod(cells[candidate], parts)
        cy, cx = divmod(cell, width)
        root_y = cy * stride + np.float64(offsets[cy, cx, k])
        root_x = cx * stride + np.float64(offsets[cy, cx, parts + k])
        if _claimed(yx, poses, k, root_y, root_x, squared_radius):
            continue

        known[:] = False
        known[k] = True
        yx[poses, k, 0] = root_y
        yx[poses, k, 1] = root_x
        scores[poses, k] = values[candidate]
        for step in range(2 * edges):
            backward = step < edges
            edge = edges - 1 - step if backward else step - edges
            source = edge_children[edge] if backward else edge_parents[edge]
            target = edge_parents[edge] if backward else edge_children[edge]
            if not known[source] or known[target]:
                continue
            displacements = displacements_bwd if backward else displacements_fwd
            y, x, score = _hop(
                heatmap,
                offsets,
                displacements,
                stride,
                refine_steps,
                edge,
                yx[poses, source, 0],
                yx[poses, source, 1],
                target,
            )
            yx[poses, target, 0] = y
            yx[poses, target, 1] = x
            scores[poses, target] = score
            known[target] = True

        total = 0.0
        for j in range(parts):
            if not _claimed(yx, poses, j, yx[poses, j, 0], yx[poses, j, 1], squared_radius):
                total += scores[poses, j]
        pose_scores[poses] = total / parts
        poses += 1
    return yx[:poses], scores[:poses], pose_scores[:poses]
