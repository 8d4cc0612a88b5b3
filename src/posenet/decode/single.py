"""Single-pose decoding (tfjs-models/posenet 2.x `decodeSinglePose`)."""

from __future__ import annotations

import numpy as np

from .._jit import kernel
from ..heads import Heads
from ..poses import Pose
from ._options import Range
from ._tfjs_score import logit_floor, tfjs_score

__all__ = ["OPTION_RANGES", "decode_single"]

#: `decode_single` takes no options.
OPTION_RANGES: dict[str, Range] = {}


def decode_single(heads: Heads) -> list[Pose]:
    """Decode exactly one pose the way TF.js PoseNet 2.x `decodeSinglePose` does.

    For each keypoint, the cell with the highest score over the whole grid
    (the first in row-major order among equal scores, as TF.js's argMax
    picks) is the keypoint; its position is `cell * stride + offset(cell)`,
    summed in float32 as TF.js does, its score the cell's score. The pose
    score is the mean of the 17 keypoint scores.

    heads: heatmap logits float32[H, W, 17], offsets float32[H, W, 34]
        (y in [:17], x in [17:]), output stride, input size. The
        displacements are not used.

    Returns a list with one Pose, keypoints (x, y) in model-input pixels.
    Raises PosenetError for heads that fail `Heads.validate` (NaN, Inf, shapes).

    Scores are sigmoids computed as TF.js's CPU backend does (in double,
    stored as float32), so equal float32 scores tie exactly as in TF.js, e.g.
    two saturated cells. A position an offset pushes outside the input stays
    there, as in TF.js (`posenet.poses.to_image` clips it for the estimator's
    default).
    """
    heads.validate()
    yx, scores, score = _decode(heads.heatmap, heads.offsets, int(heads.output_stride))
    return [Pose.from_yx(yx, scores, score)]


@kernel
def _decode(heatmap, offsets, stride):
    """TF.js single-pose decoding (see `decode_single`) on raw arrays.

    Returns yx float32[17, 2] (unclipped, input pixels), keypoint scores
    float64[17] and the pose score (their mean, summed in keypoint order).

    Two passes: the highest logit of each keypoint gives its highest score
    (the sigmoid is monotonic); then the first cell in row-major order whose
    score equals it, computing scores only for logits that can reach it.
    """
    height, width, parts = heatmap.shape
    best_logit = np.full(parts, -np.inf, np.float32)
    for y in range(height):
        for x in range(width):
            for k in range(parts):
                best_logit[k] = max(best_logit[k], heatmap[y, x, k])
    best_score = np.empty(parts, np.float64)
    floor = np.empty(parts, np.float64)
    for k in range(parts):
        best_score[k] = tfjs_score(best_logit[k])
        floor[k] = logit_floor(best_score[k])

    yx = np.zeros((parts, 2), np.float32)
    done = np.zeros(parts, np.bool_)
    missing = parts
    for y in range(height):
        for x in range(width):
            for k in range(parts):
                if done[k] or heatmap[y, x, k] < floor[k]:
                    continue
                if tfjs_score(heatmap[y, x, k]) < best_score[k]:
                    continue
                yx[k, 0] = np.float32(y * stride) + offsets[y, x, k]
                yx[k, 1] = np.float32(x * stride) + offsets[y, x, parts + k]
                done[k] = True
                missing -= 1
            if missing == 0:
                break
        if missing == 0:
            break
    total = 0.0
    for k in range(parts):
        total += best_score[k]
    return yx, best_score, total / parts
