"""Fusion: more people found, placed more precisely, with the same PoseNet weights.

Test-time augmentation as the bottom-up pose literature does it (PersonLab,
PoseNet's own paper, and HigherHRNet gain several AP points from it):

- flip: the network also sees the mirror image of its input; the mirror's heads
  are mapped back (`mirror_heads`: columns reversed, left and right keypoints
  and chain edges exchanged, x offsets and displacements negated) and averaged
  with the original's before decoding.
- scales: the image at several input sizes, every scale's heads resampled onto
  the finest grid and averaged (`fuse_scales`). Decoding each scale and merging
  the poses by OKS (`merge_poses`) was measured too and found fewer people.
- tiles: overlapping crops of a large photo at native resolution, so that small
  people get enough pixels; their poses and the whole image's are merged by OKS.
- rescoring: a pose score that ranks real people above false detections.

The estimator runs the network on each view (`Plan` says which) and hands the
heads here; nothing in this module runs a model. The accuracy presets
(`ACCURACY`, `--accuracy fast|balanced|best`) are rows of settings chosen on the
development set (README, "Accuracy presets"; benchmarks/bench_accuracy.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import PosenetError
from .heads import Heads
from .keypoints import (
    COCO_SIGMAS,
    EDGE_FLIP_PERMUTATION,
    FLIP_PERMUTATION,
    NUM_EDGES,
    NUM_KEYPOINTS,
    PART_IDS,
)
from .poses import Pose

__all__ = [
    "ACCURACY",
    "RESCORES",
    "Accuracy",
    "Plan",
    "View",
    "average_heads",
    "flip_average",
    "fuse_scales",
    "merge_poses",
    "mirror_heads",
    "oks",
    "resample_heads",
    "rescored",
    "scaled_sizes",
    "tile_boxes",
]

#: How poses are scored (`rescored`): "decoder" keeps the decoder's score; "size"
#: weighs it by the pose's size in the image.
RESCORES: tuple[str, ...] = ("decoder", "size")
#: Scales accepted, as multiples of the input size.
SCALE_RANGE = (0.25, 4.0)
#: Tiles are used when the image is this many times the tile on some side.
TILE_MIN_ZOOM = 1.5
#: Overlap of neighbouring tiles, as a fraction of the tile.
TILE_OVERLAP = 0.25
#: Most tiles per image; beyond that, tiles cover more of the photo each (downscaled).
MAX_TILES = 16


@dataclass(frozen=True)
class Plan:
    """How one image is run and fused (EstimatorSettings.plan()).

    scales: network runs at these multiples of the input size.
    flip: each run also on the mirrored input, heads averaged (`flip_average`).
    tiles: large photos also run in tiles at native resolution (`tile_boxes`).
    rescore: a RESCORES name (`rescored`).
    pose_threshold: poses below this score, after rescoring, are dropped.
    keypoint_threshold: 17 keypoint score thresholds for what is returned and
        drawn, or None for all keypoints.
    """

    scales: tuple[float, ...] = (1.0,)
    flip: bool = False
    tiles: bool = False
    rescore: str = "decoder"
    pose_threshold: float = 0.0
    keypoint_threshold: tuple[float, ...] | None = None

    @property
    def plain(self) -> bool:
        """One run, the decoder's poses as they come: what the estimator does without fusion."""
        return (
            self.scales == (1.0,)
            and not self.flip
            and not self.tiles
            and self.rescore == "decoder"
            and self.pose_threshold == 0.0
        )


@dataclass(frozen=True)
class Accuracy:
    """An accuracy preset: what `accuracy=name` sets where a setting is not given.

    model, stride: the network (None: the `like` preset's model, its own stride).
    long_side: size "auto" with this long side (None: the model's own size).
    decoder_options: the decoder's candidates: many poses, low threshold, so that
        rescoring and `pose_threshold` decide what is returned.
    plan: scales, flip, tiles, rescoring and the pose threshold.
    """

    name: str
    summary: str
    model: str | None
    stride: int | None
    long_side: int | None
    decoder_options: tuple[tuple[str, int | float], ...]
    plan: Plan


