"""Pose and Keypoint: what every decoder returns and every output format reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .keypoints import PART_NAMES


@dataclass(frozen=True)
class Keypoint:
    """One keypoint: TF.js part name, position (x, y) in pixels, score in [0, 1]."""

    name: str
    x: float
    y: float
    score: float


@dataclass(frozen=True)
class Pose:
    """One person.

    xy: float32[17, 2] keypoint positions (x, y) in pixels, POSENET.md §1 order.
    scores: float32[17] keypoint scores in [0, 1].
    score: pose score in [0, 1].
    """

    xy: np.ndarray
    scores: np.ndarray
    score: float

    @classmethod
    def from_yx(cls, yx: np.ndarray, scores: np.ndarray, score: float) -> Pose:
        """Build from decoder output, which works in (y, x) like the heads."""
        return cls(
            np.ascontiguousarray(yx[:, ::-1], dtype=np.float32),
            np.asarray(scores, dtype=np.float32),
            float(score),
        )

    @property
    def keypoints(self) -> list[Keypoint]:
        return [
            Keypoint(name, float(x), float(y), float(s))
            for name, (x, y), s in zip(PART_NAMES, self.xy, self.scores, strict=True)
        ]

    def mapped(
        self,
        scale: tuple[float, float],
        shift: tuple[float, float],
        size: tuple[int, int] | None = None,
    ) -> Pose:
        """Positions mapped as `xy * scale + shift` (per axis x, y), then clipped
        into an image of `size` (width, height) when given; scores unchanged."""
        xy = self.xy * np.asarray(scale, np.float32) + np.asarray(shift, np.float32)
        if size is not None:
            np.clip(xy, 0, np.asarray(size, np.float32) - 1, out=xy)
        return Pose(xy.astype(np.float32), self.scores, self.score)

    def flipped(self, width: int) -> Pose:
        """Mirrored as TF.js's flipHorizontal does for an image `width` pixels wide:
        x -> width - 1 - x, every keypoint keeping its name (the person's left wrist
        stays their left wrist, drawn where a mirrored display shows it)."""
        xy = self.xy.copy()
        xy[:, 0] = width - 1 - xy[:, 0]
        return Pose(xy, self.scores, self.score)

    def to_dict(
        self, digits: int = 2, min_scores: float | Sequence[float] | None = None
    ) -> dict[str, Any]:
        """JSON-ready dict: score and the named keypoints with x, y, score: all 17, or
        those scoring at least `min_scores` (one number, or one per keypoint)."""
        keypoints = self.keypoints
        if min_scores is not None:
            floor = np.broadcast_to(np.asarray(min_scores, np.float32), self.scores.shape)
            keypoints = [k for k, keep in zip(keypoints, self.scores >= floor, strict=True) if keep]
        return {
            "score": round(self.score, 4),
            "keypoints": [
                {
                    "name": k.name,
                    "x": round(k.x, digits),
                    "y": round(k.y, digits),
                    "score": round(k.score, 4),
                }
                for k in keypoints
            ],
        }

    def to_coco(self, image_id: int, visible_threshold: float = 0.0) -> dict[str, Any]:
        """COCO keypoint result: flat [x, y, v] * 17 with v = keypoint score."""
        flat: list[float] = []
        for (x, y), s in zip(self.xy, self.scores, strict=True):
            flat += [float(x), float(y), float(s) if s >= visible_threshold else 0.0]
        return {"image_id": image_id, "category_id": 1, "keypoints": flat, "score": self.score}


def to_image(
    poses: list[Pose],
    scale: tuple[float, float],
    shift: tuple[float, float],
    size: tuple[int, int],
    *,
    clip: bool = True,
    by_score: bool = True,
    flip: bool = False,
) -> list[Pose]:
    """Decoded poses (network-input pixels) as the estimator returns them (image pixels).

    Positions map as `xy * scale + shift` (the fit's inverse; TF.js's
    scaleAndFlipPoses for its fit). The project's two departures from the
    decoders it reproduces are on by default, and presets turn them off:
    clip: positions clipped into the image of `size` (width, height); a decoder
        can place a keypoint in the padding, or beyond the input when an offset
        points there.
    by_score: poses sorted by score, highest first (a stable sort; TF.js returns
        them in the order their roots were found, which is not always that).
    flip: mirrored as TF.js's flipHorizontal (`Pose.flipped`), after the rest.
    """
    placed = [pose.mapped(scale, shift, size if clip else None) for pose in poses]
    if by_score:
        placed.sort(key=lambda pose: -pose.score)
    return [pose.flipped(size[0]) for pose in placed] if flip else placed
