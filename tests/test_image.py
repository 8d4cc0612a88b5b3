"""Image loading: every common mode becomes uint8 RGB (deep grey by a documented rule, or
refused), EXIF rotation is applied, Pillow's warnings stay off the terminal, big JPEGs
decode reduced and map back exactly."""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet.errors import PosenetError
from posenet.image import (
    WIDE_MODE_RULE,
    as_rgb,
    find_images,
    fit,
    fitted_size,
    load_image,
    read_image,
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


# --- reduced JPEG decoding (draft) ---------------------------------------------------


def centroid(pixels: np.ndarray) -> np.ndarray:
    """(x, y) centre of brightness of the red channel."""
    weight = pixels[..., 0].astype(float)
    ys, xs = np.indices(weight.shape)
    return np.array([(weight * xs).sum(), (weight * ys).sum()]) / weight.sum()


@pytest.fixture(scope="module")
def probe() -> np.ndarray:
    """1003x757 (not a multiple of 8 either way): two bright blocks on black."""
    image = np.zeros((757, 1003, 3), np.uint8)
    image[200:260, 611:700] = 255
    image[500:540, 100:130] = 200
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(("keep", "reduction"), [((400, 300), 2), ((200, 150), 4), ((100, 90), 8)])
def test_reduced_decoding_maps_back_onto_the_whole_image(
    probe, tmp_path, orientation, keep, reduction
):
    """Decoded at 1/2, 1/4, 1/8 scale, under every EXIF orientation: the bright blocks'
    centre, mapped back with the Decoded's scale and shift, lands within 0.25 px of where
    the full decode puts it (partial last blocks included)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "probe.jpg"
    Image.fromarray(probe).save(path, quality=95, exif=exif.tobytes())
    full = read_image(path)
    swapped = orientation >= 5

    def needed(size: tuple[int, int]) -> tuple[int, int]:
        assert size == full.size  # asked with the upright size
        return keep[::-1] if swapped else keep

    reduced = read_image(path, keep=needed)
    assert reduced.scale == (reduction, reduction)
    assert reduced.size == full.size == ((757, 1003) if swapped else (1003, 757))
    assert reduced.pixels.shape[1] >= (keep[::-1] if swapped else keep)[0]
    back = centroid(reduced.pixels) * reduced.scale + reduced.shift
    assert np.abs(back - centroid(full.pixels)).max() <= 0.25


def test_only_jpegs_at_least_twice_the_size_are_reduced(probe, tmp_path):
    jpeg, png = tmp_path / "probe.jpg", tmp_path / "probe.png"
    Image.fromarray(probe).save(jpeg, quality=95)
    Image.fromarray(probe).save(png)
    assert read_image(jpeg, keep=lambda size: (502, 300)).pixels.shape == (757, 1003, 3)
    assert read_image(jpeg, keep=lambda size: (501, 300)).pixels.shape == (379, 502, 3)
    assert read_image(png, keep=lambda size: (100, 100)).pixels.shape == (757, 1003, 3)
    assert read_image(jpeg).scale == (1, 1)


def test_estimator_reads_big_jpegs_reduced_and_maps_poses_to_the_whole_photo(couple_path):
    """test_couple (1920x1278) fills 481x320 of the default 353x481 input: decoded at 1/2.
    Same two people as from the full decode, in whole-photo pixels; draft=False decodes
    in full and gives exactly the poses of the decoded array."""
    estimator = posenet.Estimator(threads=1)
    decoded = estimator.read(couple_path)
    assert decoded.pixels.shape == (639, 960, 3) and decoded.size == (1920, 1278)
    from_bytes = estimator.read(couple_path.read_bytes())  # an upload, say
    assert np.array_equal(from_bytes.pixels, decoded.pixels)
    assert (from_bytes.size, from_bytes.scale, from_bytes.shift) == (
        decoded.size,
        (2, 2),
        (0.5, 0.5),
    )
    reduced = estimator.estimate(couple_path)
    full = posenet.Estimator(threads=1, draft=False)
    whole = full.estimate(couple_path)
    assert (reduced.width, reduced.height) == (whole.width, whole.height) == (1920, 1278)
    assert len(reduced.poses) == len(whole.poses) == 2
    for a, b in zip(reduced.poses, whole.poses, strict=True):
        assert np.median(np.linalg.norm(a.xy - b.xy, axis=1)) < 8  # photo px; 4 per input px
    same = full.estimate(load_image(couple_path))
    for a, b in zip(whole.poses, same.poses, strict=True):
        np.testing.assert_array_equal(a.xy, b.xy)


@pytest.mark.parametrize("how", ["pad", "symmetric", "stretch"])
def test_fitted_size_is_what_fit_covers(how):
    """The size the draft decision works from is the image's extent on the input."""
    image = np.full((300, 500, 3), 255, np.uint8)
    width, height = fitted_size((500, 300), (257, 353), how)
    covered = fit(image, (257, 353), how, "nearest").pixels[..., 0] > 127
    assert abs(covered.any(axis=0).sum() - width) <= 1
    assert abs(covered.any(axis=1).sum() - height) <= 1


def test_references_decode_in_full():
    assert posenet.Estimator().draft
    assert not posenet.Estimator(like="coral").draft
    assert not posenet.Estimator(like="tfjs").draft
    assert not posenet.Estimator(draft=False).draft
