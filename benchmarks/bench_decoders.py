"""Each decoder's cost next to the network, on test_couple, in one run.

For each Coral model size: the backbone's invoke median, then every decoder's
median on those heads and its ratio to invoke. Target: every decoder <= 0.02 x
invoke. Interleaved rounds so that machine noise hits all figures alike.

    .venv/bin/python benchmarks/bench_decoders.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from posenet.decode import DECODERS, decode
from posenet.image import fit, load_image
from posenet.model import load
from posenet.runtime import Runtime

IMAGE = Path(__file__).resolve().parents[2] / "shared/assets/images/test_couple.jpg"
MODELS = ("coral-075-353x481", "coral-075-721x1281")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--image", type=Path, default=IMAGE)
    args = parser.parse_args()
    pixels = load_image(args.image)
    print(f"image {args.image.name}, {args.runs} rounds, 1 thread; medians in ms")
    print(f"{'model':<20} {'invoke':>9} " + " ".join(f"{d:>16}" for d in DECODERS))
    for name in MODELS:
        model = load(name)
        runtime = Runtime(model.tflite, threads=1)
        image = fit(pixels, runtime.input_size, "pad").pixels
        heads = runtime.run(image)
        options = {d: DECODERS[d].options_for(model.decoder_options, {}) for d in DECODERS}
        for d in DECODERS:  # warm-up: load compiled kernels
            decode(heads, d, **options[d])
        times: dict[str, list[float]] = {"invoke": [], **{d: [] for d in DECODERS}}
        for _ in range(args.runs):
            start = time.perf_counter()
            runtime.invoke(image)
            times["invoke"].append(time.perf_counter() - start)
            heads = runtime.heads()
            for d in DECODERS:
                start = time.perf_counter()
                decode(heads, d, **options[d])
                times[d].append(time.perf_counter() - start)
        median = {k: statistics.median(v) * 1000 for k, v in times.items()}
        cells = [f"{median[d]:6.3f} ({median[d] / median['invoke']:.4f}x)" for d in DECODERS]
        print(f"{name:<20} {median['invoke']:9.2f} " + " ".join(f"{c:>16}" for c in cells))
    print("target: every decoder <= 0.02 x invoke")


if __name__ == "__main__":
    main()
