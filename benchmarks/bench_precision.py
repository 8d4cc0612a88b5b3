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
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))
sys.path.insert(0, str(ROOT))

from posenet import (  # noqa: E402
    Estimator,
    EstimatorSettings,
    evaluate,
)
from posenet.export.tflite import export_tflite  # noqa: E402
from posenet.formats import read_network  # noqa: E402
from posenet.image import find_images, fit, load_image  # noqa: E402
from posenet.model import load, resolve  # noqa: E402
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
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            candidates = _candidates(size, Path(folder))
            estimators = {
                form: settings.replace(fit="stretch", resample="nearest").build()
                for form, settings in candidates.items()
            }
            fitted = fit(couple, size, "stretch", "nearest").pixels
            invoke = _interleaved_invoke(estimators, fitted, args.runs)
            for form, estimator in estimators.items():
                errors = _against_reference(estimator, couple, size)
                ap = "" if args.no_ap else f"{_dev_ap(candidates[form].build()):.3f}"
                bounded = all(e <= b for e, b in zip(errors, BOUNDS, strict=True))
                print(
                    f"| {size[0]}x{size[1]} | {form} | {errors[0]:.2f} | {errors[1]:.4f} "
                    f"| {errors[2]:.3f} | {'yes' if bounded else 'no'} "
                    f"| {invoke[form] / invoke['original']:.2f} | {ap} |"
                )
    return 0


def _candidates(size: tuple[int, int], folder: Path) -> dict[str, EstimatorSettings]:
    """Settings of each candidate, default fit; the calibrated model written to `folder`."""
    name = f"coral-075-{size[0]}x{size[1]}"
    settings = EstimatorSettings(model=name, threads=1)
    candidates = {
        "original": settings.replace(precision="original"),
        "int8": settings.replace(precision="int8"),
        "float32": settings.replace(precision="float"),
    }
    calibration = [
        fit(load_image(p), size, "stretch").pixels for p in find_images([DEV / "images"])
    ]
    quantized = folder / f"{name}-int8-calibrated.tflite"
    network = read_network(resolve(name)[1])
    quantized.write_bytes(export_tflite(network, size, 16, "int8", calibration))
    embedded = load(name, precision="original").decoder_options  # Coral's, as the others get
    candidates["int8 calibrated"] = settings.replace(
        model=str(quantized),
        precision="original",
        decoder_options={k: v for k, v in embedded.items() if k != "stride"},
    )
    return candidates


def _interleaved_invoke(estimators: dict[str, Estimator], image, runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {form: [] for form in estimators}
    for estimator in estimators.values():
        estimator.estimate(image)
    for _ in range(runs):
        for form, estimator in estimators.items():
            samples[form].append(estimator.estimate(image).timings.invoke)
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


def _dev_ap(estimator: Estimator) -> float:
    dataset = evaluate.load_annotations(DEV / "person_keypoints_train2017.json")
    return evaluate.score(dataset, evaluate.predict(estimator, dataset, DEV / "images").results).ap


if __name__ == "__main__":
    sys.exit(main())
