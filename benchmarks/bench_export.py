"""Invoke time of the exported TFLite models against float32, measured in one run.

Builds float32, float16, int8 and uint8 models of one network at one size
(calibrated on the shared images), then times LiteRT's invoke() on
test_couple, the models taking turns so that machine noise hits all alike.
Prints medians and each model's ratio to float32; trust the ratios, not the
milliseconds (the machines are shared).

    .venv/bin/python benchmarks/bench_export.py [--model NAME] [--size HxW] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from posenet.export.tflite import export_tflite
from posenet.formats import read_network
from posenet.image import find_images, fit, load_image
from posenet.model import resolve
from posenet.runtime import Runtime
from posenet.sizes import resolve_size

ASSETS = Path(__file__).resolve().parents[2] / "shared/assets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tfjs-075")
    parser.add_argument("--size", default="353x481")
    parser.add_argument("--stride", type=int, default=16)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calibration", type=Path, default=ASSETS / "images")
    parser.add_argument("--image", type=Path, default=ASSETS / "images/test_couple.jpg")
    args = parser.parse_args()

    network = read_network(resolve(args.model)[1])
    size = resolve_size(args.size, args.stride, network=network)
    calibration = [
        fit(load_image(p), size, "stretch").pixels for p in find_images([args.calibration])
    ]
    image = fit(load_image(args.image), size, "stretch").pixels
    runtimes = {
        quantize: Runtime(
            export_tflite(network, size, args.stride, quantize, calibration), threads=args.threads
        )
        for quantize in ("none", "float16", "int8", "uint8")
    }
    times: dict[str, list[float]] = {name: [] for name in runtimes}
    for _ in range(3):  # warm-up: XNNPACK packing, caches
        for runtime in runtimes.values():
            runtime.invoke(image)
    for _ in range(args.runs):
        for name, runtime in runtimes.items():
            start = time.perf_counter()
            runtime.invoke(image)
            times[name].append((time.perf_counter() - start) * 1000)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"model {args.model} at {size[0]}x{size[1]}, stride {args.stride}, "
        f"{args.threads} thread(s), {args.runs} runs each, interleaved"
    )
    for name, value in median.items():
        label = "float32" if name == "none" else name
        print(
            f"  {label:<8} invoke median {value:8.2f} ms   / float32 = {value / median['none']:.2f}"
        )
    print(f"  int8 / float32 invoke time ratio = {median['int8'] / median['none']:.2f}")


if __name__ == "__main__":
    main()