#: Decoder options of every preset: many candidates at a low threshold, so that
#: rescoring and the pose threshold decide what is returned.
_CANDIDATES = (("max_detections", 20), ("score_threshold", 0.05))
#: Rescored score below which a preset drops a pose (costs the best preset 0.009 AP
#: on the development set, and keeps the faintest fragments out of drawings).
_POSE_THRESHOLD = 0.05
#: Keypoint score below which a preset leaves a keypoint out of the JSON and the
#: drawings (drawings already started there). On the development set's matched
#: people (best preset) it leaves out 70% of the keypoints nobody labelled
#: (hidden, out of the frame) and 31% of the misplaced ones, against 8% of the
#: right ones; per keypoint the counts (20-47 each) are too few to choose 17
#: thresholds, so one number serves all.
_KEYPOINT_THRESHOLD = (0.2,) * NUM_KEYPOINTS

#: The accuracy presets, fastest first. Chosen on the development set
#: (benchmarks/bench_accuracy.py; figures and time ratios in the README).
ACCURACY: dict[str, Accuracy] = {
    row.name: row
    for row in (
        Accuracy(
            name="fast",
            summary="the default model, input from the image's aspect (long side 481), "
            "rescored: about the default's time",
            model=None,
            stride=None,
            long_side=481,
            decoder_options=_CANDIDATES,
            plan=Plan(
                rescore="size",
                pose_threshold=_POSE_THRESHOLD,
                keypoint_threshold=_KEYPOINT_THRESHOLD,
            ),
        ),
        Accuracy(
            name="balanced",
            summary="the default model, long side 721, rescored: about 2.3 times the default's "
            "pixels",
            model=None,
            stride=None,
            long_side=721,
            decoder_options=_CANDIDATES,
            plan=Plan(
                rescore="size",
                pose_threshold=_POSE_THRESHOLD,
                keypoint_threshold=_KEYPOINT_THRESHOLD,
            ),
        ),
        Accuracy(
            name="best",
            summary="tfjs-075 at stride 8, long sides 641, 961 and 1281 fused, large photos "
            "also in tiles, rescored",
            model="tfjs-075",
            stride=8,
            long_side=961,
            decoder_options=_CANDIDATES,
            plan=Plan(
                scales=(2 / 3, 1.0, 4 / 3),
                tiles=True,
                rescore="size",
                pose_threshold=_POSE_THRESHOLD,
                keypoint_threshold=_KEYPOINT_THRESHOLD,
            ),
        ),
    )
}


_KEYPOINTS = np.array(FLIP_PERMUTATION)
_EDGES = np.array(EDGE_FLIP_PERMUTATION)
#: COCO's OKS variances (2 sigma)^2 per keypoint.
_OKS_VARIANCES = (2 * np.array(COCO_SIGMAS, np.float32)) ** 2


@dataclass(frozen=True)
class View:
    """Heads of one network run and where its input sits in the image.

    heads: the network's output for this input.
    scale, shift: (x, y) pairs mapping input pixels to image pixels,
        image = input * scale + shift.
    """

    heads: Heads
    scale: tuple[float, float]
    shift: tuple[float, float]


def mirror_heads(heads: Heads) -> Heads:
    """The heads of a mirrored input expressed in the unmirrored input's frame.

    Run the network on `input[:, ::-1]` and pass its heads here: the result is
    what those heads say about `input`. Grid columns are reversed (exact when the
    input width is k * stride + 1, as every size here is rounded to), left and
    right keypoints exchange channels, each chain edge takes its mirror edge's
    channels (same direction: the chain is symmetric), and x components of
    offsets and displacements change sign. Applying it twice gives the heads back.
    """
    width = heads.input_size[1]
    columns = heads.grid_size[1]
    if (columns - 1) * heads.output_stride != width - 1:
        raise PosenetError(
            f"flip needs an input width of k * {heads.output_stride} + 1, got {width}"
        )

    def vectors(array: np.ndarray, channels: np.ndarray, count: int) -> np.ndarray:
        flipped = array[:, ::-1]
        y = flipped[..., :count][..., channels]
        x = flipped[..., count:][..., channels]
        return np.concatenate([y, -x], axis=-1)

    return Heads(
        heatmap=np.ascontiguousarray(heads.heatmap[:, ::-1][..., _KEYPOINTS]),
        offsets=vectors(heads.offsets, _KEYPOINTS, NUM_KEYPOINTS),
        displacements_fwd=vectors(heads.displacements_fwd, _EDGES, NUM_EDGES),
        displacements_bwd=vectors(heads.displacements_bwd, _EDGES, NUM_EDGES),
        output_stride=heads.output_stride,
        input_size=heads.input_size,
    )


