"""Decoder options: one table per decoder, one range check, one message style, bounds that hold."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

from posenet.decode import DECODERS, decode, get_decoder
from posenet.decode._options import Range, check_ranges
from posenet.errors import PosenetError
from posenet.poses import to_image

from .helpers import coral_heads

#: (decoder, option) for every option of every decoder.
OPTIONS = [(d.name, name) for d in DECODERS.values() for name in d.option_ranges]


def option_ranges(decoder: str):
    return get_decoder(decoder).option_ranges


def check_options(decoder: str, options: dict):
    return get_decoder(decoder).check(options)


@pytest.mark.parametrize("decoder", list(DECODERS))
def test_table_lists_exactly_the_keyword_options(decoder):
    keyword = [
        p.name
        for p in inspect.signature(get_decoder(decoder).function).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert list(option_ranges(decoder)) == keyword == list(get_decoder(decoder).defaults)


@pytest.mark.parametrize("decoder", list(DECODERS))
def test_defaults_are_in_range(decoder):
    ranges = option_ranges(decoder)
    for name, default in get_decoder(decoder).defaults.items():
        assert ranges[name].admits(default), (name, default)


def test_option_ranges_are_read_only():
    with pytest.raises(TypeError):
        option_ranges("coral")["max_detections"] = None
    assert option_ranges("coral")


def test_unknown_decoder_names_the_choices():
    with pytest.raises(PosenetError, match=r"^unknown decoder 'bogus'; choose one of coral, tfjs"):
        get_decoder("bogus")


def test_model_options_reach_only_the_decoders_that_take_them():
    embedded = {"max_detections": 7, "score_threshold": 0.3, "nms_radius": 12.0, "other": 1}
    assert get_decoder("coral").options_for(embedded, {"nms_radius": 5}) == {
        "max_detections": 7,
        "score_threshold": 0.3,
        "nms_radius": 5,
    }
    assert get_decoder("tfjs").options_for(embedded, {}) == {}
    assert get_decoder("single").options_for(embedded, {}) == {}


def too_low(allowed: Range):
    return allowed.lowest - (1 if allowed.whole else 1e-3)


def too_high(allowed: Range):
    return allowed.highest + (1 if allowed.whole else 1e-3)


@pytest.mark.parametrize(("decoder", "name"), OPTIONS)
@pytest.mark.parametrize("outside", [too_low, too_high])
def test_out_of_range_is_one_line_with_the_table_s_words(decoder, name, outside):
    allowed = option_ranges(decoder)[name]
    value = outside(allowed)
    expected = f"decoder {decoder}: {name} must be {allowed}, got {value!r}"
    heads, _ = coral_heads("353_481")
    for call in (
        lambda: check_options(decoder, {name: value}),
        lambda: decode(heads, decoder, **{name: value}),
        lambda: get_decoder(decoder).function(heads, **{name: value}),
    ):
        with pytest.raises(PosenetError) as error:
            call()
        assert str(error.value) == expected
        assert "\n" not in expected


@pytest.mark.parametrize("decoder", [d for d in DECODERS if "nms_radius" in option_ranges(d)])
@pytest.mark.parametrize("radius", [1e308, math.inf])
def test_huge_radius_is_refused_without_warnings(decoder, radius):
    heads, _ = coral_heads("353_481")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PosenetError, match=f"^decoder {decoder}: nms_radius must be"):
            decode(heads, decoder, nms_radius=radius)


def test_messages():
    assert str(Range(0, 100, whole=True)) == "an integer in [0, 100]"
    assert str(Range(0.0, 1.0)) == "a number in [0, 1]"
    with pytest.raises(PosenetError) as error:
        check_options("coral", {"max_detections": 100000})
    assert str(error.value) == (
        "decoder coral: max_detections must be an integer in [0, 100], got 100000"
    )
    with pytest.raises(PosenetError) as error:
        check_options("tfjs", {"bogus": 1})
    assert str(error.value).startswith("decoder tfjs: no option bogus (it takes: ")
    with pytest.raises(PosenetError, match=r"^decoder single: no option max_detections"):
        check_options("single", {"max_detections": 1})


@pytest.mark.parametrize(
    ("allowed", "value", "admitted"),
    [
        (Range(0, 8, whole=True), 8, True),
        (Range(0, 8, whole=True), np.int64(0), True),
        (Range(0, 8, whole=True), np.uint8(3), True),
        (Range(0, 8, whole=True), 3.0, False),
        (Range(0, 8, whole=True), True, False),
        (Range(0, 8, whole=True), 10**400, False),
        (Range(0.0, 1.0), 1, True),
        (Range(0.0, 1.0), np.float32(0.5), True),
        (Range(0.0, 1.0), np.bool_(True), False),
        (Range(0.0, 1.0), math.nan, False),
        (Range(0.0, 1.0), "0.5", False),
        (Range(0.0, 1.0), None, False),
    ],
)
def test_admits(allowed, value, admitted):
    assert allowed.admits(value) is admitted


def test_check_ranges_leaves_its_input_alone_and_skips_unknown_names():
    options = {"max_detections": 5, "other": "anything"}
    check_ranges("coral", option_ranges("coral"), options)
    assert options == {"max_detections": 5, "other": "anything"}


def widest(decoder: str, **fixed) -> dict:
    """Every option at its most expensive allowed value: highest, threshold 0."""
    options = {name: allowed.highest for name, allowed in option_ranges(decoder).items()}
    return {**options, "score_threshold": 0.0, **fixed}


@pytest.mark.parametrize("decoder", ["coral", "tfjs"])
@pytest.mark.parametrize("radius", [0.0, None])  # None: the largest radius allowed
def test_the_largest_allowed_values_decode_real_heads(decoder, radius):
    heads, _ = coral_heads("353_481")
    options = widest(decoder) if radius is None else widest(decoder, nms_radius=radius)
    check_options(decoder, options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        poses = decode(heads, decoder, **options)
    if decoder == "tfjs":  # TF.js's order and positions: arranged as the estimator does
        poses = to_image(poses, (1.0, 1.0), (0.0, 0.0), heads.input_size[::-1])
    assert 1 <= len(poses) <= options["max_detections"]
    if radius == 0.0:
        assert len(poses) == options["max_detections"]  # threshold 0: more roots than that
    scores = [pose.score for pose in poses]
    assert scores == sorted(scores, reverse=True)
    height, width = heads.input_size
    for pose in poses:
        assert np.isfinite(pose.xy).all()
        assert (pose.xy >= 0).all() and (pose.xy[:, 0] <= width - 1).all()
        assert (pose.xy[:, 1] <= height - 1).all()
