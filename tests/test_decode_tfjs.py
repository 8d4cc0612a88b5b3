"""decode_tfjs: hand-worked cases, the TF.js oracle on random heads, robustness, real heads.

Hand-worked expectations are derived in the comments from the algorithm of
POSENET.md §4, never from running the decoder. Comparisons with the oracle
(tests/tfjs_oracle.py) and between the compiled kernel and its plain-Python
original are exact.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posenet.decode import get_decoder, tfjs
from posenet.decode._tfjs_score import logit_floor, tfjs_score
from posenet.decode.tfjs import decode_tfjs
from posenet.errors import PosenetError
from posenet.heads import Heads
from posenet.poses import to_image

from . import tfjs_oracle
from .helpers import coral_heads, coral_reference

NOSE, LEFT_EYE, LEFT_EAR, LEFT_KNEE = 0, 1, 3, 13
QUIET = -20.0  # a logit whose score (2e-9) is far below any threshold used here


def sig(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def blank(h: int, w: int) -> dict[str, np.ndarray]:
    """Arrays of a grid with every logit QUIET and every offset / displacement zero."""
    return {
        "heatmap": np.full((h, w, 17), QUIET, np.float32),
        "offsets": np.zeros((h, w, 34), np.float32),
        "displacements_fwd": np.zeros((h, w, 32), np.float32),
        "displacements_bwd": np.zeros((h, w, 32), np.float32),
    }


def heads_of(arrays: dict, stride: int = 16, input_size: tuple[int, int] | None = None) -> Heads:
    h, w = arrays["heatmap"].shape[:2]
    if input_size is None:
        input_size = ((h - 1) * stride + 1, (w - 1) * stride + 1)
    return Heads(**arrays, output_stride=stride, input_size=input_size)


def noses(poses) -> list[tuple[float, float]]:
    """(y, x) of each pose's nose."""
    return [(float(p.xy[NOSE, 1]), float(p.xy[NOSE, 0])) for p in poses]


# --- candidates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("radius", "expected_x"),
    [
        # Nose logits along one row: x=0: 3.0, x=2: 2.0, x=5: 1.0, all else QUIET.
        (0, [0, 32, 80]),  # every cell over the threshold is its own window
        (1, [0, 32, 80]),  # windows [0, 1], [1, 3], [4, 5]: nothing higher inside
        (2, [0, 80]),  # x=2's window [0, 4] reaches x=0 (3.0 > 2.0); x=5's is [3, 5]
        (3, [0]),  # x=5's window [2, 5] now reaches x=2 (2.0 > 1.0)
    ],
)
def test_candidates_at_the_window_border(radius, expected_x):
    a = blank(1, 6)
    a["heatmap"][0, [0, 2, 5], NOSE] = [3.0, 2.0, 1.0]
    poses = decode_tfjs(heads_of(a), max_detections=10, nms_radius=1.0, local_maximum_radius=radius)
    assert noses(poses) == [(0.0, x) for x in expected_x]


def test_candidate_window_is_a_square():
    # (0, 0) = 2.0 is a diagonal neighbour of (1, 1) = 3.0, so not a local maximum;
    # (0, 3) = 2.0 is two columns from (1, 1), outside its radius-1 window.
    a = blank(3, 4)
    a["heatmap"][1, 1, NOSE] = 3.0
    a["heatmap"][0, 0, NOSE] = 2.0
    a["heatmap"][0, 3, NOSE] = 2.0
    poses = decode_tfjs(heads_of(a), max_detections=10, nms_radius=1.0)
    assert noses(poses) == [(16.0, 16.0), (0.0, 48.0)]


