"""Image loading: every common mode becomes uint8 RGB, EXIF rotation is applied."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from posenet.image import as_rgb, find_images, fit, load_image

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


def test_as_rgb_accepts_grey_and_rgba_arrays():
    grey = np.zeros((5, 7), np.uint8)
    assert as_rgb(grey).shape == (5, 7, 3)
    assert as_rgb(np.zeros((5, 7, 4), np.uint8)).shape == (5, 7, 3)


def test_find_images_expands_folders_sorted(tmp_path):
    for name in ("b.jpg", "a.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in find_images([tmp_path])] == ["a.png", "b.jpg"]
