"""`posenet detect`: poses for images and folders of images, as text, JSON or drawings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import store
from ..decode import DECODERS
from ..errors import PosenetError
from ..image import FITS, RESAMPLES
from ..network import OUTPUT_STRIDES, RETARGET_GEOMETRIES
from ..sizes import SIZE_FORMS


def register(commands: argparse._SubParsersAction) -> None:
    detect = commands.add_parser("detect", help="find poses in images or folders of images")
    detect.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    add_model_options(detect)
    detect.add_argument("--json", metavar="FILE|-", help="write results as JSON (- for stdout)")
    detect.add_argument(
        "--draw", metavar="FILE|DIR", help="write images with the poses drawn (DIR for several)"
    )
    detect.add_argument("--force", action="store_true", help="overwrite existing output files")
    detect.set_defaults(run=run)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", metavar="NAME|PATH", help=f"model name or file (default {store.DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--size", metavar="HxW|N|auto", help=f"network input size: {SIZE_FORMS} (default: model's)"
    )
    parser.add_argument(
        "--stride", type=int, choices=OUTPUT_STRIDES, help="output stride (default: model's)"
    )
    parser.add_argument(
        "--geometry",
        choices=RETARGET_GEOMETRIES,
        default="atrous",
        help="dilations when --stride differs from the model's: atrous rule (default) or "
        "source (keep the source's tap spacing; better for the published stride-16 graphs)",
    )
    parser.add_argument("--decoder", choices=DECODERS, default="coral", help="default: coral")
    parser.add_argument("--fit", choices=FITS, default="pad", help="default: pad")
    parser.add_argument("--resample", choices=RESAMPLES, default="bilinear")
    parser.add_argument("--max-poses", type=int, metavar="N", help="max_detections")
    parser.add_argument("--min-score", type=float, metavar="S", help="score_threshold")
    parser.add_argument("--nms-radius", type=float, metavar="PX", help="nms_radius")
    parser.add_argument(
        "-O",
        "--decoder-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any decoder option, e.g. -O refine_steps=3 -O local_maximum_radius=2",
    )
    parser.add_argument("--flip", action="store_true", help="mirror results (selfie cameras)")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for the network")


def estimator_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Estimator keyword arguments from the flags add_model_options defines."""
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
    return {
        "decoder": args.decoder,
        "decoder_options": options,
        "size": args.size,
        "stride": args.stride,
        "geometry": args.geometry,
        "fit": args.fit,
        "resample": args.resample,
        "flip_horizontal": args.flip,
        "threads": args.threads,
    }


def estimator_from_args(args: argparse.Namespace):
    """The Estimator the flags describe; says on stderr when --size was rounded."""
    from ..estimator import Estimator

    estimator = Estimator(args.model, **estimator_kwargs(args))
    requested = estimator.requested_size
    if requested is not None and requested != estimator.input_size:
        h, w = estimator.input_size
        print(
            f"posenet: size {requested[0]}x{requested[1]} rounded to {h}x{w} "
            f"(k * {estimator.runtime.output_stride} + 1)",
            file=sys.stderr,
        )
    return estimator


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise PosenetError(f"decoder option value {text!r} is not a number") from None


def run(args: argparse.Namespace) -> int:
    from ..image import find_images, load_image

    images = find_images(args.images)
    outputs = _check_outputs(args, images)
    estimator = estimator_from_args(args)
    results, failed = [], 0
    for path in images:
        try:
            pixels = load_image(path)
        except PosenetError as exc:  # one bad file in a folder does not stop the rest
            print(f"posenet: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        result = estimator.estimate(pixels)
        results.append(result.to_dict(str(path)))
        if args.draw:
            from ..render import draw_poses

            draw_poses(pixels, result.poses).save(outputs[path])
        if args.json != "-":
            scores = ", ".join(f"{p.score:.2f}" for p in result.poses) or "none"
            t = estimator.timings
            print(
                f"{path}: {len(result.poses)} pose(s) [{scores}]  "
                f"{t.total * 1000:.1f} ms (invoke {t.invoke * 1000:.1f} ms)"
            )
    if args.json and results:
        text = json.dumps(results, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 2 if failed else 0


def _check_outputs(args: argparse.Namespace, images: list[Path]) -> dict[Path, Path]:
    """Where each drawn image goes; refuse to overwrite anything unless --force."""
    planned: dict[Path, Path] = {}
    if args.draw:
        target = Path(args.draw)
        if target.is_dir() or len(images) > 1 or args.draw.endswith(("/", "\\")):
            target.mkdir(parents=True, exist_ok=True)
            planned = {p: target / f"{p.stem}-poses{p.suffix.lower() or '.png'}" for p in images}
        else:
            planned = {images[0]: target}
        inputs = {p.resolve() for p in images}
        for out in planned.values():
            if out.resolve() in inputs:
                raise PosenetError(f"{out}: refusing to draw over an input image")
    existing = [str(p) for p in planned.values() if p.exists()]
    if args.json and args.json != "-" and Path(args.json).exists():
        existing.append(args.json)
    if existing and not args.force:
        raise PosenetError(f"{existing[0]}: exists; use --force to overwrite")
    return planned