def test_equal_neighbours_are_both_candidates_and_pop_in_tfjs_heap_order():
    # Three equal maxima at x = 0, 2, 4 (windows of radius 1 do not overlap a rival).
    # TF.js's heap: enqueue a, b, c -> [a, b, c]; dequeue a: swap a and c ->
    # [c, b], c does not sink below an equal b -> then c, then b.
    # So the roots pop as x = 0, 64, 32; equal pose scores keep that order.
    a = blank(1, 5)
    a["heatmap"][0, [0, 2, 4], NOSE] = 2.0
    heads = heads_of(a)
    assert noses(decode_tfjs(heads, max_detections=10, nms_radius=1.0)) == [
        (0.0, 0.0),
        (0.0, 64.0),
        (0.0, 32.0),
    ]
    assert noses(decode_tfjs(heads, max_detections=2, nms_radius=1.0)) == [(0, 0), (0, 64)]


def test_threshold_is_inclusive():
    # logit 0 gives score exactly 0.5: a candidate at threshold 0.5, not above it.
    a = blank(1, 1)
    a["heatmap"][0, 0, NOSE] = 0.0
    heads = heads_of(a)
    assert len(decode_tfjs(heads, score_threshold=0.5)) == 1
    assert decode_tfjs(heads, score_threshold=0.5000001) == []


# --- non-maximum suppression and scores ------------------------------------------------------


@pytest.mark.parametrize(("radius", "count"), [(40.0, 1), (39.999, 2)])
def test_root_suppressed_at_exactly_the_radius(radius, count):
    # Nose A at cell (0, 0) -> (0, 0); nose B at cell (0, 2) with offset y = 24
    # -> (24, 32). Squared distance 24^2 + 32^2 = 1600 = 40^2: suppressed at 40.
    a = blank(3, 3)
    a["heatmap"][0, 0, NOSE] = 3.0
    a["heatmap"][0, 2, NOSE] = 2.0
    a["offsets"][0, 2, NOSE] = 24.0
    poses = decode_tfjs(heads_of(a), max_detections=10, nms_radius=radius)
    assert noses(poses) == [(0.0, 0.0), (24.0, 32.0)][:count]


def test_instance_score_leaves_out_claimed_keypoints():
    # One row of 5 cells, stride 16. Noses A at x=0 (logit 3) and B at x=4 (logit 2);
    # every other logit is -1 (score 0.27, no candidate), except leftEar at cell 0: -0.5.
    # Displacements are zero, so each keypoint starts at its pose's root cell.
    # Pose A: all 17 keypoints at (0, 0); score (sig 3 + sig -0.5 + 15 sig -1) / 17.
    # Pose B: root (0, 64). leftEar walks from leftEye (0, 64): refinement 1 at
    # cell 4 adds its offset x = -64 -> (0, 0); refinement 2 at cell 0 (offset 0)
    # stays (0, 0), score there sig -0.5. It is within 20 px of A's leftEar, so
    # claimed: B's score is (sig 2 + 15 sig -1) / 17; the keypoint keeps its score.
    a = blank(1, 5)
    a["heatmap"][:, :, 1:] = -1.0
    a["heatmap"][0, 0, LEFT_EAR] = -0.5
    a["heatmap"][0, 0, NOSE] = 3.0
    a["heatmap"][0, 4, NOSE] = 2.0
    a["offsets"][0, 4, 17 + LEFT_EAR] = -64.0
    first, second = decode_tfjs(heads_of(a), nms_radius=20.0)
    assert first.score == pytest.approx((sig(3) + sig(-0.5) + 15 * sig(-1)) / 17, abs=1e-6)
    assert second.score == pytest.approx((sig(2) + 15 * sig(-1)) / 17, abs=1e-6)
    assert tuple(second.xy[LEFT_EAR]) == (0.0, 0.0)
    assert second.scores[LEFT_EAR] == pytest.approx(sig(-0.5), abs=1e-6)
    assert tuple(second.xy[LEFT_EYE]) == (64.0, 0.0)


