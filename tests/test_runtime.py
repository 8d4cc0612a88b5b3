"""The LiteRT wrapper: output mapping, dequantization, resizing, blank heads."""

from __future__ import annotations

import numpy as np
import pytest

from posenet.decode import DECODERS, decode
from posenet.errors import PosenetError
from posenet.model import load
from posenet.runtime import Runtime


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
