"""Folder throughput: Estimator.stream against a plain loop of estimate calls, in one run.

Both read the same image files from disk (decoding included: that is what stream
overlaps with the network) with the same estimator; rounds alternate, loop then
stream, so a noisy neighbour on a shared machine slows both alike. Prints images
per second of each and their ratio (stream / loop; above 1 means stream pays),
and, from the loop's own stage timings, the most stream could gain with a core
to spare: serial time over the longer of its two overlapped parts (reading +
fitting | network + decoding). On a machine whose other core is busy, stream
cannot reach it.

    .venv/bin/python benchmarks/bench_stream.py [--folder DIR] [--rounds N] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import posenet
from posenet.files import find_images

DEFAULT_FOLDERS = [
    Path(__file__).resolve().parents[2] / "shared/assets/images",
    Path(__file__).resolve().parents[2] / "shared/assets/images/coco",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, nargs="+", default=DEFAULT_FOLDERS)
    parser.add_argument("--model", default=None)
    parser.add_argument("--size", default=None, help="e.g. auto (default: the model's)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads (default 1)")
    args = parser.parse_args()

    paths = find_images(args.folder)
    estimator = posenet.Estimator(args.model, size=args.size, threads=args.threads)
    for path in paths:  # warm-up: page cache, every auto size's interpreter
        estimator.estimate(path)
    rates: dict[str, list[float]] = {"loop": [], "stream": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        loop = [estimator.estimate(path) for path in paths]
        rates["loop"].append(len(paths) / (time.perf_counter() - start))
        start = time.perf_counter()
        streamed = list(estimator.stream(paths))
        rates["stream"].append(len(paths) / (time.perf_counter() - start))
        assert [len(r.poses) for r in streamed] == [len(r.poses) for r in loop]
    median = {name: statistics.median(values) for name, values in rates.items()}
    invoke = statistics.median(r.timings.invoke for r in loop)
    reading = sum(r.timings.load + r.timings.preprocess for r in loop)
    network = sum(r.timings.invoke + r.timings.decode for r in loop)
    print(
        f"{len(paths)} images ({', '.join(str(f) for f in args.folder)}), model "
        f"{estimator.model_name}, size {args.size or 'model'}, {args.threads} LiteRT thread(s), "
        f"{args.rounds} rounds; median invoke {invoke * 1000:.1f} ms"
    )
    for name, value in median.items():
        print(f"  {name:<7} {value:6.2f} images/s  ({1000 / value:6.1f} ms per image)")
    print(f"  stream / loop = {median['stream'] / median['loop']:.3f}")
    print(
        f"  bound with a free core: {(reading + network) / max(reading, network):.3f} "
        f"(reading + fitting {reading / len(loop) * 1000:.1f} ms, network + decoding "
        f"{network / len(loop) * 1000:.1f} ms per image, last loop round)"
    )


if __name__ == "__main__":
    main()
