"""Images in, model input out: safe loading and fitting to the network's input size.

Loading refuses what would hurt (decompression bombs, truncated files) with a
one-line PosenetError. Fitting returns the input array and the affine map
(scale, shift) that takes input pixels back to the original image.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._jit import kernel
from .errors import PosenetError

#: Largest image accepted, in pixels (a 12k x 8k photo fits; 30000 x 30000 does not).
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})

#: How an image is fitted to the input; the first is the default. `pad` keeps the
#: aspect ratio (black bottom or right), `stretch` fills the input, as Coral's reference.
FITS: tuple[str, ...] = ("pad", "stretch")
#: How pixels are resampled; the first is the default. `bilinear` is TF.js's
#: tf.image.resizeBilinear (no antialiasing, align_corners false), computed per output
#: pixel so its cost does not grow with the photo; `nearest` is PIL's, as Coral's
#: reference used; `antialias` is PIL's filtered bilinear, best quality, slowest on big photos.
RESAMPLES: tuple[str, ...] = ("bilinear", "nearest", "antialias")
DEFAULT_FIT, DEFAULT_RESAMPLE = FITS[0], RESAMPLES[0]


@dataclass(frozen=True)
class Fit:
    """How an image was fitted to the network input, and the way back.

    mode: a FITS name; resample: a RESAMPLES name.
    scale, shift: (x, y) pairs; original-image pixels = input pixels * scale + shift.
    """

    mode: str
    resample: str
    scale: tuple[float, float]
    shift: tuple[float, float]


@dataclass(frozen=True)
class Fitted:
    """An image fitted to the model input: pixels uint8[H, W, 3] and how (`fit`)."""

    pixels: np.ndarray
    fit: Fit


def load_image(path: str | Path) -> np.ndarray:
    """Decode an image file into uint8[H, W, 3] RGB."""
    path = Path(path)
    if not path.exists():
        raise PosenetError(f"{path}: no such file")
    if path.is_dir():
        raise PosenetError(f"{path}: is a folder, expected an image file")
    if path.stat().st_size == 0:
        raise PosenetError(f"{path}: is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # our own limit applies below; PIL's two-line warning would only add noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                check_size(image.size, str(path))
                # phone photos store their rotation in EXIF; people lying on their
                # side because of it are a PoseNet user complaint
                exif = image.getexif()
                upright = ImageOps.exif_transpose(image) if 0x0112 in exif else image
                return as_rgb(upright)
    except PosenetError:
        raise
    except UnidentifiedImageError:
        raise PosenetError(f"{path}: not an image file Pillow can read") from None
    except Image.DecompressionBombError:
        raise PosenetError(f"{path}: image too large (over {MAX_PIXELS:,} pixels)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PosenetError(f"{path}: damaged image ({exc})") from None


def check_size(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise PosenetError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise PosenetError(
            f"{name}: image is {width}x{height}, over the {MAX_PIXELS:,}-pixel limit"
        )


def as_rgb(image: Image.Image | np.ndarray) -> np.ndarray:
    """uint8[H, W, 3] from a PIL image or an array (gray, RGB or RGBA)."""
    if isinstance(image, Image.Image):
        if image.mode in _WIDE_MODES:  # 16/32-bit grey: PIL's convert would clip at 255
            wide = np.asarray(image, dtype=np.float64)
            top = 65535.0 if image.mode.startswith("I;16") or wide.max() > 255 else 255.0
            return as_rgb(np.rint(wide * (255.0 / top)).clip(0, 255).astype(np.uint8))
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise PosenetError(f"image array must be uint8, got {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise PosenetError(f"image array must be HxWx3, got shape {array.shape}")
    check_size((array.shape[1], array.shape[0]), "image")
    return array[:, :, :3]


def fit(
    image: np.ndarray,
    input_size: tuple[int, int],
    how: str = DEFAULT_FIT,
    resample: str = DEFAULT_RESAMPLE,
) -> Fitted:
    """Resize an RGB image to `input_size` (height, width).

    `stretch` resizes to the input size exactly, as Coral's reference did.
    `pad` keeps the aspect ratio and pads the right or bottom with black, so the
    person's shape is not distorted.
    """
    if how not in FITS:
        raise PosenetError(f"fit must be one of {', '.join(FITS)}, got {how!r}")
    if resample not in RESAMPLES:
        raise PosenetError(f"resample must be one of {', '.join(RESAMPLES)}, got {resample!r}")
    in_h, in_w = input_size
    h, w = image.shape[:2]
    if how == "stretch":
        pixels = _resize(image, (in_w, in_h), resample)
        return _fitted(pixels, how, resample, (w / in_w, h / in_h))
    ratio = min(in_w / w, in_h / h)
    new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
    canvas = np.zeros((in_h, in_w, 3), np.uint8)
    canvas[:new_h, :new_w] = _resize(image, (new_w, new_h), resample)
    return _fitted(canvas, how, resample, (w / new_w, h / new_h))


def _fitted(pixels: np.ndarray, how: str, resample: str, scale: tuple[float, float]) -> Fitted:
    """Fitted with the map back that matches how the resampler placed its samples.

    TF.js's bilinear samples the source at `x * scale`, so the map back is that.
    PIL (nearest, antialias) matches pixel centres, `(x + 0.5) * scale - 0.5`.
    """
    if resample == "bilinear":
        return Fitted(pixels, Fit(how, resample, scale, (0.0, 0.0)))
    return Fitted(pixels, Fit(how, resample, scale, ((scale[0] - 1) / 2, (scale[1] - 1) / 2)))


def _resize(image: np.ndarray, size: tuple[int, int], resample: str) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    if resample == "bilinear":
        out = np.empty((size[1], size[0], 3), np.uint8)
        _resize_bilinear(np.ascontiguousarray(image), out)
        return out
    method = Image.Resampling.NEAREST if resample == "nearest" else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(image).resize(size, method))


@kernel
def _resize_bilinear(image: np.ndarray, out: np.ndarray) -> None:
    """tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false), rounded to uint8.

    Output pixel (y, x) samples the source at (y * in_h / out_h, x * in_w / out_w).
    """
    in_h, in_w = image.shape[0], image.shape[1]
    out_h, out_w = out.shape[0], out.shape[1]
    x0s = np.empty(out_w, np.int64)
    x1s = np.empty(out_w, np.int64)
    dxs = np.empty(out_w, np.float32)
    for x in range(out_w):
        sx = x * (in_w / out_w)
        x0s[x] = int(sx)
        x1s[x] = min(x0s[x] + 1, in_w - 1)
        dxs[x] = sx - x0s[x]
    for y in range(out_h):
        sy = y * (in_h / out_h)
        y0 = int(sy)
        y1 = min(y0 + 1, in_h - 1)
        dy = np.float32(sy - y0)
        row0, row1, target = image[y0], image[y1], out[y]
        for x in range(out_w):
            x0, x1, dx = x0s[x], x1s[x], dxs[x]
            for c in range(3):
                a = np.float32(row0[x0, c])
                b = np.float32(row1[x0, c])
                top = a + (np.float32(row0[x1, c]) - a) * dx
                bottom = b + (np.float32(row1[x1, c]) - b) * dx
                target[x, c] = np.uint8(top + (bottom - top) * dy + np.float32(0.5))


def find_images(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of image files.

    Folders contribute the image files directly inside them; a folder without
    images and a missing path are errors.
    """
    found: list[Path] = []
    for raw in paths:
        if not str(raw).strip():
            raise PosenetError("an image path is empty")
        path = Path(raw)
        if path.is_dir():
            images = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            if not images:
                raise PosenetError(f"{path}: folder contains no images")
            found.extend(images)
        elif path.exists():
            found.append(path)
        else:
            raise PosenetError(f"{path}: no such file or folder")
    return found
