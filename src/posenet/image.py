"""Images in, model input out: safe loading and fitting to the network's input size.

Loading refuses what would hurt (decompression bombs, truncated files) with a
one-line PosenetError. Fitting returns the input array and the affine map
(scale, shift) that takes input pixels back to the original image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import PosenetError

#: Largest image accepted, in pixels (a 12k x 8k photo fits; 30000 x 30000 does not).
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

FITS = ("pad", "stretch")
RESAMPLES = {"bilinear": Image.Resampling.BILINEAR, "nearest": Image.Resampling.NEAREST}


@dataclass(frozen=True)
class Fitted:
    """An image fitted to the model input.

    pixels: uint8[H, W, 3] model input.
    scale, shift: (x, y) pairs; original = input * scale + shift.
    """

    pixels: np.ndarray
    scale: tuple[float, float]
    shift: tuple[float, float]


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
        with Image.open(path) as image:
            check_size(image.size, str(path))
            return as_rgb(image)
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
    how: str = "pad",
    resample: str = "bilinear",
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
        return Fitted(pixels, (w / in_w, h / in_h), (0.0, 0.0))
    ratio = min(in_w / w, in_h / h)
    new_w, new_h = max(1, round(w * ratio)), max(1, round(h * ratio))
    canvas = np.zeros((in_h, in_w, 3), np.uint8)
    canvas[:new_h, :new_w] = _resize(image, (new_w, new_h), resample)
    return Fitted(canvas, (w / new_w, h / new_h), (0.0, 0.0))


def _resize(image: np.ndarray, size: tuple[int, int], resample: str) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return np.asarray(Image.fromarray(image).resize(size, RESAMPLES[resample]))


def find_images(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of image files.

    Folders contribute the image files directly inside them; a folder without
    images and a missing path are errors.
    """
    found: list[Path] = []
    for raw in paths:
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
