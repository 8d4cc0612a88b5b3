"""Images in, model input out: safe loading and fitting to the network's input size.

Loading refuses what would hurt (decompression bombs, truncated files, FIFOs and
devices) with a one-line PosenetError. Fitting returns the input array and the
affine map (scale, shift) that takes input pixels back to the original image.

Pixels become uint8 RGB. Modes Pillow converts faithfully (palette, grey, CMYK,
YCbCr, LAB, HSV, with or without alpha) go through Pillow; grey images with
more than 8 bits follow one documented rule (`WIDE_MODE_RULE`), and images whose
values fit none of its ranges are refused rather than shown black or saturated.
"""

from __future__ import annotations

import io
import logging
import math
import os
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._inputs import check_exists, is_folder, is_regular, open_input
from ._jit import kernel
from .errors import PosenetError

log = logging.getLogger(__name__)

#: Largest image accepted, in pixels (a 12k x 8k photo fits; 30000 x 30000 does not).
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

#: How grey images deeper than 8 bits become 8-bit: 16-bit (I;16*) values are
#: divided by 257 (65535 -> 255); 32-bit integers (I) are read as 8-bit values when
#: all lie in 0..255 and as 16-bit when they lie in 0..65535; 32-bit floats (F) are
#: scaled by 255 when all lie in 0..1 and read as 8-bit values when they lie in
#: 0..255. Anything else (negative, larger, NaN) is refused.
WIDE_MODE_RULE = (
    "16-bit grey / 257; 32-bit integer grey in 0..255 as is, in 0..65535 / 257; "
    "float grey in 0..1 * 255, in 0..255 as is"
)
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: What Pillow's decoders raise on damaged files, besides OSError.
_DECODE_ERRORS = (SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)

#: How an image is fitted to the input; the first is the default. `pad` keeps the
#: aspect ratio (resized, then black bottom or right), `symmetric` is TF.js's
#: padAndResizeTo (black bands on both sides up to the input's aspect ratio, then the
#: padded frame resized), `stretch` fills the input, as Coral's reference.
FITS: tuple[str, ...] = ("pad", "symmetric", "stretch")
#: How pixels are resampled; the first is the default. `bilinear` is TF.js's
#: tf.image.resizeBilinear (no antialiasing, align_corners false), computed per output
#: pixel so its cost does not grow with the photo; `nearest` is PIL's, as Coral's
#: reference used; `antialias` is PIL's filtered bilinear, best quality, slowest on big photos.
RESAMPLES: tuple[str, ...] = ("bilinear", "nearest", "antialias")
DEFAULT_FIT, DEFAULT_RESAMPLE = FITS[0], RESAMPLES[0]
#: What fit can return: uint8 (rounded half up) or float32 (the resampled values as they
#: are, which is what TF.js feeds its network).
PIXEL_TYPES = (np.dtype(np.uint8), np.dtype(np.float32))


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
    """An image fitted to the model input: pixels [H, W, 3], uint8 or float32 (values
    in [0, 255]), and how (`fit`)."""

    pixels: np.ndarray
    fit: Fit


@dataclass(frozen=True)
class Decoded:
    """An image read from a file, perhaps at a reduced scale, and how to map it back.

    pixels: uint8[h, w, 3] RGB, upright (EXIF rotation applied unless asked not to).
    size: (width, height) of the whole image, upright.
    scale, shift: (x, y) pairs; a position in `pixels` is at `xy * scale + shift` in
        the whole image. (1, 1) and (0, 0) unless the file was decoded reduced.
    """

    pixels: np.ndarray
    size: tuple[int, int]
    scale: tuple[float, float] = (1.0, 1.0)
    shift: tuple[float, float] = (0.0, 0.0)


#: Given an image's upright (width, height), the (width, height) its pixels must keep.
Keep = Callable[[tuple[int, int]], tuple[int, int]]

#: Per EXIF orientation (2-8; 1 is upright), which upright axes (x, y) run against
#: the stored ones; 5-8 also swap the axes.
_FLIPS = {
    2: (True, False),
    3: (True, True),
    4: (False, True),
    5: (False, False),
    6: (True, False),
    7: (True, True),
    8: (False, True),
}


