"""People across frames: stable track IDs, One Euro smoothing, left/right consistency.

Tracking works on poses and timestamps alone; it knows nothing of models,
images or video files, so it serves a video, a camera, a web page or a test.

Per frame, as TF.js pose-detection's KeypointTracker and BoundingBoxTracker do:
drop tracks unseen for longer than `max_age` seconds; score every (pose, track)
pair by OKS over the keypoints confident in both, with the track's box area as
the scale and `keypoint_falloff` (COCO's sigmas) as the per-keypoint spread;
match; give the unmatched poses new tracks; keep the `max_tracks` most recently
seen. Beyond TF.js (each a named setting):

- pairs sharing fewer than `min_keypoints` confident keypoints are scored by the
  IoU of their keypoint boxes instead of not at all (TF.js scores them 0);
- matching is optimal (Hungarian) by default, `assignment="greedy"` is TF.js's;
- `motion`: a track is predicted forward at its recent velocity (the median of its
  keypoints' steps) before matching, and one unseen for n frames is matched with
  its OKS tolerance (area) widened n + 1 times, so a person passing behind another
  is picked up where they come out;
- a track gets its ID after `min_hits` matched frames (a one-frame false pose
  never takes an ID; in the stream's first `min_hits` frames tracks are
  confirmed at once, as in SORT) and dies after `max_misses` frames unmatched;
  confirmed tracks are matched before tentative ones (DeepSORT's cascade);
- left/right pairs that fit the track better exchanged are exchanged back;
- each track's keypoints run through a One Euro filter scaled by the person's size.

TFJS_KEYPOINT_TRACKER switches all of these off: TF.js's KeypointTracker with its
default configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from ._assignment import ASSIGNMENTS, assign
from .keypoints import COCO_SIGMAS, LEFT_RIGHT_PAIRS, NUM_KEYPOINTS
from .one_euro import OneEuroFilter
from .poses import Pose

__all__ = ["TFJS_KEYPOINT_TRACKER", "TrackedPose", "Tracker", "TrackerSettings"]

SIMILARITIES: tuple[str, ...] = ("keypoints", "box")


@dataclass(frozen=True)
class TrackerSettings:
    """How poses become tracks. Defaults follow TF.js pose-detection's keypoint tracker
    where it has the setting (maxTracks 18, maxAge 1 s, minSimilarity 0.2 for OKS and
    0.15 for boxes, keypointConfidenceThreshold 0.3, COCO falloffs, 4 keypoints).

    similarity: "keypoints" (OKS, box IoU when too few keypoints are shared) or
        "box" (box IoU only, as TF.js's BoundingBoxTracker).
    keypoint_threshold: score from which a keypoint counts as confident: one number
        or 17, in keypoint order. Also what a drawing shows.
    """

    similarity: str = "keypoints"
    assignment: str = "optimal"
    max_tracks: int = 18
    max_age: float = 1.0
    max_misses: int | None = 30
    min_hits: int = 3
    min_similarity: float = 0.2
    box_min_similarity: float = 0.15
    keypoint_threshold: float | tuple[float, ...] = 0.3
    keypoint_falloff: tuple[float, ...] = tuple(float(s) for s in COCO_SIGMAS)
    min_keypoints: int = 4
    motion: bool = True
    fix_swaps: bool = True
    swap_ratio: float = 0.5
    smooth: bool = True
    min_cutoff: float = 1.0
    beta: float = 5.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if self.similarity not in SIMILARITIES:
            problems.append(f"similarity {self.similarity!r} is not one of {SIMILARITIES}")
        if self.assignment not in ASSIGNMENTS:
            problems.append(f"assignment {self.assignment!r} is not one of {ASSIGNMENTS}")
        for name in ("max_tracks", "min_hits", "min_keypoints"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be a whole number >= 1")
        if self.max_misses is not None and (
            not isinstance(self.max_misses, int) or self.max_misses < 0
        ):
            problems.append("max_misses must be a whole number >= 0 or None")
        for name in ("max_age", "min_cutoff", "d_cutoff"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0")
        if not self.beta >= 0:
            problems.append("beta must be >= 0")
        if not 0 < self.swap_ratio <= 1:
            problems.append("swap_ratio must be in (0, 1]")
        for name in ("keypoint_threshold", "keypoint_falloff"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.shape not in ((), (NUM_KEYPOINTS,)) or not np.isfinite(values).all():
                problems.append(f"{name} must be one number or {NUM_KEYPOINTS}")
        if not (np.asarray(self.keypoint_falloff) > 0).all():
            problems.append("keypoint_falloff must be > 0")
        if problems:
            raise ValueError("tracker: " + "; ".join(problems))

    @property
    def thresholds(self) -> np.ndarray:
        """float32[17]: the confidence threshold of each keypoint."""
        return np.broadcast_to(
            np.asarray(self.keypoint_threshold, np.float32), (NUM_KEYPOINTS,)
        ).copy()

    def replace(self, **changes: Any) -> TrackerSettings:
        return replace(self, **changes)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


#: TF.js pose-detection's KeypointTracker, default configuration: greedy matching, IDs at
#: once, no prediction, no smoothing, no left/right fixing, and no box fallback (an IoU
#: never reaches 2).
TFJS_KEYPOINT_TRACKER = TrackerSettings(
    assignment="greedy",
    max_misses=None,
    min_hits=1,
    box_min_similarity=2.0,
    motion=False,
    fix_swaps=False,
    smooth=False,
)


@dataclass(frozen=True)
class TrackedPose:
    """One person in one frame.

    pose: what to show: the detection with left/right fixed and smoothed.
    raw: the detection as the estimator gave it.
    track_id: the person's ID (1, 2, ...), None while the track is unconfirmed.
    """

    pose: Pose
    raw: Pose
    track_id: int | None

    def to_dict(
        self, digits: int = 2, min_scores: float | Sequence[float] | None = None
    ) -> dict[str, Any]:
        """The CLI's pose JSON (keypoints from `min_scores` when given) plus "track_id"."""
        return {**self.pose.to_dict(digits, min_scores), "track_id": self.track_id}


@dataclass(eq=False)
class _Track:
    pose: Pose  # last matched detection, left/right fixed
    time: float
    hits: int = 1
    misses: int = 0
    track_id: int | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    smoother: OneEuroFilter | None = None

    def predicted(self, time: float, motion: bool) -> np.ndarray:
        if not motion:
            return self.pose.xy
        return self.pose.xy + self.velocity * np.float32(time - self.time)


class Tracker:
    """Gives each person a stable ID across frames; `update` once per frame, in time order."""

    def __init__(self, settings: TrackerSettings | None = None, **changes: Any) -> None:
        self.settings = (settings or TrackerSettings()).replace(**changes)
        self._thresholds = self.settings.thresholds
        self._falloff = np.asarray(self.settings.keypoint_falloff, np.float32)
        self._tracks: list[_Track] = []
        self._frames = 0
        self._next_id = 1

    def update(self, poses: Sequence[Pose], time: float) -> list[TrackedPose]:
        """Tracked poses for one frame's detections (same order), `time` in seconds."""
        s = self.settings
        self._frames += 1
        self._tracks = [t for t in self._tracks if time - t.time <= s.max_age]
        predicted = [t.predicted(time, s.motion) for t in self._tracks]
        similarity, threshold = self._similarity(poses, predicted)
        matched = self._match(similarity, threshold)
        out_tracks: list[_Track] = []
        for index, pose in enumerate(poses):
            if index in matched:
                track = self._tracks[matched[index]]
                reference = predicted[matched[index]]
                if s.fix_swaps:
                    pose = self._fix_swaps(pose, track.pose, reference)
                self._follow(track, pose, time)
            else:
                track = _Track(pose, time)
                self._tracks.append(track)
            out_tracks.append(track)
        for column, track in enumerate(list(self._tracks[: len(predicted)])):
            if column not in matched.values():
                track.misses += 1
        self._tracks = [t for t in self._tracks if s.max_misses is None or t.misses <= s.max_misses]
        # TF.js keeps the max_tracks most recently seen (a stable sort keeps ties in order).
        self._tracks.sort(key=lambda t: -t.time)
        del self._tracks[s.max_tracks :]
        alive = set(map(id, self._tracks))
        results = []
        for raw, track in zip(poses, out_tracks, strict=True):
            if id(track) not in alive:
                results.append(TrackedPose(raw, raw, None))
                continue
            if track.track_id is None and (track.hits >= s.min_hits or self._frames <= s.min_hits):
                track.track_id, self._next_id = self._next_id, self._next_id + 1
            results.append(TrackedPose(self._smoothed(track), raw, track.track_id))
        return results

    def _match(self, similarity: np.ndarray, threshold: np.ndarray) -> dict[int, int]:
        """{pose: track}: confirmed tracks first, then tentative ones take what is left
        (as DeepSORT's cascade), so a one-frame ghost cannot take a person's place."""
        matched: dict[int, int] = {}
        tracks = self._tracks[: similarity.shape[1]]
        confirmed = np.array([t.track_id is not None for t in tracks], dtype=bool)
        for columns in (np.flatnonzero(confirmed), np.flatnonzero(~confirmed)):
            rows = np.array([r for r in range(similarity.shape[0]) if r not in matched], int)
            if not len(rows) or not len(columns):
                continue
            block = np.ix_(rows, columns)
            for r, c in assign(similarity[block], threshold[block], self.settings.assignment):
                matched[int(rows[r])] = int(columns[c])
        return matched

    def _follow(self, track: _Track, pose: Pose, time: float) -> None:
        dt = time - track.time
        if dt > 0:
            both = (pose.scores >= self._thresholds) & (track.pose.scores >= self._thresholds)
            if both.any():
                # the median: a pose that took a few keypoints from someone else (two
                # people overlapping) does not fling the track away
                step = np.median(pose.xy[both] - track.pose.xy[both], axis=0) / np.float32(dt)
                track.velocity = np.float32(0.5) * (track.velocity + step)
        track.pose, track.time = pose, time
        track.hits += 1
        track.misses = 0

    def _smoothed(self, track: _Track) -> Pose:
        s = self.settings
        if not s.smooth:
            return track.pose
        if track.smoother is None:
            track.smoother = OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)
        box = _box(track.pose, self._thresholds)
        scale = ((box[2] - box[0]) + (box[3] - box[1])) / 2
        xy = track.smoother(track.pose.xy, track.time, max(float(scale), 1.0))
        return Pose(xy.astype(np.float32), track.pose.scores, track.pose.score)

    def _similarity(
        self, poses: Sequence[Pose], predicted: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """float[poses, tracks] similarities and the threshold each must reach."""
        s = self.settings
        shape = (len(poses), len(predicted))
        similarity = np.zeros(shape)
        threshold = np.full(shape, s.box_min_similarity)
        tracks = self._tracks[: len(predicted)]
        for i, pose in enumerate(poses):
            confident = pose.scores >= self._thresholds
            for j, (track, xy) in enumerate(zip(tracks, predicted, strict=True)):
                moved = Pose(xy, track.pose.scores, track.pose.score)
                both = confident & (track.pose.scores >= self._thresholds)
                if s.similarity == "keypoints" and both.sum() >= s.min_keypoints:
                    spread = 1 + track.misses if s.motion else 1
                    similarity[i, j] = self._oks(pose, moved, both, spread)
                    threshold[i, j] = s.min_similarity
                else:
                    box = _box(pose, self._thresholds)
                    similarity[i, j] = _iou(box, _box(moved, self._thresholds))
        return similarity, threshold

    def _oks(self, pose: Pose, track: Pose, both: np.ndarray, spread: float = 1.0) -> float:
        """OKS of `pose` against the track's keypoints; `spread` widens the tolerance
        (as area) for a track unseen for a while, whose prediction is less sure."""
        box = _box(track, self._thresholds)
        area = max(float((box[2] - box[0]) * (box[3] - box[1])), 1.0) * spread
        d2 = ((pose.xy[both] - track.xy[both]) ** 2).sum(axis=1)
        k = 2 * self._falloff[both]
        return float(np.exp(-d2 / (2 * area * k * k)).mean())

    def _fix_swaps(self, pose: Pose, last: Pose, reference: np.ndarray) -> Pose:
        """`pose` with each left/right pair exchanged whose exchange fits `reference`
        (the track's predicted keypoints) better by `swap_ratio`.

        A pair is judged on its confident keypoints (one is enough: a wrist whose twin
        is hidden can still sit where the other wrist was), against a reference with at
        least one side confident (PoseNet places an unsure keypoint from its
        neighbours, roughly right, so its position still counts).
        """
        sure = pose.scores >= self._thresholds
        known = last.scores >= self._thresholds
        order = np.arange(NUM_KEYPOINTS)
        for left, right in LEFT_RIGHT_PAIRS:
            if not (known[left] or known[right]) or not (sure[left] or sure[right]):
                continue
            straight = crossed = 0.0
            for side, other in ((left, right), (right, left)):
                if sure[side]:
                    straight += _d2(pose.xy[side], reference[side])
                    crossed += _d2(pose.xy[side], reference[other])
            if crossed < self.settings.swap_ratio * straight:
                order[left], order[right] = right, left
        if (order == np.arange(NUM_KEYPOINTS)).all():
            return pose
        return Pose(pose.xy[order], pose.scores[order], pose.score)


def _d2(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a - b) ** 2).sum())


def _box(pose: Pose, thresholds: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) around the confident keypoints (all of them if fewer than 2)."""
    confident = pose.scores >= thresholds
    xy = pose.xy[confident] if confident.sum() >= 2 else pose.xy
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = float(w * h)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0
