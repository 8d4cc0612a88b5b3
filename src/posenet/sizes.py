"""Input sizes: parse what the user asked for, round it to one the grid fits.

A PoseNet grid covers the input exactly when a side is k * output_stride + 1
(257, 353, 481, 513 ...; POSENET.md §2). A size in another form would still
run, but its last grid cell would not sit on pixels, so a requested size is
rounded to the nearest valid one and the actual size returned; the caller
reports the change. A size smaller than the stride, a stride the network body
cannot reach, or text that is not a size raises PosenetError.

Accepted forms (SIZE_FORMS): "HxW" (e.g. "353x481"), "N" (square N x N),
"auto" (from the image's aspect ratio and a target long side).
"""

from __future__ import annotations

import re

from .errors import PosenetError
from .network import OUTPUT_STRIDES, Network, atrous_geometry

__all__ = [
    "DEFAULT_LONG_SIDE",
    "MAX_SIDE",
    "SIZE_FORMS",
    "auto_size",
    "parse_size",
    "resolve_size",
    "round_side",
]

#: What --size accepts, for help texts and errors.
SIZE_FORMS = "HxW (e.g. 353x481), N (square) or auto"
#: Long side of an "auto" size when the caller gives none (Coral's middle model, 481x641).
DEFAULT_LONG_SIDE = 481
#: Larger sides are refused: one 4097x4097 float input already needs ~2 GB of activations.
MAX_SIDE = 4097

_HXW = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")
_N = re.compile(r"^\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int] | None:
    """'353x481' -> (353, 481); '257' -> (257, 257); 'auto' -> None. Not rounded."""
    if text.strip().lower() == "auto":
        return None
    if match := _HXW.match(text):
        return int(match[1]), int(match[2])
    if match := _N.match(text):
        return int(match[1]), int(match[1])
    raise PosenetError(f"size {text!r}: expected {SIZE_FORMS}")


def round_side(side: float, output_stride: int) -> int:
    """The nearest k * output_stride + 1 (k >= 1) to side; halves round up."""
    _check_stride(output_stride)
    if side < output_stride:
        raise PosenetError(
            f"size {side:g} is smaller than the output stride {output_stride}: "
            f"the smallest input is {output_stride + 1}"
        )
    k = max(1, int((side - 1) / output_stride + 0.5))
    rounded = k * output_stride + 1
    if rounded > MAX_SIDE:
        raise PosenetError(f"size {side:g} is too large (at most {MAX_SIDE} per side)")
    return rounded


def auto_size(
    image_size: tuple[int, int], output_stride: int, long_side: int = DEFAULT_LONG_SIDE
) -> tuple[int, int]:
    """An input size with the image's aspect ratio whose long side is about long_side.

    image_size is (height, width) of the image; both sides are rounded with
    round_side, so the ratio is kept to within one stride.
    """
    height, width = image_size
    if height < 1 or width < 1:
        raise PosenetError(f"image size {height}x{width} is empty")
    scale = long_side / max(height, width)
    return round_side(height * scale, output_stride), round_side(width * scale, output_stride)


def resolve_size(
    spec: str | tuple[int, int] | None,
    output_stride: int,
    image_size: tuple[int, int] | None = None,
    long_side: int = DEFAULT_LONG_SIDE,
    network: Network | None = None,
) -> tuple[int, int]:
    """The actual (height, width) to build for: spec parsed, then rounded to the grid.

    spec: text as parse_size takes it, an (h, w) tuple, or None / "auto", which
    needs image_size (height, width). Compare the result with parse_size(spec)
    to tell the user when the size was rounded. With network given, a stride
    its body cannot reach raises here, before anything is built.
    """
    _check_stride(output_stride)
    if network is not None:
        atrous_geometry([layer.nominal_stride for layer in network.body], output_stride)
    requested = parse_size(spec) if isinstance(spec, str) else spec
    if requested is None:
        if image_size is None:
            raise PosenetError("size auto needs an image to take the aspect ratio from")
        return auto_size(image_size, output_stride, long_side)
    height, width = requested
    return round_side(height, output_stride), round_side(width, output_stride)


def _check_stride(output_stride: int) -> None:
    if output_stride not in OUTPUT_STRIDES:
        raise PosenetError(f"output stride {output_stride} is not one of {OUTPUT_STRIDES}")