def load_image(source: str | Path | bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file, or an encoded image's bytes, into uint8[H, W, 3] RGB, upright,
    at full size (read_image)."""
    return read_image(source, max_pixels=max_pixels).pixels


def read_image(
    source: str | Path | bytes,
    *,
    keep: Keep | None = None,
    exif: bool = True,
    max_pixels: int = MAX_PIXELS,
) -> Decoded:
    """Decode an image file, or an encoded image's bytes, reduced when much larger than needed.

    A file must be a regular file: a FIFO, a device or a folder is named as such, never
    waited on or read. The size is checked from the header before any pixel is
    decoded: an image of more than `max_pixels` raises ImageTooLarge (a PosenetError),
    so a small file that would inflate to gigabytes never does. Warnings Pillow raises
    about data it could still read (a corrupt EXIF block) go to the debug log, not the
    user's terminal.
    keep: maps the image's upright (width, height) to the size its pixels must
        keep (e.g. what it fills on the network input). A JPEG at least twice that
        on both sides is decoded at 1/2, 1/4 or 1/8 scale, the smallest that still
        covers it: libjpeg's DCT scaling (PIL's draft mode) skips much of the
        decoding work, and averages pixels rather than dropping them. Other
        formats, and None, decode at full size.
    exif: apply the EXIF orientation (phone photos store their rotation there;
        people lying on their side because of it are a PoseNet user complaint).
    """
    if isinstance(source, bytes):
        if not source:
            raise PosenetError("image is empty (0 bytes)")
        return _open(io.BytesIO(source), "image", keep, exif, max_pixels)
    path = Path(source)
    with open_input(path, "image") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise PosenetError(f"{path}: is empty (0 bytes)")
        return _open(f, str(path), keep, exif, max_pixels)


def _open(file, name: str, keep: Keep | None, exif: bool, max_pixels: int) -> Decoded:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(file) as image:
                check_size(image.size, name, max_pixels)
                orientation = image.getexif().get(0x0112, 1) if exif else 1
                decoded = _decode(image, orientation if orientation in _FLIPS else 1, keep, name)
        except PosenetError:
            raise
        except UnidentifiedImageError:
            raise PosenetError(f"{name}: not an image file Pillow can read") from None
        except Image.DecompressionBombError:
            raise ImageTooLarge(f"{name}: image too large (over {max_pixels:,} pixels)") from None
        except (OSError, *_DECODE_ERRORS) as exc:
            raise PosenetError(f"{name}: damaged image ({_first_line(exc)})") from None
    for warning in caught:
        log.debug("%s: %s", name, warning.message)
    return decoded


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _decode(image: Image.Image, orientation: int, keep: Keep | None, name: str) -> Decoded:
    swap = orientation >= 5
    stored = image.size
    upright = stored[::-1] if swap else stored
    reduction = 1
    if keep is not None and image.format == "JPEG":
        need = keep(upright)
        need = need[::-1] if swap else need
        if stored[0] >= 2 * need[0] and stored[1] >= 2 * need[1]:
            drafted = image.draft("RGB", (max(1, need[0]), max(1, need[1])))
            if drafted is not None:
                reduction = round(stored[0] / drafted[1][2])
    if orientation != 1:
        image = ImageOps.exif_transpose(image)
    pixels = as_rgb(image, name)
    if reduction == 1:
        return Decoded(pixels, upright)
    # A reduced pixel averages a reduction x reduction block: its centre lies
    # (reduction - 1) / 2 past the block's first pixel. Where the upright axis runs
    # against the stored one, the blocks start at the far end, which a partial last
    # block shifts by width - reduced width * reduction.
    reduced = (pixels.shape[1], pixels.shape[0])
    flips = _FLIPS.get(orientation, (False, False))
    centre = (reduction - 1) / 2
    shift = tuple(
        centre + (full - part * reduction if flip else 0)
        for full, part, flip in zip(upright, reduced, flips, strict=True)
    )
    return Decoded(pixels, upright, (float(reduction), float(reduction)), shift)


class ImageTooLarge(PosenetError):
    """An image over the pixel limit: a service answers it apart (413, not 400)."""


def check_size(size: tuple[int, int], name: str, max_pixels: int = MAX_PIXELS) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise PosenetError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"{name}: image is {width}x{height}, over the {max_pixels:,}-pixel limit"
        )


def as_rgb(image: Image.Image | np.ndarray, name: str = "image") -> np.ndarray:
    """uint8[H, W, 3] from a PIL image or an array (gray, RGB or RGBA)."""
    if isinstance(image, Image.Image):
        if image.mode in _WIDE_MODES:  # PIL's convert would clip or truncate them
            return as_rgb(_wide_to_uint8(image, name))
        if image.mode != "RGB":
            try:
                image = image.convert("RGB")
            except ValueError:
                raise PosenetError(f"{name}: image mode {image.mode} is not supported") from None
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


def _wide_to_uint8(image: Image.Image, name: str) -> np.ndarray:
    """A grey image deeper than 8 bits as uint8, by WIDE_MODE_RULE; PosenetError if its
    values fit none of the rule's ranges."""
    wide = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        top = 65535.0
    else:
        low, high = (float(wide.min()), float(wide.max())) if wide.size else (0.0, 0.0)
        ranges = (1.0, 255.0) if image.mode == "F" else (255.0, 65535.0)
        fits = [top for top in ranges if low >= 0 and high <= top]
        if not np.isfinite(wide).all() or not fits:
            kind = "float" if image.mode == "F" else "32-bit integer"
            found = "NaN or Inf" if not np.isfinite(wide).all() else f"{low:g}..{high:g}"
            raise PosenetError(
                f"{name}: {kind} grey image with values {found}: no faithful 8-bit "
                f"mapping (accepted: {WIDE_MODE_RULE})"
            )
        top = fits[0]
    return np.rint(wide * (255.0 / top)).astype(np.uint8)


