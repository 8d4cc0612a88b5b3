"""Image loading: every common mode becomes uint8 RGB (deep grey by a documented rule, or
refused), EXIF rotation is applied, Pillow's warnings stay off the terminal."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pytest
from PIL import Image

from posenet.errors import PosenetError
from posenet.image import (
    WIDE_MODE_RULE,
    as_rgb,
    find_images,
    fit,
    load_image,
    symmetric_padding,
)

from .conftest import IMAGES


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(IMAGES / "test_couple.jpg").convert("RGB").reduce(4)


@pytest.mark.parametrize(
    ("mode", "suffix"), [("RGBA", ".png"), ("L", ".png"), ("CMYK", ".jpg"), ("P", ".gif")]
)
def test_modes_become_rgb(photo, tmp_path, mode, suffix):
    path = tmp_path / f"photo{suffix}"
    photo.convert(mode).save(path)
    pixels = load_image(path)
    assert pixels.dtype == np.uint8 and pixels.shape == (photo.height, photo.width, 3)
    assert abs(float(pixels.mean()) - float(np.asarray(photo).mean())) < 6


def test_16_bit_grey_is_scaled_not_clipped(photo, tmp_path):
    grey = np.asarray(photo.convert("L")).astype(np.uint16) * 257
    path = tmp_path / "deep.png"
    Image.fromarray(grey).save(path)
    pixels = load_image(path)
    np.testing.assert_array_equal(pixels[..., 0], np.asarray(photo.convert("L")))


def test_exif_orientation_is_applied(photo, tmp_path):
    exif = photo.getexif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    photo.save(path, exif=exif, quality=95)
    pixels = load_image(path)
    assert pixels.shape == (photo.width, photo.height, 3)
    expected = np.asarray(photo.transpose(Image.Transpose.ROTATE_270))
    assert np.abs(pixels.astype(int) - expected).mean() < 3


def test_bilinear_resize_matches_tfjs_formula():
    """tf.image.resizeBilinear (align_corners false): out[y, x] samples in[y*sy, x*sx]."""
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3
    out = fit(image, (2, 4), "stretch", "bilinear").pixels
    # y: 0 -> 0, 1 -> 2. x: 0 -> 0, 1 -> 1.5, 2 -> 3, 3 -> 4.5
    for y, sy in enumerate((0, 2)):
        for x, sx in enumerate((0.0, 1.5, 3.0, 4.5)):
            x0 = int(sx)
            x1 = min(x0 + 1, 5)
            value = image[sy, x0] + (image[sy, x1].astype(float) - image[sy, x0]) * (sx - x0)
            np.testing.assert_array_equal(out[y, x], np.floor(value + 0.5))  # half up


def tfjs_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """resizeBilinear(align_corners false, half_pixel_centers false), plainly, in float64."""
    (in_h, in_w), (out_h, out_w) = image.shape[:2], size
    out = np.empty((out_h, out_w, 3))
    for y in range(out_h):
        sy = y * in_h / out_h
        y0, dy = int(sy), sy - int(sy)
        y1 = min(y0 + 1, in_h - 1)
        for x in range(out_w):
            sx = x * in_w / out_w
            x0, dx = int(sx), sx - int(sx)
            x1 = min(x0 + 1, in_w - 1)
            top = image[y0, x0] + (image[y0, x1] - image[y0, x0].astype(float)) * dx
            bottom = image[y1, x0] + (image[y1, x1] - image[y1, x0].astype(float)) * dx
            out[y, x] = top + (bottom - top) * dy
    return out


@pytest.mark.parametrize("shape", [(5, 9), (9, 5), (6, 6), (13, 4)])
def test_symmetric_fit_pads_both_sides_then_resizes_in_float(shape):
    """TF.js's padAndResizeTo: black bands of Math.round(half the missing pixels) on both
    sides up to the input's aspect, then resizeBilinear of the padded image, unrounded."""
    image = np.random.default_rng(sum(shape)).integers(0, 256, (*shape, 3), dtype=np.uint8)
    fitted = fit(image, (7, 11), "symmetric", "bilinear", np.float32)
    top, left = symmetric_padding(shape, (7, 11))
    missing = (shape[1] * 7 / 11 - shape[0], shape[0] * 11 / 7 - shape[1])
    assert (top, left) == (
        (math.floor(missing[0] / 2 + 0.5), 0)
        if missing[0] > 0
        else (0, math.floor(missing[1] / 2 + 0.5))
    )
    padded = np.pad(image, ((top, top), (left, left), (0, 0)))
    assert fitted.pixels.dtype == np.float32
    np.testing.assert_allclose(fitted.pixels, tfjs_resize(padded, (7, 11)), atol=2e-4)
    # original = input * scale + shift: TF.js's scaleAndFlipPoses for this fit
    assert fitted.fit.scale == (padded.shape[1] / 11, padded.shape[0] / 7)
    assert fitted.fit.shift == (-left, -top)
    rounded = fit(image, (7, 11), "symmetric", "bilinear").pixels
    np.testing.assert_array_equal(rounded, np.floor(fitted.pixels + 0.5))


