"""What building a model costs, and what the built models cost to run.

1. Per input size and output stride: time to build the TFLite model from a
   Network (`build_tflite`), and LiteRT invoke time of the result.
2. The Coral 353x481 uint8 model against its weights rebuilt as float32 (and
   float16 weights) at the same size and stride: invoke time, interleaved
   call by call so that machine noise hits all variants alike.

All figures are medians of one run on this machine; the machines are shared
and noisy, so read the ratios, not the milliseconds.

    .venv/bin/python benchmarks/bench_build.py [--model PATH] [--runs N] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from posenet.formats import read_network
from posenet.runtime import Runtime
from posenet.tflite.build import build_tflite
from posenet.tflite.flatbuffer import cut_posenet_decoder, read_model, write_model

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets" / "models"
DEFAULT_MODEL = ASSETS / "tfjs" / "posenet-mobilenet-float-075"
CORAL = ASSETS / "coral" / "posenet_mobilenet_v1_075_353_481_quant_decoder.tflite"
SIZES = ((257, 257), (353, 481), (481, 641), (721, 1281))
STRIDES = (8, 16, 32)


def _ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def _time_invoke(runtime: Runtime, image: np.ndarray, runs: int) -> list[float]:
    runtime.invoke(image)  # warm-up: XNNPACK packs weights on the first call
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runtime.invoke(image)
        times.append(time.perf_counter() - start)
    return times


def bench_sizes(model: Path, runs: int, threads: int) -> None:
    start = time.perf_counter()
    network = read_network(model)
    read_ms = (time.perf_counter() - start) * 1000
    print(f"{network.summary()}\nread: {read_ms:.0f} ms\n")
    print(
        f"{'size':>10} {'stride':>6} {'grid':>7} {'build ms':>9} {'load ms':>8} {'invoke ms':>10}"
    )
    rng = np.random.default_rng(0)
    baseline = None
    for size in SIZES:
        image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        for stride in STRIDES:
            builds = []
            for _ in range(3):
                start = time.perf_counter()
                data = build_tflite(network, size, stride)
                builds.append(time.perf_counter() - start)
            start = time.perf_counter()
            runtime = Runtime(data, threads=threads)
            load = time.perf_counter() - start
            invoke = _ms(_time_invoke(runtime, image, runs))
            baseline = baseline or invoke
            grid = "x".join(str((n - 1) // stride + 1) for n in size)
            print(
                f"{size[0]:>4}x{size[1]:<5} {stride:>6} {grid:>7} {_ms(builds):>9.1f} "
                f"{load * 1000:>8.1f} {invoke:>10.2f}   ({invoke / baseline:.2f}x 257x257/8)"
            )


def bench_coral(runs: int, threads: int) -> None:
    cut, _ = cut_posenet_decoder(read_model(CORAL.read_bytes()))
    network = read_network(CORAL)
    size = (353, 481)
    variants = {
        "uint8 (original)": Runtime(write_model(cut), threads=threads),
        "float32 rebuilt": Runtime(build_tflite(network, size, 16), threads=threads),
        "float16 weights": Runtime(
            build_tflite(network, size, 16, float16_weights=True), threads=threads
        ),
    }
    image = np.random.default_rng(1).integers(0, 256, (*size, 3), dtype=np.uint8)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for runtime in variants.values():
        runtime.invoke(image)
    for _ in range(runs):  # interleaved: each round runs every variant once
        for name, runtime in variants.items():
            start = time.perf_counter()
            runtime.invoke(image)
            times[name].append(time.perf_counter() - start)
    base = _ms(times["uint8 (original)"])
    print(f"\nCoral {CORAL.name} at 353x481, stride 16, {runs} interleaved runs")
    for name, values in times.items():
        print(f"  {name:<18} invoke {_ms(values):7.2f} ms   {_ms(values) / base:.2f}x uint8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    bench_sizes(args.model, args.runs, args.threads)
    bench_coral(args.runs, args.threads)


if __name__ == "__main__":
    main()
