"""Draw poses on an image: one colour per person, opacity by keypoint confidence.

Drawing lives apart from the core: nothing in the estimation path imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .keypoints import NUM_KEYPOINTS, SKELETON
from .poses import Pose

__all__ = ["PALETTE", "UNTRACKED", "draw_poses", "track_color"]

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


#: Colour of a person without a track ID yet.
UNTRACKED: tuple[int, int, int] = (170, 170, 170)

Color = tuple[int, int, int]


def track_color(track_id: int | None) -> Color:
    """The colour of track `track_id` (1, 2, ...): the palette in order, grey for None."""
    return UNTRACKED if track_id is None else PALETTE[(track_id - 1) % len(PALETTE)]


def draw_poses(
    image: np.ndarray | Image.Image,
    poses: Sequence[Pose],
    min_keypoint_score: float | Sequence[float] | np.ndarray = 0.2,
    colors: Sequence[Color] | None = None,
    labels: Sequence[str | None] | None = None,
) -> Image.Image:
    """The image with each pose's skeleton and keypoints drawn over it.

    Keypoints below `min_keypoint_score` (one number or one per keypoint) are not
    drawn, nor lines touching them; the rest are drawn more opaque the surer the
    model is. Pose i is drawn in colors[i] (default: the palette in order) and,
    given labels[i], labelled above its head. Only the area the poses cover is
    blended, so a drawing costs little more on a large frame than on a small one.
    """
    # a copy either way: fromarray copies RGB pixels, convert copies an image
    base = Image.fromarray(image) if isinstance(image, np.ndarray) else image.convert("RGB")
    thresholds = np.broadcast_to(np.asarray(min_keypoint_score, np.float32), (NUM_KEYPOINTS,))
    width = max(2, round(max(base.size) / 300))
    radius = width + 1
    font_size = max(12, round(max(base.size) / 60))
    shown = [pose.scores >= thresholds for pose in poses]
    drawn = [pose.xy[keep] for pose, keep in zip(poses, shown, strict=True) if keep.any()]
    if not drawn:
        return base
    margin = radius + 2 + (font_size * 2 if labels else 0)
    corner = np.floor(np.concatenate(drawn).min(axis=0)) - margin
    far = np.ceil(np.concatenate(drawn).max(axis=0)) + margin
    x0, y0 = (int(v) for v in np.maximum(corner, 0))
    x1, y1 = (int(v) for v in np.minimum(far, base.size))
    if x1 <= x0 or y1 <= y0:
        return base
    # Colours and their opacity drawn apart, then blended in one paste: no RGBA copies.
    paint = Image.new("RGB", (x1 - x0, y1 - y0))
    opacity = Image.new("L", paint.size, 0)
    pen, veil = ImageDraw.Draw(paint), ImageDraw.Draw(opacity)
    font = _font(font_size) if labels else None
    offset = np.float32([x0, y0])
    for index, (pose, keep) in enumerate(zip(poses, shown, strict=True)):
        color = colors[index] if colors is not None else PALETTE[index % len(PALETTE)]
        xy = pose.xy - offset
        for a, b in SKELETON:
            if not (keep[a] and keep[b]):
                continue
            line = [tuple(xy[a]), tuple(xy[b])]
            pen.line(line, fill=color, width=width)
            veil.line(line, fill=_alpha(min(pose.scores[a], pose.scores[b])), width=width)
        for (x, y), score, k in zip(xy, pose.scores, keep, strict=True):
            if k:
                box = [x - radius, y - radius, x + radius, y + radius]
                pen.ellipse(box, fill=color, outline=(255, 255, 255))
                veil.ellipse(box, fill=_alpha(score), outline=_alpha(score))
        label = labels[index] if labels is not None else None
        if label and keep.any():
            top = xy[keep][np.argmin(xy[keep][:, 1])]
            anchor = (float(top[0]), float(top[1]) - radius - 2)
            box = _grow(pen.textbbox(anchor, label, font=font, anchor="mb"), 2)
            pen.rectangle(box, fill=color)
            veil.rectangle(box, fill=230)
            pen.text(anchor, label, font=font, anchor="mb", fill=(0, 0, 0))
            veil.text(anchor, label, font=font, anchor="mb", fill=255)
    base.paste(paint, (x0, y0), opacity)
    return base


def _grow(box: tuple[float, ...], by: float) -> tuple[float, ...]:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


@cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size)


def _alpha(score: float) -> int:
    return int(96 + 159 * min(1.0, max(0.0, float(score))))
