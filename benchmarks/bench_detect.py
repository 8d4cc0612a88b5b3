"""Where the time goes in `posenet detect`: preprocess, invoke, decode, total.

Prints medians over --runs calls on one image and total / invoke, all measured
in this one run (the machines are shared and noisy: trust the ratio, not the
milliseconds). Target: total / invoke <= 1.15 for the default model.

    .venv/bin/python benchmarks/bench_detect.py [--model NAME] [--image PATH] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import posenet

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared/assets/images/test_couple.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--decoder", default="coral")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    estimator = posenet.Estimator(args.model, decoder=args.decoder, threads=args.threads)
    pixels = posenet.load_image(args.image)
    for _ in range(3):  # warm-up: JIT compilation, XNNPACK packing, caches
        estimator.estimate(pixels)
    stages: dict[str, list[float]] = {"preprocess": [], "invoke": [], "decode": [], "total": []}
    for _ in range(args.runs):
        t = estimator.estimate(pixels).timings
        for name in stages:
            stages[name].append(getattr(t, name) * 1000)
    median = {name: statistics.median(values) for name, values in stages.items()}
    h, w = estimator.input_size
    print(
        f"model {estimator.model_name} ({h}x{w}), decoder {args.decoder}, "
        f"image {args.image.name} {pixels.shape[1]}x{pixels.shape[0]}, {args.runs} runs"
    )
    for name, value in median.items():
        print(f"  {name:<10} median {value:8.3f} ms")
    ratio = median["total"] / median["invoke"]
    print(
        f"  total / invoke = {ratio:.3f}  (target <= 1.15: {'met' if ratio <= 1.15 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