def average_heads(heads: Sequence[Heads], heatmap: str = "logit") -> Heads:
    """The mean of several heads on one grid.

    heatmap: "logit" averages the logits, "probability" the sigmoid scores (and
    returns their logits, as decoders take logits). Offsets and displacements
    are averaged as vectors. The mean of one heads, or of identical ones, is that heads.
    """
    first = heads[0]
    for other in heads[1:]:
        if other.grid_size != first.grid_size or other.output_stride != first.output_stride:
            raise PosenetError("heads to average must share one grid")
    if len(heads) == 1:
        return first
    if heatmap == "logit":
        mean_heatmap = _mean([h.heatmap for h in heads])
    elif heatmap == "probability":
        scores = _mean([h.scores() for h in heads])
        np.clip(scores, 1e-7, 1 - 1e-7, out=scores)
        mean_heatmap = np.log(scores / (1 - scores)).astype(np.float32)
    else:
        raise PosenetError(f"heatmap averaging must be logit or probability, got {heatmap!r}")
    return Heads(
        heatmap=mean_heatmap,
        offsets=_mean([h.offsets for h in heads]),
        displacements_fwd=_mean([h.displacements_fwd for h in heads]),
        displacements_bwd=_mean([h.displacements_bwd for h in heads]),
        output_stride=first.output_stride,
        input_size=first.input_size,
    )


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    total = arrays[0].astype(np.float32, copy=True)
    for array in arrays[1:]:
        total += array
    total *= np.float32(1 / len(arrays))
    return total


def resample_heads(view: View, onto: View) -> Heads:
    """`view`'s heads resampled bilinearly onto the grid of `onto`, in its input pixels.

    Each cell of `onto`'s grid is placed in the image, then in `view`'s grid
    (clamped to it); heatmap logits are interpolated, and offsets and
    displacements are interpolated and converted from `view`'s input pixels to
    `onto`'s. A view resampled onto itself is unchanged.
    """
    source, target = view.heads, onto.heads
    rows, columns = target.grid_size
    grid_y = _source_cells(rows, target.output_stride, onto, view, axis=1)
    grid_x = _source_cells(columns, target.output_stride, onto, view, axis=0)
    ratio_x = np.float32(view.scale[0] / onto.scale[0])
    ratio_y = np.float32(view.scale[1] / onto.scale[1])

    def sample(array: np.ndarray) -> np.ndarray:
        return _bilinear(array, grid_y, grid_x)

    def vectors(array: np.ndarray, count: int) -> np.ndarray:
        sampled = sample(array)
        sampled[..., :count] *= ratio_y
        sampled[..., count:] *= ratio_x
        return sampled

    return Heads(
        heatmap=sample(source.heatmap),
        offsets=vectors(source.offsets, NUM_KEYPOINTS),
        displacements_fwd=vectors(source.displacements_fwd, NUM_EDGES),
        displacements_bwd=vectors(source.displacements_bwd, NUM_EDGES),
        output_stride=target.output_stride,
        input_size=target.input_size,
    )


def _source_cells(count: int, stride: int, onto: View, view: View, axis: int) -> np.ndarray:
    """Fractional `view` grid coordinates of `onto`'s cells 0..count-1 along one axis."""
    image = np.arange(count, dtype=np.float64) * stride * onto.scale[axis] + onto.shift[axis]
    cells = (image - view.shift[axis]) / view.scale[axis] / view.heads.output_stride
    limit = view.heads.grid_size[1 - axis] - 1
    return np.clip(cells, 0, limit)


