"""Image -> Result: fit, run, decode, map back. The one way from pixels to poses.

An Estimator is built once from its EstimatorSettings, a small picklable
description (the model is read, LiteRT set up, the compiled kernels loaded), and
then serves any number of images from any number of threads: `estimate` changes
no state of the estimator; interpreters come from a pool keyed by input size
(`runtime.RuntimePool`), so size "auto" never resizes an interpreter another
call is using. `stream` overlaps reading and fitting the next image with the
network on the current one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from . import fusion, presets
from .decode import DECODERS, get_decoder
from .errors import PosenetError
from .heads import Heads
from .image import (
    FITS,
    MAX_PIXELS,
    RESAMPLES,
    Decoded,
    Fitted,
    as_rgb,
    fit,
    fitted_size,
    read_image,
)
from .model import PRECISIONS, given_files, load
from .network import DEFAULT_GEOMETRY, OUTPUT_STRIDES, RETARGET_GEOMETRIES
from .poses import Pose, to_image
from .result import Result, Timings
from .runtime import INPUT_TYPES, Runtime, RuntimePool
from .sizes import (
    DEFAULT_LONG_SIDE,
    MAX_SIDE,
    SIZE_FORMS,
    auto_size,
    parse_size,
    resolve_size,
    round_side,
)

if TYPE_CHECKING:  # video needs PyAV, an extra: imported when a video is asked for
    from .video import VideoFrame

__all__ = ["Estimator", "EstimatorSettings", "ImageLike", "estimate"]

log = logging.getLogger(__name__)

#: What estimate() and stream() take: a file path, a PIL image, uint8[H, W, 3|4] / [H, W],
#: or a file already read by Estimator.read.
ImageLike = str | Path | Image.Image | np.ndarray | Decoded

#: Images stream() reads and fits ahead of the one in the network.
_AHEAD = 2


@dataclass(frozen=True)
class EstimatorSettings:
    """What an Estimator is: model, input size, decoder and how images are fitted.

    model: registry name or model file path; None is the preset's model, else the
        store's default.
    like: a preset (CHOICES["like"], posenet.presets.PRESETS): "tfjs" or "coral"
        reproduce that reference end to end; None is "posenet", the project's own.
        It gives model, decoder, fit, resample, input_type, precision and draft where
        they are None, and decides whether poses come sorted by score and clipped into
        the image.
    size: network input "HxW", "N" (square) or "auto" (the image's aspect ratio,
        long side `long_side`), rounded to the nearest k * stride + 1 when built;
        None keeps the model's own size. A (height, width) pair is accepted.
    stride: output stride 8, 16 or 32; None keeps the model's own. Another stride
        rebuilds the network, its dilations chosen by `geometry` (CHOICES["geometry"]).
    decoder: a CHOICES["decoder"] name; decoder_options: its options as sorted
        (name, value) pairs (a dict is accepted and normalised). For a decoder
        that takes a model's embedded options (coral), these override them.
    fit, resample: CHOICES["fit"], CHOICES["resample"] names.
    input_type: CHOICES["input_type"]: "float" feeds a float model the resampled
        pixels unrounded (as TF.js), "uint8" rounds them first.
    `resolved()` gives the values that run for the settings a preset fills in.
    flip_horizontal: mirror the results as TF.js's flipHorizontal (x -> width - 1 - x).
    threads: LiteRT CPU threads per interpreter (None: LiteRT's choice).
    long_side: the long side of size "auto", before rounding.
    precision: what runs, CHOICES["precision"] (posenet.model.PRECISIONS): "auto" runs
        a uint8 model such as Coral's as the same integer network in int8 (about twice
        as fast on XNNPACK, within Coral's reference bounds), "original" the file's own
        arithmetic (the references' presets), "int8" insists on that form, "float" a
        float32 rebuild.
    draft: decode a JPEG file at 1/2, 1/4 or 1/8 scale when it is at least twice the
        size it fills on the input (at the plan's largest scale; never when it tiles):
        libjpeg's DCT scaling, faster; COCO AP on the dev set is unchanged at the
        default size and moves both ways by up to 0.006 at small inputs (README).
        Poses are mapped onto the whole photo. On in this project's preset, off in
        the references'. Arrays and PIL images are used as given; keep=True decodes
        files in full.
    accuracy: an accuracy preset (CHOICES["accuracy"], posenet.fusion.ACCURACY):
        "fast", "balanced" or "best" trade time for people found and placed; it
        gives model, stride, size (auto, with its own long side), decoder options
        and the five settings below where they are None. None runs one plain pass.
    scales: network runs at these multiples of the input size (its long side
        with size "auto"), their heads resampled onto the largest and averaged.
    flip_test: also run the mirror image of every input and average its heads,
        mapped back (left and right exchanged), with the input's.
    tiles: a photo much larger than the input is also run in overlapping tiles at
        native resolution, so small people get enough pixels; poses are merged by OKS.
    rescore: how poses are scored: a CHOICES["rescore"] name; "decoder" keeps the
        decoder's score, "size" weighs it down for poses small in the image.
    pose_threshold: poses scoring below this (after rescoring) are dropped.
    keypoint_threshold: keypoints scoring below this (one number, or one per
        keypoint: 17 numbers or {name: number}) are left out of the JSON form and
        the drawings; positions and scores of all 17 stay in `Pose.xy`/`scores`.

    Frozen, hashable, picklable and JSON round-trippable (`to_dict` / `from_dict`),
    so that a batch framework, a pool of processes or an HTTP service ships *these*
    to its workers, each of which builds its own Estimator once, never an
    interpreter. Every default is written here or in the registry it comes from,
    and the CLI reads its flag defaults from `EstimatorSettings()` and its choices
    from CHOICES. Invalid values raise PosenetError here, when the settings are
    made, so a worker never receives settings it cannot build (a model that does
    not exist, or a size its network cannot take, is found when building).
    """

    #: The values each setting with a fixed set of them accepts, the default first
    #: where it has one (from the registries: decoders, fits, resamplers, geometries).
    CHOICES: ClassVar[Mapping[str, tuple[Any, ...]]] = MappingProxyType(
        {
            "stride": OUTPUT_STRIDES,
            "geometry": tuple(RETARGET_GEOMETRIES),
            "decoder": tuple(DECODERS),
            "fit": FITS,
            "resample": RESAMPLES,
            "like": tuple(presets.PRESETS),
            "input_type": INPUT_TYPES,
            "precision": tuple(PRECISIONS),
            "accuracy": tuple(fusion.ACCURACY),
            "rescore": fusion.RESCORES,
        }
    )
    #: The settings a preset gives when they are None.
    PRESET_SETTINGS: ClassVar[tuple[str, ...]] = presets.SETTINGS
    #: What `size` accepts, for help texts.
    SIZE_FORMS: ClassVar[str] = SIZE_FORMS
    #: Most LiteRT threads `threads` accepts.
    MAX_THREADS: ClassVar[int] = 64

    model: str | None = None
    like: str | None = None
    size: str | None = None
    stride: int | None = None
    geometry: str = DEFAULT_GEOMETRY
    decoder: str | None = None
    decoder_options: tuple[tuple[str, int | float], ...] = ()
    fit: str | None = None
    resample: str | None = None
    input_type: str | None = None
    flip_horizontal: bool = False
    threads: int | None = None
    long_side: int = DEFAULT_LONG_SIDE
    precision: str | None = None
    draft: bool | None = None
    accuracy: str | None = None
    scales: tuple[float, ...] | None = None
    flip_test: bool | None = None
    tiles: bool | None = None
    rescore: str | None = None
    pose_threshold: float | None = None
    keypoint_threshold: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        def set_(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if isinstance(self.model, os.PathLike):
            set_("model", os.fspath(self.model))
        if self.model is not None and not isinstance(self.model, str):
            raise PosenetError(f"model must be a name or a path, got {self.model!r}")
        set_("size", _normalised_size(self.size))
        for name in (
            "like",
            "stride",
            "geometry",
            "fit",
            "resample",
            "input_type",
            "precision",
            "accuracy",
            "rescore",
        ):
            value, choices = getattr(self, name), self.CHOICES[name]
            if name == "stride" and (value is None or _whole(value)):
                value = None if value is None else int(value)  # numpy integers too
                set_(name, value)
            if value not in choices and not (value is None and name != "geometry"):
                raise PosenetError(f"{name} must be one of {_listed(choices)}, got {value!r}")
        decoder = get_decoder(self.resolved()["decoder"])
        options = decoder.check(_options_dict(self.decoder_options))
        set_("decoder_options", tuple(sorted((k, _plain(v)) for k, v in options.items())))
        if not isinstance(self.flip_horizontal, bool | np.bool_):
            raise PosenetError(
                f"flip_horizontal must be True or False, got {self.flip_horizontal!r}"
            )
        set_("flip_horizontal", bool(self.flip_horizontal))
        if self.threads is not None and not (
            _whole(self.threads) and 1 <= self.threads <= self.MAX_THREADS
        ):
            raise PosenetError(
                f"threads must be 1 to {self.MAX_THREADS} or None, got {self.threads!r}"
            )
        set_("threads", None if self.threads is None else int(self.threads))
        if not (_whole(self.long_side) and 1 <= self.long_side <= MAX_SIDE):
            raise PosenetError(f"long_side must be 1 to {MAX_SIDE}, got {self.long_side!r}")
        set_("long_side", int(self.long_side))
        set_("scales", fusion.checked_scales(self.scales))
        for name in ("flip_test", "tiles", "draft"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool | np.bool_):
                raise PosenetError(f"{name} must be True, False or None, got {value!r}")
            set_(name, None if value is None else bool(value))
        if self.pose_threshold is not None:
            set_("pose_threshold", fusion.checked_threshold("pose_threshold", self.pose_threshold))
        set_("keypoint_threshold", fusion.checked_keypoint_threshold(self.keypoint_threshold))

    def resolved(self) -> dict[str, Any]:
        """{name: value} of PRESET_SETTINGS as they run: each given one, else the
        accuracy preset's (its model), else the `like` preset's."""
        given = {name: getattr(self, name) for name in self.PRESET_SETTINGS}
        if given["model"] is None and self.accuracy is not None:
            given["model"] = fusion.ACCURACY[self.accuracy].model
        return presets.resolve(self.like, **given)

    def plan(self) -> fusion.Plan:
        """How each image is run and fused: the settings given, else the accuracy
        preset's, else one plain run (posenet.fusion.Plan)."""
        row = fusion.ACCURACY.get(self.accuracy) if self.accuracy else None
        base = row.plan if row else fusion.Plan()
        return fusion.Plan(
            scales=base.scales if self.scales is None else self.scales,
            flip=base.flip if self.flip_test is None else self.flip_test,
            tiles=base.tiles if self.tiles is None else self.tiles,
            rescore=base.rescore if self.rescore is None else self.rescore,
            pose_threshold=base.pose_threshold
            if self.pose_threshold is None
            else self.pose_threshold,
            keypoint_threshold=base.keypoint_threshold
            if self.keypoint_threshold is None
            else self.keypoint_threshold,
        )

    def build(self) -> Estimator:
        """An Estimator for these settings (loads the model, prepares LiteRT)."""
        return Estimator.from_settings(self)

    def model_files(self) -> list[Path]:
        """The files of the model when it is named by path (a TF.js model's shards too;
        none for a registry name): the inputs a command must never write over."""
        return given_files(self.model)

    def replace(self, **changes: Any) -> EstimatorSettings:
        """A copy with `changes` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every field; `from_dict` inverts it."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["decoder_options"] = dict(self.decoder_options)
        for name in ("scales", "keypoint_threshold"):
            if data[name] is not None:
                data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimatorSettings:
        """Settings from `to_dict`'s form (missing fields take their defaults)."""
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise PosenetError(f"settings: unknown field {', '.join(map(str, unknown))}")
        return cls(**data)


@dataclass(frozen=True)
class _Prepared:
    """An image read and fitted, waiting for the network: `fitted` at the plan's
    scales (one for a plain run), `tiles` cut from it when the plan tiles."""

    image: Decoded
    fitted: tuple[Fitted, ...]
    tiles: tuple[Fitted, ...]
    load: float
    preprocess: float


class Estimator:
    """A PoseNet model, a decoder and an image fit, ready to estimate poses.

    `Estimator(model, **settings)` takes the fields of EstimatorSettings as keywords
    (model: registry name or file path, None for the default; like, size, stride,
    geometry, decoder, decoder_options, fit, resample, input_type, flip_horizontal,
    threads, long_side, precision, draft, accuracy, scales, flip_test, tiles, rescore,
    pose_threshold, keypoint_threshold); `Estimator.from_settings(settings)` the
    settings themselves.

    settings: what rebuilds this estimator in another process.
    preset: the Preset of `settings.like`; decoder, fit, resample, input_type, draft:
        what runs (the settings', else the preset's); pixel_type: what the
        network is fed (float32, or uint8 for input_type "uint8" and Coral's models).
    model_name: the model's registry name or path, for reports.
    input_size: (height, width) of the network input; None with size "auto".
    requested_size: the size asked for before rounding to the grid (None if none).
    output_stride: input pixels per output cell.
    decoder_options: the options the decoder runs with (the model's embedded ones
        where the decoder takes them, the accuracy preset's, the settings').
    precision: the form of the model that runs: "original", "int8" or "float" (the
        settings ask; "auto" resolves to one of these for the model).
    accuracy: the accuracy preset (posenet.fusion.Accuracy), or None.
    plan: how each image is run and fused (posenet.fusion.Plan, from the settings
        and the accuracy preset); long_side: the long side of size "auto" that runs.
    """

    def __init__(self, model: str | Path | None = None, **settings: Any) -> None:
        self.settings = EstimatorSettings(model=model, **settings)
        s = self.settings
        chosen = s.resolved()
        self.preset = presets.preset(s.like)
        self.accuracy = fusion.ACCURACY[s.accuracy] if s.accuracy else None
        self.plan = s.plan()
        self.decoder, self.fit, self.resample = chosen["decoder"], chosen["fit"], chosen["resample"]
        self.input_type, self.draft = chosen["input_type"], chosen["draft"]
        stride, size, self.long_side = self._geometry()
        self._model = load(
            chosen["model"],
            output_stride=stride,
            geometry=s.geometry,
            precision=chosen["precision"],
        )
        self._decoder = get_decoder(self.decoder)
        candidates = dict(self.accuracy.decoder_options) if self.accuracy else {}
        given = {k: v for k, v in candidates.items() if k in self._decoder.defaults}
        self.decoder_options = self._decoder.options_for(
            self._model.decoder_options, {**given, **dict(s.decoder_options)}
        )
        self.model_name = self._model.name
        self.precision = self._model.precision
        self.requested_size = None if size in (None, "auto") else parse_size(size)
        first = Runtime(self._model.tflite, threads=s.threads)
        self.pixel_type = first.pixel_type(self.input_type)
        self.output_stride = first.output_stride
        if self.requested_size is not None:
            first.resize(resolve_size(self.requested_size, self.output_stride))
        self.input_size: tuple[int, int] | None = None if size == "auto" else first.input_size
        # every scale in both orientations (size auto), and the tiles, each keep an interpreter
        keep = max(4, 2 * len(self.plan.scales) + 2)
        self._pool = RuntimePool(self._model.tflite, threads=s.threads, keep=keep)
        self._warm_up(first)
        self._pool.give(first)
        if self._model.warning:  # said once the model is known to run
            log.warning("warning: %s", self._model.warning)

    def _geometry(self) -> tuple[int | None, str | None, int]:
        """(stride, size, long side) that run: the settings', else the accuracy preset's."""
        s, row = self.settings, self.accuracy
        stride = s.stride if s.stride is not None or row is None else row.stride
        if s.size is None and row is not None and row.long_side is not None:
            return stride, "auto", row.long_side
        return stride, s.size, s.long_side

    @classmethod
    def from_settings(cls, settings: EstimatorSettings) -> Estimator:
        """The estimator `settings` describe."""
        return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)})

    def _warm_up(self, runtime: Runtime) -> None:
        """Run every stage once, so that one-off costs are paid at load time and the
        first image's timings show what images really cost: loading the compiled
        kernels (numba's disk cache, ~0.3 s per process), LiteRT's first invoke; and
        a model LiteRT cannot run fails here, once."""
        tiny = np.zeros((2, 2, 3), np.uint8)
        fit(tiny, (3, 3), self.fit, self.resample, self.pixel_type)
        tiny.flags.writeable = False  # decoded files arrive read-only: numba types them apart
        fit(tiny, (3, 3), self.fit, self.resample, self.pixel_type)
        runtime.invoke(np.zeros((*runtime.input_size, 3), self.pixel_type))
        blank = runtime.blank_heads()
        self._decoder.function(blank, **self.decoder_options)
        if not self.plan.plain:  # fused heads are laid out apart: numba types them apart
            self._decoder.function(fusion.average_heads([blank, blank]), **self.decoder_options)

    def estimate(self, image: ImageLike, *, keep: bool = False) -> Result:
        """The poses of one image: a path, a PIL image or a uint8[H, W, 3] array.

        Safe to call from several threads at once. keep: also return the fitted
        input, the heads and the decoded image in the Result.
        """
        return self._finish(self._prepare(image, keep), keep)

    def stream(
        self, images: Iterable[ImageLike], *, keep: bool = False, return_errors: bool = False
    ) -> Iterator[Result]:
        """Results for `images` (any iterable: paths, arrays, PIL images), in order.

        A helper thread takes the next images from `images` and reads and fits
        them (up to two ahead) while the network runs on the current one; LiteRT,
        Pillow's decoders and the compiled resize release the GIL, so with a core
        to spare the network runs almost back to back (benchmarks/bench_stream.py).
        A process allowed on one CPU only reads in its own thread instead.
        A PosenetError for one image (a bad file, say) is raised at its position,
        which ends the stream; with `return_errors` it is yielded in the Result's
        place and the stream goes on.
        """
        source = iter(images)

        def take() -> _Prepared | None:  # on the helper thread, one call at a time
            for image in source:
                return self._prepare(image, keep)
            return None

        helper = (
            ThreadPoolExecutor(1, thread_name_prefix="posenet-stream")
            if _usable_cpus() > 1
            else _InPlace()
        )
        ahead: deque[Future] = deque(helper.submit(take) for _ in range(_AHEAD))
        try:
            while True:
                try:
                    prepared = ahead.popleft().result()
                    if prepared is None:
                        return
                    ahead.append(helper.submit(take))
                    result = self._finish(prepared, keep)
                except PosenetError as error:
                    if not return_errors:
                        raise
                    if len(ahead) < _AHEAD:
                        ahead.append(helper.submit(take))
                    yield error  # type: ignore[misc]
                    continue
                yield result
        finally:
            helper.shutdown(wait=True, cancel_futures=True)

    def video(self, source: str | Path | int, **options: Any) -> Iterator[VideoFrame]:
        """The poses of every frame of a video file, a folder of frames or a camera
        (a number, or a device path), people tracked and smoothed: VideoFrames in order.

        Options are posenet.video.estimate_video's: track (True, a TrackerSettings, a
        Tracker or False), start, end (s), every, max_frames, rate (a folder's fps),
        keep_images. Needs PyAV (`pip install 'posenet-toolkit[video]'`), imported
        here, on first use, never with the estimator.
        """
        from .video import estimate_video

        return estimate_video(self, source, **options)

    def read(
        self,
        source: str | Path | bytes,
        *,
        exif: bool = True,
        keep: bool = False,
        max_pixels: int = MAX_PIXELS,
    ) -> Decoded:
        """Decode an image file (or an encoded image's bytes) as estimate() does: a JPEG
        at least twice the size it fills on the input decodes at 1/2, 1/4 or 1/8 scale
        (image.read_image) when draft is on, unless the plan tiles the photo at its own
        resolution or keep=True asks for the whole image. exif: apply the EXIF
        orientation (COCO's keypoints, say, refer to the stored pixels); max_pixels:
        the most pixels accepted (ImageTooLarge beyond)."""
        reduce = self.draft and not keep and not self.plan.tiles
        keep_size = self._fitted_size if reduce else None
        return read_image(source, keep=keep_size, exif=exif, max_pixels=max_pixels)

    def _fitted_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """(width, height) an image of `size` (width, height) fills on the largest input."""
        inputs = self._input_sizes(size[1], size[0])
        return fitted_size(size, max(inputs, key=lambda hw: hw[0] * hw[1]), self.fit)

    def _input_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """The network input (height, width) of each of the plan's scales for an image."""
        size = self.input_size or self._auto_size(height, width)
        if self.plan.scales == (1.0,):
            return [size]
        if self.input_size is None:
            return [self._auto_size(height, width, self.long_side * s) for s in self.plan.scales]
        return fusion.scaled_sizes(
            size, self.plan.scales, lambda side: round_side(side, self.output_stride)
        )

    def _prepare(self, image: ImageLike, keep: bool = False) -> _Prepared:
        """Read and fit one image (the part of an estimate before the network)."""
        start = time.perf_counter()
        if isinstance(image, str | Path):
            decoded = self.read(image, keep=keep)
        elif isinstance(image, Decoded):
            decoded = image
        else:
            pixels = as_rgb(image)
            decoded = Decoded(pixels, (pixels.shape[1], pixels.shape[0]))
        loaded = time.perf_counter()
        width, height = decoded.size
        sizes = self._input_sizes(height, width)
        fitted = tuple(
            _whole_image(fit(decoded.pixels, s, self.fit, self.resample, self.pixel_type), decoded)
            for s in sizes
        )
        tiles = tuple(self._tiles(decoded.pixels, sizes[0])) if self.plan.tiles else ()
        load = 0.0 if isinstance(image, np.ndarray | Decoded) else loaded - start
        return _Prepared(decoded, fitted, tiles, load, time.perf_counter() - loaded)

    def _tiles(self, pixels: np.ndarray, size: tuple[int, int]) -> Iterator[Fitted]:
        """The image's tiles (fusion.tile_boxes), each fitted to `size` with its map
        back to the whole image."""
        for top, left, height, width in fusion.tile_boxes(pixels.shape[:2], size):
            crop = pixels[top : top + height, left : left + width]
            tile = fit(crop, size, self.fit, self.resample, self.pixel_type)
            shift = (tile.fit.shift[0] + left, tile.fit.shift[1] + top)
            yield Fitted(tile.pixels, dataclasses.replace(tile.fit, shift=shift))

    def _finish(self, prepared: _Prepared, keep: bool) -> Result:
        """Network, decoder, map back: the rest of an estimate."""
        if not self.plan.plain:
            return self._finish_fused(prepared, keep)
        start = time.perf_counter()
        fitted = prepared.fitted[0]
        size = fitted.pixels.shape[:2]
        with self._pool.runtime(size) as runtime:
            heads = runtime.run(fitted.pixels)
        ran = time.perf_counter()
        decoded = self._decoder.function(heads, **self.decoder_options)
        width, height = prepared.image.size
        arranged = {"clip": self.preset.clip, "by_score": self.preset.sort}
        input_poses = to_image(decoded, (1.0, 1.0), (0.0, 0.0), size[::-1], **arranged)
        poses = to_image(
            decoded,
            fitted.fit.scale,
            fitted.fit.shift,
            (width, height),
            flip=self.settings.flip_horizontal,
            **arranged,
        )
        done = time.perf_counter()
        return self._result(prepared, fitted, heads, poses, input_poses, keep, (start, ran, done))

    def _finish_fused(self, prepared: _Prepared, keep: bool) -> Result:
        """The plan's runs (scales, mirrors, tiles), fused (posenet.fusion), decoded,
        merged, rescored. Poses come sorted by score (merging and rescoring rank them)."""
        start = time.perf_counter()
        views = [self._view(fitted) for fitted in prepared.fitted]
        tiles = [self._view(fitted) for fitted in prepared.tiles]
        ran = time.perf_counter()
        width, height = prepared.image.size
        clip = self.preset.clip
        target = fusion.fuse_scales(views)
        poses = self._decoded(target, (width, height), clip)
        if tiles:
            for tile in tiles:
                poses += self._decoded(tile, (width, height), clip)
            poses = fusion.merge_poses(poses)
        poses = fusion.rescored(poses, (width, height), self.plan.rescore)
        poses = [pose for pose in poses if pose.score >= self.plan.pose_threshold]
        fitted = max(prepared.fitted, key=lambda f: f.pixels.shape[0] * f.pixels.shape[1])
        scale = np.asarray(target.scale, np.float32)
        back = (tuple(1 / scale), tuple(-np.asarray(target.shift, np.float32) / scale))
        input_poses = [pose.mapped(*back) for pose in poses]
        if self.settings.flip_horizontal:
            poses = [pose.flipped(width) for pose in poses]
        done = time.perf_counter()
        return self._result(
            prepared, fitted, target.heads, poses, input_poses, keep, (start, ran, done)
        )

    def _view(self, fitted: Fitted) -> fusion.View:
        """The network on one fitted input (and on its mirror, with the flip test)."""
        with self._pool.runtime(fitted.pixels.shape[:2]) as runtime:
            heads = runtime.run(fitted.pixels)
            if self.plan.flip:
                mirrored = runtime.run(np.ascontiguousarray(fitted.pixels[:, ::-1]))
                heads = fusion.flip_average(heads, mirrored)
        return fusion.View(heads, fitted.fit.scale, fitted.fit.shift)

    def _decoded(self, view: fusion.View, size: tuple[int, int], clip: bool) -> list[Pose]:
        """A view's poses in image pixels."""
        decoded = self._decoder.function(view.heads, **self.decoder_options)
        return to_image(decoded, view.scale, view.shift, size, clip=clip)

    def _result(
        self,
        prepared: _Prepared,
        fitted: Fitted,
        heads: Heads,
        poses: list[Pose],
        input_poses: list[Pose],
        keep: bool,
        times: tuple[float, float, float],
    ) -> Result:
        start, ran, done = times
        width, height = prepared.image.size
        return Result(
            poses=poses,
            input_poses=input_poses,
            width=width,
            height=height,
            model=self.model_name,
            decoder=self.decoder,
            input_size=fitted.pixels.shape[:2],
            fit=fitted.fit,
            timings=Timings(prepared.load, prepared.preprocess, ran - start, done - ran),
            keypoint_threshold=self.plan.keypoint_threshold,
            input=fitted.pixels if keep else None,
            heads=heads if keep else None,
            image=prepared.image.pixels if keep else None,
        )

    def _auto_size(
        self, height: int, width: int, long_side: float | None = None
    ) -> tuple[int, int]:
        long_side = self.long_side if long_side is None else long_side
        try:
            return auto_size((height, width), self.output_stride, long_side)
        except PosenetError:
            raise PosenetError(
                f"a {width}x{height} image is too elongated for size auto "
                f"(long side {long_side}, stride {self.output_stride}): give --size"
            ) from None


