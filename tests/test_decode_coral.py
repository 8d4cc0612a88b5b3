"""Coral multi-pose decoding: reference poses, both execution paths, hand-worked cases."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import posenet.decode._heap as heap_module
import posenet.decode.coral as coral
from posenet.decode._heap import heap_pop, heap_push
from posenet.decode.coral import decode_coral
from posenet.errors import PosenetError
from posenet.heads import Heads
from posenet.keypoints import NUM_EDGES, NUM_KEYPOINTS, PART_IDS

from .helpers import coral_heads, coral_reference
from .test_decode_tfjs import STRIDES, heads_of, random_arrays

SIZES = ("353_481", "481_641")

# Tolerances against Coral's reference CSVs (POSENET.md §5: the CSVs came from
# other TFLite kernels, so a faithful decoder differs by about this much).
MAX_PIXELS = 1.5
MAX_POSE_SCORE = 0.01
MAX_KEYPOINT_SCORE = 0.05


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def make_heads(
    heatmap: np.ndarray,
    offsets: np.ndarray | None = None,
    fwd: np.ndarray | None = None,
    bwd: np.ndarray | None = None,
    stride: int = 16,
) -> Heads:
    h, w, _ = heatmap.shape
    zeros = lambda channels: np.zeros((h, w, channels), np.float32)  # noqa: E731
    return Heads(
        heatmap=np.asarray(heatmap, np.float32),
        offsets=zeros(2 * NUM_KEYPOINTS) if offsets is None else offsets.astype(np.float32),
        displacements_fwd=zeros(2 * NUM_EDGES) if fwd is None else fwd.astype(np.float32),
        displacements_bwd=zeros(2 * NUM_EDGES) if bwd is None else bwd.astype(np.float32),
        output_stride=stride,
        input_size=((h - 1) * stride + 1, (w - 1) * stride + 1),
    )


def as_tuples(poses) -> list[tuple]:
    return [(p.xy.tobytes(), p.scores.tobytes(), p.score) for p in poses]


@contextmanager
def plain_python() -> Iterator[None]:
    """Within the block, decode_coral runs every kernel as plain Python (`.py_func`)."""
    with pytest.MonkeyPatch.context() as patch:
        for module in (coral, heap_module):
            for name, value in list(vars(module).items()):
                py_func = getattr(value, "py_func", None)
                if callable(value) and py_func is not None and py_func is not value:
                    patch.setattr(module, name, py_func)
        yield


# --- against Coral's reference poses ------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_matches_coral_reference(size: str) -> None:
    heads, options = coral_heads(size)
    assert options["stride"] == heads.output_stride
    poses = decode_coral(
        heads,
        max_detections=options["max_detections"],
        score_threshold=options["score_threshold"],
        nms_radius=options["nms_radius"],
    )
    reference = coral_reference(size)
    assert len(poses) == len(reference)
    # Euclidean distance of each keypoint to its reference keypoint.
    pixels = max(
        float(np.linalg.norm(p.xy - r["xy"], axis=1).max())
        for p, r in zip(poses, reference, strict=True)
    )
    pose_score = max(abs(p.score - r["score"]) for p, r in zip(poses, reference, strict=True))
    keypoint_score = max(
        float(np.abs(p.scores - r["scores"]).max()) for p, r in zip(poses, reference, strict=True)
    )
    print(f"{size}: {pixels:.3f} px, pose score {pose_score:.4f}, kp score {keypoint_score:.4f}")
    assert pixels <= MAX_PIXELS
    assert pose_score <= MAX_POSE_SCORE
    assert keypoint_score <= MAX_KEYPOINT_SCORE
    assert [p.score for p in poses] == sorted((p.score for p in poses), reverse=True)


@pytest.mark.parametrize("size", SIZES)
def test_compiled_and_plain_python_agree_on_real_heads(size: str) -> None:
    heads, _ = coral_heads(size)
    compiled = decode_coral(heads)
    with plain_python():
        plain = decode_coral(heads)
    assert as_tuples(plain) == as_tuples(compiled)


# --- hand-worked cases ----------------------------------------------------------------


def test_one_peak_gives_one_pose_on_it() -> None:
    # Every keypoint peaks (logit 2) at cell (y 2, x 3); no offsets: one pose, all
    # keypoints at (x 48, y 32); the 16 other roots sit on it and are suppressed.
    heatmap = np.full((5, 6, NUM_KEYPOINTS), -6.0, np.float32)
    heatmap[2, 3, :] = 2.0
    poses = decode_coral(make_heads(heatmap))
    assert len(poses) == 1
    np.testing.assert_array_equal(poses[0].xy, np.tile([48.0, 32.0], (NUM_KEYPOINTS, 1)))
    np.testing.assert_allclose(poses[0].scores, sigmoid(2.0), rtol=1e-6)
    assert poses[0].score == pytest.approx(sigmoid(2.0), rel=1e-6)


def test_root_moves_by_its_offset_and_is_scored_bilinearly() -> None:
    # Nose peaks at cell (2, 2) with logit 4; its short offset (+8, +4) px moves
    # the root to grid (2.5, 2.25). Its logit there is bilinear in the cells
    # (2,2)=4, (2,3)=2, (3,2)=0, (3,3)=-4:
    # 0.5 * (0.75*4 + 0.25*2) + 0.5 * (0.75*0 + 0.25*-4) = 1.75 - 0.5 = 1.25.
    # The other keypoints are a flat logit 3 and get there with zero offsets.
    nose = PART_IDS["nose"]
    heatmap = np.full((5, 5, NUM_KEYPOINTS), 3.0, np.float32)
    heatmap[..., nose] = -6.0
    heatmap[2, 2, nose], heatmap[2, 3, nose] = 4.0, 2.0
    heatmap[3, 2, nose], heatmap[3, 3, nose] = 0.0, -4.0
    offsets = np.zeros((5, 5, 2 * NUM_KEYPOINTS), np.float32)
    offsets[2, 2, nose], offsets[2, 2, NUM_KEYPOINTS + nose] = 8.0, 4.0
    poses = decode_coral(make_heads(heatmap, offsets), max_detections=1)
    assert len(poses) == 1
    np.testing.assert_array_equal(poses[0].xy, np.tile([36.0, 40.0], (NUM_KEYPOINTS, 1)))
    expected = np.full(NUM_KEYPOINTS, sigmoid(3.0))
    expected[nose] = sigmoid(1.25)
    np.testing.assert_allclose(poses[0].scores, expected, rtol=1e-6)
    assert poses[0].score == pytest.approx(expected.mean(), rel=1e-6)


def test_displacement_then_refinement() -> None:
    # Root nose at cell (1, 1). Edge nose -> leftEye displaces by (+2, +1) cells
    # to (3, 2); the leftEye short offset at (3, 2) is (0, +0.5) cells, at
    # (3, 2.5) it is the mean of the cells (3,2) and (3,3): (0, 0.25), so each
    # of the 5 steps halves the remaining pull: x = 2.5, 2.75, 2.875, ...
    nose, eye = PART_IDS["nose"], PART_IDS["leftEye"]
    heatmap = np.full((6, 6, NUM_KEYPOINTS), -6.0, np.float32)
    heatmap[1, 1, nose] = 5.0
    heatmap[..., eye] = 1.0
    fwd = np.zeros((6, 6, 2 * NUM_EDGES), np.float32)
    edge = 0  # nose -> leftEye, the first edge of the pose chain
    fwd[1, 1, edge], fwd[1, 1, NUM_EDGES + edge] = 32.0, 16.0
    offsets = np.zeros((6, 6, 2 * NUM_KEYPOINTS), np.float32)
    offsets[3, 2, NUM_KEYPOINTS + eye] = 8.0
    poses = decode_coral(make_heads(heatmap, offsets, fwd), max_detections=1, score_threshold=0.0)
    x = 2.0
    for _ in range(5):
        weight = x - 2.0
        x += (1.0 - weight) * 0.5
    assert poses[0].xy[nose] == pytest.approx([16.0, 16.0])
    assert poses[0].xy[eye] == pytest.approx([x * 16, 48.0], rel=1e-6)
    assert poses[0].scores[eye] == pytest.approx(sigmoid(1.0), rel=1e-6)


def two_peaks(distance_cells: int) -> Heads:
    # All keypoints peak at (2, 2) with logit 4 and at (2, 2 + distance) with logit 3.
    heatmap = np.full((5, 9, NUM_KEYPOINTS), -4.0, np.float32)
    heatmap[2, 2, :] = 4.0
    heatmap[2, 2 + distance_cells, :] = 3.0
    return make_heads(heatmap)


def test_second_root_within_nms_radius_is_suppressed() -> None:
    # The peaks are 2 cells = 32 px apart.
    poses = decode_coral(two_peaks(2), nms_radius=40.0)
    assert len(poses) == 1
    np.testing.assert_array_equal(poses[0].xy, np.tile([32.0, 32.0], (NUM_KEYPOINTS, 1)))


def test_second_root_outside_nms_radius_makes_a_second_pose() -> None:
    poses = decode_coral(two_peaks(2), nms_radius=20.0)
    assert len(poses) == 2
    np.testing.assert_array_equal(poses[1].xy, np.tile([64.0, 32.0], (NUM_KEYPOINTS, 1)))
    assert poses[0].score == pytest.approx(sigmoid(4.0), rel=1e-6)
    assert poses[1].score == pytest.approx(sigmoid(3.0), rel=1e-6)


def test_soft_nms_drops_a_shared_keypoint_from_the_lower_pose() -> None:
    # Pose A at cell (2, 2), logit 4; pose B at cell (2, 6), logit 3. B's
    # leftWrist short offset at (2, 6) is -4 cells in x, so B's wrist lands on
    # A's wrist at (2, 2), where its logit is A's 4. Before soft NMS B scores
    # (16 s(3) + s(4)) / 17; after, its wrist no longer counts: 16 s(3) / 17.
    wrist = PART_IDS["leftWrist"]
    heatmap = np.full((5, 9, NUM_KEYPOINTS), -4.0, np.float32)
    heatmap[2, 2, :] = 4.0
    heatmap[2, 6, :] = 3.0
    offsets = np.zeros((5, 9, 2 * NUM_KEYPOINTS), np.float32)
    offsets[2, 6, NUM_KEYPOINTS + wrist] = -64.0
    poses = decode_coral(make_heads(heatmap, offsets), nms_radius=20.0)
    assert len(poses) == 2
    a, b = poses
    assert a.score == pytest.approx(sigmoid(4.0), rel=1e-6)
    assert b.xy[wrist] == pytest.approx([32.0, 32.0])
    assert b.scores[wrist] == pytest.approx(sigmoid(4.0), rel=1e-6)
    assert b.score == pytest.approx(16 * sigmoid(3.0) / NUM_KEYPOINTS, rel=1e-6)


def test_poses_below_the_threshold_are_dropped() -> None:
    # One keypoint at logit 4, the others far below: mean score about 0.06.
    heatmap = np.full((4, 4, NUM_KEYPOINTS), -8.0, np.float32)
    heatmap[1, 1, 0] = 4.0
    heads = make_heads(heatmap)
    assert decode_coral(heads) == []
    (pose,) = decode_coral(heads, score_threshold=0.05)
    assert pose.score == pytest.approx((sigmoid(4.0) + 16 * sigmoid(-8.0)) / 17, rel=1e-5)


# --- robustness -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("field", ["heatmap", "offsets", "displacements_fwd", "displacements_bwd"])
def test_non_finite_heads_are_refused(field: str, bad: float) -> None:
    heads = make_heads(np.zeros((3, 3, NUM_KEYPOINTS), np.float32))
    getattr(heads, field)[1, 1, 0] = bad
    with pytest.raises(PosenetError, match="NaN or Inf"):
        decode_coral(heads)


@pytest.mark.parametrize(
    "options",
    [
        {"max_detections": -1},
        {"max_detections": 101},
        {"max_detections": 100000},
        {"max_detections": 2.5},
        {"max_detections": True},
        {"max_detections": "3"},
        {"score_threshold": -0.1},
        {"score_threshold": 1.5},
        {"score_threshold": float("nan")},
        {"score_threshold": None},
        {"nms_radius": -1.0},
        {"nms_radius": 10001.0},
        {"nms_radius": 1e308},
        {"nms_radius": float("nan")},
        {"nms_radius": float("inf")},
    ],
)
def test_bad_options_are_refused(options: dict) -> None:
    heads = make_heads(np.zeros((3, 3, NUM_KEYPOINTS), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no overflow squaring a huge radius
        with pytest.raises(PosenetError) as info:
            decode_coral(heads, **options)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"decoder coral: {next(iter(options))} must be ")


def test_all_equal_heatmap() -> None:
    # Every cell is a local maximum with score 0.5: the queue holds all of them.
    heads = make_heads(np.zeros((9, 9, NUM_KEYPOINTS), np.float32))
    poses = decode_coral(heads, max_detections=5)
    assert len(poses) == 5
    for pose in poses:
        np.testing.assert_allclose(pose.scores, 0.5)
        assert pose.score == pytest.approx(0.5)
        assert (pose.xy == pose.xy[0]).all()  # no offsets: the pose is one point
    points = {tuple(p.xy[0]) for p in poses}
    assert len(points) == 5
    assert as_tuples(decode_coral(heads, max_detections=5)) == as_tuples(poses)


def test_one_cell_grid() -> None:
    # Offsets that point off the grid are clamped to it.
    heatmap = np.full((1, 1, NUM_KEYPOINTS), 1.0, np.float32)
    offsets = np.full((1, 1, 2 * NUM_KEYPOINTS), 40.0, np.float32)
    fwd = np.full((1, 1, 2 * NUM_EDGES), -30.0, np.float32)
    poses = decode_coral(make_heads(heatmap, offsets, fwd, fwd))
    assert len(poses) == 1
    np.testing.assert_array_equal(poses[0].xy, np.zeros((NUM_KEYPOINTS, 2)))
    assert poses[0].score == pytest.approx(sigmoid(1.0), rel=1e-6)


def test_max_detections_zero_and_threshold_one() -> None:
    heads, _ = coral_heads(SIZES[0])
    assert decode_coral(heads, max_detections=0) == []
    assert decode_coral(heads, score_threshold=1.0) == []
    assert len(decode_coral(heads, score_threshold=0.0, max_detections=3)) == 3


def test_large_random_grid() -> None:
    rng = np.random.default_rng(7)
    h = w = 81
    heatmap = rng.normal(-1.0, 1.5, (h, w, NUM_KEYPOINTS)).astype(np.float32)
    offsets = rng.normal(0.0, 10.0, (h, w, 2 * NUM_KEYPOINTS)).astype(np.float32)
    fwd = rng.normal(0.0, 40.0, (h, w, 2 * NUM_EDGES)).astype(np.float32)
    bwd = rng.normal(0.0, 40.0, (h, w, 2 * NUM_EDGES)).astype(np.float32)
    heads = make_heads(heatmap, offsets, fwd, bwd)
    poses = decode_coral(heads, max_detections=20, score_threshold=0.3)
    assert 0 < len(poses) <= 20
    scores = [p.score for p in poses]
    assert scores == sorted(scores, reverse=True)
    assert min(scores) >= 0.3
    for pose in poses:
        assert pose.xy.min() >= 0.0
        assert pose.xy.max() <= (h - 1) * heads.output_stride
        assert ((pose.scores > 0) & (pose.scores < 1)).all()
    assert as_tuples(decode_coral(heads, max_detections=20, score_threshold=0.3)) == as_tuples(
        poses
    )


def test_does_not_change_its_input() -> None:
    heads, _ = coral_heads(SIZES[0])
    before = [a.copy() for a in (heads.heatmap, heads.offsets, heads.displacements_fwd)]
    decode_coral(heads)
    after = (heads.heatmap, heads.offsets, heads.displacements_fwd)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
    levels=st.sampled_from([2, 4, 256]),
)
def test_compiled_and_plain_python_agree_on_random_heads(shape, seed, levels) -> None:
    # Logits on a few levels make ties common, as in quantized models.
    rng = np.random.default_rng(seed)
    h, w = shape
    heatmap = (rng.integers(0, levels, (h, w, NUM_KEYPOINTS)) * (6.0 / levels) - 3.0).astype(
        np.float32
    )
    offsets = rng.normal(0.0, 12.0, (h, w, 2 * NUM_KEYPOINTS)).astype(np.float32)
    fwd = rng.normal(0.0, 30.0, (h, w, 2 * NUM_EDGES)).astype(np.float32)
    bwd = rng.normal(0.0, 30.0, (h, w, 2 * NUM_EDGES)).astype(np.float32)
    heads = make_heads(heatmap, offsets, fwd, bwd)
    compiled = decode_coral(heads, max_detections=6, score_threshold=0.1)
    with plain_python():
        plain = decode_coral(heads, max_detections=6, score_threshold=0.1)
    assert as_tuples(plain) == as_tuples(compiled)


@st.composite
def random_cases(draw):
    """Random Heads (test_decode_tfjs's generator: plain, tied, saturated and
    near-threshold logits; offsets and displacements of SD up to 40 strides) with an
    input size whose SAME-padded grid at the stride is the heads' grid, and
    random valid Coral options."""
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    stride = draw(st.sampled_from(STRIDES))
    style = draw(st.sampled_from(["normal", "ties", "saturated", "threshold"]))
    threshold = draw(st.one_of(st.sampled_from([0.0, 0.2, 0.5, 1.0]), st.floats(0.0, 1.0)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Any size with ceil(size / stride) == grid: from (grid - 1) * stride + 1
    # (Coral's k * stride + 1 sizes) up to grid * stride.
    size = (
        draw(st.integers((h - 1) * stride + 1, h * stride)),
        draw(st.integers((w - 1) * stride + 1, w * stride)),
    )
    heads = heads_of(random_arrays(rng, h, w, stride, style, threshold), stride, size)
    options = {
        "max_detections": draw(st.integers(0, 100)),
        "score_threshold": threshold,
        "nms_radius": draw(
            st.one_of(st.just(0.0), st.floats(0.0, 3.0 * stride), st.floats(0.0, 10000.0))
        ),
    }
    return heads, options


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_cases())
def test_properties(case) -> None:
    """What decode_coral guarantees on any valid heads and options.

    At most max_detections poses, sorted by score (highest first), every pose
    score in [score_threshold, 1] (the threshold as float32) and every keypoint
    score in [0, 1]. Every
    position is clamped to the grid, so keypoints lie in [0, (cols - 1) * stride]
    x [0, (rows - 1) * stride]; the decoder does not read heads.input_size. For
    any input whose SAME-padded grid is the heads' grid (ceil(size / stride) ==
    cells, as every model gives), (cells - 1) * stride <= size - 1, so keypoints
    are inside the input [0, size - 1]; for k * stride + 1 sizes the bound is
    reached exactly.
    """
    heads, options = case
    poses = decode_coral(heads, **options)
    assert len(poses) <= options["max_detections"]
    scores = [p.score for p in poses]
    assert scores == sorted(scores, reverse=True)
    rows, cols = heads.grid_size
    stride = heads.output_stride
    height, width = heads.input_size
    for pose in poses:
        assert pose.xy.shape == (NUM_KEYPOINTS, 2)
        assert pose.scores.shape == (NUM_KEYPOINTS,)
        x, y = pose.xy[:, 0], pose.xy[:, 1]
        # The decoder's own bound: the grid.
        assert ((x >= 0) & (x <= (cols - 1) * stride)).all()
        assert ((y >= 0) & (y <= (rows - 1) * stride)).all()
        # Hence the input's.
        assert ((x >= 0) & (x <= width - 1)).all()
        assert ((y >= 0) & (y <= height - 1)).all()
        assert ((pose.scores >= 0) & (pose.scores <= 1)).all()
        # Compared in float32, as Coral's op does.
        assert np.float32(options["score_threshold"]) <= pose.score <= 1.0


# --- the std::priority_queue emulation ---------------------------------------------


def pop_order(keys: list[float], push=heap_push, pop=heap_pop) -> list[int]:
    heap_keys = np.empty(len(keys), np.float32)
    values = np.empty(len(keys), np.int64)
    size = 0
    for i, key in enumerate(keys):
        size = push(heap_keys, values, size, np.float32(key), i)
    order = []
    while size:
        order.append(int(values[0]))
        size = pop(heap_keys, values, size)
    return order


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        # Worked through libstdc++'s push_heap / __adjust_heap by hand (and checked
        # against g++ 12): four equal keys do not come out first-in first-out.
        ([1, 1, 1, 1], [0, 2, 1, 3]),
        ([1, 2, 1, 2, 1], [1, 3, 2, 0, 4]),
        ([3, 1, 2], [0, 2, 1]),
        ([5.0], [0]),
    ],
)
def test_heap_pops_ties_like_libstdcxx(keys: list[float], expected: list[int]) -> None:
    assert pop_order(keys) == expected
    assert pop_order(keys, heap_push.py_func, heap_pop.py_func) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=40))
def test_heap_pops_in_decreasing_key_order(keys: list[int]) -> None:
    order = pop_order(keys)
    assert sorted(order) == list(range(len(keys)))
    popped = [keys[i] for i in order]
    assert popped == sorted(keys, reverse=True)
    assert pop_order(keys, heap_push.py_func, heap_pop.py_func) == order