def test_poses_come_in_root_order_and_the_estimator_sorts_them():
    # As TF.js: root A (logit 3) pops first, though its other keypoints score
    # sig(-5) and root B's (logit 2.5) sig(1). At threshold 0.9 only the two
    # noses are candidates. A: (sig 3 + 16 sig -5)/17, B: (sig 2.5 + 16 sig 1)/17.
    # The project's default (to_image, by_score) puts B first.
    a = blank(1, 4)
    a["heatmap"][0, 0, :] = -5.0
    a["heatmap"][0, 3, :] = 1.0
    a["heatmap"][0, 0, NOSE] = 3.0
    a["heatmap"][0, 3, NOSE] = 2.5
    poses = decode_tfjs(heads_of(a), score_threshold=0.9)
    assert noses(poses) == [(0.0, 0.0), (0.0, 48.0)]
    assert poses[0].score == pytest.approx((sig(3) + 16 * sig(-5)) / 17, abs=1e-6)
    assert poses[1].score == pytest.approx((sig(2.5) + 16 * sig(1)) / 17, abs=1e-6)
    ordered = to_image(poses, (1.0, 1.0), (0.0, 0.0), (49, 1))
    assert noses(ordered) == [(0.0, 48.0), (0.0, 0.0)]


def test_positions_are_unclipped_and_suppression_uses_them():
    # Nose A at cell (0, 0) with offset y = -100 lies at (-100, 0). Nose B at
    # cell (0, 2) with offset x = -32 lies at (0, 0): 100 px from A, so TF.js
    # keeps it. The project's default (to_image, clip) returns both at (0, 0).
    a = blank(3, 3)
    a["heatmap"][0, 0, NOSE] = 3.0
    a["heatmap"][0, 2, NOSE] = 2.0
    a["offsets"][0, 0, NOSE] = -100.0
    a["offsets"][0, 2, 17 + NOSE] = -32.0
    poses = decode_tfjs(heads_of(a), nms_radius=20.0)
    assert noses(poses) == [(-100.0, 0.0), (0.0, 0.0)]
    clipped = to_image(poses, (1.0, 1.0), (0.0, 0.0), (33, 33))
    assert noses(clipped) == [(0.0, 0.0), (0.0, 0.0)]


# --- the walk --------------------------------------------------------------------------------


def test_chain_walk_goes_backward_then_forward():
    # A 1 x 1 grid: every lookup is cell (0, 0); with no refinement a hop just
    # adds the displacement of its edge. Root: leftKnee at offset (500, 400).
    # Backward pass, edges 15 .. 0, used where the child is known:
    #   e8 leftHip <- leftKnee, e7 leftShoulder <- leftHip, e4 nose <- leftShoulder.
    # Forward pass, edges 0 .. 15, used where the parent is known:
    #   e0 leftEye, e1 leftEar, e2 rightEye, e3 rightEar, e5 leftElbow, e6 leftWrist,
    #   e9 leftAnkle (from the root), e10 rightShoulder, e11 rightElbow,
    #   e12 rightWrist, e13 rightHip, e14 rightKnee, e15 rightAnkle.
    a = blank(1, 1)
    a["heatmap"][0, 0, LEFT_KNEE] = 3.0
    a["offsets"][0, 0, LEFT_KNEE] = 500.0
    a["offsets"][0, 0, 17 + LEFT_KNEE] = 400.0
    bwd = np.array([(-10.0 - e, 3.0 + e) for e in range(16)])
    fwd = np.array([(5.0 + e, -2.0 - 2 * e) for e in range(16)])
    a["displacements_bwd"][0, 0] = np.concatenate([bwd[:, 0], bwd[:, 1]])
    a["displacements_fwd"][0, 0] = np.concatenate([fwd[:, 0], fwd[:, 1]])
    p = {13: np.array([500.0, 400.0])}
    p[11] = p[13] + bwd[8]
    p[5] = p[11] + bwd[7]
    p[0] = p[5] + bwd[4]
    p[1] = p[0] + fwd[0]
    p[3] = p[1] + fwd[1]
    p[2] = p[0] + fwd[2]
    p[4] = p[2] + fwd[3]
    p[7] = p[5] + fwd[5]
    p[9] = p[7] + fwd[6]
    p[15] = p[13] + fwd[9]
    p[6] = p[0] + fwd[10]
    p[8] = p[6] + fwd[11]
    p[10] = p[8] + fwd[12]
    p[12] = p[6] + fwd[13]
    p[14] = p[12] + fwd[14]
    p[16] = p[14] + fwd[15]
    (pose,) = decode_tfjs(heads_of(a, input_size=(1000, 1000)), refine_steps=0)
    expected_xy = np.array([p[k][::-1] for k in range(17)], np.float32)
    np.testing.assert_array_equal(pose.xy, expected_xy)
    assert pose.scores[LEFT_KNEE] == pytest.approx(sig(3.0), abs=1e-7)


