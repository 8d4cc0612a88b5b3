"""Heads: the four PoseNet outputs in one fixed float32 layout.

Every model format is mapped onto this layout (POSENET.md §2), so decoders,
`explain` and tests work on Heads alone and never see a model file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import PosenetError
from .keypoints import NUM_EDGES, NUM_KEYPOINTS


@dataclass(frozen=True)
class Heads:
    """PoseNet outputs for one image.

    heatmap: float32[H, W, 17] keypoint logits (sigmoid gives scores).
    offsets: float32[H, W, 34] short-range offsets in input pixels, y in [:17], x in [17:].
    displacements_fwd: float32[H, W, 32] parent -> child per chain edge, y in [:16], x in [16:].
    displacements_bwd: float32[H, W, 32] child -> parent, same layout.
    output_stride: input pixels per grid cell.
    input_size: (height, width) of the network input in pixels.
    """

    heatmap: np.ndarray
    offsets: np.ndarray
    displacements_fwd: np.ndarray
    displacements_bwd: np.ndarray
    output_stride: int
    input_size: tuple[int, int]

    @property
    def grid_size(self) -> tuple[int, int]:
        """(rows, cols) of the output grid."""
        return self.heatmap.shape[0], self.heatmap.shape[1]

    def scores(self) -> np.ndarray:
        """Sigmoid keypoint scores, float32[H, W, 17]."""
        return _sigmoid(self.heatmap)

    def validate(self) -> Heads:
        """Check shapes and values; raise PosenetError naming the first problem.

        Returns self, unchanged, so that callers can chain it.
        """
        h, w = self.grid_size
        expected = {
            "heatmap": NUM_KEYPOINTS,
            "offsets": 2 * NUM_KEYPOINTS,
            "displacements_fwd": 2 * NUM_EDGES,
            "displacements_bwd": 2 * NUM_EDGES,
        }
        for name, channels in expected.items():
            array = getattr(self, name)
            if array.ndim != 3 or array.shape != (h, w, channels):
                raise PosenetError(
                    f"heads: {name} has shape {array.shape}, expected ({h}, {w}, {channels})"
                )
            if array.dtype != np.float32:
                raise PosenetError(f"heads: {name} is {array.dtype}, expected float32")
            if not np.isfinite(array).all():
                raise PosenetError(f"heads: {name} contains NaN or Inf")
        if self.output_stride <= 0:
            raise PosenetError(f"heads: output stride must be positive, got {self.output_stride}")
        if h < 1 or w < 1:
            raise PosenetError("heads: the grid is empty")
        return self


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
