"""`posenet eval`: COCO keypoint AP / AR of a model and decoder on an annotated image set."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from ..errors import PosenetError
from .detect import add_model_options, estimator_from_args


def register(commands: argparse._SubParsersAction) -> None:
    ev = commands.add_parser(
        "eval",
        help="COCO keypoint AP/AR on an annotated image set (needs posenet[eval])",
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
    ev.add_argument("--results", metavar="OUT.json", help="also write the COCO results file")
    ev.add_argument("--force", action="store_true", help="overwrite an existing --results file")
    ev.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import evaluate

    evaluate.require_pycocotools()  # before any work: the run may take hours
    dataset = evaluate.load_annotations(args.annotations)
    _check_results_path(args)
    evaluate.image_paths(dataset, args.images)
    estimator = estimator_from_args(args)  # says on stderr if --size was rounded
    predictions = evaluate.predict(estimator, dataset, args.images, _progress_bar())
    if args.results:
        _write_json(Path(args.results), predictions.results)
    metrics = evaluate.score(dataset, predictions.results)

    h, w = estimator.input_size
    size = f"auto (long side {estimator.long_side})" if estimator.auto_size else f"{h}x{w}"
    per_image = statistics.median(predictions.seconds) * 1000
    print(
        f"COCO keypoints: {Path(args.annotations).name}, {metrics.images} images, "
        f"{metrics.people} people ({dataset.ignored} ignored), "
        f"{metrics.detections} poses found"
    )
    print(
        f"model {estimator.model.name} (input {size}), decoder {estimator.decoder}, "
        f"fit {args.fit}; median {per_image:.1f} ms per image"
    )
    if args.results:
        print(f"results: {args.results}")
    print()
    print(evaluate.format_table(metrics))
    return 0


def _check_results_path(args: argparse.Namespace) -> None:
    """Refuse to overwrite without --force, never overwrite the annotations, and make sure
    the results can be written at all: an evaluation may take hours."""
    if not args.results:
        return
    target = Path(args.results)
    if target.resolve() == Path(args.annotations).resolve():
        raise PosenetError(f"{target}: is the annotation file; choose another --results file")
    if target.is_dir():
        raise PosenetError(f"{target}: is a folder; --results names a .json file")
    if target.exists() and not target.is_file():
        raise PosenetError(f"{target}: is not a regular file; --results names a .json file")
    if target.exists() and not args.force:
        raise PosenetError(f"{target}: exists; use --force to overwrite")
    if not target.parent.is_dir():
        raise PosenetError(f"{target.parent}: no such folder for --results")
    try:  # _write_json goes through a temporary file in the same folder: try making one
        fd, probe = tempfile.mkstemp(prefix=".partial-", suffix=".json", dir=target.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PosenetError(f"{target}: cannot be written ({exc.strerror})") from None


def _write_json(target: Path, results: list) -> None:
    """Write through a temporary file, so an interrupted run leaves no half-written results."""
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(results, out)
            out.write("\n")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _progress_bar():
    """A one-line progress bar on stderr when it is a terminal; None otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = 30 * done // total
        sys.stderr.write(f"\reval [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} images")
        if done >= total:
            sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()

    return show