def fit(
    image: np.ndarray,
    input_size: tuple[int, int],
    how: str = DEFAULT_FIT,
    resample: str = DEFAULT_RESAMPLE,
    dtype: np.dtype | type = np.uint8,
) -> Fitted:
    """Resize an RGB image to `input_size` (height, width); see FITS and RESAMPLES.

    `stretch` resizes to the input size exactly, as Coral's reference did.
    `pad` keeps the aspect ratio and pads the right or bottom with black, so the
    person's shape is not distorted. `symmetric` keeps it too, as TF.js does: black
    bands of equal width on both sides (`symmetric_padding`), then the padded
    image resized to the input (so the two scales may differ by a rounding).
    dtype: uint8 or float32 pixels (PIL's resamplers give whole values either way).
    """
    if how not in FITS:
        raise PosenetError(f"fit must be one of {', '.join(FITS)}, got {how!r}")
    if resample not in RESAMPLES:
        raise PosenetError(f"resample must be one of {', '.join(RESAMPLES)}, got {resample!r}")
    dtype = np.dtype(dtype)
    if dtype not in PIXEL_TYPES:
        raise PosenetError(f"fitted pixels must be uint8 or float32, got {dtype}")
    in_h, in_w = input_size
    h, w = image.shape[:2]
    if how == "stretch":
        pixels = _resize(image, (in_h, in_w), (0, 0), resample, dtype)
        return Fitted(pixels, _fit(how, resample, (h, w), (0, 0), (in_h, in_w)))
    if how == "symmetric":
        top, left = symmetric_padding((h, w), input_size)
        pixels = _resize(image, (in_h, in_w), (top, left), resample, dtype)
        frame = (h + 2 * top, w + 2 * left)
        return Fitted(pixels, _fit(how, resample, frame, (top, left), (in_h, in_w)))
    new_w, new_h = fitted_size((w, h), input_size, how)
    canvas = np.zeros((in_h, in_w, 3), dtype)
    canvas[:new_h, :new_w] = _resize(image, (new_h, new_w), (0, 0), resample, dtype)
    return Fitted(canvas, _fit(how, resample, (h, w), (0, 0), (new_h, new_w)))


def fitted_size(size: tuple[int, int], input_size: tuple[int, int], how: str) -> tuple[int, int]:
    """(width, height) that an image of `size` (width, height) fills on an input of
    `input_size` (height, width) with fit `how` (FITS)."""
    (w, h), (in_h, in_w) = size, input_size
    if how == "stretch":
        return in_w, in_h
    if how == "symmetric":
        top, left = symmetric_padding((h, w), input_size)
        return max(1, round(w * in_w / (w + 2 * left))), max(1, round(h * in_h / (h + 2 * top)))
    ratio = min(in_w / w, in_h / h)
    return max(1, round(w * ratio)), max(1, round(h * ratio))


def symmetric_padding(size: tuple[int, int], input_size: tuple[int, int]) -> tuple[int, int]:
    """(top, left) black band of TF.js's padAndResizeTo for an image of `size` (h, w).

    The image is padded to the input's aspect ratio along one axis, half the
    missing pixels on each side rounded as JavaScript's Math.round (halves up);
    bottom equals top and right equals left.
    """
    (height, width), (in_h, in_w) = size, input_size
    target = in_w / in_h
    if width / height < target:
        return 0, _js_round(0.5 * (target * height - width))
    return _js_round(0.5 * ((1.0 / target) * width - height)), 0


def _js_round(value: float) -> int:
    whole = math.floor(value)
    return whole + 1 if value - whole >= 0.5 else whole


