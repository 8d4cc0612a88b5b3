"""`posenet detect`: poses for images and folders of images, as text, JSON or drawings."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .. import ACCURACY, PRESETS, Estimator, EstimatorSettings, PosenetError, Result
from ..files import Inputs, check_output, find_images, save_image, write_atomic
from ..store import DEFAULT_MODEL

#: Every flag's default and choices, read from the one place they are written.
DEFAULTS = EstimatorSettings()
CHOICES = EstimatorSettings.CHOICES
MAX_THREADS = EstimatorSettings.MAX_THREADS
SIZE_FORMS = EstimatorSettings.SIZE_FORMS
#: What the default preset (the first) gives the flags it fills in (their default is None).
PRESET = next(iter(PRESETS.values()))


def register(commands: argparse._SubParsersAction) -> None:
    detect = commands.add_parser(
        "detect",
        help="find poses in images or folders of images",
        description="Find the people in images (files, or every image directly inside a "
        "folder): per image, one line with the pose scores and timings, or JSON, and "
        "optionally the image with the skeletons drawn. Keypoints are in image pixels. "
        "The default model ships with posenet; others are fetched once into the cache.",
    )
    detect.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    add_model_options(detect)
    detect.add_argument(
        "--json", metavar="FILE|-", help="write results as JSON to FILE (replaced), - for stdout"
    )
    detect.add_argument(
        "--draw",
        metavar="FILE|DIR/",
        help="write images with the poses drawn: DIR/<name>-poses.<ext> per image (an existing "
        "folder, or a name ending in /, created), or FILE for one image; replaced on re-runs",
    )
    detect.set_defaults(run=run)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--like",
        choices=CHOICES["like"],
        help="reproduce a reference end to end: tfjs (TF.js PoseNet 2.x) or coral (Coral's "
        f"project-posenet); default {PRESET.name} (this project's). Flags given "
        "explicitly win over the preset's",
    )
    parser.add_argument(
        "--model",
        metavar="NAME|PATH",
        help=f"model name or file (default: the preset's, else {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--size", metavar="HxW|N|auto", help=f"network input size: {SIZE_FORMS} (default: model's)"
    )
    parser.add_argument(
        "--stride", type=int, choices=CHOICES["stride"], help="output stride (default: model's)"
    )
    parser.add_argument(
        "--geometry",
        choices=CHOICES["geometry"],
        default=DEFAULTS.geometry,
        help="dilations when --stride differs from the model's: source (keep the source's "
        "tap spacing, and its accuracy) or atrous (POSENET.md's rule); "
        f"default {DEFAULTS.geometry}",
    )
    parser.add_argument(
        "--decoder",
        choices=CHOICES["decoder"],
        help="coral (Coral's PosenetDecoderOp), tfjs (TF.js decodeMultiplePoses) or single "
        f"(one person); default: the preset's ({PRESET.decoder})",
    )
    parser.add_argument(
        "--fit",
        choices=CHOICES["fit"],
        help="fit the image to the network input: pad (keep the aspect ratio, pad right or "
        "bottom), symmetric (TF.js's padAndResizeTo) or stretch; "
        f"default: the preset's ({PRESET.fit})",
    )
    parser.add_argument(
        "--resample",
        choices=CHOICES["resample"],
        help="resize: bilinear (TF.js's), nearest (as Coral's reference) or antialias; "
        f"default: the preset's ({PRESET.resample})",
    )
    parser.add_argument(
        "--input-type",
        choices=CHOICES["input_type"],
        help="what a float model gets: float pixels (as TF.js) or pixels rounded to uint8; "
        f"default: the preset's ({PRESET.input_type})",
    )
    parser.add_argument(
        "--precision",
        choices=CHOICES["precision"],
        help="what runs: auto (a uint8 model such as Coral's as the same integer network in "
        "int8, about twice as fast), original (the file's own arithmetic), int8 (that form "
        f"or an error) or float (a float32 rebuild); default: the preset's ({PRESET.precision})",
    )
    parser.add_argument(
        "--max-poses", type=int, metavar="N", help="most poses per image (max_detections)"
    )
    parser.add_argument(
        "--min-score", type=float, metavar="S", help="lowest pose score kept (score_threshold)"
    )
    parser.add_argument(
        "--nms-radius",
        type=float,
        metavar="PX",
        help="keypoints of two poses closer than this are one (nms_radius)",
    )
    parser.add_argument(
        "-O",
        "--decoder-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any decoder option, e.g. -O refine_steps=3 -O local_maximum_radius=2",
    )
    parser.add_argument(
        "--flip", action="store_true", help="mirror results as TF.js's flipHorizontal (selfies)"
    )
    accuracy = parser.add_argument_group(
        "accuracy", "more people found, placed more precisely, for more time (posenet.fusion)"
    )
    accuracy.add_argument(
        "--accuracy",
        choices=CHOICES["accuracy"],
        help="a preset: "
        + "; ".join(f"{row.name}: {row.summary}" for row in ACCURACY.values())
        + ". Flags given explicitly win over the preset's",
    )
    accuracy.add_argument(
        "--scales",
        metavar="S[,S...]",
        help="run the network at these multiples of the input size and fuse the heads, "
        "e.g. 0.67,1,1.33",
    )
    accuracy.add_argument(
        "--flip-test",
        action=argparse.BooleanOptionalAction,
        help="also run every input mirrored and average the heads (twice the time)",
    )
    accuracy.add_argument(
        "--tiles",
        action=argparse.BooleanOptionalAction,
        help="also run photos much larger than the input in overlapping tiles at native "
        "resolution (small people)",
    )
    accuracy.add_argument(
        "--rescore",
        choices=CHOICES["rescore"],
        help="pose score: decoder (the decoder's) or size (weighed by the pose's size in "
        "the image)",
    )
    accuracy.add_argument(
        "--pose-threshold",
        type=float,
        metavar="S",
        help="drop poses scoring below S after rescoring",
    )
    accuracy.add_argument(
        "--keypoint-threshold",
        metavar="S|NAME=S,...",
        help="leave keypoints scoring below S out of the JSON and the drawings: one score "
        "for all, and/or NAME=S per keypoint (e.g. 0.3,leftWrist=0.5)",
    )
    parser.add_argument(
        "--full-decode",
        action="store_true",
        help="decode JPEGs at full size (this project's preset decodes one at 1/2, 1/4 or "
        "1/8 scale when at least twice the size it fills on the input: faster, poses mapped "
        "onto the whole photo; the references decode in full)",
    )
    parser.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        help=f"CPU threads for the network (1-{MAX_THREADS})",
    )


def settings_from_args(args: argparse.Namespace) -> EstimatorSettings:
    """The EstimatorSettings the flags add_model_options defines describe."""
    options: dict[str, Any] = {}
    for flag, option in (
        ("max_poses", "max_detections"),
        ("min_score", "score_threshold"),
        ("nms_radius", "nms_radius"),
    ):
        if getattr(args, flag) is not None:
            options[option] = getattr(args, flag)
    for item in args.decoder_option:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise PosenetError(f"--decoder-option {item!r}: expected NAME=VALUE")
        options[name.strip().replace("-", "_")] = _number(value)
    return EstimatorSettings(
        model=args.model,
        like=args.like,
        size=args.size,
        stride=args.stride,
        geometry=args.geometry,
        decoder=args.decoder,
        decoder_options=options,
        fit=args.fit,
        resample=args.resample,
        input_type=args.input_type,
        flip_horizontal=args.flip,
        threads=args.threads,
        precision=args.precision,
        draft=False if args.full_decode else None,
        accuracy=args.accuracy,
        scales=args.scales,
        flip_test=args.flip_test,
        tiles=args.tiles,
        rescore=args.rescore,
        pose_threshold=args.pose_threshold,
        keypoint_threshold=args.keypoint_threshold,
    )


def estimator_from_args(args: argparse.Namespace) -> Estimator:
    """The Estimator the flags describe; says on stderr when --size was rounded."""
    estimator = Estimator.from_settings(settings_from_args(args))
    requested = estimator.requested_size
    if requested is not None and requested != estimator.input_size:
        h, w = estimator.input_size
        print(
            f"posenet: size {requested[0]}x{requested[1]} rounded to {h}x{w} "
            f"(k * {estimator.output_stride} + 1)",
            file=sys.stderr,
        )
    return estimator


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (counts such as --every, --workers, --max-frames)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a thread count from 1 to {MAX_THREADS}")
    return value


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise PosenetError(f"decoder option value {text!r} is not a number") from None


def run(args: argparse.Namespace) -> int:
    images = find_images(args.images)
    inputs = Inputs([*images, *EstimatorSettings(model=args.model).model_files()])
    drawings = _plan_drawings(args.draw, images, inputs)
    json_path = None
    if args.json is not None and args.json != "-":
        json_path = check_output(args.json, inputs=inputs)
        if json_path.resolve() in {p.resolve() for p in drawings.values()}:
            raise PosenetError(f"{json_path}: named both for --json and --draw")
    estimator = estimator_from_args(args)
    results, failed = [], 0
    outcomes = estimator.stream(images, keep=bool(args.draw), return_errors=True)
    try:
        for path, outcome in zip(images, outcomes, strict=True):
            if isinstance(outcome, PosenetError):  # one bad file does not stop the rest
                message = str(outcome)
                message = message if message.startswith(str(path)) else f"{path}: {message}"
                print(f"posenet: error: {message}", file=sys.stderr)
                failed += 1
                continue
            results.append(outcome.to_dict(str(path)))
            if args.draw:
                _draw(outcome, drawings[path])
            if args.json != "-":
                print(_summary(path, outcome))
    finally:  # an interrupted folder run still leaves the JSON of what it did
        outcomes.close()
        if args.json and results:
            text = json.dumps(results, indent=2) + "\n"
            if json_path is None:
                sys.stdout.write(text)
            else:
                write_atomic(json_path, text.encode())
    return 2 if failed else 0


def _summary(path: Path, result: Result) -> str:
    """One line per image: pose scores, decoded image -> poses time, the network's share."""
    scores = ", ".join(f"{p.score:.2f}" for p in result.poses) or "none"
    t = result.timings
    return (
        f"{path}: {len(result.poses)} pose(s) [{scores}]  "
        f"{t.total * 1000:.1f} ms (invoke {t.invoke * 1000:.1f} ms)"
    )


