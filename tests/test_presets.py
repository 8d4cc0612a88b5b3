"""Presets against the references they name: TF.js 2.2.2's own outputs, Coral's CSVs.

`../shared/assets/reference/tfjs/` (see its README) holds what TF.js PoseNet
2.2.2 returned for the four shared photos at 257x257, 353x481 and 513x513, its
heads for two cases and its decoders run on exactly those heads. Every number
here is compared with those files, never with this project's earlier output.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import posenet
from posenet.decode import DECODERS, decode, get_decoder
from posenet.errors import PosenetError
from posenet.heads import Heads
from posenet.image import FITS, RESAMPLES, fit, symmetric_padding
from posenet.keypoints import PART_NAMES
from posenet.poses import to_image
from posenet.presets import PRESETS, Preset, resolve
from posenet.runtime import INPUT_TYPES

from .conftest import IMAGES, REFERENCE, coral_model
from .helpers import coral_reference

TFJS = REFERENCE / "tfjs"
POSES = sorted((TFJS / "poses").glob("*.json"))
DECODED = sorted((TFJS / "heads").glob("*_decoded_*.json"))

# The bounds: image pixels and scores (TF.js ran the network with other kernels).
MAX_PX = 0.05
MAX_SCORE = 1e-3


@cache
def reference(path: Path) -> dict:
    return json.loads(path.read_text())


def xy_and_scores(pose: dict) -> tuple[np.ndarray, np.ndarray]:
    assert [k["part"] for k in pose["keypoints"]] == list(PART_NAMES)
    xy = np.array([[k["x"], k["y"]] for k in pose["keypoints"]])
    return xy, np.array([k["score"] for k in pose["keypoints"]])


def tfjs_settings(ref: dict) -> dict:
    """Estimator keywords for what TF.js was asked (size, single or multi-pose options)."""
    size = (ref["input_resolution"]["height"], ref["input_resolution"]["width"])
    if ref["decoder"] == "single":
        return {"size": size, "decoder": "single"}
    config = ref["config"]
    options = {
        "max_detections": config["maxDetections"],
        "score_threshold": config["scoreThreshold"],
        "nms_radius": config["nmsRadius"],
    }
    return {"size": size, "decoder_options": options}


@cache
def tfjs_estimator(options: tuple = (), **settings) -> posenet.Estimator:
    """One estimator per setting (options as sorted pairs, so that they can be cached)."""
    return posenet.Estimator(like="tfjs", threads=1, decoder_options=dict(options), **settings)


def estimate_like_tfjs(ref: dict, **extra) -> posenet.Result:
    settings = tfjs_settings(ref)
    options = tuple(sorted(settings.pop("decoder_options", {}).items()))
    estimator = tfjs_estimator(options, **settings, **extra)
    return estimator.estimate(IMAGES / ref["image"]["path"], keep=True)


def worst_differences(poses, ref_poses) -> tuple[float, float]:
    """Largest keypoint coordinate difference (px) and largest score difference, pose by pose."""
    worst_px = worst_score = 0.0
    for pose, ref_pose in zip(poses, ref_poses, strict=True):
        xy, scores = xy_and_scores(ref_pose)
        worst_px = max(worst_px, float(np.abs(pose.xy - xy).max()))
        worst_score = max(
            worst_score,
            float(np.abs(pose.scores - scores).max()),
            abs(pose.score - ref_pose["score"]),
        )
    return worst_px, worst_score


# --- item 1: like="tfjs" end to end -------------------------------------------------------------


def test_every_tfjs_reference_is_here():
    """4 photos x 3 sizes x (thresholds 0.5, 0.1, single-pose); 2 heads x 3 decodings."""
    assert len(POSES) == 36 and len(DECODED) == 6


@pytest.mark.parametrize("path", POSES, ids=lambda p: p.stem)
def test_like_tfjs_gives_tfjs_poses(path):
    """Same number of poses, same order, every keypoint within 0.05 image px and every
    score within 1e-3 of TF.js 2.2.2's estimateMultiplePoses / estimateSinglePose."""
    ref = reference(path)
    result = estimate_like_tfjs(ref)
    assert len(result.poses) == len(ref["poses"])
    worst_px, worst_score = worst_differences(result.poses, ref["poses"])
    assert worst_px <= MAX_PX and worst_score <= MAX_SCORE, (worst_px, worst_score)


def test_like_tfjs_pads_as_tfjs():
    """padAndResizeTo's padding, as each reference file records it."""
    for path in POSES:
        ref = reference(path)
        image, resolution = ref["image"], ref["input_resolution"]
        top, left = symmetric_padding(
            (image["height"], image["width"]), (resolution["height"], resolution["width"])
        )
        assert ref["padding"] == {"top": top, "left": left, "right": left, "bottom": top}


