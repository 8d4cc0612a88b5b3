"""`posenet serve` under load, on 127.0.0.1 only: throughput, latency, memory.

1. Throughput with 1 and 2 worker threads, in the same run: two servers, measured
   in alternating rounds (the machine is shared; trust the ratio).
2. The load test: 16 concurrent clients x 200 requests of test_couple against the
   2-worker server; every answer must be 200 with both people; p50 / p99 printed.
3. Memory: the server's RSS after the first 100 answers and after 2,000, from the
   same run (target: within 50 MB).

    .venv/bin/python benchmarks/bench_serve.py [--rounds 3] [--clients 16] [--requests 200]

Exits 1 if the load test had an error or memory grew by more than 50 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the server and load helpers live with the tests

from tests.serving import Load, Server, hammer  # noqa: E402

ASSETS = ROOT.parent / "shared" / "assets"
IMAGE = ASSETS / "images" / "test_couple.jpg"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per server")
    parser.add_argument("--round-requests", type=int, default=60, help="requests per round")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=200, help="per client, load test")
    parser.add_argument("--threads", default=None, help="LiteRT threads per call (server flag)")
    args = parser.parse_args()
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))
    image = IMAGE.read_bytes()
    # A generous timeout: on a shared machine a queue of 16 can wait longer than the
    # default 10 s, and the load test counts answers, not the timeout's 504s.
    extra = ["--timeout", "120", *(["--threads", args.threads] if args.threads else [])]

    print(f"image {IMAGE.name} ({len(image):,} bytes), {os.cpu_count()} CPUs, 127.0.0.1 only")
    servers = {n: Server("--workers", str(n), *extra, wait=False) for n in (1, 2)}
    try:
        for server in servers.values():
            server.wait()
        for server in servers.values():  # warm-up: first calls, caches
            hammer(server.url, image, clients=4, requests=3, poses=2)
        rates: dict[int, list[float]] = {n: [] for n in servers}
        for _ in range(args.rounds):
            for n, server in servers.items():
                per_client = args.round_requests // 4
                load = hammer(server.url, image, clients=4, requests=per_client, poses=2)
                assert not load.errors, load.errors[:3]
                rates[n].append(len(load.latencies) / load.seconds)
        one, two = (statistics.median(rates[n]) for n in (1, 2))
        print(
            f"\n1. throughput, 4 clients, median of {args.rounds} alternating rounds of "
            f"{args.round_requests} requests:\n   1 worker  {one:.2f} req/s\n"
            f"   2 workers {two:.2f} req/s   ratio {two / one:.2f}"
        )
    finally:
        for server in servers.values():
            server.stop()

    with Server("--workers", "2", *extra) as server:
        load = Load()
        marks: dict[int, float] = {}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                answered = len(load.latencies) + len(load.errors)
                for mark in (100, 2000):
                    if answered >= mark and mark not in marks:
                        marks[mark] = server.rss_mb()
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started_rss = server.rss_mb()
        hammer(server.url, image, args.clients, args.requests, poses=2, load=load)
        done.set()
        watcher.join()
        final_rss = server.rss_mb()
        print(
            f"\n2. load: {args.clients} clients x {args.requests} requests of {IMAGE.name}, "
            f"2 workers:\n   {load.summary()}"
        )
        for error in load.errors[:5]:
            print(f"   error: {error}")
        growth = marks.get(2000, final_rss) - marks.get(100, started_rss)
        print(
            f"\n3. server RSS: {started_rss:.1f} MB at start, {marks.get(100, 0):.1f} MB after "
            f"100 answers, {marks.get(2000, 0):.1f} MB after 2,000, {final_rss:.1f} MB after "
            f"{len(load.latencies)}: {growth:+.1f} MB from 100 to 2,000 (target <= +50)"
        )
    return 0 if not load.errors and growth <= 50 and 2000 in marks else 1


if __name__ == "__main__":
    sys.exit(main())
