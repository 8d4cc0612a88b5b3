"""Worker threads behind a bounded queue: the event loop hands work off and stays free.

The network and image decoding run in `workers` threads; at most `queue` more
jobs wait. Past that a request is refused at once (503 with Retry-After, from
the measured time per job) instead of waiting behind work it cannot overtake.
Each job carries its request's deadline: a job still waiting when it passes is
dropped without running, a job still running is left to finish and its answer
discarded (a thread cannot be stopped), and the request gets 504.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from .errors import ServiceError

T = TypeVar("T")


class WorkerPool:
    """`workers` threads and room for `queue` waiting jobs."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="posenet-worker")
        self._lock = threading.Lock()
        self._admitted = 0  # waiting or running
        self._seconds_per_job = 0.1  # moving average, for Retry-After
        self.completed = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    async def run(self, job: Callable[[], T], deadline: float, timeout: float) -> tuple[T, float]:
        """(job's result, seconds it waited for a thread), or ServiceError 503 / 504.

        deadline: time.monotonic() by which the answer is due; timeout is only named
        in the message."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise ServiceError(
                    503,
                    f"the server is busy ({self._admitted} requests in progress); "
                    "try again shortly",
                    {"Retry-After": str(self.retry_after())},
                )
            self._admitted += 1
        submitted = time.monotonic()
        future: Future = self._executor.submit(self._timed, job, submitted, deadline)
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), deadline - submitted)
        except TimeoutError:
            raise ServiceError(
                504, f"no answer within the request timeout of {timeout:g} s"
            ) from None

    def _timed(self, job: Callable[[], T], submitted: float, deadline: float) -> tuple[T, float]:
        started = time.monotonic()
        if started > deadline:  # its request has already been answered 504
            raise TimeoutError
        result = job()
        seconds = time.monotonic() - started
        with self._lock:
            self._seconds_per_job += 0.1 * (seconds - self._seconds_per_job)
        return result, started - submitted

    def _release(self, _: Future) -> None:
        with self._lock:
            self._admitted -= 1
            self.completed += 1

    def retry_after(self) -> int:
        """Whole seconds until the jobs admitted now should be done."""
        return max(1, math.ceil(self._admitted * self._seconds_per_job / self.workers))

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
