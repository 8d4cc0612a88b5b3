"""Short video clips made from the shared photos, for the video and tracking tests.

Nothing here is committed as video: each clip is encoded with PyAV into the test's
temporary folder. Sizes are small and clips short, to keep the suite quick.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from .conftest import IMAGES

#: test_couple.jpg (1920x1278): where each person stands, as (left, top, right, bottom).
MAN = (560, 230, 930, 1278)
WOMAN = (930, 230, 1330, 1278)


def write_clip(
    path: Path, frames: Iterable[np.ndarray], rate: int | Fraction = 30, faststart: bool = False
) -> Path:
    """Encode RGB frames (all one even size) as H.264 in an mp4 (index first: faststart)."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = None
        for index, pixels in enumerate(frames):
            if stream is None:
                stream = out.add_stream("libx264", rate=rate)
                stream.height, stream.width = pixels.shape[:2]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "ultrafast", "crf": "18"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def couple() -> Image.Image:
    return Image.open(IMAGES / "test_couple.jpg").convert("RGB")


def panning(count: int = 60, size: tuple[int, int] = (480, 320)) -> list[np.ndarray]:
    """A camera panning across test_couple: a 1280x852 window sliding 640 px right
    (the people drift left by ~4 output px a frame), scaled to `size` (w, h)."""
    photo = couple()
    frames = []
    for i in range(count):
        x = 640 * i / max(count - 1, 1)
        box = (x, 100, x + 1280, 100 + 852)
        frames.append(np.asarray(photo.resize(size, Image.BILINEAR, box=box)))
    return frames


def still(count: int, size: tuple[int, int] = (480, 320), noise: float = 0.0, seed: int = 0):
    """test_couple's middle, not moving, with Gaussian pixel noise of `noise` levels."""
    base = np.asarray(couple().resize(size, Image.BILINEAR, box=(320, 100, 1600, 952)))
    rng = np.random.default_rng(seed)
    for _ in range(count):
        noisy = base + rng.normal(0.0, noise, base.shape) if noise else base
        yield np.clip(noisy, 0, 255).astype(np.uint8)


def crossing(count: int = 48, size: tuple[int, int] = (640, 320)) -> list[np.ndarray]:
    """The man walking right and the woman walking left across a snowy background,
    she in front: at the middle frames she hides most of him."""
    photo = couple()
    width, height = size
    background = photo.resize(size, Image.BILINEAR, box=(0, 0, 480, 320))
    scale = height / (MAN[3] - MAN[1])
    man = photo.crop(MAN).resize(_scaled(MAN, scale), Image.BILINEAR)
    woman = photo.crop(WOMAN).resize(_scaled(WOMAN, scale), Image.BILINEAR)
    frames = []
    for i in range(count):
        t = i / (count - 1)
        canvas = background.copy()
        canvas.paste(man, (round(20 + t * (width - 40 - man.width)), 0))
        canvas.paste(woman, (round(width - 20 - woman.width - t * (width - 40 - woman.width)), 0))
        frames.append(np.asarray(canvas))
    return frames


def _scaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int]:
    return round((box[2] - box[0]) * scale), round((box[3] - box[1]) * scale)
