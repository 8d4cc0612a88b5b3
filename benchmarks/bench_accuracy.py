"""COCO keypoint AP of the accuracy presets, and time per image as a ratio to the default's.

Each image of a set is given to every estimator in turn (default, the issue's best
single setting, fast, balanced, best) before the next image, so machine noise hits
every row alike; AP is scored by pycocotools as `posenet eval` scores it, and the
median time per image (decoded image -> poses) is printed as a ratio to the
default's median measured in the same run. The figures of README, "Accuracy presets".

With --methods it compares the ways of fusing instead (best's three scales): each
scale alone, the flip test, heads averaged on the finest grid against poses merged
by OKS, and the rescoring choices. Every estimate there keeps its heads, so each
image runs the network once per scale and flip setting for all the variants.

- dev: ../shared/assets/dev/coco_train2017 (28 COCO train2017 images, 86 people; the
  weights probably saw them: compare rows, not papers);
- coco: ../shared/assets/images/coco (4 val2017 images, 12 people: a smoke test).

    .venv/bin/python benchmarks/bench_accuracy.py [--methods] [--sets dev,coco] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():  # offline machines: the shared assets are the store's mirror
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import posenet  # noqa: E402  (after the mirror is set)
from posenet import evaluate, fusion  # noqa: E402
from posenet.decode import get_decoder  # noqa: E402

SETS: dict[str, tuple[Path, Path]] = {
    "dev": (
        ASSETS / "dev" / "coco_train2017" / "person_keypoints_train2017.json",
        ASSETS / "dev" / "coco_train2017" / "images",
    ),
    "coco": (ASSETS / "images" / "coco" / "test_coco.json", ASSETS / "images" / "coco"),
}

#: The issue's best single setting: --model tfjs-075 --decoder coral --size 721x1281
#: --stride 8 --geometry source --min-score 0.05 --max-poses 20.
BEST_SINGLE: dict[str, Any] = {
    "model": "tfjs-075",
    "decoder": "coral",
    "size": "721x1281",
    "stride": 8,
    "geometry": "source",
    "decoder_options": {"score_threshold": 0.05, "max_detections": 20},
}

ROWS: dict[str, dict[str, Any]] = {
    "default": {},
    "best single setting": BEST_SINGLE,
    **{f"--accuracy {name}": {"accuracy": name} for name in posenet.ACCURACY},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", action="store_true", help="compare fusion methods")
    parser.add_argument("--sets", default="dev,coco", help="comma-separated: dev, coco")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads (default 1)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    evaluate.require_pycocotools()
    names = [name.strip() for name in args.sets.split(",") if name.strip()]
    run = methods if args.methods else presets
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {platform.machine()}, Python "
        f"{platform.python_version()}, posenet {posenet.__version__}, {args.threads} LiteRT "
        "thread(s); COCO keypoint AP (OKS 0.50:0.95) scored by pycocotools.",
        "",
        *run(names, args.threads),
    ]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text)
    return 0


def presets(names: list[str], threads: int) -> list[str]:
    """The table of ROWS: AP, AP50, AR per set, time per image as a ratio to the default's."""
    estimators = {row: posenet.Estimator(threads=threads, **kw) for row, kw in ROWS.items()}
    figures: dict[str, dict[str, tuple[evaluate.Metrics, float]]] = {row: {} for row in ROWS}
    for name in names:
        dataset, images = _dataset(name)
        results: dict[str, list[dict[str, Any]]] = {row: [] for row in ROWS}
        seconds: dict[str, list[float]] = {row: [] for row in ROWS}
        for image, pixels in images:
            for row, estimator in estimators.items():
                result = estimator.estimate(pixels)
                results[row] += evaluate.coco_results(result.poses, image.id, dataset.category_id)
                seconds[row].append(result.timings.total)
            print(f"{name}: {image.file_name}", file=sys.stderr)
        base = statistics.median(seconds["default"])
        for row in ROWS:
            ratio = statistics.median(seconds[row]) / base
            figures[row][name] = (evaluate.score(dataset, results[row]), ratio)
    header = "| setting | " + " | ".join(f"{n} AP | {n} AP50 | {n} AR | {n} time" for n in names)
    lines = [header + " |", "|---" + "|---:" * (4 * len(names)) + "|"]
    for row in ROWS:
        cells = []
        for name in names:
            metrics, ratio = figures[row][name]
            cells += [f"{metrics.ap:.3f}", f"{metrics['AP50']:.3f}", f"{metrics['AR']:.3f}"]
            cells.append(f"{ratio:.2f}x")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    base = estimators["default"]
    lines += [
        "",
        f"time: median per image (decoded image -> poses) over the set, as a ratio to the "
        f"default's ({base.model_name}, {base.decoder}) measured in the same run, images "
        "taken in turn by every row.",
    ]
    return lines


