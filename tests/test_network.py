"""Network: validation, the output-stride rule, immutability."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posenet.errors import PosenetError
from posenet.network import (
    HEAD_NAMES,
    MOBILENET_V1_LAYERS,
    OUTPUT_STRIDES,
    Layer,
    Network,
    atrous_geometry,
    with_output_stride,
)

from .tiny_network import tiny_network

NOMINAL = [stride for _, _, stride in MOBILENET_V1_LAYERS]


def _depthwise_geometry(geometry):
    """(stride, dilation) of conv0 and the 13 depthwise layers."""
    return [
        g
        for g, (_, kind, _) in zip(geometry, MOBILENET_V1_LAYERS, strict=True)
        if kind != "pointwise"
    ]


def test_mobilenet_table_matches_posenet_md():
    # POSENET.md §2: conv stride 2, block strides 1,2,1,2,1,2,1,1,1,1,1,2,1.
    assert len(MOBILENET_V1_LAYERS) == 27
    blocks = [s for (_, kind, s) in MOBILENET_V1_LAYERS if kind == "depthwise"]
    assert blocks == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    assert all(s == 1 for (_, kind, s) in MOBILENET_V1_LAYERS if kind == "pointwise")


def test_atrous_rule_stride_32_keeps_every_stride():
    assert atrous_geometry(NOMINAL, 32) == tuple((s, 1) for s in NOMINAL)


def test_atrous_rule_stride_16_dilates_block_13():
    dw = _depthwise_geometry(atrous_geometry(NOMINAL, 16))
    assert dw[:12] == [(2, 1), (1, 1), (2, 1), (1, 1), (2, 1), (1, 1), (2, 1)] + [(1, 1)] * 5
    assert dw[12] == (1, 1)  # block 12: stride 1, rate still 1, then rate = 2
    assert dw[13] == (1, 2)  # block 13: dilation 2


def test_atrous_rule_stride_8():
    dw = _depthwise_geometry(atrous_geometry(NOMINAL, 8))
    # current reaches 8 after block 4; block 6 (nominal 2) gets rate 1, later rate 2; block 12
    # (nominal 2) rate 2, then rate 4 for block 13.
    assert dw[:6] == [(2, 1), (1, 1), (2, 1), (1, 1), (2, 1), (1, 1)]
    assert dw[6] == (1, 1)
    assert dw[7:12] == [(1, 2)] * 5
    assert dw[12] == (1, 2)
    assert dw[13] == (1, 4)


@pytest.mark.parametrize("stride", [0, 4, 12, 24, 64])
def test_impossible_strides_raise(stride):
    with pytest.raises(PosenetError, match="output stride"):
        atrous_geometry(NOMINAL, stride)


def test_stride_the_body_cannot_reach():
    # A body with only three stride-2 layers reaches 8 at most.
    nominal = [2, 1, 2, 1, 2, 1]
    assert atrous_geometry(nominal, 8) == tuple((s, 1) for s in nominal)
    with pytest.raises(PosenetError, match="out of reach"):
        atrous_geometry(nominal, 16)


def test_with_output_stride_keeps_the_source_geometry_at_its_own_stride():
    net = tiny_network()
    assert net.output_stride == 16
    assert with_output_stride(net, 16) is net
    assert all(layer.dilation == 1 for layer in net.body)


@pytest.mark.parametrize("stride", OUTPUT_STRIDES)
def test_with_output_stride_retargets(stride):
    source = tiny_network()
    net = with_output_stride(source, stride)
    assert net.output_stride == stride
    assert net.native_output_stride == 16
    for layer in net.body:
        if layer.kernel == (1, 1):
            assert layer.dilation == 1
    # Weights are shared, not copied.
    assert all(
        np.shares_memory(a.weights, b.weights) for a, b in zip(net.body, source.body, strict=True)
    )


def test_with_output_stride_16_from_32_uses_the_rule():
    net = tiny_network()
    at32 = with_output_stride(net, 32, geometry="atrous")
    at16 = with_output_stride(at32, 16, geometry="atrous")
    assert at16.body[-2].dilation == 2  # the rule, not the source's own (1)


@pytest.mark.parametrize("stride", [8, 32])
def test_source_geometry_finds_its_way_back(stride):
    """Re-targeted by "source" and back, a network is its own geometry again."""
    net = tiny_network()
    back = with_output_stride(with_output_stride(net, stride), 16)
    assert [(la.stride, la.dilation) for la in back.body] == [
        (la.stride, la.dilation) for la in net.body
    ]


def test_layers_are_read_only_and_inputs_untouched():
    w = np.ones((1, 1, 4, 17), np.float32)
    layer = Layer("heatmap", "head", w, np.zeros(17, np.float32), activation="none")
    assert w.flags.writeable
    with pytest.raises(ValueError):
        layer.weights[0, 0, 0, 0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.stride = 2  # type: ignore[misc]


def test_layer_properties():
    net = tiny_network(width=8)
    assert net.body[0].kernel == (3, 3)
    assert net.body[0].in_channels == 3
    assert net.body[1].kind == "depthwise" and net.body[1].out_channels == 8
    assert [h.out_channels for h in net.heads] == [17, 34, 32, 32]
    assert net.head("offsets").out_channels == 34
    assert "output stride 16" in net.summary()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(kind="pool"), "kind"),
        (dict(activation="relu"), "activation"),
        (dict(stride=3), "stride"),
        (dict(nominal_stride=4), "nominal_stride"),
        (dict(dilation=0), "dilation"),
        (dict(dilation=2**40), "dilation"),
        (dict(bias=np.zeros(3, np.float32)), "bias"),
        (dict(weights=np.zeros((3, 3, 8), np.float32)), "4-D"),
        (dict(weights=np.full((3, 3, 8, 1), np.nan, np.float32)), "NaN"),
        (dict(weights=np.zeros((3, 3, 8, 1), np.float32)), "all zero"),
        (dict(weights=np.full((3, 3, 8, 1), 3e38, np.float32)), "weights reach 3e"),
    ],
)
def test_layer_validation(change, message):
    layer = tiny_network().body[1]
    with pytest.raises(PosenetError, match=message):
        dataclasses.replace(layer, **change)


def test_network_validation():
    net = tiny_network()
    with pytest.raises(PosenetError, match="heads must be"):
        dataclasses.replace(net, heads=net.heads[::-1])
    with pytest.raises(PosenetError, match="takes"):
        wide = tiny_network(width=16)
        dataclasses.replace(net, body=net.body[:5] + wide.body[5:])
    with pytest.raises(PosenetError, match="native output stride"):
        dataclasses.replace(net, native_output_stride=4)
    bad_head = dataclasses.replace(
        net.heads[0], weights=np.ones((1, 1, 8, 16), np.float32), bias=np.zeros(16, np.float32)
    )
    with pytest.raises(PosenetError, match="17"):
        dataclasses.replace(net, heads=(bad_head, *net.heads[1:]))
    assert tuple(h.name for h in net.heads) == HEAD_NAMES


def test_network_is_plain_data():
    net = tiny_network()
    assert isinstance(net, Network)
    assert isinstance(net.body, tuple) and isinstance(net.heads, tuple)
    assert net.input_range == (-1.0, 1.0)
    assert all(layer.weights.dtype == np.float32 for layer in net.layers)


def test_source_geometry_keeps_the_tap_spacing():
    net = tiny_network()  # stride 16 without block-13 dilation, like the published graphs
    at8 = with_output_stride(net, 8, geometry="source")
    dw = _depthwise_geometry([(layer.stride, layer.dilation) for layer in at8.body])
    assert dw[:7] == [(2, 1), (1, 1), (2, 1), (1, 1), (2, 1), (1, 1), (1, 1)]
    assert dw[7:] == [(1, 2)] * 7  # block 13: 2 (its spacing of 16 px at stride 8), not 4
    atrous8 = with_output_stride(net, 8, geometry="atrous")
    assert atrous8.body[-2].dilation == 4
    # At 32 striding block 12 (the rule) would give block 13 a 32-px spacing; striding
    # block 13 itself keeps every 3x3 layer's spacing and only samples its output coarser.
    at32 = _depthwise_geometry(
        [(la.stride, la.dilation) for la in with_output_stride(net, 32).body]
    )
    assert at32 == [(2, 1), (1, 1), (2, 1), (1, 1), (2, 1), (1, 1), (2, 1)] + [(1, 1)] * 6 + [
        (2, 1)
    ]
    rule32 = with_output_stride(net, 32, geometry="atrous")
    assert _depthwise_geometry([(la.stride, la.dilation) for la in rule32.body])[12:] == [
        (2, 1),
        (1, 1),
    ]


def test_source_geometry_equals_the_rule_for_a_source_that_follows_it():
    ruled = with_output_stride(tiny_network(), 16 * 2, geometry="atrous")  # nominal network
    ruled = with_output_stride(ruled, 16, geometry="atrous")  # the rule: block 13 dilation 2
    for stride in (8, 32):
        a = with_output_stride(ruled, stride, geometry="source")
        b = with_output_stride(ruled, stride, geometry="atrous")
        assert [(x.stride, x.dilation) for x in a.body] == [(x.stride, x.dilation) for x in b.body]


def test_unknown_geometry_raises():
    with pytest.raises(PosenetError, match="geometry"):
        with_output_stride(tiny_network(), 8, geometry="magic")
