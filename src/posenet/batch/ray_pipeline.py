"""The batch job on Ray Data: read_binary_files -> PoseBatch actor pool -> ParquetBlocks.

Imported only when a job runs on Ray, so that posenet works without it. Ray does
the reading (local disks and object stores), the scheduling, the restarts of dead
actors with the retry of their batches, the streaming of blocks and the progress
bars; this module only says what to run where.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import ray
import ray.data
from ray.data import ActorPoolStrategy
from ray.data.block import Block, BlockAccessor
from ray.data.datasource import Datasink

from ..errors import PosenetError
from .core import (
    BATCH_SIZE,
    ParquetBlocks,
    Plan,
    PoseBatch,
    VideoBatch,
    is_uri,
    missing_rows,
)

log = logging.getLogger(__name__)


def connect(address: str) -> None:
    """Join the Ray cluster `address` names: `auto` (RAY_ADDRESS, else a cluster
    `ray start` left on this machine, else a new local one), `local` (always a new
    local one) or an address (`HOST:6379`, `ray://HOST:10001`). A session already
    open in this process (a notebook, the tests) is used as it is."""
    if ray.is_initialized():
        return
    if address not in ("auto", "local"):
        _probe(address)
    try:
        ray.init(address=None if address == "auto" else address, logging_level=logging.WARNING)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise PosenetError(f"--ray {address}: cannot connect ({exc})") from None


def _probe(address: str, timeout: float = 5.0) -> None:
    """PosenetError unless something listens at `address` (HOST:PORT or
    ray://HOST:PORT): Ray itself keeps retrying a dead address for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise PosenetError(f"--ray {address}: expected auto, local, none or HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise PosenetError(
            f"--ray {address}: no Ray cluster answers there ({exc.strerror or exc})"
        ) from None


class _BlocksSink(Datasink[list[str]]):
    """Ray's write side: every write task writes its blocks as one atomic file."""

    def __init__(self, blocks: ParquetBlocks) -> None:
        self.blocks = blocks

    def write(self, blocks: Iterable[Block], ctx: Any) -> list[str]:
        tables = [BlockAccessor.for_block(b).to_arrow() for b in blocks]
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return []
        name = self.blocks.write(pa.concat_tables(tables))
        return [name] if name else []

    def get_name(self) -> str:
        return "ParquetBlocks"


def source_prefix(sources: list[str]) -> str:
    """What to put back before the paths Ray reports: it drops the scheme of URIs
    (`s3://bucket/key` comes back as `bucket/key`). One job reads one filesystem."""
    schemes = {s.split("://", 1)[0] if is_uri(s) else "" for s in sources}
    if len(schemes) > 1:
        raise PosenetError(
            f"the inputs mix file systems ({', '.join(sorted(s or 'local' for s in schemes))}); "
            "run one job per file system"
        )
    scheme = schemes.pop() if schemes else ""
    return f"{scheme}://" if scheme else ""


def run_ray(job: Plan, workers: int | None) -> None:
    """Run the job on the connected cluster with `workers` actors (default: one per
    `threads` CPUs of the cluster), each using `threads` CPUs for the network:
    the images, then the videos, each a Ray Data pipeline with its own actor pool."""
    job.output.write(missing_rows(job.missing))
    cpus = job.settings.threads or 1
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
    # An actor runs the network on the CPUs it reserved: LiteRT's own choice (every
    # core) would make the actors of a node fight over the same cores.
    settings = job.settings.replace(threads=cpus)
    # Reading and writing files wait on I/O: asking no CPU for them leaves every core
    # to the actors, which would otherwise hold all of them and starve the reads. A
    # task without CPUs is not limited by cores, so their number is capped instead
    # (each concurrent task is a Ray worker process).
    io_tasks = max(1, workers // 4)
    sink = _BlocksSink(job.output)
    if job.todo:
        # Read blocks are map batches: a block of BATCH_SIZE files becomes one actor
        # call and one output file. A small job gets smaller batches so that every
        # actor works.
        batch_size = min(BATCH_SIZE, -(-len(job.todo) // (2 * workers)))
        files = ray.data.read_binary_files(
            job.todo,
            include_paths=True,
            num_cpus=0,
            concurrency=io_tasks,
            override_num_blocks=-(-len(job.todo) // batch_size),
        )
        poses = files.map_batches(
            PoseBatch,
            fn_constructor_kwargs={"settings": settings, "source_prefix": source_prefix(job.todo)},
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=workers),
            num_cpus=cpus,
        )
        poses.write_datasink(sink, ray_remote_args={"num_cpus": 0}, concurrency=io_tasks)
    if job.videos:
        # One video per call: its frames must reach one tracker in order. The actor
        # opens it by path (PyAV streams it), so only paths travel through Ray.
        paths = ray.data.from_items(
            [{"path": video} for video in job.videos], override_num_blocks=len(job.videos)
        )
        frames = paths.map_batches(
            VideoBatch,
            fn_constructor_kwargs={"settings": settings, "every": job.every},
            batch_size=1,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=min(workers, len(job.videos))),
            num_cpus=cpus,
        )
        frames.write_datasink(sink, ray_remote_args={"num_cpus": 0}, concurrency=io_tasks)
