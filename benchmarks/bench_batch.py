"""Throughput of `posenet batch` on Ray with 1 and 2 workers, in-process, and of the plain
`posenet detect`, on the same images in one run; and the pose actors' own memory.

    .venv/bin/python benchmarks/bench_batch.py [--images 200] [--rounds 1]

Every command runs whole, as a user runs it (model load, actor start-up, writing
included), in rounds that interleave the four, on copies of the shared photos. Ray
starts once, before the timing (`ray.init(num_cpus=2)`, this machine's cores): a
cluster is started once and serves many jobs. Figures are for this machine; compare
the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import ray

from posenet.cli import main

ASSETS = Path(
    os.environ.get("POSENET_ASSETS", Path(__file__).resolve().parents[2] / "shared/assets")
)
PHOTOS = [
    *(ASSETS / "images" / n for n in ("test_couple.jpg", "frisbee.jpg", "tennis_in_crowd.jpg")),
    ASSETS / "images" / "soccer.png",
    *sorted((ASSETS / "images" / "coco").glob("*.jpg")),
]
ACTOR_TITLE = b"MapBatches(PoseBatch)"


def actor_memory_mb() -> list[float]:
    """RssAnon (the process's own memory; Ray's shared object store not counted) of
    every pose actor on this machine."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and ACTOR_TITLE in (entry / "cmdline").read_bytes():
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("RssAnon:"):
                        found.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return found


class _Lines(io.StringIO):
    """stdout that notes when each of detect's per-image lines was written."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def write(self, text: str) -> int:
        self.times += [time.perf_counter()] * text.count("pose(s)")
        return super().write(text)


def steady_rate(argv: list[str], lines: _Lines) -> float:
    """Images per second once running (start-up excluded): from the first output to
    the last, by detect's lines or by the mtimes of batch's blocks."""
    if argv[0] == "detect":
        times = lines.times
        return (len(times) - 1) / (times[-1] - times[0])
    out = Path(argv[argv.index("-o") + 1])
    blocks = sorted((p.stat().st_mtime_ns, p) for p in out.glob("*.parquet"))
    images = [
        len(set(pq.read_table(p, columns=["source"]).column("source").to_pylist()))
        for _, p in blocks
    ]
    return sum(images[1:]) / ((blocks[-1][0] - blocks[0][0]) / 1e9)


def timed(argv: list[str], watch: bool = False) -> tuple[float, float, float]:
    """(seconds, steady images/s, peak actor memory MB) of one CLI run."""
    peak, done = 0.0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max([peak, *actor_memory_mb()])

    sampler = threading.Thread(target=sample, daemon=True)
    if watch:
        sampler.start()
    lines = _Lines()
    start = time.perf_counter()
    with contextlib.redirect_stdout(lines), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    elapsed = time.perf_counter() - start
    done.set()
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return elapsed, steady_rate(argv, lines), peak


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        images = work / "images"
        images.mkdir()
        for i in range(args.images):
            photo = PHOTOS[i % len(PHOTOS)]
            shutil.copyfile(photo, images / f"{i:05d}-{photo.name}")
        env = {k: v for k, v in os.environ.items() if k.startswith("POSENET_")}
        ray.init(num_cpus=2, runtime_env={"env_vars": env}, logging_level="WARNING")
        runs = {
            "detect --json (plain CLI)": ["detect", str(images), "--json", str(work / "p.json")],
            "batch --ray none (in-process)": [
                "batch",
                str(images),
                "-o",
                str(work / "a"),
                "--ray",
                "none",
            ],
            "batch on Ray, 1 worker": [
                "batch",
                str(images),
                "-o",
                str(work / "b"),
                "--workers",
                "1",
            ],
            "batch on Ray, 2 workers": [
                "batch",
                str(images),
                "-o",
                str(work / "c"),
                "--workers",
                "2",
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        rates: dict[str, list[float]] = {name: [] for name in runs}
        memory: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, argv in runs.items():
                seconds, rate, peak = timed(argv, watch="Ray" in name)
                times[name].append(seconds)
                rates[name].append(rate)
                memory[name] = max(memory.get(name, 0.0), peak)
        ray.shutdown()
        cli = statistics.median(rates["detect --json (plain CLI)"])
        print(
            f"{args.images} images (copies of {len(PHOTOS)} shared photos), {os.cpu_count()} "
            f"cores, load average {os.getloadavg()[0]:.1f}, median of {args.rounds} round(s)"
        )
        print(
            f"{'run':32} {'whole s':>8} {'images/s':>9} {'steady/s':>9} {'vs CLI':>7} "
            f"{'actor MB':>9}"
        )
        for name in runs:
            seconds, rate = statistics.median(times[name]), statistics.median(rates[name])
            mb = f"{memory[name]:.0f}" if memory.get(name) else "-"
            print(
                f"{name:32} {seconds:8.1f} {args.images / seconds:9.2f} {rate:9.2f} "
                f"{rate / cli:7.2f} {mb:>9}"
            )
        print(
            "whole: the command from start to end (Ray already running); steady: images/s "
            "from the first output to the last (start-up excluded); vs CLI: steady rates; "
            "actor MB: peak RssAnon of a pose actor"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main_bench()
