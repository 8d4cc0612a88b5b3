"""What output strides 8 and 32 cost against 16, with each geometry: invoke time ratios.

Estimators for one model at one input size take turns on the same photo, round
after round, so machine noise hits every variant alike; the medians are
printed as ratios to stride 16 (the figures of README, "Output stride").

    .venv/bin/python benchmarks/bench_strides.py [--model NAME] [--rounds N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():  # offline machines: the shared assets are the store's mirror
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

from posenet.estimator import Estimator  # noqa: E402  (after the mirror is set)
from posenet.image import load_image  # noqa: E402

VARIANTS = ((16, "source"), (8, "source"), (8, "atrous"), (32, "source"), (32, "atrous"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tfjs-075")
    parser.add_argument("--size", default="353x481", help="k * 32 + 1 both ways")
    parser.add_argument("--image", type=Path, default=ASSETS / "images" / "test_couple.jpg")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    image = load_image(args.image)
    estimators = {
        variant: Estimator(
            args.model,
            size=args.size,
            stride=variant[0],
            geometry=variant[1],
            threads=args.threads,
        )
        for variant in VARIANTS
    }
    invokes: dict[tuple[int, str], list[float]] = {variant: [] for variant in VARIANTS}
    for round_ in range(args.rounds + 2):
        for variant, estimator in estimators.items():
            timings = estimator.estimate(image).timings
            if round_ >= 2:  # two warm-up rounds
                invokes[variant].append(timings.invoke)
    base = statistics.median(invokes[(16, "source")])
    print(
        f"{args.model} at {args.size}, {args.rounds} interleaved rounds, {args.threads} thread(s)"
    )
    for (stride, geometry), values in invokes.items():
        median = statistics.median(values)
        print(
            f"stride {stride:2d} {geometry:<7} invoke {median * 1000:7.1f} ms  {median / base:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
