"""The LiteRT wrapper: output mapping, dequantization, resizing, blank heads."""

from __future__ import annotations

import numpy as np
import pytest

from posenet.decode import DECODERS, decode
from posenet.errors import PosenetError
from posenet.model import load
from posenet.runtime import Runtime, RuntimePool


@pytest.fixture(scope="module")
def coral() -> Runtime:
    return Runtime(load("coral-075-353x481").tflite, threads=1)


def test_coral_outputs_map_to_heads(coral):
    heads = coral.run(np.zeros((353, 481, 3), np.uint8))
    assert heads.grid_size == (23, 31) and heads.output_stride == 16
    assert heads.offsets.shape == (23, 31, 34)
    assert heads.displacements_fwd.shape == heads.displacements_bwd.shape == (23, 31, 32)
    # uint8 heatmap (scale 1/21.25, zero point 128): every logit is a multiple of the scale
    steps = heads.heatmap / np.float32(0.0470588244497776)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)


def test_resize_changes_grid_and_back(coral):
    coral.resize((513, 513))
    assert coral.input_size == (513, 513) and coral.grid_size == (33, 33)
    coral.resize((353, 481))
    assert coral.grid_size == (23, 31)


def test_blank_heads_have_the_layout_of_real_heads_and_no_people(coral):
    real = coral.run(np.zeros((353, 481, 3), np.uint8))
    blank = coral.blank_heads()
    for name in ("heatmap", "offsets", "displacements_fwd", "displacements_bwd"):
        a, b = getattr(real, name), getattr(blank, name)
        assert a.shape == b.shape and a.dtype == b.dtype
        assert a.flags["C_CONTIGUOUS"] == b.flags["C_CONTIGUOUS"], name
    for decoder in ("coral", "tfjs"):
        assert decode(blank, decoder) == []
    assert set(DECODERS) == {"coral", "tfjs", "single"}


def test_wrong_image_shape_is_a_clear_error(coral):
    with pytest.raises(PosenetError, match="model wants"):
        coral.invoke(np.zeros((10, 10, 3), np.uint8))


def test_pool_keeps_interpreters_by_size_and_never_shares_one():
    model = load("coral-075-353x481").tflite
    pool = RuntimePool(model, threads=1, keep=2)
    a, b = pool.take((353, 481)), pool.take((353, 481))
    assert a is not b  # two callers at once: two interpreters
    pool.give(a)
    pool.give(b)
    assert pool.take((353, 481)) is b  # the most recently given back of that size
    c = pool.take((257, 257))  # one idle, fewer than keep: a new one, none resized
    assert c not in (a, b) and c.input_size == (257, 257) and a.input_size == (353, 481)
    pool.give(b)
    pool.give(c)  # three idle over keep=2: the least recently used (a) is dropped
    d = pool.take((513, 513))  # two idle (keep): the least recently used is resized
    assert d is b and d.input_size == (513, 513) and d.grid_size == (33, 33)
    with pool.runtime((257, 257)) as runtime:
        assert runtime is c
        with pool.runtime((257, 257)) as other:
            assert other is not c
    with pytest.raises(PosenetError, match=r"input size \(0, 5\) is empty"):
        pool.take((0, 5))