def _draw(result: Result, target: Path) -> None:
    from ..render import draw_poses

    if result.keypoint_threshold is None:
        save_image(draw_poses(result.image, result.poses), target)
    else:
        save_image(draw_poses(result.image, result.poses, result.keypoint_threshold), target)


def _plan_drawings(draw: str | None, images: list[Path], inputs: Inputs) -> dict[Path, Path]:
    """Where each drawn image goes, every path checked before any work starts.

    `--draw DIR` (an existing folder, or a name ending in / that is created) gets
    `<stem>-poses<suffix>` per image; `--draw FILE` one file whose suffix names a
    format Pillow writes, and only for one image: a file name is never taken as
    a folder to make.
    """
    if draw is None:
        return {}
    if not draw.strip():
        raise PosenetError("--draw: the path is empty")
    target = Path(draw)
    if target.is_dir() or draw.endswith(("/", os.sep)):
        if target.exists() and not target.is_dir():
            raise PosenetError(f"--draw {draw}: is a file, not a folder")
        target.mkdir(parents=True, exist_ok=True)
        planned = {p: target / f"{p.stem}-poses{p.suffix.lower()}" for p in images}
    elif len(images) > 1:
        raise PosenetError(
            f"--draw {draw}: {len(images)} images need a folder (an existing one, or a name "
            "ending in /, which is created)"
        )
    else:
        planned = {images[0]: target}
    seen: dict[Path, Path] = {}
    for image, out in planned.items():
        if out.suffix.lower() not in _writable_suffixes():
            raise PosenetError(f"--draw {out}: unknown image format {out.suffix or '(none)'!r}")
        check_output(out, inputs=inputs)
        if out.resolve() in seen:
            raise PosenetError(
                f"--draw: {seen[out.resolve()]} and {image} would both be drawn to {out}"
            )
        seen[out.resolve()] = image
    return planned


def _writable_suffixes() -> set[str]:
    from PIL import Image

    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE}
