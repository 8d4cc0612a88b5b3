"""Result: everything about one image's estimate, so that nothing is computed twice.

`detect` prints and writes it, `explain` draws its input, heads and input-space
poses, `bench` and `eval` read its timings; video and serving add fields beside
its JSON form without changing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .heads import Heads
from .image import Fit
from .poses import Pose

__all__ = ["Result", "Timings"]


@dataclass(frozen=True)
class Timings:
    """Seconds each stage of one estimate took.

    load: reading and decoding the file (0 for arrays); preprocess: fitting the
    image to the input; invoke: the network (LiteRT), heads included; decode: the
    decoder and mapping the poses back to the image.
    """

    load: float
    preprocess: float
    invoke: float
    decode: float

    @property
    def total(self) -> float:
        """Decoded image -> poses: preprocess + invoke + decode (load not included)."""
        return self.preprocess + self.invoke + self.decode


@dataclass(frozen=True)
class Result:
    """The poses of one image and how they were found.

    poses: in original-image pixels (mirrored when the estimator flips); by default
        clipped into the image and highest score first, with a preset such as
        like="tfjs" where and in the order its reference returns them (fused
        runs, posenet.fusion, always rank by score).
    input_poses: the same poses in the same order, in network-input pixels, before
        mapping back (clipped into the input when poses are clipped; never
        mirrored): what the network saw.
    width, height: the original image's size.
    model, decoder: their names.
    input_size: (height, width) of the network input used for this image (with
        several scales, the largest, onto which the heads were fused).
    fit: how the image was fitted to the input (and the map back).
    timings: where the time went.
    keypoint_threshold: the estimator's 17 keypoint thresholds, or None: keypoints
        below theirs are left out of `to_dict` (and of drawings that pass them to
        posenet.render); `poses` keep all 17 positions and scores.
    input, heads, image: only with `keep=True`: the fitted network input
        uint8[h, w, 3], the network's Heads, and the decoded image uint8[H, W, 3].
    """

    poses: list[Pose]
    input_poses: list[Pose]
    width: int
    height: int
    model: str
    decoder: str
    input_size: tuple[int, int]
    fit: Fit
    timings: Timings
    keypoint_threshold: tuple[float, ...] | None = None
    input: np.ndarray | None = field(default=None, repr=False)
    heads: Heads | None = field(default=None, repr=False)
    image: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self, image: str | None = None) -> dict[str, Any]:
        """The JSON form: image (the name given), width, height, model, poses (image pixels)."""
        return {
            "image": image,
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "poses": [pose.to_dict(min_scores=self.keypoint_threshold) for pose in self.poses],
        }