@pytest.mark.parametrize(
    ("steps", "x", "logit"),
    [
        # Root nose at (0, 0); edge 0 (nose -> leftEye) displaces x by 33.
        (0, 33.0, -1.0),  # no refinement: 33; nearest cell round(2.06) = 2
        (1, 62.0, -2.0),  # cell 2 * 16 + offset 30 = 62; nearest cell round(3.875) = 4
        (2, 84.0, -3.0),  # cell 4 * 16 + offset 20 = 84; nearest cell round(5.25) = 5
        (3, 80.0, -3.0),  # cell 5 * 16 + offset 0 = 80; cell 5 again
    ],
)
def test_refinement_steps(steps, x, logit):
    a = blank(1, 8)
    a["heatmap"][0, 0, NOSE] = 3.0
    a["heatmap"][0, [2, 4, 5], LEFT_EYE] = [-1.0, -2.0, -3.0]
    a["displacements_fwd"][0, 0, 16 + 0] = 33.0
    a["offsets"][0, 2, 17 + LEFT_EYE] = 30.0
    a["offsets"][0, 4, 17 + LEFT_EYE] = 20.0
    (pose,) = decode_tfjs(heads_of(a), refine_steps=steps)
    assert tuple(pose.xy[LEFT_EYE]) == (x, 0.0)
    assert pose.scores[LEFT_EYE] == pytest.approx(sig(logit), abs=1e-7)


def test_nearest_cell_rounds_halves_up_like_javascript():
    # The hop lands at x = 40, exactly 2.5 cells: Math.round gives 3 (Python's
    # round would give 2). One refinement: 3 * 16 + 0 = 48, scored at cell 3.
    a = blank(1, 5)
    a["heatmap"][0, 0, NOSE] = 3.0
    a["heatmap"][0, 3, LEFT_EYE] = -1.0
    a["displacements_fwd"][0, 0, 16 + 0] = 40.0
    (pose,) = decode_tfjs(heads_of(a), refine_steps=1)
    assert tuple(pose.xy[LEFT_EYE]) == (48.0, 0.0)
    assert pose.scores[LEFT_EYE] == pytest.approx(sig(-1.0), abs=1e-7)


# --- random heads: properties and the oracle -------------------------------------------------

STRIDES = (8, 16, 32)


def random_arrays(rng: np.random.Generator, h: int, w: int, stride: int, style: str, thr: float):
    shape = (h, w, 17)
    if style == "normal":
        heatmap = rng.normal(-1.0, 3.0, shape)
    elif style == "ties":  # few distinct values: plateaus and equal scores everywhere
        heatmap = rng.choice([-3.0, 0.0, 0.5, 1.0, 2.0], shape)
    elif style == "saturated":  # distinct logits with equal float32 scores (1.0)
        heatmap = rng.choice([-200.0, -30.0, 17.0, 20.0, 25.0, 60.0], shape)
    else:  # "threshold": logits within float32 rounding of logit(threshold)
        centre = math.log(thr / (1.0 - thr)) if 0.0 < thr < 1.0 else 0.0
        heatmap = centre + rng.normal(0.0, 1e-6 * (1.0 + abs(centre)), shape)
    spread = stride * rng.choice([0.5, 2.0, 20.0])  # sometimes far outside the input
    return {
        "heatmap": heatmap.astype(np.float32),
        "offsets": rng.normal(0.0, spread, (h, w, 34)).astype(np.float32),
        "displacements_fwd": rng.normal(0.0, 2 * spread, (h, w, 32)).astype(np.float32),
        "displacements_bwd": rng.normal(0.0, 2 * spread, (h, w, 32)).astype(np.float32),
    }


