"""A small random MobileNetV1 PoseNet (8 channels), for fast structural tests."""

from __future__ import annotations

import numpy as np

from posenet.network import (
    HEAD_CHANNELS,
    HEAD_NAMES,
    MOBILENET_V1_LAYERS,
    Network,
    heads_from,
    mobilenet_v1_body,
)


def tiny_weights(width: int = 8, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weights, bias) per MobileNetV1 body layer, HWIO / HWC1, small random values."""
    rng = np.random.default_rng(seed)
    layers, channels = [], 3
    for _, kind, _ in MOBILENET_V1_LAYERS:
        if kind == "conv":
            w = rng.normal(0, 0.3, (3, 3, channels, width))
            channels = width
        elif kind == "depthwise":
            w = rng.normal(0, 0.3, (3, 3, channels, 1))
        else:
            w = rng.normal(0, 0.3, (1, 1, channels, width))
        layers.append(
            (
                w.astype(np.float32),
                rng.normal(0, 0.1, w.shape[-1] if kind != "depthwise" else channels).astype(
                    np.float32
                ),
            )
        )
    return layers


def tiny_network(width: int = 8, seed: int = 0) -> Network:
    """A random PoseNet of the real shape but `width` channels, native stride 16 (no dilation)."""
    rng = np.random.default_rng(seed + 1)
    geometry = [(stride, 1) for _, _, stride in MOBILENET_V1_LAYERS]
    geometry[MOBILENET_V1_LAYERS.index(("Conv2d_12_depthwise", "depthwise", 2))] = (1, 1)
    heads = {
        name: (
            rng.normal(0, 0.3, (1, 1, width, HEAD_CHANNELS[name])).astype(np.float32),
            rng.normal(0, 0.1, HEAD_CHANNELS[name]).astype(np.float32),
        )
        for name in HEAD_NAMES
    }
    return Network(
        name="tiny",
        body=mobilenet_v1_body(tiny_weights(width, seed), geometry),
        heads=heads_from(heads),
        native_output_stride=16,
        description="random weights for tests",
    )