def methods(names: list[str], threads: int) -> list[str]:
    """Best's scales alone and fused: flip test, heads vs poses fusion, rescoring."""
    best = posenet.ACCURACY["best"]
    sides = [round(best.long_side * s) for s in best.plan.scales]
    common = {"model": best.model, "stride": best.stride, "size": "auto", "threads": threads}
    common["decoder_options"] = dict(best.decoder_options)
    estimators = {
        (side, flip): posenet.Estimator(long_side=side, flip_test=flip, **common)
        for side in sides
        for flip in (False, True)
    }
    variants: dict[str, Callable[[dict, tuple[int, int]], list[posenet.Pose]]] = {}
    decode = estimators[(sides[0], False)]

    def one(side: int, flip: bool, how: str):
        return lambda views, size: _rescored(_decoded(decode, views[(side, flip)], size), size, how)

    def heads(flip: bool, how: str):
        def fused(views, size):
            view = fusion.fuse_scales([views[(side, flip)] for side in sides])
            return _rescored(_decoded(decode, view, size), size, how)

        return fused

    def poses(flip: bool, how: str, threshold: float):
        def merged(views, size):
            found = [p for side in sides for p in _decoded(decode, views[(side, flip)], size)]
            return _rescored(fusion.merge_poses(found, threshold), size, how)

        return merged

    for side in sides:
        for flip in (False, True):
            for how in fusion.RESCORES:
                name = f"long side {side}, flip {_on(flip)}, rescore {how}"
                variants[name] = one(side, flip, how)
    for flip in (False, True):
        for how in fusion.RESCORES:
            variants[f"scales fused: heads averaged, flip {_on(flip)}, rescore {how}"] = heads(
                flip, how
            )
            for threshold in (0.5, 0.7):
                variants[
                    f"scales fused: poses merged (OKS > {threshold}), flip {_on(flip)}, "
                    f"rescore {how}"
                ] = poses(flip, how, threshold)
    scores: dict[str, dict[str, float]] = {variant: {} for variant in variants}
    for name in names:
        dataset, images = _dataset(name)
        results: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
        for image, pixels in images:
            views = {}
            for key, estimator in estimators.items():
                result = estimator.estimate(pixels, keep=True)
                views[key] = fusion.View(result.heads, result.fit.scale, result.fit.shift)
            size = (pixels.shape[1], pixels.shape[0])
            for variant, make in variants.items():
                found = make(views, size)[: evaluate.MAX_DETECTIONS]
                results[variant] += evaluate.coco_results(found, image.id, dataset.category_id)
            print(f"{name}: {image.file_name}", file=sys.stderr)
        for variant in variants:
            scores[variant][name] = evaluate.score(dataset, results[variant]).ap
    lines = [
        f"{best.model} at stride {best.stride}, size auto; decoder options "
        f"{dict(best.decoder_options)}; no pose threshold.",
        "",
        "| variant | " + " | ".join(f"{n} AP" for n in names) + " |",
        "|---" + "|---:" * len(names) + "|",
    ]
    for variant in variants:
        cells = " | ".join(f"{scores[variant][n]:.3f}" for n in names)
        lines.append(f"| {variant} | {cells} |")
    return lines


def _dataset(name: str):
    """The set's checked annotations and its (image, pixels as stored) pairs."""
    annotations, folder = SETS[name]
    dataset = evaluate.load_annotations(annotations)
    paths = evaluate.image_paths(dataset, folder)
    return dataset, [  # as stored: COCO's keypoints ignore EXIF orientation
        (image, np.asarray(Image.open(path).convert("RGB")))
        for image, path in zip(dataset.images, paths, strict=True)
    ]


def _decoded(estimator: posenet.Estimator, view: fusion.View, size: tuple[int, int]):
    """A view's poses in image pixels, decoded as `estimator` decodes."""
    decoder = get_decoder(estimator.decoder).function
    found = decoder(view.heads, **estimator.decoder_options)
    return [pose.mapped(view.scale, view.shift, size) for pose in found]


def _rescored(poses: list[posenet.Pose], size: tuple[int, int], how: str):
    return fusion.rescored(poses, size, how)


def _on(flag: bool) -> str:
    return "on" if flag else "off"


if __name__ == "__main__":
    raise SystemExit(main())