def _whole_image(fitted: Fitted, decoded: Decoded) -> Fitted:
    """`fitted` (of a decoded image's pixels) with its map back taken on to the whole
    image, for a file decoded reduced: input -> decoded pixels -> the whole image."""
    if decoded.scale == (1.0, 1.0):
        return fitted
    scale = np.multiply(fitted.fit.scale, decoded.scale).tolist()
    shift = (np.multiply(fitted.fit.shift, decoded.scale) + decoded.shift).tolist()
    whole = dataclasses.replace(fitted.fit, scale=tuple(scale), shift=tuple(shift))
    return Fitted(fitted.pixels, whole)


class _InPlace:
    """The part of an executor stream() uses, running each call at once in the caller's
    thread: where no second CPU could overlap the reading with the network."""

    def submit(self, call: Callable[[], Any]) -> Future:
        future: Future = Future()
        try:
            future.set_result(call())
        except Exception as exc:  # raised again, in order, by future.result()
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def estimate(image: ImageLike, model: str | Path | None = None, **settings: Any) -> Result:
    """One-shot convenience: build an Estimator(model, **settings) and run it on one image."""
    return Estimator(model, **settings).estimate(image)


def _normalised_size(size: Any) -> str | None:
    """None, "auto" or "HxW" (unrounded) from what `size` accepts."""
    if size is None:
        return None
    if isinstance(size, str):
        parsed = parse_size(size)
    elif isinstance(size, Iterable) and len(pair := tuple(size)) == 2 and all(map(_whole, pair)):
        parsed = (int(pair[0]), int(pair[1]))
    else:
        raise PosenetError(f"size must be {SIZE_FORMS} or (height, width), got {size!r}")
    return "auto" if parsed is None else f"{parsed[0]}x{parsed[1]}"


def _options_dict(options: Any) -> dict[str, Any]:
    try:
        return dict(options)
    except (TypeError, ValueError):
        raise PosenetError(
            f"decoder_options must be a dict or (name, value) pairs, got {options!r}"
        ) from None


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so that settings stay JSON-able."""
    return value.item() if isinstance(value, np.generic) else value


def _whole(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _listed(choices: Iterable[Any]) -> str:
    return ", ".join(map(str, choices))