def test_like_tfjs_sets_tfjs_defaults():
    """The model TF.js's references ran, its fit, float input, its decoder with
    decodeMultiplePoses' defaults; poses in the decoder's order and unclipped."""
    estimator = tfjs_estimator()
    assert estimator.model_name == "tfjs-075"
    assert (estimator.fit, estimator.resample, estimator.decoder) == (
        "symmetric",
        "bilinear",
        "tfjs",
    )
    assert estimator.pixel_type == np.float32
    assert estimator.decoder_options == {} and get_decoder("tfjs").defaults == {
        "max_detections": 5,
        "score_threshold": 0.5,
        "nms_radius": 20.0,
        "local_maximum_radius": 1,
        "refine_steps": 2,
    }
    assert not PRESETS["tfjs"].sort and not PRESETS["tfjs"].clip


def test_like_tfjs_keeps_tfjs_order_and_unclipped_positions():
    """Two of the references need both: a pose whose score is higher than the one
    before it, and keypoints outside the photo (in the padding or beyond)."""
    unsorted = outside = 0
    for path in POSES:
        ref = reference(path)
        scores = [pose["score"] for pose in ref["poses"]]
        unsorted += scores != sorted(scores, reverse=True)
        width, height = ref["image"]["width"], ref["image"]["height"]
        for pose in ref["poses"]:
            xy, _ = xy_and_scores(pose)
            outside += bool((xy < 0).any() or (xy[:, 0] > width - 1).any())
            outside += bool((xy[:, 1] > height - 1).any())
    assert unsorted and outside  # so test_like_tfjs_gives_tfjs_poses checks both


@pytest.mark.parametrize("path", DECODED, ids=lambda p: p.stem)
def test_decoders_on_tfjs_heads_give_tfjs_poses(path):
    """TF.js's heads decoded by the `tfjs` / `single` decoder: TF.js's poses within
    1e-3 px in input pixels, and in image pixels once mapped back like scaleAndFlipPoses."""
    ref = reference(path)
    data = reference(TFJS / "heads" / ref["heads"])
    heads = {
        name: np.array(v["data"], np.float32).reshape(v["shape"])
        for name, v in data["heads"].items()
    }
    size = (data["input_resolution"]["height"], data["input_resolution"]["width"])
    arrays = Heads(
        heatmap=heads["heatmapLogits"],
        offsets=heads["offsets"],
        displacements_fwd=heads["displacementFwd"],
        displacements_bwd=heads["displacementBwd"],
        output_stride=data["output_stride"],
        input_size=size,
    )
    if ref["decoder"] == "single":
        poses = decode(arrays, "single")
    else:
        config = ref["config"]
        poses = decode(
            arrays,
            "tfjs",
            max_detections=config["maxDetections"],
            score_threshold=config["scoreThreshold"],
            nms_radius=config["nmsRadius"],
        )
    assert len(poses) == len(ref["poses_input"]) == len(ref["poses"])
    worst_px, worst_score = worst_differences(poses, ref["poses_input"])
    assert worst_px <= 1e-3 and worst_score <= 1e-5, (worst_px, worst_score)
    image = data["image"]
    fitted = fit(np.zeros((image["height"], image["width"], 3), np.uint8), size, "symmetric")
    way_back = fitted.fit.scale, fitted.fit.shift, (image["width"], image["height"])
    mapped = to_image(poses, *way_back, clip=False, by_score=False)
    worst_px, _ = worst_differences(mapped, ref["poses"])
    assert worst_px <= 1e-3 * max(fitted.fit.scale) + 1e-3, worst_px  # references keep 3 decimals


# --- item 2: float input ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["test_couple_353x481", "tennis_in_crowd_513x513"])
def test_float_input_gives_tfjs_heads_and_rounding_does_not(name):
    """Our fit and float input, through LiteRT: TF.js's heads within 1e-3 (logits) and
    5e-3 px (offsets, displacements); they differ only by the network's kernels.
    Rounding the resized pixels to uint8 first moves them far more wherever TF.js
    resized (353x481); at 513x513 TF.js does not resize and both are exact."""
    data = reference(TFJS / "heads" / f"{name}.json")
    theirs = {
        k: np.array(v["data"], np.float32).reshape(v["shape"]) for k, v in data["heads"].items()
    }
    ref = {
        "input_resolution": data["input_resolution"],
        "image": data["image"],
        "decoder": "single",
    }
    errors = {}
    for input_type in ("float", "uint8"):
        heads = estimate_like_tfjs(ref, input_type=input_type).heads
        errors[input_type] = (
            float(np.abs(heads.heatmap - theirs["heatmapLogits"]).max()),
            max(
                float(np.abs(heads.offsets - theirs["offsets"]).max()),
                float(np.abs(heads.displacements_fwd - theirs["displacementFwd"]).max()),
                float(np.abs(heads.displacements_bwd - theirs["displacementBwd"]).max()),
            ),
        )
    assert errors["float"][0] <= 1e-3 and errors["float"][1] <= 5e-3, errors
    if name.endswith("353x481"):
        assert errors["uint8"][0] > 0.1 and errors["uint8"][1] > 1.0, errors
    else:
        assert errors["uint8"] == errors["float"]


