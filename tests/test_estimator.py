"""The estimator: image fitting, mapping back to the image, inputs of every kind."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet.errors import PosenetError
from posenet.image import fit

from .conftest import IMAGES


@pytest.fixture(scope="module")
def estimator() -> posenet.Estimator:
    return posenet.Estimator()


def test_pad_and_stretch_find_the_same_people(couple, estimator):
    padded = estimator.estimate(couple).poses
    stretched = posenet.Estimator(fit="stretch").estimate(couple).poses
    assert len(padded) == len(stretched) == 2
    for a, b in zip(padded, stretched, strict=True):
        assert np.median(np.linalg.norm(a.xy - b.xy, axis=1)) < 10  # image pixels


def test_poses_are_in_original_image_pixels(couple, estimator):
    result = estimator.estimate(couple)
    assert (result.width, result.height) == (couple.shape[1], couple.shape[0])
    for pose in result.poses:
        assert (pose.xy[:, 0] >= 0).all() and (pose.xy[:, 0] <= result.width - 1).all()
        assert (pose.xy[:, 1] >= 0).all() and (pose.xy[:, 1] <= result.height - 1).all()


@pytest.mark.parametrize("image", ["soccer.png", "coco/000000040083.jpg"])
def test_keypoints_guessed_in_the_padding_are_clipped_into_the_image(image):
    """With fit pad the network sees black padding; keypoints it puts there must not
    come back outside the photo (they did, by up to 40 px, before clipping)."""
    pixels = np.asarray(Image.open(IMAGES / image).convert("RGB"))
    height, width = pixels.shape[:2]
    for decoder in ("coral", "tfjs", "single"):
        for pose in posenet.Estimator(decoder=decoder).estimate(pixels).poses:
            assert pose.xy[:, 0].min() >= 0 and pose.xy[:, 0].max() <= width - 1
            assert pose.xy[:, 1].min() >= 0 and pose.xy[:, 1].max() <= height - 1


def test_each_resampler_maps_back_to_where_it_sampled():
    """A bright band centred on x = 200 of a 400-wide image, shrunk 4x: its centre of
    mass in the input maps back onto x = 200 for every resampler (TF.js's bilinear
    samples at x * scale, PIL's at pixel centres; without the centre shift PIL's
    would land 1.5 to 2 px left)."""
    image = np.zeros((40, 400, 3), np.uint8)
    image[:, 190:211] = 255
    for resample in ("bilinear", "nearest", "antialias"):
        fitted = fit(image, (11, 101), "stretch", resample)
        column = fitted.pixels[5, :, 0].astype(float)
        centre = (column * np.arange(101)).sum() / column.sum()
        assert abs(centre * fitted.fit.scale[0] + fitted.fit.shift[0] - 200) <= 0.5, resample


def test_path_pil_and_array_inputs_agree(couple_path, couple, estimator):
    """Given the whole photo each way (a path decodes reduced by default: tests/test_image.py)."""
    from_path = posenet.Estimator(draft=False).estimate(couple_path).poses
    from_pil = estimator.estimate(Image.open(couple_path)).poses
    from_array = estimator.estimate(couple).poses
    for a, b, c in zip(from_path, from_pil, from_array, strict=True):
        np.testing.assert_array_equal(a.xy, b.xy)
        np.testing.assert_array_equal(a.xy, c.xy)


@pytest.mark.parametrize("decoder", ["coral", "tfjs"])
def test_no_invented_people(decoder):
    """A uniform grey frame and photo-sized noise give no poses at the default settings."""
    est = posenet.Estimator(decoder=decoder)
    grey = np.full((480, 640, 3), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    assert est.estimate(grey).poses == []
    assert est.estimate(noise).poses == []


def test_fit_pad_keeps_aspect_ratio_and_maps_back():
    image = np.zeros((100, 400, 3), np.uint8)
    image[:, 200:] = 255
    fitted = fit(image, (257, 257), "pad")
    assert fitted.pixels.shape == (257, 257, 3)
    # 400 px wide -> 257: the scale back is 400/257 on both axes (aspect kept)
    np.testing.assert_allclose(fitted.fit.scale, (400 / 257, 100 / 64))
    assert fitted.pixels[100:, :].max() == 0  # padding below the image


def test_timings_are_recorded(couple, couple_path, estimator):
    t = estimator.estimate(couple).timings
    assert t.invoke > 0 and t.preprocess > 0 and t.decode > 0
    assert t.load == 0  # an array needs no reading
    assert t.total == pytest.approx(t.preprocess + t.invoke + t.decode)
    assert estimator.estimate(couple_path).timings.load > 0


def test_decoder_choice_and_options_reach_the_decoder(couple):
    """coral takes the model's embedded options; tfjs and single do not; given
    options override; the chosen decoder is the one that runs."""
    coral = posenet.Estimator(decoder="coral")
    assert coral.decoder_options == pytest.approx(
        {"max_detections": 10, "score_threshold": 0.2, "nms_radius": 10.0}
    )
    tfjs = posenet.Estimator(decoder="tfjs", decoder_options={"refine_steps": 3})
    assert tfjs.decoder_options == {"refine_steps": 3}
    assert len(posenet.Estimator(decoder="single").estimate(couple).poses) == 1
    capped = posenet.Estimator(decoder_options={"max_detections": 1}).estimate(couple)
    assert len(capped.poses) == 1


def test_bad_decoder_option_is_a_clear_error():
    with pytest.raises(PosenetError, match="no option"):
        posenet.Estimator(decoder="tfjs", decoder_options={"bogus": 1})


@pytest.mark.parametrize(("geometry", "people"), [("atrous", 3), ("source", 2)])
def test_stride_8_geometry_reaches_the_builder(couple, geometry, people):
    """--geometry changes the rebuilt network: the rule's block-13 dilation 4 invents a
    third person on test_couple, the source's tap spacing (dilation 2) does not."""
    est = posenet.Estimator("tfjs-075", stride=8, geometry=geometry)
    assert est.output_stride == 8
    assert len(est.estimate(couple).poses) == people


def test_size_is_rounded_to_the_grid_and_auto_follows_the_image(couple):
    est = posenet.Estimator(size="500x700")
    assert est.requested_size == (500, 700)
    assert est.input_size == (497, 705)  # k * 16 + 1
    auto = posenet.Estimator(size="auto", long_side=481)
    assert auto.input_size is None
    result = auto.estimate(couple)
    assert result.input_size == (321, 481)  # 1278x1920 -> long side 481, on the grid
    assert auto.estimate(np.zeros((481, 321, 3), np.uint8)).input_size == (481, 321)
