"""Image -> poses in original-image pixels: fit, run, decode, map back.

The estimator holds one runtime and one decoder configuration, so a folder or
a video pays model loading once. It records where the time of the last call
went (preprocess, invoke, decode) because this is a performance project.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import decode as decoders
from .errors import PosenetError
from .heads import Heads
from .image import as_rgb, fit, load_image
from .model import LoadedModel, load
from .poses import Pose
from .runtime import Runtime
from .sizes import DEFAULT_LONG_SIDE, auto_size, parse_size, resolve_size

ImageLike = str | Path | Image.Image | np.ndarray


@dataclass
class Timings:
    """Seconds spent in each stage of the last estimate() call."""

    preprocess: float = 0.0
    invoke: float = 0.0
    decode: float = 0.0

    @property
    def total(self) -> float:
        return self.preprocess + self.invoke + self.decode


@dataclass(frozen=True)
class Result:
    """Poses of one image, with the image's size and what produced them."""

    poses: list[Pose]
    width: int
    height: int
    model: str
    decoder: str
    input_size: tuple[int, int]
    heads: Heads | None = field(default=None, repr=False)

    def to_dict(self, image: str | None = None) -> dict[str, Any]:
        """The JSON form: image, width, height, model, poses (x, y in image pixels)."""
        return {
            "image": image,
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "poses": [pose.to_dict() for pose in self.poses],
        }


class Estimator:
    """A PoseNet model, a decoder and an image fit, ready to estimate poses.

    model: registry name or model file path (default: the store's default model).
    decoder: `coral`, `tfjs` or `single`; decoder options go in `decoder_options`.
        For `coral`, options embedded in the model file are the defaults.
    size: network input as (height, width), "HxW", "N" or "auto" (the image's aspect
        ratio, long side `long_side`); rounded to the nearest k * stride + 1.
        Default: the model's own size.
    stride: output stride 8, 16 or 32 (default the model's own); another stride
        rebuilds the network: `geometry` "atrous" (POSENET.md's rule, default) or
        "source" (keep the source's tap spacing; better for the stride-16 graphs).
    fit: `pad` (keep aspect ratio) or `stretch`; resample: `bilinear` (TF.js's),
        `nearest` or `antialias` (PIL's). Poses are clipped into the image.
    flip_horizontal: mirror the results (x -> width - 1 - x, left <-> right), as TF.js.
    threads: LiteRT CPU threads (None: LiteRT's choice).
    """

    def __init__(
        self,
        model: str | Path | LoadedModel | None = None,
        *,
        decoder: str = decoders.DEFAULT_DECODER,
        decoder_options: dict[str, Any] | None = None,
        size: str | tuple[int, int] | None = None,
        stride: int | None = None,
        geometry: str = "atrous",
        long_side: int = DEFAULT_LONG_SIDE,
        fit: str = "pad",
        resample: str = "bilinear",
        flip_horizontal: bool = False,
        threads: int | None = None,
    ) -> None:
        if isinstance(model, LoadedModel):
            self.model = model
        else:
            self.model = load(model, output_stride=stride, geometry=geometry)
        self.decoder = decoder
        self.options = self._decoder_options(decoder, decoder_options or {})
        self._decode = decoders.get_decoder(decoder).function  # options checked once, here
        self.fit_mode = fit
        self.resample = resample
        self.flip_horizontal = flip_horizontal
        self.runtime = Runtime(self.model.tflite, threads=threads)
        self.long_side = long_side
        self.auto_size = isinstance(size, str) and size.strip().lower() == "auto"
        self.requested_size = None if self.auto_size or size is None else parse_size_spec(size)
        if self.requested_size is not None:
            self.runtime.resize(resolve_size(self.requested_size, self.runtime.output_stride))
        self.timings = Timings()
        self._warm_up()

    def _warm_up(self) -> None:
        """Run every stage once, so that one-off costs are paid at load time and the
        first image's timings show what images really cost: loading the compiled
        kernels (numba's disk cache, ~0.3 s per process), LiteRT's weight packing on
        its first invoke; and a model LiteRT cannot run fails here, once."""
        tiny = np.zeros((2, 2, 3), np.uint8)
        fit(tiny, (3, 3), self.fit_mode, self.resample)
        tiny.flags.writeable = False  # decoded files arrive read-only: numba types them apart
        fit(tiny, (3, 3), self.fit_mode, self.resample)
        self.runtime.invoke(np.zeros((*self.runtime.input_size, 3), np.uint8))
        self._decode(self.runtime.blank_heads(), **self.options)

    def _decoder_options(self, decoder: str, given: dict[str, Any]) -> dict[str, Any]:
        return decoders.get_decoder(decoder).options_for(self.model.decoder_options, given)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.runtime.input_size

    def estimate(self, image: ImageLike, keep_heads: bool = False) -> Result:
        """Poses for one image (path, PIL image or uint8[H, W, 3] array)."""
        pixels = load_image(image) if isinstance(image, str | Path) else as_rgb(image)
        height, width = pixels.shape[:2]
        if self.auto_size:
            stride = self.runtime.output_stride
            try:
                size = auto_size((height, width), stride, self.long_side)
            except PosenetError:
                raise PosenetError(
                    f"a {width}x{height} image is too elongated for size auto "
                    f"(long side {self.long_side}, stride {stride}): give --size"
                ) from None
            self.runtime.resize(size)
        start = time.perf_counter()
        fitted = fit(pixels, self.input_size, self.fit_mode, self.resample)
        fitted_at = time.perf_counter()
        heads = self.runtime.run(fitted.pixels)
        ran_at = time.perf_counter()
        poses = self._decode(heads, **self.options)
        poses = [pose.mapped(fitted.scale, fitted.shift, fitted.size) for pose in poses]
        if self.flip_horizontal:
            poses = [pose.flipped(width) for pose in poses]
        done_at = time.perf_counter()
        self.timings = Timings(fitted_at - start, ran_at - fitted_at, done_at - ran_at)
        return Result(
            poses=poses,
            width=width,
            height=height,
            model=self.model.name,
            decoder=self.decoder,
            input_size=self.input_size,
            heads=heads if keep_heads else None,
        )


def parse_size_spec(size: str | tuple[int, int]) -> tuple[int, int]:
    """(height, width) from "HxW", "N" or a pair, before rounding to the grid."""
    if isinstance(size, str):
        parsed = parse_size(size)
        if parsed is None:
            raise PosenetError("size auto is not a fixed size")
        return parsed
    height, width = size
    return int(height), int(width)


def estimate(image: ImageLike, model: str | Path | None = None, **kwargs: Any) -> Result:
    """One-shot convenience: build an Estimator and run it on one image."""
    return Estimator(model, **kwargs).estimate(image)


__all__ = ["Estimator", "PosenetError", "Result", "Timings", "estimate"]