def test_symmetric_padding_rounds_halves_up_as_javascript():
    # 3 rows to add to a 1x4 image for a square input: 1.5 on each side -> 2 (Math.round)
    assert symmetric_padding((1, 4), (5, 5)) == (2, 0)
    assert symmetric_padding((4, 1), (5, 5)) == (0, 2)
    assert symmetric_padding((4, 4), (5, 5)) == (0, 0)


def test_as_rgb_accepts_grey_and_rgba_arrays():
    grey = np.zeros((5, 7), np.uint8)
    assert as_rgb(grey).shape == (5, 7, 3)
    assert as_rgb(np.zeros((5, 7, 4), np.uint8)).shape == (5, 7, 3)


def test_find_images_expands_folders_sorted(tmp_path):
    for name in ("b.jpg", "a.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in find_images([tmp_path])] == ["a.png", "b.jpg"]


def _grey(photo: Image.Image) -> np.ndarray:
    return np.asarray(photo.convert("L"), dtype=np.float64)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (lambda g: (g / 255).astype(np.float32), lambda g: g),  # float 0..1: * 255
        (lambda g: g.astype(np.float32), lambda g: g),  # float 0..255: as is
        (lambda g: g.astype(np.int32), lambda g: g),  # 32-bit integer 0..255: as is
        (lambda g: (g * 257).astype(np.int32), lambda g: g),  # 32-bit integer 0..65535: / 257
    ],
    ids=["float 0-1", "float 0-255", "int32 0-255", "int32 0-65535"],
)
def test_wide_grey_modes_follow_the_documented_rule(photo, tmp_path, values, expected):
    """A float TIFF scaled 0-1 came out black, a 32-bit one saturated (issue #13)."""
    grey = _grey(photo)
    path = tmp_path / "wide.tif"
    Image.fromarray(values(grey)).save(path)
    assert Image.open(path).mode in ("F", "I")
    pixels = load_image(path)
    np.testing.assert_allclose(pixels[..., 0], expected(grey), atol=1)


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (lambda g: (g * 1e6 - 5e7).astype(np.float32), "float grey image with values -"),
        (lambda g: np.where(g > 128, np.nan, g / 255).astype(np.float32), "NaN or Inf"),
        (lambda g: (g * 2**23).astype(np.int32), "32-bit integer grey image with values"),
    ],
    ids=["float wide", "float NaN", "int32 wide"],
)
def test_wide_grey_outside_the_rule_is_refused(photo, tmp_path, values, found):
    path = tmp_path / "wide.tif"
    Image.fromarray(values(_grey(photo))).save(path)
    with pytest.raises(PosenetError, match="no faithful 8-bit mapping") as caught:
        load_image(path)
    assert found in str(caught.value) and WIDE_MODE_RULE in str(caught.value)


def test_corrupt_exif_is_read_quietly(photo, tmp_path, capsys, caplog):
    """Pillow's 'Corrupt EXIF data' warning went to the user's terminal beside the results."""
    path = tmp_path / "exif.jpg"
    photo.save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping load_image fails the test
        with caplog.at_level(logging.DEBUG, logger="posenet"):
            pixels = load_image(path)
    assert pixels.shape == (photo.height, photo.width, 3)
    assert any("Corrupt EXIF" in r.getMessage() for r in caplog.records)