def _fit(
    how: str,
    resample: str,
    frame: tuple[int, int],
    pad: tuple[int, int],
    resized: tuple[int, int],
) -> Fit:
    """The Fit of a `frame` (h, w) holding the image at `pad` (top, left), resampled to
    `resized` (h, w), with the map back that matches how the resampler placed its samples.

    TF.js's bilinear samples the frame at `x * scale`, so the map back is that minus
    the pad (TF.js's scaleAndFlipPoses). PIL (nearest, antialias) matches pixel
    centres, `(x + 0.5) * scale - 0.5`.
    """
    (frame_h, frame_w), (top, left), (out_h, out_w) = frame, pad, resized
    scale = (frame_w / out_w, frame_h / out_h)
    centre = (0.0, 0.0) if resample == "bilinear" else ((scale[0] - 1) / 2, (scale[1] - 1) / 2)
    return Fit(how, resample, scale, (centre[0] - left, centre[1] - top))


def _resize(
    image: np.ndarray,
    size: tuple[int, int],
    pad: tuple[int, int],
    resample: str,
    dtype: np.dtype,
) -> np.ndarray:
    """`image` padded with `pad` (top, left) black pixels on each side, resized to `size` (h, w)."""
    (top, left), (h, w) = pad, image.shape[:2]
    frame = (h + 2 * top, w + 2 * left)
    if frame == size:
        framed = np.pad(image, ((top, top), (left, left), (0, 0))) if top or left else image
        return framed.astype(dtype, copy=False)
    if resample == "bilinear":
        out = np.empty((*size, 3), dtype)
        half = 0.5 if dtype == np.uint8 else 0.0
        _resize_bilinear(np.ascontiguousarray(image), out, top, left, *frame, half)
        return out
    if top or left:
        image = np.pad(image, ((top, top), (left, left), (0, 0)))
    method = Image.Resampling.NEAREST if resample == "nearest" else Image.Resampling.BILINEAR
    resized = Image.fromarray(image).resize((size[1], size[0]), method)
    return np.asarray(resized).astype(dtype, copy=False)


@kernel
def _resize_bilinear(image, out, top, left, frame_h, frame_w, half):
    """tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false) of `image`
    placed at (top, left) in a black frame_h x frame_w frame, as TF.js's backends
    compute it (XNNPACK's TensorFlow legacy mode): in float32 throughout.

    Output pixel (y, x) samples the frame at (y * (frame_h / out_h), x * (frame_w /
    out_w)), each product and ratio rounded to float32. `half` is added before
    storing: 0.5 rounds half up into a uint8 `out`, 0 keeps float32 values as they are.
    A frame pixel outside the image reads as its index clamped into the image times 0.
    """
    in_h, in_w = image.shape[0], image.shape[1]
    out_h, out_w = out.shape[0], out.shape[1]
    scale_x = np.float32(frame_w) / np.float32(out_w)
    scale_y = np.float32(frame_h) / np.float32(out_h)
    x0s = np.empty(out_w, np.int64)
    x1s = np.empty(out_w, np.int64)
    in0s = np.empty(out_w, np.float32)
    in1s = np.empty(out_w, np.float32)
    dxs = np.empty(out_w, np.float32)
    for x in range(out_w):
        sx = np.float32(x) * scale_x
        x0 = int(sx)
        dxs[x] = sx - np.float32(x0)
        x1 = min(x0 + 1, frame_w - 1) - left
        x0 -= left
        x0s[x], in0s[x] = min(max(x0, 0), in_w - 1), np.float32(0 <= x0 < in_w)
        x1s[x], in1s[x] = min(max(x1, 0), in_w - 1), np.float32(0 <= x1 < in_w)
    rounding = np.float32(half)
    for y in range(out_h):
        sy = np.float32(y) * scale_y
        y0 = int(sy)
        dy = sy - np.float32(y0)
        y1 = min(y0 + 1, frame_h - 1) - top
        y0 -= top
        row0 = image[min(max(y0, 0), in_h - 1)]
        row1 = image[min(max(y1, 0), in_h - 1)]
        in_row0 = np.float32(0 <= y0 < in_h)
        in_row1 = np.float32(0 <= y1 < in_h)
        target = out[y]
        for x in range(out_w):
            x0, x1, dx = x0s[x], x1s[x], dxs[x]
            top0, top1 = in_row0 * in0s[x], in_row0 * in1s[x]
            bottom0, bottom1 = in_row1 * in0s[x], in_row1 * in1s[x]
            for c in range(3):
                a = np.float32(row0[x0, c]) * top0
                b = np.float32(row1[x0, c]) * bottom0
                upper = a + (np.float32(row0[x1, c]) * top1 - a) * dx
                lower = b + (np.float32(row1[x1, c]) * bottom1 - b) * dx
                target[x, c] = upper + (lower - upper) * dy + rounding


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
        if is_folder(path):
            images = sorted(
                p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and is_regular(p)
            )
            if not images:
                raise PosenetError(f"{path}: folder contains no images")
            found.extend(images)
        else:  # load_image says what is wrong with anything that is not a readable image
            check_exists(path, "image")
            found.append(path)
    return found
