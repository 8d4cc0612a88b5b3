"""decode_single: hand-worked argmax cases, the oracle on random heads, robustness."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posenet.decode import single
from posenet.decode.single import decode_single
from posenet.errors import PosenetError
from posenet.poses import to_image

from . import tfjs_oracle
from .helpers import coral_heads
from .test_decode_tfjs import QUIET, STRIDES, blank, heads_of, random_arrays


def sig(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def test_argmax_per_keypoint():
    # A 2 x 3 grid, stride 16, input 33 x 49; every logit QUIET unless set.
    # nose: highest at (1, 2), offset (3.25, -1.5) -> (16 + 3.25, 32 - 1.5).
    # leftEye: equal logits at (0, 1) and (1, 0) -> the first in row-major order, (0, 1).
    # rightEye: logits 20 at (0, 0) and 30 at (1, 2) both score float32 1.0 -> (0, 0),
    #   as TF.js's argMax over the scores picks, although 30 is the higher logit.
    # Every other keypoint: all cells QUIET -> the first cell, (0, 0), offset 0.
    a = blank(2, 3)
    a["heatmap"][1, 2, 0] = 2.0
    a["heatmap"][0, 0, 0] = 1.0
    a["offsets"][1, 2, 0] = 3.25
    a["offsets"][1, 2, 17] = -1.5
    a["heatmap"][0, 1, 1] = 0.5
    a["heatmap"][1, 0, 1] = 0.5
    a["offsets"][0, 1, 1] = 1.0
    a["heatmap"][0, 0, 2] = 20.0
    a["heatmap"][1, 2, 2] = 30.0
    a["offsets"][0, 0, 2 + 17] = 0.75
    (pose,) = decode_single(heads_of(a, input_size=(33, 49)))
    assert tuple(pose.xy[0]) == (30.5, 19.25)
    assert tuple(pose.xy[1]) == (16.0, 1.0)
    assert tuple(pose.xy[2]) == (0.75, 0.0)
    np.testing.assert_array_equal(pose.xy[3:], np.zeros((14, 2), np.float32))
    expected_scores = [sig(2.0), sig(0.5), 1.0] + [sig(QUIET)] * 14
    np.testing.assert_allclose(pose.scores, expected_scores, rtol=1e-6)
    assert pose.score == pytest.approx(sum(expected_scores) / 17, rel=1e-6)


def test_positions_are_unclipped_as_tfjs_and_the_estimator_clips_them():
    # As TF.js, an offset pointing outside the input places the keypoint there;
    # the project's default (to_image, clip) clips it into the image.
    a = blank(3, 3)
    a["heatmap"][2, 2, 0] = 3.0
    a["offsets"][2, 2, 0] = 100.0  # y = 32 + 100
    a["offsets"][2, 2, 17] = -18.0  # x = 32 - 18 = 14, inside
    (pose,) = decode_single(heads_of(a))
    assert tuple(pose.xy[0]) == (14.0, 132.0)
    a["offsets"][2, 2, 17] = -80.0  # x = -48
    (pose,) = decode_single(heads_of(a))
    assert tuple(pose.xy[0]) == (-48.0, 132.0)
    (clipped,) = to_image([pose], (1.0, 1.0), (0.0, 0.0), (33, 33))
    assert tuple(clipped.xy[0]) == (0.0, 32.0)


@st.composite
def cases(draw):
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    stride = draw(st.sampled_from(STRIDES))
    style = draw(st.sampled_from(["normal", "ties", "saturated", "threshold"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return heads_of(random_arrays(rng, h, w, stride, style, 0.5), stride)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_matches_oracle_and_plain_python(heads):
    arguments = (heads.heatmap, heads.offsets, heads.output_stride)
    yx, scores, score = single._decode(*arguments)
    plain = single._decode.py_func(*arguments)
    oracle = tfjs_oracle.decode_single_pose(heads)
    for other in (plain, oracle):
        np.testing.assert_array_equal(yx, other[0])
        np.testing.assert_array_equal(scores, other[1])
        assert score == other[2]
    (pose,) = decode_single(heads)
    np.testing.assert_array_equal(pose.xy, yx[:, ::-1])
    assert ((pose.scores >= 0) & (pose.scores <= 1)).all()
    assert 0.0 <= pose.score <= 1.0
    assert pose.score == pytest.approx(float(np.mean(pose.scores.astype(np.float64))))


@pytest.mark.parametrize("name", ["heatmap", "offsets", "displacements_fwd"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_raise(name, bad):
    a = blank(2, 2)
    a[name][0, 1, 3] = bad
    with pytest.raises(PosenetError, match=name):
        decode_single(heads_of(a))


@pytest.mark.parametrize("logit", [-1e4, -3.4e38, 0.0, 50.0])
def test_all_equal_heatmap_takes_the_first_cell(logit):
    a = blank(4, 5)
    a["heatmap"][:] = logit
    a["offsets"][:] = 1.0
    (pose,) = decode_single(heads_of(a))
    np.testing.assert_array_equal(pose.xy, np.ones((17, 2), np.float32))
    assert pose.score == pytest.approx(sig(logit) if logit > -700 else 0.0)


def test_one_cell_and_huge_grids():
    a = blank(1, 1)
    (pose,) = decode_single(heads_of(a))
    np.testing.assert_array_equal(pose.xy, np.zeros((17, 2), np.float32))
    rng = np.random.default_rng(11)
    heads = heads_of(random_arrays(rng, 81, 81, 16, "normal", 0.5), 16)
    (pose,) = decode_single(heads)
    yx, scores, score = tfjs_oracle.decode_single_pose(heads)
    np.testing.assert_array_equal(pose.xy, yx[:, ::-1])
    np.testing.assert_array_equal(pose.scores, scores.astype(np.float32))
    assert pose.score == score


def test_couple_finds_a_confident_pose():
    heads, _ = coral_heads("353_481")
    (pose,) = decode_single(heads)
    assert pose.score > 0.9
    assert decode_single(heads)[0].xy.tolist() == pose.xy.tolist()
