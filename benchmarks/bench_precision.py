"""Which form of Coral's model runs by default: speed against fidelity, in one run.

Candidates for each Coral size, all through `posenet.Estimator` with our Coral decoder:

- original: the uint8 file as published (XNNPACK's asymmetric QU8 kernels);
- int8: the same integer network re-encoded for XNNPACK's signed QS8 kernels
  (posenet.tflite.int8; four layers with a weight of +128 in float32);
- float32: rebuilt from the dequantized weights (XNNPACK's float kernels);
- int8 calibrated: the float32 rebuild quantized per channel by TFLite's own
  calibrator (posenet.export), calibrated on the dev set's images.

Fidelity: Coral's reference CSVs (test_couple stretched with PIL NEAREST, as the
reference was made), worst keypoint distance and score differences against the
bounds 1.5 px, 0.01 (pose score), 0.05 (keypoint score). Speed: invoke time as a
ratio to the original's, the candidates taking turns for --runs rounds, 1 thread.
AP: COCO keypoint AP on the dev set (28 images, fit pad), to compare, not to claim.

    .venv/bin/python benchmarks/bench_precision.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))
sys.path.insert(0, str(ROOT))

from posenet import evaluate  # noqa: E402
from posenet.estimator import Estimator  # noqa: E402
from posenet.export.tflite import export_tflite  # noqa: E402
from posenet.formats import read_network  # noqa: E402
from posenet.image import find_images, fit, load_image  # noqa: E402
from posenet.model import LoadedModel, load, resolve  # noqa: E402
from tests.helpers import coral_reference  # noqa: E402

SIZES = ((353, 481), (481, 641))
BOUNDS = (1.5, 0.01, 0.05)
DEV = ASSETS / "dev" / "coco_train2017"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--no-ap", action="store_true", help="skip the dev-set AP column")
    args = parser.parse_args(argv)
    couple = load_image(ASSETS / "images" / "test_couple.jpg")
    print(
        "| size | form | worst px | pose score | keypoint score | within bounds "
        "| invoke / original | AP (dev) |"
    )
    print("|---|---|---:|---:|---:|---|---:|---:|")
    for size in SIZES:
        models = _candidates(size)
        estimators = {
            form: Estimator(model, fit="stretch", resample="nearest", threads=1)
            for form, model in models.items()
        }
        fitted = fit(couple, size, "stretch", "nearest").pixels
        invoke = _interleaved_invoke(estimators, fitted, args.runs)
        for form, estimator in estimators.items():
            errors = _against_reference(estimator, couple, size)
            ap = "" if args.no_ap else f"{_dev_ap(models[form]):.3f}"
            within = "yes" if all(e <= b for e, b in zip(errors, BOUNDS, strict=True)) else "no"
            print(
                f"| {size[0]}x{size[1]} | {form} | {errors[0]:.2f} | {errors[1]:.4f} "
                f"| {errors[2]:.3f} | {within} | {invoke[form] / invoke['original']:.2f} | {ap} |"
            )
    return 0


def _candidates(size: tuple[int, int]) -> dict[str, LoadedModel]:
    name = f"coral-075-{size[0]}x{size[1]}"
    forms = {form: load(name, precision=form) for form in ("original", "int8", "float")}
    models = {"original": forms["original"], "int8": forms["int8"], "float32": forms["float"]}
    calibration = [
        fit(load_image(p), size, "stretch").pixels for p in find_images([DEV / "images"])
    ]
    quantized = export_tflite(read_network(resolve(name)[1]), size, 16, "int8", calibration)
    models["int8 calibrated"] = LoadedModel(
        quantized, name, forms["original"].decoder_options, size, 16, "int8 calibrated"
    )
    return models


def _interleaved_invoke(estimators: dict[str, Estimator], image, runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {form: [] for form in estimators}
    for estimator in estimators.values():
        estimator.estimate(image)
    for _ in range(runs):
        for form, estimator in estimators.items():
            estimator.estimate(image)
            samples[form].append(estimator.timings.invoke)
    return {form: statistics.median(values) for form, values in samples.items()}


def _against_reference(estimator: Estimator, couple, size) -> tuple[float, float, float]:
    """Worst keypoint distance (input px), pose score and keypoint score difference."""
    poses = estimator.estimate(couple).poses
    reference = coral_reference(f"{size[0]}_{size[1]}")
    if len(poses) != len(reference):
        return (float("inf"),) * 3
    scale = np.array([couple.shape[1] / size[1], couple.shape[0] / size[0]])
    shift = (scale - 1) / 2  # PIL NEAREST samples pixel centres (image.fit)
    pixels = pose_score = keypoint_score = 0.0
    for pose, ref in zip(poses, reference, strict=True):
        xy = (pose.xy - shift) / scale
        pixels = max(pixels, float(np.linalg.norm(xy - ref["xy"], axis=1).max()))
        pose_score = max(pose_score, abs(pose.score - ref["score"]))
        keypoint_score = max(keypoint_score, float(np.abs(pose.scores - ref["scores"]).max()))
    return pixels, pose_score, keypoint_score


def _dev_ap(model: LoadedModel) -> float:
    dataset = evaluate.load_annotations(DEV / "person_keypoints_train2017.json")
    estimator = Estimator(model, threads=1)
    return evaluate.score(dataset, evaluate.predict(estimator, dataset, DEV / "images").results).ap


if __name__ == "__main__":
    sys.exit(main())
