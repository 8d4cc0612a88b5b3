"""sizes: parsing, rounding to k * stride + 1, auto sizes, errors."""

from __future__ import annotations

import dataclasses

import pytest

from posenet.errors import PosenetError
from posenet.network import MOBILENET_V1_LAYERS
from posenet.sizes import (
    DEFAULT_LONG_SIDE,
    MAX_SIDE,
    auto_size,
    parse_size,
    resolve_size,
    round_side,
)

from .tiny_network import tiny_network


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("353x481", (353, 481)),
        (" 257 X 353 ", (257, 353)),
        ("257", (257, 257)),
        ("auto", None),
        ("AUTO", None),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "x", "353x", "-1", "3.5", "353x481x3", "big"])
def test_parse_size_rejects(text):
    with pytest.raises(PosenetError, match="expected HxW"):
        parse_size(text)


@pytest.mark.parametrize(
    ("side", "stride", "rounded"),
    [
        (257, 16, 257),
        (256, 16, 257),
        (260, 16, 257),
        (264, 16, 257),
        (266, 16, 273),
        (353, 8, 353),
        (350, 32, 353),
        (16, 16, 17),
        (17, 16, 17),
        (33, 32, 33),
    ],
)
def test_round_side(side, stride, rounded):
    assert round_side(side, stride) == rounded
    assert (round_side(side, stride) - 1) % stride == 0


def test_round_side_halfway_rounds_up():
    # 264 = 16.5 strides past 1: halves go to the larger size.
    assert round_side(265, 16) == 273


def test_valid_sizes_stay():
    for stride in (8, 16, 32):
        for k in range(1, 40):
            assert round_side(k * stride + 1, stride) == k * stride + 1


@pytest.mark.parametrize(("side", "stride"), [(15, 16), (7, 8), (31, 32), (0, 8)])
def test_smaller_than_the_stride_raises(side, stride):
    with pytest.raises(PosenetError, match="smaller than the output stride"):
        round_side(side, stride)


def test_too_large_raises():
    with pytest.raises(PosenetError, match="too large"):
        round_side(MAX_SIDE + 100, 16)


@pytest.mark.parametrize("stride", [4, 12, 64])
def test_bad_stride_raises(stride):
    with pytest.raises(PosenetError, match="output stride"):
        resolve_size("257", stride)


def test_resolve_size_reports_the_actual_size():
    assert resolve_size("353x481", 16) == (353, 481)
    assert resolve_size("350x480", 16) == (353, 481)
    assert resolve_size((256, 256), 32) == (257, 257)
    assert resolve_size("100", 8) == (97, 97)


def test_auto_size_keeps_the_aspect_ratio():
    # 480 x 640 image (4:3 landscape), long side 481 -> 361 x 481 at stride 8 / 16.
    assert auto_size((480, 640), 16) == (353, 481)
    assert auto_size((480, 640), 8) == (361, 481)
    assert auto_size((640, 480), 32, long_side=641) == (641, 481)
    h, w = resolve_size("auto", 16, image_size=(1080, 1920))
    assert w == DEFAULT_LONG_SIDE and abs(h / w - 1080 / 1920) < 16 / w


def test_auto_needs_an_image():
    with pytest.raises(PosenetError, match="needs an image"):
        resolve_size("auto", 16)


def test_stride_the_body_cannot_reach():
    net = tiny_network()
    assert resolve_size("257", 32, network=net) == (257, 257)
    # A body whose last stride-2 block is gone reaches only 16.
    block12 = [name for name, _, _ in MOBILENET_V1_LAYERS].index("Conv2d_12_depthwise")
    body = list(net.body)
    body[block12] = dataclasses.replace(body[block12], stride=1, nominal_stride=1)
    shallow = dataclasses.replace(net, body=tuple(body))
    assert resolve_size("257", 16, network=shallow) == (257, 257)
    with pytest.raises(PosenetError, match="out of reach"):
        resolve_size("257", 32, network=shallow)
