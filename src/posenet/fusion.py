"""Fusion: more people found, placed more precisely, with the same PoseNet weights.

Test-time augmentation as the bottom-up pose literature does it (PersonLab,
PoseNet's own paper, and HigherHRNet gain several AP points from it):

- flip: the network also sees the mirror image of its input; the mirror's heads
  are mapped back (`mirror_heads`: columns reversed, left and right keypoints
  and chain edges exchanged, x offsets and displacements negated) and averaged
  with the original's before decoding.
- scales: the image at several input sizes; either every scale's heads are
  resampled onto the finest grid and averaged (`resample_heads`,
  `average_heads`), or every scale is decoded and the poses merged by OKS
  (`merge_poses`).
- tiles: overlapping crops of a large photo at native resolution, so that small
  people get enough pixels; poses are merged across tiles by OKS.
- rescoring: a pose score that ranks real people above false detections.
- keypoint thresholds: which keypoints are returned and drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import PosenetError
from .heads import Heads
from .keypoints import COCO_SIGMAS, EDGE_FLIP_PERMUTATION, FLIP_PERMUTATION, NUM_EDGES, NUM_KEYPOINTS
from .poses import Pose

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
