"""Poses for whole datasets as Parquet: `posenet batch`, on Ray Data or in this process.

Ray Data already reads files from local disks and object stores, schedules work
over a cluster, restarts dead workers, retries their tasks and streams blocks so
that no process ever holds the dataset. This package adds only what is ours
(`core`, imported by both paths; `ray_pipeline`, imported only to run on Ray):

- the sources: a folder, a glob, or a .txt/.parquet list of paths or URIs;
- `PoseBatch`, the callable Ray runs as an actor pool (`map_batches`): it builds
  its estimator once from the settings and turns a batch of (path, bytes) into rows;
- the row schema: one row per pose, one row without a pose for an image with no
  person (so every finished input is in the output), one row with `error` for an
  input that could not be read;
- `ParquetBlocks`, which writes each block atomically under a name derived from
  the sources in it, so that a retried block replaces itself instead of doubling,
  and `--resume` can tell which inputs are done by reading one column.

Without Ray the same pieces run in a loop in this process (`run_local`); with Ray
`ray_pipeline` wires them into a Ray Data pipeline. Both need pyarrow.
"""

from __future__ import annotations

from .core import (
    BATCH_SIZE,
    KEYPOINT_COLUMNS,
    ParquetBlocks,
    Plan,
    PoseBatch,
    Rows,
    Summary,
    VideoBatch,
    find_sources,
    plan,
    require_pyarrow,
    run_local,
    schema,
    summarize,
)

__all__ = [
    "BATCH_SIZE",
    "KEYPOINT_COLUMNS",
    "ParquetBlocks",
    "Plan",
    "PoseBatch",
    "Rows",
    "Summary",
    "VideoBatch",
    "connect",
    "find_sources",
    "plan",
    "ray_installed",
    "require_pyarrow",
    "run_local",
    "run_on_ray",
    "schema",
    "summarize",
]


def ray_installed() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def connect(address: str = "auto") -> None:
    """Join a Ray cluster (`address`: auto, local, HOST:PORT or ray://HOST:PORT; a
    session already open in this process is used as it is). PosenetError at once
    when nothing answers at an address."""
    from . import ray_pipeline

    ray_pipeline.connect(address)


def run_on_ray(job: Plan, address: str = "auto", workers: int | None = None) -> None:
    """The job on a Ray cluster (connected as `connect` does), with `workers`
    estimator actors (default: one per `threads` CPUs of the cluster)."""
    from . import ray_pipeline

    ray_pipeline.connect(address)
    ray_pipeline.run_ray(job, workers)
