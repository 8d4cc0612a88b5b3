"""`posenet bench`: how fast the estimator runs on this machine, stage by stage.

Also home of `--size` and of the Estimator options built from the command
line with it, shared with `posenet eval`: detect's `estimator_from_args` does
not take an input size yet.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .detect import add_model_options

#: Largest input side --size accepts; PoseNet's published sizes stop at 1281.
_MAX_SIDE = 4096


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench", help="time load, preprocess, network and decoder on this machine"
    )
    add_model_options(bench)
    add_size_option(bench)
    bench.add_argument("--runs", type=int, default=20, metavar="N", help="timed calls (default 20)")
    bench.add_argument(
        "--warmup", type=int, default=3, metavar="N", help="untimed calls first (default 3)"
    )
    bench.add_argument(
        "--image",
        metavar="PATH",
        help="photo to time on (default: a 640x480 gray frame, no people: decode is a lower bound)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(run=run)


def add_size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        type=parse_size,
        metavar="HxW",
        help="network input height x width, e.g. 257x257 or 353x481 (default: the model's own)",
    )


def parse_size(text: str) -> tuple[int, int]:
    """'HxW' (or 'N' for N x N) -> (height, width); argparse reports what is wrong."""
    parts = text.lower().split("x")
    try:
        height, width = (int(parts[0]), int(parts[0])) if len(parts) == 1 else map(int, parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HxW, e.g. 353x481") from None
    if not (16 <= height <= _MAX_SIDE and 16 <= width <= _MAX_SIDE):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 16 to {_MAX_SIDE} pixels")
    return height, width


def estimator_options(args: argparse.Namespace) -> dict[str, Any]:
    """Estimator keyword arguments from add_model_options' flags plus --size.

    The flag -> decoder option mapping mirrors detect.estimator_from_args,
    which cannot pass a size; once it can, this should call it instead.
    """
    decoder_options: dict[str, Any] = {}
    for flag, option in (
        ("max_poses", "max_detections"),
        ("min_score", "score_threshold"),
        ("nms_radius", "nms_radius"),
    ):
        if getattr(args, flag) is not None:
            decoder_options[option] = getattr(args, flag)
    return {
        "decoder": args.decoder,
        "decoder_options": decoder_options,
        "size": args.size,
        "fit": args.fit,
        "resample": args.resample,
        "flip_horizontal": args.flip,
        "threads": args.threads,
    }


def run(args: argparse.Namespace) -> int:
    from ..bench import benchmark, format_report
    from ..image import load_image

    image = load_image(args.image) if args.image else None
    result = benchmark(
        args.model,
        image=image,
        image_name=args.image,
        runs=args.runs,
        warmup=args.warmup,
        **estimator_options(args),
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_report(result))
    return 0
