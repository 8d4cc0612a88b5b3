"""`posenet eval`: COCO keypoint AP / AR of a model and decoder on an annotated image set."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from ..files import check_output, write_atomic
from .detect import add_model_options, estimator_from_args, settings_from_args
from .progress import progress_bar


def register(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "eval",
        help="COCO keypoint AP/AR on an annotated image set (needs posenet-toolkit[eval])",
        description="COCO keypoint AP/AR of a model and decoder, scored by pycocotools. Every "
        "image is checked before the run (present, readable, the annotated size) and any "
        "problem stops it, all listed at once: figures over part of a set are not comparable. "
        "Images are read as stored; EXIF orientation is not applied (COCO's keypoints refer "
        "to the stored pixels).",
    )
    ev.add_argument(
        "--annotations", required=True, metavar="FILE.json", help="COCO keypoint annotations"
    )
    ev.add_argument("--images", required=True, metavar="DIR", help="folder holding the images")
    add_model_options(ev)
    ev.add_argument(
        "--results", metavar="OUT.json", help="also write the COCO results file (replaced)"
    )
    ev.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import evaluate

    evaluate.require_pycocotools()  # before any work: the run may take hours
    dataset = evaluate.load_annotations(args.annotations)
    images = evaluate.image_paths(dataset, args.images)
    if args.results:  # checked before an evaluation that may take hours
        model_files = settings_from_args(args).model_files()
        check_output(args.results, inputs=[args.annotations, *images, *model_files])
    estimator = estimator_from_args(args)  # says on stderr if --size was rounded
    predictions = evaluate.predict(estimator, dataset, args.images, progress_bar("eval", "images"))
    if args.results:
        write_atomic(Path(args.results), (json.dumps(predictions.results) + "\n").encode())
    metrics = evaluate.score(dataset, predictions.results)

    if estimator.input_size is None:
        size = f"auto (long side {estimator.long_side})"
    else:
        size = "{}x{}".format(*estimator.input_size)
    per_image = statistics.median(predictions.seconds) * 1000
    print(
        f"COCO keypoints: {Path(args.annotations).name}, {metrics.images} images, "
        f"{metrics.people} people ({dataset.ignored} ignored), "
        f"{metrics.detections} poses found"
    )
    print(
        f"model {estimator.model_name} (input {size}), decoder {estimator.decoder}, "
        f"fit {estimator.fit}/{estimator.resample}, input {estimator.input_type}, "
        f"like {estimator.preset.name}; median {per_image:.1f} ms per image"
    )
    if estimator.accuracy is not None or not estimator.plan.plain:
        print(
            f"accuracy {estimator.accuracy.name if estimator.accuracy else '-'}: {_plan(estimator)}"
        )
    if args.results:
        print(f"results: {args.results}")
    print()
    print(evaluate.format_table(metrics))
    return 0


def _plan(estimator) -> str:
    """The fusion plan in words: scales, flip test, tiles, rescoring, pose threshold."""
    plan = estimator.plan
    scales = ", ".join(f"{s:g}" for s in plan.scales)
    return (
        f"scales {scales}, flip test {'on' if plan.flip else 'off'}, tiles "
        f"{'on' if plan.tiles else 'off'}, rescore {plan.rescore}, pose threshold "
        f"{plan.pose_threshold:g}"
    )
