"""How an Estimator shares LiteRT interpreters: its pool keyed by input size against one
interpreter per thread (threading.local, resized when the size changes), in one run.

Four cases, each timed for both, alternating: fixed size on 2 threads; size auto over
photos of different aspect ratios on 1 thread (each size change resizes a thread's
own interpreter); a new thread per image (as a simple server does: a per-thread
interpreter is made for each); and the bare cost of taking and giving back an
interpreter. Prints images per second (or microseconds) and pool / per-thread.

    .venv/bin/python benchmarks/bench_pool.py [--images N] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import posenet
from posenet.files import find_images
from posenet.runtime import Runtime, RuntimePool

IMAGES = Path(__file__).resolve().parents[2] / "shared/assets/images"


class PerThread:
    """The alternative to RuntimePool: one interpreter per thread, resized as needed."""

    def __init__(self, model: bytes, threads: int | None) -> None:
        self._model, self._threads = model, threads
        self._local = threading.local()

    @contextlib.contextmanager
    def runtime(self, input_size: tuple[int, int]) -> Iterator[Runtime]:
        runtime = getattr(self._local, "runtime", None)
        if runtime is None:
            runtime = self._local.runtime = Runtime(self._model, input_size, threads=self._threads)
        runtime.resize(input_size)  # a no-op when unchanged
        yield runtime


def with_strategy(estimator: posenet.Estimator, strategy: str) -> posenet.Estimator:
    """`estimator` with a fresh pool or per-thread interpreters (a benchmark's liberty:
    the estimator's private parts are swapped, its model and settings kept)."""
    model, threads = estimator._model.tflite, estimator.settings.threads
    if strategy == "pool":
        estimator._pool = RuntimePool(model, threads=threads)
    else:
        estimator._pool = PerThread(model, threads)
    return estimator


def rate(run: Callable[[], int]) -> float:
    start = time.perf_counter()
    count = run()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24, help="images per case (default 24)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (default 3)")
    args = parser.parse_args()
    photos = [posenet.load_image(p) for p in find_images([IMAGES, IMAGES / "coco"])]
    batch = [photos[i % len(photos)] for i in range(args.images)]
    fixed = posenet.Estimator(threads=1)
    auto = posenet.Estimator(size="auto", threads=1)
    print(f"{len(photos)} photos, {args.images} images per case, {args.rounds} rounds, medians")

    def two_threads(estimator: posenet.Estimator) -> int:
        with ThreadPoolExecutor(2) as pool:
            return len(list(pool.map(estimator.estimate, batch)))

    def one_thread(estimator: posenet.Estimator) -> int:
        return len([estimator.estimate(image) for image in batch])

    def thread_per_image(estimator: posenet.Estimator) -> int:
        for image in batch:
            worker = threading.Thread(target=estimator.estimate, args=(image,))
            worker.start()
            worker.join()
        return len(batch)

    cases = {
        "fixed size, 2 threads": (fixed, two_threads),
        "size auto, 1 thread": (auto, one_thread),
        "a new thread per image": (fixed, thread_per_image),
    }
    for name, (estimator, run) in cases.items():
        rates: dict[str, list[float]] = {"pool": [], "per-thread": []}
        for _ in range(args.rounds):
            for strategy in rates:
                prepared = with_strategy(estimator, strategy)
                rates[strategy].append(rate(lambda e=prepared, r=run: r(e)))
        pool, local = (statistics.median(rates[s]) for s in ("pool", "per-thread"))
        print(
            f"  {name:<24} pool {pool:6.2f} images/s, per-thread {local:6.2f} images/s, "
            f"pool / per-thread {pool / local:.3f}"
        )
    size = fixed.input_size
    costs = {}
    for strategy in ("pool", "per-thread"):
        runtimes = with_strategy(fixed, strategy)._pool
        with runtimes.runtime(size):
            pass
        start = time.perf_counter()
        for _ in range(20000):
            with runtimes.runtime(size):
                pass
        costs[strategy] = (time.perf_counter() - start) / 20000 * 1e6
    print(
        f"  {'take and give back':<24} pool {costs['pool']:.2f} us, "
        f"per-thread {costs['per-thread']:.2f} us"
    )


if __name__ == "__main__":
    main()
