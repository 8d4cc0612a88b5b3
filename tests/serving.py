"""A real `posenet serve` in a subprocess on 127.0.0.1, and a loopback load generator.

Used by tests/test_serve_live.py and benchmarks/bench_serve.py. Traffic only
ever goes to the loopback address the server printed, bounded in count.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

_LISTENING = re.compile(r"serving .* on (http://127\.0\.0\.1:\d+)/")


class Server:
    """`posenet serve --host 127.0.0.1 --port 0 FLAGS...`; .url once it listens."""

    def __init__(self, *flags: str, env: dict[str, str] | None = None, wait: bool = True):
        command = [sys.executable, "-m", "posenet.cli", "serve", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", "0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.log: list[str] = []
        self._url: str | None = None
        self._listening = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if wait:
            self.wait()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            if self._url is None and (match := _LISTENING.search(line)):
                self._url = match[1]
                self._listening.set()
        self._listening.set()  # exited

    def wait(self, seconds: float = 180) -> Server:
        if not self._listening.wait(seconds) or self._url is None:
            self.stop()
            raise RuntimeError("posenet serve did not start:\n" + "\n".join(self.log[-20:]))
        return self

    @property
    def url(self) -> str:
        assert self._url is not None
        return self._url

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_mb(self) -> float:
        """Resident memory of the server process, MB (Linux /proc)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@dataclass
class Load:
    """What `hammer` saw: per-request seconds, and a line per failed request."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def summary(self) -> str:
        n = len(self.latencies)
        return (
            f"{n} requests, {len(self.errors)} errors, {n / self.seconds:.1f} req/s, "
            f"p50 {self.percentile(50) * 1000:.0f} ms, p99 {self.percentile(99) * 1000:.0f} ms, "
            f"mean {statistics.fmean(self.latencies) * 1000:.0f} ms"
        )


def hammer(
    url: str,
    image: bytes,
    clients: int,
    requests: int,
    poses: int | None = None,
    load: Load | None = None,
) -> Load:
    """`clients` concurrent clients each POST `image` `requests` times, one after another;
    an answer other than 200 (with `poses` poses, when given) is an error. Pass `load`
    to watch it fill from another thread."""
    assert url.startswith("http://127.0.0.1:"), "load goes to the loopback address only"
    load = Load() if load is None else load

    async def client(http: httpx2.AsyncClient) -> None:
        for _ in range(requests):
            started = time.perf_counter()
            try:
                answer = await http.post(
                    f"{url}/v1/poses", content=image, headers={"content-type": "image/jpeg"}
                )
            except httpx2.HTTPError as exc:
                load.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            load.latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                load.errors.append(f"{answer.status_code}: {answer.text[:200]}")
            elif poses is not None and len(answer.json()["poses"]) != poses:
                load.errors.append(f"{len(answer.json()['poses'])} poses, expected {poses}")

    async def run() -> None:
        limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx2.AsyncClient(timeout=120, limits=limits) as http:
            await asyncio.gather(*(client(http) for _ in range(clients)))

    started = time.perf_counter()
    asyncio.run(run())
    load.seconds = time.perf_counter() - started
    return load
