"""Draw poses on an image: one colour per person, opacity by keypoint confidence.

Drawing lives apart from the core: nothing in the estimation path imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .keypoints import SKELETON
from .poses import Pose

__all__ = ["PALETTE", "draw_poses"]

#: Colour per pose (repeats after 10), chosen to stay distinct on photos.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 64, 64),
    (64, 160, 255),
    (80, 220, 80),
    (255, 200, 0),
    (220, 80, 255),
    (0, 220, 200),
    (255, 128, 0),
    (160, 255, 64),
    (255, 96, 180),
    (180, 180, 255),
)


def draw_poses(
    image: np.ndarray | Image.Image,
    poses: Sequence[Pose],
    min_keypoint_score: float = 0.2,
) -> Image.Image:
    """The image with each pose's skeleton and keypoints drawn over it.

    Keypoints below `min_keypoint_score` are not drawn, nor lines touching them;
    the rest are drawn more opaque the surer the model is.
    """
    base = image if isinstance(image, Image.Image) else Image.fromarray(image)
    base = base.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(overlay)
    width = max(2, round(max(base.size) / 300))
    radius = width + 1
    for index, pose in enumerate(poses):
        color = PALETTE[index % len(PALETTE)]
        for a, b in SKELETON:
            score = min(pose.scores[a], pose.scores[b])
            if score < min_keypoint_score:
                continue
            (xa, ya), (xb, yb) = pose.xy[a], pose.xy[b]
            pen.line([(xa, ya), (xb, yb)], fill=(*color, _alpha(score)), width=width)
        for (x, y), score in zip(pose.xy, pose.scores, strict=True):
            if score < min_keypoint_score:
                continue
            box = [x - radius, y - radius, x + radius, y + radius]
            pen.ellipse(box, fill=(*color, _alpha(score)), outline=(255, 255, 255, _alpha(score)))
    return Image.alpha_composite(base, overlay).convert("RGB")


def _alpha(score: float) -> int:
    return int(96 + 159 * min(1.0, max(0.0, float(score))))
