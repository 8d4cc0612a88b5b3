"""Fusion: flip test, multi-scale heads, tiles, OKS merging, rescoring, keypoint thresholds.

Accuracy on the development set is a benchmark (benchmarks/bench_accuracy.py); these
tests check each step on small cases, with the real models where a step needs them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet import fusion
from posenet.decode import get_decoder
from posenet.errors import PosenetError
from posenet.keypoints import FLIP_PERMUTATION, NUM_KEYPOINTS, PART_IDS, POSE_CHAIN
from posenet.render import draw_poses

from .conftest import IMAGES

SIZE = (353, 481)  # k * 16 + 1 both ways: the grid mirrors onto itself


def _random_heads(seed: int = 0, grid: tuple[int, int] = (5, 7), stride: int = 16):
    rng = np.random.default_rng(seed)
    h, w = grid

    def channels(n: int) -> np.ndarray:
        return rng.normal(0, 4, (h, w, n)).astype(np.float32)

    size = ((h - 1) * stride + 1, (w - 1) * stride + 1)
    return posenet.Heads(channels(17), channels(34), channels(32), channels(32), stride, size)


def _fields(heads: posenet.Heads) -> list[np.ndarray]:
    return [heads.heatmap, heads.offsets, heads.displacements_fwd, heads.displacements_bwd]


def _photo(size: tuple[int, int], couple: np.ndarray) -> np.ndarray:
    """test_couple resized to exactly `size` (h, w): fitting it is the identity."""
    return np.asarray(Image.fromarray(couple).resize(size[::-1], Image.Resampling.BILINEAR))


def _mirrored_back(pose: posenet.Pose, width: int) -> posenet.Pose:
    """A pose found in a mirror image, in the unmirrored image: x -> width - 1 - x and
    every keypoint under its own name again (left <-> right)."""
    flipped = pose.flipped(width)
    perm = list(FLIP_PERMUTATION)
    return posenet.Pose(flipped.xy[perm], flipped.scores[perm], flipped.score)


# --- flip ---------------------------------------------------------------------------------


def test_mirroring_heads_twice_gives_them_back():
    heads = _random_heads()
    twice = fusion.mirror_heads(fusion.mirror_heads(heads))
    for a, b in zip(_fields(heads), _fields(twice), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mirrored_heads_move_each_part_to_its_mirror_cell_and_channel():
    heads = _random_heads(grid=(5, 7))
    mirrored = fusion.mirror_heads(heads)
    wrist, right_wrist = PART_IDS["leftWrist"], PART_IDS["rightWrist"]
    assert mirrored.heatmap[2, 1, right_wrist] == heads.heatmap[2, 5, wrist]
    # the offset of the right wrist at column 1 is the left wrist's at column 5, x negated
    assert mirrored.offsets[2, 1, right_wrist] == heads.offsets[2, 5, wrist]
    assert mirrored.offsets[2, 1, 17 + right_wrist] == -heads.offsets[2, 5, 17 + wrist]
    # edge leftElbow -> leftWrist becomes rightElbow -> rightWrist, same direction
    left = POSE_CHAIN.index((PART_IDS["leftElbow"], wrist))
    right = POSE_CHAIN.index((PART_IDS["rightElbow"], right_wrist))
    for field in ("displacements_fwd", "displacements_bwd"):
        before, after = getattr(heads, field), getattr(mirrored, field)
        assert after[3, 0, right] == before[3, 6, left]
        assert after[3, 0, 16 + right] == -before[3, 6, 16 + left]


def test_flip_needs_a_grid_that_mirrors_onto_itself():
    heads = _random_heads()
    odd = posenet.Heads(*_fields(heads), 16, (65, 100))
    with pytest.raises(PosenetError, match="k \\* 16 \\+ 1"):
        fusion.mirror_heads(odd)


@pytest.mark.parametrize("decoder", ["coral", "tfjs", "single"])
def test_flip_mapping_matches_a_hand_mirrored_image(couple, decoder):
    """The poses of a hand-mirrored photo, mirrored back, equal (within 1 px) the poses
    the flip branch alone gives for the photo: its mirror's heads mapped back by
    mirror_heads, decoded, no averaging. Measured: 0 px. The float model, because
    the uint8 Coral model's heatmaps are full of equal logits, and decoders break
    ties in scan or heap order, which a mirror changes (up to 2.5 px measured)."""
    estimator = posenet.Estimator("tfjs-075", decoder=decoder, size=SIZE)
    photo = _photo(SIZE, couple)
    mirror = np.ascontiguousarray(photo[:, ::-1])
    result = estimator.estimate(mirror, keep=True)
    expected = [_mirrored_back(p, SIZE[1]) for p in result.poses]
    branch = get_decoder(decoder).function(
        fusion.mirror_heads(result.heads), **estimator.decoder_options
    )
    found = sorted(branch, key=lambda p: -p.score)
    assert len(found) == len(expected) >= 1
    for a, b in zip(found, expected, strict=True):
        assert np.abs(a.xy - b.xy).max() <= 1.0
        assert abs(a.score - b.score) <= 1e-5


def test_flip_test_gives_mirror_images_mirrored_poses(couple):
    """Averaging an image's heads with its mirror's is symmetric: the flip test on the
    mirror image finds the mirror image of what it finds on the image (the float
    model: see above for ties)."""
    estimator = posenet.Estimator("tfjs-075", flip_test=True, size=SIZE)
    photo = _photo(SIZE, couple)
    poses = estimator.estimate(photo).poses
    mirrored = estimator.estimate(np.ascontiguousarray(photo[:, ::-1])).poses
    assert len(poses) == len(mirrored) >= 2
    for a, b in zip(poses, mirrored, strict=True):
        np.testing.assert_allclose(_mirrored_back(b, SIZE[1]).xy, a.xy, atol=1e-3)
        assert abs(a.score - b.score) <= 1e-5


def test_flip_test_finds_the_people_the_plain_run_finds(couple):
    plain = posenet.Estimator().estimate(couple).poses
    flipped = posenet.Estimator(flip_test=True).estimate(couple).poses
    assert len(flipped) == len(plain) == 2
    for a, b in zip(plain, flipped, strict=True):
        assert np.median(np.linalg.norm(a.xy - b.xy, axis=1)) < 8  # image pixels


# --- scales -------------------------------------------------------------------------------


def test_averaging_and_resampling_identical_heads_change_nothing():
    heads = _random_heads()
    view = fusion.View(heads, (2.5, 2.5), (0.0, 0.0))
    for a, b in zip(_fields(heads), _fields(fusion.average_heads([heads, heads])), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_fields(heads), _fields(fusion.resample_heads(view, view)), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fusing_identical_scales_changes_nothing(couple):
    """scales (1, 1) runs the network twice at one size, resamples one run onto the
    other and averages them: the poses are exactly those of one plain run."""
    plain = posenet.Estimator().estimate(couple)
    twice = posenet.Estimator(scales=(1.0, 1.0)).estimate(couple)
    assert len(twice.poses) == len(plain.poses) == 2
    for a, b in zip(plain.poses, twice.poses, strict=True):
        np.testing.assert_array_equal(a.xy, b.xy)
        np.testing.assert_array_equal(a.scores, b.scores)
        assert a.score == b.score


def test_resampling_places_a_field_where_the_image_has_it():
    """A heatmap linear in image x and y, and offsets of fixed length in image pixels,
    at input scale 2 resampled onto a grid at input scale 1: the heatmap is the same
    function of the image, the offsets the same length in image pixels."""
    stride = 8
    coarse_grid, fine_grid = (6, 9), (11, 17)  # inputs 41x65 (scale 2) and 81x129 (scale 1)

    def view(grid: tuple[int, int], scale: float) -> fusion.View:
        rows, cols = np.mgrid[0 : grid[0], 0 : grid[1]].astype(np.float32)
        image_y, image_x = rows * stride * scale, cols * stride * scale
        heatmap = np.repeat((0.01 * image_x - 0.02 * image_y)[..., None], 17, axis=2)
        offsets = np.full((*grid, 34), 12.0 / scale, np.float32)  # 12 image pixels
        mid = np.full((*grid, 32), 24.0 / scale, np.float32)
        size = ((grid[0] - 1) * stride + 1, (grid[1] - 1) * stride + 1)
        heads = posenet.Heads(heatmap.astype(np.float32), offsets, mid, mid, stride, size)
        return fusion.View(heads, (scale, scale), (0.0, 0.0))

    coarse, fine = view(coarse_grid, 2.0), view(fine_grid, 1.0)
    moved = fusion.resample_heads(coarse, fine)
    assert moved.grid_size == fine_grid and moved.input_size == fine.heads.input_size
    inside = (slice(0, 11), slice(0, 17))  # the coarse grid covers the fine one exactly
    np.testing.assert_allclose(moved.heatmap[inside], fine.heads.heatmap[inside], atol=1e-4)
    np.testing.assert_allclose(moved.offsets, 12.0, atol=1e-5)
    np.testing.assert_allclose(moved.displacements_fwd, 24.0, atol=1e-5)


def test_scales_fuse_onto_the_largest_input(couple):
    estimator = posenet.Estimator(scales=(0.75, 1.0, 1.25))
    result = estimator.estimate(couple, keep=True)
    largest = posenet.Estimator(size=(449, 609))  # 353x481 x 1.25, rounded to the grid
    assert result.input_size == largest.input_size
    assert result.heads.input_size == result.input_size
    assert len(result.poses) == 2
    plain = posenet.Estimator().estimate(couple).poses
    for a, b in zip(plain, result.poses, strict=True):
        assert np.median(np.linalg.norm(a.xy - b.xy, axis=1)) < 10


def test_input_poses_are_the_poses_in_the_fused_input(couple):
    result = posenet.Estimator(scales=(0.75, 1.0)).estimate(couple)
    for pose, seen in zip(result.poses, result.input_poses, strict=True):
        back = seen.mapped(result.fit.scale, result.fit.shift)
        np.testing.assert_allclose(back.xy, pose.xy, atol=0.05)


# --- merging and tiles ----------------------------------------------------------------------


def _pose(x: float, y: float, size: float, score: float) -> posenet.Pose:
    rng = np.random.default_rng(int(x * 7 + y))
    xy = np.stack([x + rng.uniform(0, size, 17), y + rng.uniform(0, 2 * size, 17)], axis=1)
    return posenet.Pose(xy.astype(np.float32), np.full(17, score, np.float32), score)


def test_merging_keeps_the_best_of_duplicates_and_every_other_person():
    a, b = _pose(100, 100, 80, 0.9), _pose(400, 100, 80, 0.7)
    nudged = posenet.Pose(a.xy + 1.5, a.scores * 0.9, 0.6)  # a, found again a bit off
    merged = fusion.merge_poses([nudged, b, a])
    assert [p.score for p in merged] == [0.9, 0.7]
    assert fusion.oks(a, a) == pytest.approx(1.0)
    assert fusion.oks(a, b) < 0.01


def test_tiles_cover_large_photos_at_native_resolution_only():
    assert fusion.tile_boxes((480, 640), (353, 481)) == []
    boxes = fusion.tile_boxes((1200, 1600), (353, 481))
    assert 1 < len(boxes) <= fusion.MAX_TILES
    covered = np.zeros((1200, 1600), bool)
    for top, left, h, w in boxes:
        covered[top : top + h, left : left + w] = True
    assert covered.all()
    sizes = {(h, w) for _, _, h, w in boxes}
    assert len(sizes) == 1
    (h, w), (top0, left0, _, _) = sizes.pop(), boxes[0]
    neighbour = next(b for b in boxes if b[0] == top0 and b[1] > left0)
    assert w - neighbour[1] >= fusion.TILE_OVERLAP * w  # neighbours overlap
    huge = fusion.tile_boxes((6000, 8000), (353, 481))
    assert len(huge) <= fusion.MAX_TILES  # beyond that, tiles grow instead of multiplying


def test_tiles_find_small_people_in_a_large_photo(couple):
    """The couple shrunk to 360x240 in a 2400x1600 grey photo: the whole photo fitted
    to 353x481 leaves them about 25 px tall and finds nobody; tiles at native
    resolution (16 of them, each 1.6 times the input) find both."""
    photo = np.full((1600, 2400, 3), 110, np.uint8)
    small = np.asarray(Image.fromarray(couple).resize((360, 240), Image.Resampling.LANCZOS))
    box = (900, 1300, 240, 360)
    photo[900:1140, 1300:1660] = small
    plain = posenet.Estimator(accuracy="fast", size=SIZE).estimate(photo).poses
    tiled = posenet.Estimator(accuracy="fast", size=SIZE, tiles=True).estimate(photo).poses
    assert plain == []
    found = [p for p in tiled if _within(p, box)]
    assert len(found) == len(tiled) == 2
    assert min(p.score for p in found) > 0.1


def _within(pose: posenet.Pose, box: tuple[int, int, int, int]) -> bool:
    top, left, h, w = box
    x, y = np.median(pose.xy, axis=0)
    return left <= x < left + w and top <= y < top + h


# --- rescoring, thresholds, presets ---------------------------------------------------------


def test_size_rescoring_ranks_a_large_pose_above_a_small_one_of_equal_score():
    small, large = _pose(10, 10, 20, 0.5), _pose(100, 100, 300, 0.5)
    ranked = fusion.rescored([small, large], (640, 480), "size")
    assert ranked[0].xy is large.xy and ranked[0].score > ranked[1].score
    assert 0 < ranked[1].score < ranked[0].score < 0.5
    kept = fusion.rescored([small, large], (640, 480), "decoder")
    assert [p.score for p in kept] == [0.5, 0.5]
    with pytest.raises(PosenetError, match="rescore must be one of"):
        fusion.rescored([small], (640, 480), "confidence")


@pytest.mark.parametrize("accuracy", list(fusion.ACCURACY))
def test_no_skeletons_on_empty_frames_with_any_preset(accuracy):
    grey = np.full((480, 640, 3), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    estimator = posenet.Estimator(accuracy=accuracy)
    assert estimator.estimate(grey).poses == []
    assert estimator.estimate(noise).poses == []


def test_presets_fill_in_only_what_is_not_given():
    best = posenet.EstimatorSettings(accuracy="best")
    assert best.resolved()["model"] == "tfjs-075"
    assert best.plan().scales == fusion.ACCURACY["best"].plan.scales
    mine = posenet.EstimatorSettings(accuracy="best", scales="1", tiles=False, rescore="decoder")
    plan = mine.plan()
    assert (plan.scales, plan.tiles, plan.rescore) == ((1.0,), False, "decoder")
    assert plan.pose_threshold == fusion.ACCURACY["best"].plan.pose_threshold
    estimator = posenet.Estimator(accuracy="fast", decoder_options={"max_detections": 3})
    assert estimator.decoder_options["max_detections"] == 3
    assert estimator.decoder_options["score_threshold"] == 0.05  # the preset's
    assert estimator.input_size is None and estimator.long_side == 481
    assert posenet.EstimatorSettings().plan().plain


def test_fusion_settings_are_checked_and_round_trip_through_json():
    settings = posenet.EstimatorSettings(
        accuracy="best",
        scales="0.5, 1",
        flip_test=True,
        pose_threshold=0.1,
        keypoint_threshold={"leftWrist": 0.5},
    )
    again = posenet.EstimatorSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings and hash(again) == hash(settings)
    assert settings.scales == (0.5, 1.0)
    assert settings.keypoint_threshold[PART_IDS["leftWrist"]] == 0.5
    assert sum(settings.keypoint_threshold) == 0.5
    for bad, message in (
        ({"scales": "1,x"}, "scales must be"),
        ({"scales": 9}, "scales must be"),
        ({"accuracy": "max"}, "accuracy must be one of"),
        ({"pose_threshold": 2}, "pose_threshold must be a score"),
        ({"keypoint_threshold": {"leftHand": 0.5}}, "no keypoint 'leftHand'"),
        ({"keypoint_threshold": [0.1, 0.2]}, "one number or 17"),
        ({"flip_test": "yes"}, "flip_test must be"),
    ):
        with pytest.raises(PosenetError, match=message):
            posenet.EstimatorSettings(**bad)


def test_keypoint_thresholds_choose_what_is_returned_and_drawn(couple):
    thresholds = {"nose": 1.0, "leftWrist": 1.0}  # no keypoint scores 1.0
    result = posenet.Estimator(keypoint_threshold=thresholds).estimate(couple, keep=True)
    for pose, data in zip(result.poses, result.to_dict()["poses"], strict=True):
        names = [k["name"] for k in data["keypoints"]]
        assert len(names) == NUM_KEYPOINTS - 2 and "nose" not in names
        assert pose.xy.shape == (NUM_KEYPOINTS, 2)  # the poses keep every keypoint
    plain = posenet.Estimator().estimate(couple)
    assert len(plain.to_dict()["poses"][0]["keypoints"]) == NUM_KEYPOINTS
    pose = result.poses[0]
    nose = tuple(int(v) for v in pose.xy[PART_IDS["nose"]])
    drawn = np.asarray(draw_poses(couple, [pose], result.keypoint_threshold))
    everything = np.asarray(draw_poses(couple, [pose], 0.0))
    assert (drawn[nose[1], nose[0]] == couple[nose[1], nose[0]]).all()
    assert (everything[nose[1], nose[0]] != couple[nose[1], nose[0]]).any()


# --- command line ---------------------------------------------------------------------------


def test_detect_takes_the_accuracy_flags(tmp_path, capsys):
    from posenet.cli import main

    couple = str(IMAGES / "test_couple.jpg")
    drawn = tmp_path / "drawn.png"
    argv = ["detect", couple, "--accuracy", "fast", "--scales", "1,1", "--no-tiles"]
    argv += ["--keypoint-threshold", "0.3,nose=1", "--json", "-", "--draw", str(drawn)]
    assert main(argv) == 0
    poses = json.loads(capsys.readouterr().out)[0]["poses"]
    assert len(poses) == 2
    for pose in poses:
        names = [k["name"] for k in pose["keypoints"]]
        assert "nose" not in names and all(k["score"] >= 0.3 for k in pose["keypoints"])
    assert drawn.is_file()
    assert main(["detect", couple, "--scales", "1,big"]) == 2
    assert "scales must be" in capsys.readouterr().err
    assert main(["detect", couple, "--keypoint-threshold", "wrist=0.5"]) == 2
    assert "no keypoint 'wrist'" in capsys.readouterr().err
