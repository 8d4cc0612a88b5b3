"""`posenet bench`: how fast the estimator runs on this machine, stage by stage."""

from __future__ import annotations

import argparse
import json

from .. import load_image
from .detect import add_model_options, settings_from_args


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help="time load, preprocess, network and decoder on this machine",
        description="Time each stage of the estimator (model load, preprocessing, the "
        "network, the decoder) over repeated calls on one image, and print medians and "
        "spreads; the figures are for this machine, compare their ratios.",
    )
    add_model_options(bench)
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


def run(args: argparse.Namespace) -> int:
    from ..bench import benchmark, format_report

    image = load_image(args.image) if args.image else None
    settings = settings_from_args(args).to_dict()
    result = benchmark(
        settings.pop("model"),
        image=image,
        image_name=args.image,
        runs=args.runs,
        warmup=args.warmup,
        **settings,
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_report(result))
    return 0