def _bilinear(array: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """array[H, W, C] sampled at rows `ys` x columns `xs` (fractional, in range)."""
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1 = np.minimum(y0 + 1, array.shape[0] - 1)
    x1 = np.minimum(x0 + 1, array.shape[1] - 1)
    wy = (ys - y0).astype(np.float32)[:, None, None]
    wx = (xs - x0).astype(np.float32)[None, :, None]
    top, bottom = array[y0], array[y1]
    rows = top + (bottom - top) * wy
    left, right = rows[:, x0], rows[:, x1]
    return np.ascontiguousarray(left + (right - left) * wx, dtype=np.float32)


def oks(a: Pose, b: Pose) -> float:
    """COCO's object keypoint similarity of two poses, `a`'s box area as the scale."""
    return float(_oks_matrix([a], [b])[0, 0])


def _oks_matrix(poses: Sequence[Pose], others: Sequence[Pose]) -> np.ndarray:
    """OKS of every pose against every other, [len(poses), len(others)]; the area is
    that of the row pose's keypoint box (COCO uses the person's segment area,
    about half to two thirds of the box; the box keeps it simple and scale-free)."""
    a = np.stack([p.xy for p in poses])
    b = np.stack([p.xy for p in others])
    span = a.max(axis=1) - a.min(axis=1)
    area = np.maximum(span[:, 0] * span[:, 1], 1.0)
    distance = ((a[:, None] - b[None]) ** 2).sum(axis=-1)
    e = distance / (2 * area[:, None, None] * _OKS_VARIANCES)
    return np.exp(-e).mean(axis=-1)


def merge_poses(poses: Sequence[Pose], threshold: float = 0.5) -> list[Pose]:
    """Poses of one image from several runs, duplicates removed: greedy OKS NMS.

    In decreasing score order a pose is kept unless its OKS with a kept pose
    exceeds `threshold`. Returns the kept poses, highest score first.
    """
    ordered = sorted(poses, key=lambda p: -p.score)
    if len(ordered) < 2:
        return list(ordered)
    similarity = _oks_matrix(ordered, ordered)
    kept: list[int] = []
    for i in range(len(ordered)):
        if all(similarity[k, i] <= threshold for k in kept):
            kept.append(i)
    return [ordered[i] for i in kept]


def fuse_scales(views: Sequence[View], heatmap: str = "logit") -> View:
    """One view from the same image at several input sizes: every view's heads
    resampled onto the finest grid (the largest input) and averaged there.

    Measured against decoding each scale and merging the poses by OKS
    (`merge_poses`), this found more people and placed them better on the
    development set (README, "Accuracy presets"): the decoder then sees one
    consistent field instead of several partial answers to reconcile.
    """
    onto = max(views, key=lambda v: v.heads.input_size[0] * v.heads.input_size[1])
    if len(views) == 1:
        return onto
    resampled = [v.heads if v is onto else resample_heads(v, onto) for v in views]
    return View(average_heads(resampled, heatmap), onto.scale, onto.shift)


def flip_average(heads: Heads, mirrored: Heads) -> Heads:
    """The flip test: `heads` of an input averaged with the heads of its mirror image
    (`mirrored`, from the network run on `input[:, ::-1]`), mapped back first."""
    return average_heads([heads, mirror_heads(mirrored)])


def scaled_sizes(
    size: tuple[int, int], scales: Sequence[float], round_side: Any
) -> list[tuple[int, int]]:
    """The input size (height, width) at each scale, each side rounded by `round_side`
    (a function of a length, giving the nearest side the grid fits)."""
    return [(round_side(size[0] * s), round_side(size[1] * s)) for s in scales]


def tile_boxes(
    image_size: tuple[int, int], tile_size: tuple[int, int]
) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles covering an image: (top, left, height, width) in image pixels.

    None when the image is less than TILE_MIN_ZOOM times the tile on both sides
    (the whole-image run sees it well enough). Tiles are `tile_size` (native
    resolution), at least TILE_OVERLAP of a tile shared by neighbours, spread
    evenly from edge to edge; when that needs more than MAX_TILES, every tile
    covers a larger part of the photo (to be shrunk to the input size).
    """
    (height, width), (tile_h, tile_w) = image_size, tile_size
    if height < TILE_MIN_ZOOM * tile_h and width < TILE_MIN_ZOOM * tile_w:
        return []
    zoom = 1.0
    while True:
        box_h, box_w = min(height, round(tile_h * zoom)), min(width, round(tile_w * zoom))
        rows, cols = _tile_count(height, box_h), _tile_count(width, box_w)
        if rows * cols <= MAX_TILES:
            break
        zoom *= 1.25
    tops = np.linspace(0, height - box_h, rows).round().astype(int)
    lefts = np.linspace(0, width - box_w, cols).round().astype(int)
    return [(int(t), int(x), box_h, box_w) for t in tops for x in lefts]


def _tile_count(length: int, tile: int) -> int:
    if length <= tile:
        return 1
    step = tile * (1 - TILE_OVERLAP)
    return 1 + math.ceil((length - tile) / step)


def rescored(poses: Sequence[Pose], image_size: tuple[int, int], how: str) -> list[Pose]:
    """Poses with the score `how` (a RESCORES name) gives them, highest first.

    "size": the decoder's score times (keypoint box area / image area) ** 0.25.
    COCO's annotators, like anyone looking at a photo, label the people the photo
    is about; tiny background figures and fragments are the false detections that
    rank above real people most often. On the development set this ranking gained
    0.01-0.03 AP at every setting tried, as much as a knee at a fifth of the image
    (min(1, size / 0.2)) and with no constant to choose; the number of confident
    keypoints and the mean keypoint score ranked worse than the decoder's score,
    which already discounts keypoints shared with a better pose.
    image_size: (width, height) of the image the poses are in.
    """
    if how not in RESCORES:
        raise PosenetError(f"rescore must be one of {', '.join(RESCORES)}, got {how!r}")
    if how == "size":
        area = float(image_size[0]) * float(image_size[1])
        poses = [Pose(p.xy, p.scores, p.score * _size_weight(p, area)) for p in poses]
    return sorted(poses, key=lambda p: -p.score)


def _size_weight(pose: Pose, image_area: float) -> float:
    span = pose.xy.max(axis=0) - pose.xy.min(axis=0)
    return (max(float(span[0]) * float(span[1]), 0.0) / image_area) ** 0.25


def checked_scales(scales: Any) -> tuple[float, ...] | None:
    """Scales as a tuple of floats (a number, a sequence or "0.75,1,1.5" accepted)."""
    if scales is None:
        return None
    if isinstance(scales, str):
        parts = [p for p in scales.replace(" ", "").split(",") if p]
    elif isinstance(scales, int | float | np.number):
        parts = [scales]
    else:
        try:
            parts = list(scales)
        except TypeError:
            parts = [scales]
    try:
        values = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        values = ()
    low, high = SCALE_RANGE
    if not values or not all(math.isfinite(v) and low <= v <= high for v in values):
        raise PosenetError(
            f"scales must be one or more numbers from {low} to {high} "
            f"(multiples of the input size), got {scales!r}"
        )
    return values


def checked_threshold(name: str, value: Any) -> float:
    """A score threshold as a float in [0, 1]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not 0.0 <= number <= 1.0:
        raise PosenetError(f"{name} must be a score from 0 to 1, got {value!r}")
    return number


def checked_keypoint_threshold(value: Any) -> tuple[float, ...] | None:
    """17 keypoint thresholds from one number, 17 numbers, {part name: number} (unnamed
    parts 0) or text such as "0.3,leftWrist=0.5" (a number for every part, then
    per name); checked. None stays None."""
    if value is None:
        return None
    name = "keypoint_threshold"
    if isinstance(value, str):
        every, named = 0.0, {}
        for item in (part.strip() for part in value.split(",")):
            part, sep, number = item.rpartition("=")
            if sep:
                named[part.strip()] = number
            else:
                every = checked_threshold(name, number)
        return checked_keypoint_threshold({**dict.fromkeys(PART_IDS, every), **named})
    if isinstance(value, Mapping):
        values = [0.0] * NUM_KEYPOINTS
        for part, threshold in value.items():
            if part not in PART_IDS:
                raise PosenetError(f"{name}: no keypoint {part!r} (names: {', '.join(PART_IDS)})")
            values[PART_IDS[part]] = checked_threshold(f"{name} of {part}", threshold)
        return tuple(values)
    if not isinstance(value, Sequence | np.ndarray):
        return (checked_threshold(name, value),) * NUM_KEYPOINTS
    if len(value) != NUM_KEYPOINTS:
        raise PosenetError(f"{name} needs one number or {NUM_KEYPOINTS}, got {len(value)}")
    return tuple(checked_threshold(name, v) for v in value)