@st.composite
def cases(draw):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    stride = draw(st.sampled_from(STRIDES))
    style = draw(st.sampled_from(["normal", "ties", "saturated", "threshold"]))
    thr = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 0.2]), st.floats(0.0, 1.0)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    heads = heads_of(random_arrays(rng, h, w, stride, style, thr), stride)
    options = {
        "max_detections": draw(st.integers(0, 8)),
        "score_threshold": thr,
        "nms_radius": draw(st.one_of(st.just(0.0), st.floats(0.0, 3.0 * stride))),
        "local_maximum_radius": draw(st.integers(0, 3)),
        "refine_steps": draw(st.integers(0, 3)),
    }
    return heads, options


def kernel_arguments(heads: Heads, options: dict) -> tuple:
    return tfjs._kernel_arguments(heads, **{**get_decoder("tfjs").defaults, **options})


def assert_same_raw(a: tuple, b: tuple) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x, np.float64), np.asarray(y, np.float64))


def oracle_raw(heads: Heads, options: dict) -> tuple:
    poses = tfjs_oracle.decode_multiple_poses(heads, **options)
    return (
        np.array([p[0] for p in poses]).reshape(-1, 17, 2),
        np.array([p[1] for p in poses]).reshape(-1, 17),
        np.array([p[2] for p in poses]),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_matches_oracle_and_plain_python(case):
    heads, options = case
    arguments = kernel_arguments(heads, options)
    compiled = tfjs._decode(*arguments)
    assert_same_raw(compiled, tfjs._decode.py_func(*arguments))
    assert_same_raw(compiled, oracle_raw(heads, options))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_properties(case):
    heads, options = case
    poses = decode_tfjs(heads, **options)
    assert len(poses) <= options["max_detections"]
    for pose in poses:
        assert pose.xy.shape == (17, 2)
        assert ((pose.scores >= 0) & (pose.scores <= 1)).all()
        assert 0.0 <= pose.score <= 1.0
    # The public result is the oracle's, in its order and unclipped ...
    raw = tfjs_oracle.decode_multiple_poses(heads, **options)
    assert len(poses) == len(raw)
    for pose, (yx, scores, score) in zip(poses, raw, strict=True):
        np.testing.assert_array_equal(pose.xy, yx.astype(np.float32)[:, ::-1])
        np.testing.assert_array_equal(pose.scores, scores.astype(np.float32))
        assert pose.score == score
    # ... and the project's default makes it clipped and stably sorted by score.
    h, w = heads.input_size
    arranged = to_image(poses, (1.0, 1.0), (0.0, 0.0), (w, h))
    order = sorted(range(len(raw)), key=lambda i: -raw[i][2])
    for pose, i in zip(arranged, order, strict=True):
        yx = np.clip(raw[i][0].astype(np.float32), 0, [h - 1, w - 1])
        np.testing.assert_array_equal(pose.xy, yx[:, ::-1])
        assert pose.score == raw[i][2]


@pytest.mark.parametrize("logit", [-1e4, -700.5, -30.0, 0.0, 1e-7, 16.5, 17.0, 40.0, 1e30])
def test_score_helpers_compiled_and_plain_agree(logit):
    assert tfjs_score(np.float32(logit)) == tfjs_score.py_func(np.float32(logit))
    assert tfjs_score(np.float32(logit)) == tfjs_oracle.sigmoid32(np.float32(logit))
    for score in (0.0, 1e-31, 1e-12, 0.2, 0.5, 0.999, 1.0):
        assert logit_floor(score) == logit_floor.py_func(score)
    for position in (-40.0, -8.0, 7.99, 8.0, 24.0, 1e30):
        assert tfjs._nearest_cell(position, 16, 5) == tfjs._nearest_cell.py_func(position, 16, 5)


# --- robustness ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["heatmap", "offsets", "displacements_fwd", "displacements_bwd"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_raise(name, bad):
    a = blank(3, 3)
    a[name][1, 1, 0] = bad
    with pytest.raises(PosenetError, match=name):
        decode_tfjs(heads_of(a))


@pytest.mark.parametrize("logit", [-100.0, -1e4, -3.4e38])
def test_empty_heatmap_gives_no_poses(logit):
    a = blank(5, 5)
    a["heatmap"][:] = logit
    assert decode_tfjs(heads_of(a)) == []
    assert decode_tfjs(heads_of(a), score_threshold=1e-30) == []


def test_threshold_zero_takes_every_local_maximum():
    # With threshold 0 even scores of 0 qualify: all-equal cells are all maxima.
    a = blank(2, 2)
    a["heatmap"][:] = -1e4
    poses = decode_tfjs(heads_of(a), score_threshold=0.0, max_detections=100, nms_radius=0.0)
    # 4 cells x 17 keypoints are candidates; poses from the same cell share
    # every position, so each cell yields one pose and its other roots are suppressed.
    assert len(poses) == 4


def test_all_equal_heatmap():
    a = blank(10, 10)
    a["heatmap"][:] = 1.0
    heads = heads_of(a)
    poses = decode_tfjs(heads, max_detections=7)
    assert len(poses) == 7
    assert [p.score for p in poses] == sorted((p.score for p in poses), reverse=True)
    assert_same_raw(
        tfjs._decode(*kernel_arguments(heads, {"max_detections": 7})),
        oracle_raw(heads, {"max_detections": 7}),
    )


def test_one_cell_grid():
    a = blank(1, 1)
    a["heatmap"][0, 0, :] = np.linspace(0.1, 3.0, 17, dtype=np.float32)
    (pose,) = decode_tfjs(heads_of(a), max_detections=5)
    # Every keypoint is a candidate at (0, 0); the first pose claims them all.
    assert pose.score == pytest.approx(np.mean([sig(v) for v in np.linspace(0.1, 3.0, 17)]))
    np.testing.assert_array_equal(pose.xy, np.zeros((17, 2), np.float32))


def test_huge_grid():
    rng = np.random.default_rng(7)
    heads = heads_of(random_arrays(rng, 81, 81, 16, "normal", 0.5), 16)
    assert heads.input_size == (1281, 1281)
    poses = decode_tfjs(heads, max_detections=20)
    assert len(poses) == 20
    assert_same_raw(
        tfjs._decode(*kernel_arguments(heads, {"max_detections": 20})),
        oracle_raw(heads, {"max_detections": 20}),
    )


def test_all_equal_huge_grid_with_the_widest_window():
    a = blank(81, 81)
    a["heatmap"][:] = 2.0
    widest = tfjs.OPTION_RANGES["local_maximum_radius"].highest
    poses = decode_tfjs(heads_of(a), max_detections=3, local_maximum_radius=widest)
    assert len(poses) == 3


def test_max_detections_zero():
    a = blank(3, 3)
    a["heatmap"][1, 1, NOSE] = 3.0
    assert decode_tfjs(heads_of(a), max_detections=0) == []


def test_deterministic_and_leaves_heads_unchanged():
    rng = np.random.default_rng(3)
    arrays = random_arrays(rng, 9, 11, 16, "ties", 0.5)
    copies = {k: v.copy() for k, v in arrays.items()}
    heads = heads_of(arrays)
    first = decode_tfjs(heads, max_detections=10)
    second = decode_tfjs(heads, max_detections=10)
    assert len(first) == len(second) > 0
    for p, q in zip(first, second, strict=True):
        np.testing.assert_array_equal(p.xy, q.xy)
        np.testing.assert_array_equal(p.scores, q.scores)
        assert p.score == q.score
    for k, v in copies.items():
        np.testing.assert_array_equal(arrays[k], v)


def test_numpy_scalars_are_accepted():
    a = blank(3, 3)
    a["heatmap"][1, 1, NOSE] = 3.0
    poses = decode_tfjs(
        heads_of(a),
        max_detections=np.int64(2),
        score_threshold=np.float32(0.5),
        nms_radius=np.float64(10),
        local_maximum_radius=np.int32(1),
        refine_steps=np.uint8(2),
    )
    assert len(poses) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_detections", -1),
        ("max_detections", 101),
        ("max_detections", 100000),
        ("max_detections", 1.5),
        ("max_detections", True),
        ("max_detections", "5"),
        ("max_detections", None),
        ("score_threshold", -0.01),
        ("score_threshold", 1.01),
        ("score_threshold", math.nan),
        ("score_threshold", "0.5"),
        ("nms_radius", -1.0),
        ("nms_radius", 10000.5),
        ("nms_radius", 1e308),
        ("nms_radius", math.inf),
        ("nms_radius", math.nan),
        ("local_maximum_radius", -1),
        ("local_maximum_radius", 9),
        ("local_maximum_radius", 1.0),
        ("refine_steps", -1),
        ("refine_steps", 101),
        ("refine_steps", 100000000),
        ("refine_steps", 2.5),
    ],
)
def test_bad_options_raise_one_line(name, value):
    a = blank(2, 2)
    with pytest.raises(PosenetError, match=f"^decoder tfjs: {name} must be ") as error:
        decode_tfjs(heads_of(a), **{name: value})
    assert "\n" not in str(error.value)


