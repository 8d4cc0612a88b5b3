"""LiteRT threads: single-image latency and folder throughput, 1 thread against 2.

Latency: one decoded photo -> poses (`Estimator.estimate` on an array), median
over the rounds. Throughput: a folder of JPEG files -> poses, images per second
for the whole folder through `Estimator.stream` (which reads the next files on a
helper thread while the network runs), as `posenet detect` does. The thread
counts take turns round after round,
so a noisy neighbour slows them alike; compare the ratios.

    .venv/bin/python benchmarks/bench_threads.py [--folder DIR] [--rounds N] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

from posenet.bench import machine  # noqa: E402
from posenet.estimator import Estimator  # noqa: E402
from posenet.files import find_images  # noqa: E402
from posenet.image import load_image  # noqa: E402

DEFAULT_FOLDER = ASSETS / "dev" / "coco_train2017" / "images"
DEFAULT_IMAGE = ASSETS / "images" / "test_couple.jpg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the default model")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="for latency")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help="for throughput")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)

    pixels = load_image(args.image)
    paths = find_images([args.folder])
    estimators = {n: Estimator(args.model, threads=n) for n in args.threads}
    latency: dict[int, list[float]] = {n: [] for n in args.threads}
    throughput: dict[int, list[float]] = {n: [] for n in args.threads}
    for estimator in estimators.values():  # warm-up: weight packing, caches
        estimator.estimate(pixels)
        _folder(estimator, paths[:2])
    for _ in range(args.rounds):
        for n, estimator in estimators.items():
            for _ in range(5):
                start = time.perf_counter()
                estimator.estimate(pixels)
                latency[n].append(time.perf_counter() - start)
            throughput[n].append(len(paths) / _folder(estimator, paths))
    m = machine()
    first = args.threads[0]
    print(f"{m.cpu} ({m.cores} cores), LiteRT {m.litert}; model {estimators[first].model_name}")
    print(f"latency: {args.image.name} (decoded) -> poses; throughput: {len(paths)} files of")
    print(f"{args.folder} -> poses, {args.rounds} rounds, medians")
    print()
    print("| threads | latency ms | vs 1st | folder images/s | vs 1st |")
    print("|---:|---:|---:|---:|---:|")
    base_l = statistics.median(latency[first])
    base_t = statistics.median(throughput[first])
    for n in args.threads:
        ms, fps = statistics.median(latency[n]), statistics.median(throughput[n])
        print(f"| {n} | {ms * 1000:.1f} | {ms / base_l:.2f} | {fps:.1f} | {fps / base_t:.2f} |")
    return 0


def _folder(estimator: Estimator, paths: list[Path]) -> float:
    """Seconds to get the poses of every file."""
    start = time.perf_counter()
    for _ in estimator.stream(paths):
        pass
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
