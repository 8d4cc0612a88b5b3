"""TF.js's keypoint score, shared by the `tfjs` and `single` decoders: one kernel, one source.

`tfjs_score` is the sigmoid as TF.js's CPU backend computes it; `logit_floor`
lets a search skip the logits that cannot reach a score, without computing
their sigmoid.

Developers: numba keys a cached kernel on its own file only (see `_jit`), so
after an edit here the compiled `tfjs` and `single` decoders keep the old
version until their own files change or `src/posenet/decode/__pycache__` is
cleared.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import kernel

__all__ = ["logit_floor", "tfjs_score"]


@kernel
def tfjs_score(logit):
    """Sigmoid of one logit as TF.js's CPU backend computes it: in double, stored as float32.

    Returned as a float64 holding that float32 value. Below -700 exp(-v)
    would overflow in plain Python; the float32 result there is 0 anyway.
    """
    v = np.float64(logit)
    if v < -700.0:
        return 0.0
    return np.float64(np.float32(1.0 / (1.0 + math.exp(-v))))


@kernel
def logit_floor(score):
    """A logit below which `tfjs_score` is certainly < `score` (score in [0, 1]).

    The bound is the exact logit of score * (1 - 2^-20), lowered a little
    more for the rounding of log: far below the float32 rounding of
    `tfjs_score` (2^-24 relative), so the only logits it lets through
    needlessly are within about 1e-6 of the threshold. For tiny scores (where
    float32 rounding is coarse) there is no bound.
    """
    if score < 1e-30:
        return -math.inf
    s = score * (1.0 - 2.0**-20)
    bound = math.log(s) - math.log1p(-s)
    return bound - 1e-9 * (1.0 + abs(bound))