def test_options_come_from_one_table():
    import inspect

    keyword = [
        p.name
        for p in inspect.signature(decode_tfjs).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keyword == list(tfjs.OPTION_RANGES)


# --- real heads ------------------------------------------------------------------------------


def match(poses_a, poses_b) -> list[np.ndarray]:
    """For each pose of a, per-keypoint distances to the pose of b closest on average."""
    out = []
    for a in poses_a:
        distances = [np.linalg.norm(a.xy - np.asarray(b, np.float64), axis=1) for b in poses_b]
        out.append(min(distances, key=lambda d: d.mean()))
    return out


def test_couple_two_people():
    heads, _ = coral_heads("353_481")
    poses = decode_tfjs(heads)
    assert len(poses) == 2
    assert all(p.score > 0.8 for p in poses)


def one_to_one(poses_a, poses_b) -> list[np.ndarray]:
    """Per-keypoint distances of each pose of a to a different pose of b.

    Of every assignment of distinct b poses to the a poses (brute force over
    the permutations), the one with the smallest sum of mean keypoint distances.
    """
    best = None
    for chosen in itertools.permutations(range(len(poses_b)), len(poses_a)):
        distances = [
            np.linalg.norm(a.xy - np.asarray(poses_b[j], np.float64), axis=1)
            for a, j in zip(poses_a, chosen, strict=True)
        ]
        total = sum(float(d.mean()) for d in distances)
        if best is None or total < best[0]:
            best = (total, distances)
    assert best is not None
    return best[1]


def test_couple_close_to_coral_decoder():
    from posenet.decode.coral import decode_coral

    heads, _ = coral_heads("353_481")
    coral = decode_coral(heads)
    ours = decode_tfjs(heads)
    assert len(coral) == 2
    assert len(ours) == 2
    # TF.js (nearest cells, 2 refinements) and Coral (bilinear, 5 refinements)
    # read the same heads: each TF.js pose matches a different Coral pose, and
    # every keypoint is within 4 px of its match.
    distances = one_to_one(ours, [p.xy for p in coral])
    print(f"TF.js vs Coral decoder: {max(float(d.max()) for d in distances):.3f} px")
    for d in distances:
        assert d.max() <= 4.0


def test_couple_close_to_coral_reference():
    heads, _ = coral_heads("353_481")
    reference = coral_reference("353_481")
    for distances in match(decode_tfjs(heads), [r["xy"] for r in reference]):
        assert distances.max() <= 4.0