def test_uint8_input_misses_tfjs_poses():
    """The issue's case: at 353x481 soccer's poses move by pixels when the resized
    input is rounded, while float input reproduces TF.js (test_like_tfjs_gives_tfjs_poses)."""
    ref = reference(TFJS / "poses" / "soccer_353x481_t0.5.json")
    poses = estimate_like_tfjs(ref, input_type="uint8").poses
    assert len(poses) != len(ref["poses"]) or worst_differences(poses, ref["poses"])[0] > 1.0


def test_float_models_get_float_pixels_and_coral_models_their_own():
    assert posenet.Estimator("tfjs-075").pixel_type == np.float32
    assert posenet.Estimator("tfjs-075", input_type="uint8").pixel_type == np.uint8
    assert posenet.Estimator().pixel_type == np.uint8  # Coral's input is the pixels
    with pytest.raises(PosenetError, match="input_type must be one of float, uint8"):
        posenet.Estimator("tfjs-075", input_type="float16")


# --- item 4: flipHorizontal ---------------------------------------------------------------------


def test_flip_is_tfjs_flip_horizontal():
    """TF.js's flipPoseHorizontal after scaleAndFlipPoses: x -> width - 1 - x, every
    keypoint keeping its name (left stays left), y and scores unchanged."""
    ref = reference(TFJS / "poses" / "tennis_in_crowd_353x481_t0.5.json")
    flipped = estimate_like_tfjs(ref, flip_horizontal=True).poses
    mirrored = []
    for pose in ref["poses"]:
        mirror = json.loads(json.dumps(pose))
        for keypoint in mirror["keypoints"]:
            keypoint["x"] = ref["image"]["width"] - 1 - keypoint["x"]
        mirrored.append(mirror)
    assert len(flipped) == len(mirrored)
    worst_px, worst_score = worst_differences(flipped, mirrored)
    assert worst_px <= MAX_PX and worst_score <= MAX_SCORE


# --- like="coral" --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["353_481", "481_641"])
def test_like_coral_reproduces_coral_reference(couple, size):
    """Coral's pipeline (PIL nearest stretch, uint8, PosenetDecoderOp with the model's
    options): the poses, taken back into model-input pixels, match Coral's CSV within
    the foundation bounds: every keypoint within 1.5 px, pose scores 0.01, keypoint
    scores 0.05 (POSENET.md §5: the CSVs came from other TFLite kernels)."""
    h, w = (int(n) for n in size.split("_"))
    result = posenet.Estimator(str(coral_model(size)), like="coral").estimate(couple)
    expected = coral_reference(size)
    assert len(result.poses) == len(expected)
    fitted = fit(couple, (h, w), "stretch", "nearest")
    for pose, ref in zip(result.poses, expected, strict=True):
        in_input = (pose.xy - np.array(fitted.fit.shift)) / np.array(fitted.fit.scale)
        assert np.linalg.norm(in_input - ref["xy"], axis=1).max() <= 1.5
        assert abs(pose.score - ref["score"]) <= 0.01
        assert np.abs(pose.scores - ref["scores"]).max() <= 0.05


# --- the table -----------------------------------------------------------------------------------


def test_presets_are_one_table_of_valid_settings():
    for name, row in PRESETS.items():
        assert isinstance(row, Preset) and row.name == name
        assert row.fit in FITS and row.resample in RESAMPLES and row.input_type in INPUT_TYPES
        assert row.decoder in DECODERS
    assert PRESETS["posenet"].sort and PRESETS["posenet"].clip  # the documented departures


def test_given_settings_win_over_the_preset():
    chosen = resolve(
        "tfjs", model=None, fit="pad", resample=None, input_type=None, decoder="single"
    )
    assert chosen == {
        "model": "tfjs-075",
        "fit": "pad",
        "resample": "bilinear",
        "input_type": "float",
        "decoder": "single",
    }
    with pytest.raises(PosenetError, match="tfjs"):
        posenet.Estimator(like="tensorflow")


def test_cli_like_tfjs_prints_tfjs_poses(tmp_path, capsys):
    """`posenet detect --like tfjs` with TF.js's size and options, JSON rounded to 0.01 px."""
    from posenet.cli import main

    ref = reference(TFJS / "poses" / "frisbee_353x481_t0.1.json")
    argv = ["detect", str(IMAGES / ref["image"]["path"]), "--like", "tfjs", "--size", "353x481"]
    argv += ["--max-poses", "10", "--min-score", "0.1", "--json", "-", "--threads", "1"]
    assert main(argv) == 0
    (printed,) = json.loads(capsys.readouterr().out)
    assert printed["model"] == "tfjs-075"
    assert len(printed["poses"]) == len(ref["poses"])
    for pose, ref_pose in zip(printed["poses"], ref["poses"], strict=True):
        xy = np.array([[k["x"], k["y"]] for k in pose["keypoints"]])
        assert np.abs(xy - xy_and_scores(ref_pose)[0]).max() <= MAX_PX
