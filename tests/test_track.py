"""Tracker, One Euro filter and assignment on synthetic poses: no model, no video."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posenet._assignment import assign
from posenet.keypoints import LEFT_RIGHT_PAIRS, PART_IDS
from posenet.one_euro import OneEuroFilter
from posenet.poses import Pose
from posenet.track import TFJS_KEYPOINT_TRACKER, Tracker, TrackerSettings

#: A person facing the camera, 100 px tall, feet at y=0 (x, y); the viewer's left is
#: the person's right, as in a photo.
TEMPLATE = np.array(
    [
        (0, -92),  # nose
        (4, -95),  # leftEye
        (-4, -95),  # rightEye
        (9, -93),  # leftEar
        (-9, -93),  # rightEar
        (15, -80),  # leftShoulder
        (-15, -80),  # rightShoulder
        (19, -62),  # leftElbow
        (-19, -62),  # rightElbow
        (21, -46),  # leftWrist
        (-21, -46),  # rightWrist
        (10, -50),  # leftHip
        (-10, -50),  # rightHip
        (11, -26),  # leftKnee
        (-11, -26),  # rightKnee
        (12, 0),  # leftAnkle
        (-12, 0),  # rightAnkle
    ],
    dtype=np.float32,
)


def person(x: float, y: float, size: float = 1.0, score: float = 0.9) -> Pose:
    return Pose(TEMPLATE * size + np.float32([x, y]), np.full(17, score, np.float32), score)


def ids(tracked) -> list[int | None]:
    return [t.track_id for t in tracked]


def test_two_walkers_keep_their_ids_and_a_newcomer_gets_the_next():
    tracker = Tracker()
    for frame in range(30):
        t = frame / 30
        poses = [person(100 + 3 * frame, 200), person(400 - 2 * frame, 210)]
        if frame >= 10:
            poses.append(person(600, 220))
        tracked = tracker.update(poses, t)
        expected = [1, 2] + ([3] if frame >= 12 else [None] if frame >= 10 else [])
        assert ids(tracked) == expected, frame


def test_one_frame_ghost_never_gets_an_id_and_the_counter_is_not_spent():
    tracker = Tracker(min_hits=3)
    for frame in range(8):
        poses = [person(100, 200)]
        if frame == 4:
            poses.append(person(500, 200))
        assert ids(tracker.update(poses, frame / 30))[0] == 1
    tracked = tracker.update([person(100, 200), person(800, 200)], 8 / 30)
    assert ids(tracked) == [1, None]
    for frame in (9, 10):
        tracked = tracker.update([person(100, 200), person(800, 200)], frame / 30)
    assert ids(tracked) == [1, 2]


def test_a_track_survives_max_misses_frames_and_dies_after():
    tracker = Tracker(max_misses=5, max_age=100.0, min_hits=1)
    assert ids(tracker.update([person(100, 200)], 0.0)) == [1]
    for frame in range(1, 6):  # 5 frames missed: still alive
        tracker.update([], frame / 30)
    assert ids(tracker.update([person(100, 200)], 6 / 30)) == [1]
    for frame in range(7, 13):  # 6 missed: gone
        tracker.update([], frame / 30)
    assert ids(tracker.update([person(100, 200)], 13 / 30)) == [2]


def test_max_age_in_seconds_as_tfjs():
    tracker = Tracker(max_age=0.5, max_misses=None, min_hits=1)
    tracker.update([person(100, 200)], 0.0)
    assert ids(tracker.update([person(100, 200)], 0.5)) == [1]
    assert ids(tracker.update([person(100, 200)], 1.01)) == [2]


def test_max_tracks_keeps_the_most_recently_seen():
    tracker = Tracker(max_tracks=2, min_hits=1)
    tracker.update([person(100, 200), person(300, 200)], 0.0)
    tracked = tracker.update([person(500, 200)], 0.1)  # the oldest track makes room
    assert ids(tracked) == [3]
    # of the two unseen since 0.0, the first was kept: (100) is 1 again; (300) found
    # no room beside 1 and 3 and stays without an ID
    tracked = tracker.update([person(100, 200), person(300, 200), person(500, 200)], 0.2)
    assert ids(tracked) == [1, None, 3]


def test_too_few_confident_keypoints_fall_back_to_box_iou():
    """Only 3 keypoints confident (< min_keypoints 4): OKS would not score the pair;
    the keypoint box still matches it across a small move."""
    tracker = Tracker(min_hits=1, motion=False)
    scores = np.full(17, 0.1, np.float32)
    scores[[0, 15, 16]] = 0.9  # nose and ankles: a tall box
    for frame in range(10):
        xy = TEMPLATE + np.float32([100 + 2 * frame, 200])
        assert ids(tracker.update([Pose(xy, scores, 0.5)], frame / 30)) == [1]
    strict = Tracker(min_hits=1, motion=False, box_min_similarity=2.0)  # no fallback: TF.js
    seen = {i for f in range(3) for i in ids(strict.update([person(100, 200, score=0.2)], f))}
    assert seen == {1, 2, 3}


def test_tfjs_preset_behaves_as_tfjs_keypoint_tracker():
    """IDs at once in pose order; a pose sharing < 4 confident keypoints scores 0 and
    takes a new ID; poses are matched greedily in order; a track unseen for over
    maxAge (1 s) is gone; the poses come back as given."""
    tracker = Tracker(TFJS_KEYPOINT_TRACKER)
    assert ids(tracker.update([person(100, 200), person(300, 200)], 0.0)) == [1, 2]
    few = person(100, 200)
    scores = np.full(17, 0.1, np.float32)
    scores[:3] = 0.9
    tracked = tracker.update([Pose(few.xy, scores, 0.5), person(300, 200)], 0.1)
    assert ids(tracked) == [3, 2]
    assert tracked[0].pose is tracked[0].raw  # nothing smoothed or fixed
    assert ids(tracker.update([person(300, 200)], 1.2)) == [4]  # 2 last seen at 0.1 s
    # greedy in pose order: the first pose takes the track both resemble most
    greedy = Tracker(TFJS_KEYPOINT_TRACKER)
    greedy.update([person(100, 200), person(130, 200)], 0.0)
    assert ids(greedy.update([person(118, 200), person(100, 200)], 0.1)) == [2, 1]


def test_optimal_assignment_beats_greedy_where_greedy_is_wrong():
    similarity = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert assign(similarity, 0.2, "greedy") == [(0, 0)]  # row 1 left with nothing
    assert assign(similarity, 0.2, "optimal") == [(0, 1), (1, 0)]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 5),
    st.integers(0, 5),
    st.floats(0, 0.9),
    st.randoms(use_true_random=False),
)
def test_optimal_assignment_matches_brute_force(rows, cols, threshold, rnd):
    similarity = np.array([[rnd.random() for _ in range(cols)] for _ in range(rows)])
    similarity = similarity.reshape(rows, cols)
    pairs = assign(similarity, threshold)
    assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
    assert all(similarity[r, c] >= threshold for r, c in pairs)
    weight = np.where(similarity >= threshold, similarity, 0.0)
    if rows > cols:
        weight = weight.T
    best = max(
        (
            sum(weight[i, p] for i, p in enumerate(perm))
            for perm in itertools.permutations(range(weight.shape[1]), weight.shape[0])
        ),
        default=0.0,
    )
    assert sum(similarity[r, c] for r, c in pairs) == pytest.approx(best, abs=1e-9)


def test_an_injected_left_right_swap_is_swapped_back():
    tracker = Tracker(min_hits=1)
    for frame in range(5):
        tracker.update([person(200 + frame, 300)], frame / 30)
    swapped = person(205, 300)
    order = np.arange(17)
    for left, right in LEFT_RIGHT_PAIRS[4:]:  # wrists, hips, knees, ankles exchanged
        order[left], order[right] = right, left
    injected = Pose(swapped.xy[order], swapped.scores[order], swapped.score)
    (tracked,) = tracker.update([injected], 5 / 30)
    np.testing.assert_array_equal(tracked.raw.xy, injected.xy)
    assert tracked.track_id == 1
    fixed = Tracker(min_hits=1, smooth=False)
    for frame in range(5):
        fixed.update([person(200 + frame, 300)], frame / 30)
    (unsmoothed,) = fixed.update([injected], 5 / 30)
    np.testing.assert_array_equal(unsmoothed.pose.xy, swapped.xy)
    off = Tracker(min_hits=1, smooth=False, fix_swaps=False)
    for frame in range(5):
        off.update([person(200 + frame, 300)], frame / 30)
    np.testing.assert_array_equal(off.update([injected], 5 / 30)[0].pose.xy, injected.xy)


def test_left_and_right_at_one_spot_are_not_swapped():
    """A side view: each left/right pair nearly coincides, so noise decides nothing."""
    side = TEMPLATE.copy()
    side[:, 0] = 0.0
    rng = np.random.default_rng(1)
    tracker = Tracker(min_hits=1, smooth=False)
    for frame in range(20):
        xy = side + np.float32([300, 300]) + rng.normal(0, 1.0, side.shape).astype(np.float32)
        pose = Pose(xy, np.full(17, 0.9, np.float32), 0.9)
        (tracked,) = tracker.update([pose], frame / 30)
        swapped_pairs = [
            (a, b) for a, b in LEFT_RIGHT_PAIRS if not np.array_equal(tracked.pose.xy[a], xy[a])
        ]
        # exchanged pairs are allowed only where the two points sit within noise of each other
        for a, b in swapped_pairs:
            assert np.linalg.norm(xy[a] - xy[b]) < 6


def test_one_euro_cuts_jitter_of_a_still_point_and_follows_a_moving_one():
    rng = np.random.default_rng(0)
    still = np.full((300, 1, 2), 100.0) + rng.normal(0, 2.0, (300, 1, 2))
    f = OneEuroFilter(min_cutoff=1.0, beta=5.0)
    out = np.array([f(v, i / 30, scale=200.0) for i, v in enumerate(still)])
    jitter = lambda a: np.abs(np.diff(a[30:], axis=0)).mean()  # noqa: E731
    assert jitter(out) < 0.3 * jitter(still)
    # one person size (200 px) per second: a walk across the frame
    moving = np.stack([np.arange(300) * 200 / 30, np.zeros(300)], axis=1)[:, None, :]
    f = OneEuroFilter(min_cutoff=1.0, beta=5.0)
    out = np.array([f(v, i / 30, scale=200.0) for i, v in enumerate(moving)])
    lag_frames = (moving[100:, 0, 0] - out[100:, 0, 0]).mean() / (200 / 30)
    assert 0 < lag_frames < 1.0


def test_one_euro_cutoff_follows_person_size():
    """The same motion relative to the person: a small person is followed as closely as
    a big one (speeds are in person sizes per second)."""
    path = np.sin(np.arange(120) / 5.0)[:, None, None] * np.ones((1, 1, 2))
    lags = []
    for size in (20.0, 400.0):
        f = OneEuroFilter(min_cutoff=1.0, beta=5.0)
        out = np.array([f(v * size, i / 30, scale=size) for i, v in enumerate(path)]) / size
        lags.append(np.abs(out - path).mean())
    assert lags[0] == pytest.approx(lags[1], rel=1e-6)


def test_smoothing_reduces_jitter_of_a_tracked_still_person():
    rng = np.random.default_rng(2)
    noisy, smooth = [], []
    tracker = Tracker(min_hits=1)
    for frame in range(90):
        raw = TEMPLATE * 2 + np.float32([300, 400]) + rng.normal(0, 2, (17, 2)).astype(np.float32)
        (tracked,) = tracker.update([Pose(raw, np.full(17, 0.9, np.float32), 0.9)], frame / 30)
        noisy.append(raw)
        smooth.append(tracked.pose.xy)
        assert tracked.track_id == 1

    def jitter(xy):
        return np.linalg.norm(np.diff(np.array(xy)[15:], axis=0), axis=-1).mean()

    assert jitter(smooth) < 0.5 * jitter(noisy)


def test_per_keypoint_thresholds():
    settings = TrackerSettings(keypoint_threshold=tuple([0.9] * 5 + [0.1] * 12))
    assert settings.thresholds[PART_IDS["nose"]] == pytest.approx(0.9)
    assert settings.thresholds[PART_IDS["leftAnkle"]] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "changes",
    [
        {"assignment": "best"},
        {"similarity": "iou"},
        {"max_tracks": 0},
        {"min_hits": 0},
        {"max_misses": -1},
        {"max_age": 0},
        {"keypoint_threshold": (0.1, 0.2)},
        {"keypoint_falloff": 0.0},
        {"beta": -1.0},
        {"swap_ratio": 0.0},
    ],
)
def test_bad_settings_are_refused(changes):
    with pytest.raises(ValueError, match="tracker: "):
        TrackerSettings(**changes)
