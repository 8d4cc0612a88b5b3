"""`posenet batch`: poses for a whole dataset as Parquet, on a Ray cluster or in this process."""

from __future__ import annotations

import argparse
import sys

from .. import PosenetError
from .detect import add_model_options, estimator_from_args, positive_int

RAY_MODES = "auto|local|none|ADDRESS"
MISSING_RAY = "--ray {mode} needs Ray: pip install 'posenet-toolkit[batch]'"


def register(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch",
        help="poses for a dataset (folder, glob, .txt/.parquet list) as Parquet, on Ray",
        description="One Parquet row per pose (keypoints as columns; video frames with "
        "their frame, time and track ID), one row per image or frame without a person, "
        "one row with the reason per file that could not be read.",
    )
    batch.add_argument(
        "input",
        metavar="INPUT",
        help="folder (recursive), image, video, glob, or .txt/.parquet list of them",
    )
    batch.add_argument(
        "--output", "-o", required=True, metavar="OUT", help="folder of the Parquet dataset"
    )
    batch.add_argument(
        "--ray",
        default="auto",
        metavar=RAY_MODES,
        help="auto (default): a running cluster, else a local one, else this process "
        "when Ray is not installed; local: a new local cluster; none: this process; "
        "or a cluster address (HOST:6379, ray://HOST:10001)",
    )
    batch.add_argument(
        "--workers", type=positive_int, metavar="N", help="estimator actors (default: one per CPU)"
    )
    batch.add_argument(
        "--every",
        type=positive_int,
        default=1,
        metavar="K",
        help="videos: estimate every Kth frame (default 1: every frame)",
    )
    batch.add_argument(
        "--resume", action="store_true", help="continue OUT: skip the inputs it already holds"
    )
    add_model_options(batch)
    batch.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import batch
    from .progress import progress_bar

    batch.require_pyarrow()
    use_ray = _use_ray(args.ray, batch.ray_installed())
    if use_ray:  # before OUT is touched: a cluster that is not there costs nothing
        batch.connect(args.ray)
    estimator = estimator_from_args(args)
    job = batch.plan(args.input, args.output, estimator, args.resume, args.every)
    if job.skipped:
        print(f"posenet: {job.skipped} input(s) already in {args.output}", file=sys.stderr)
    if use_ray:
        batch.run_on_ray(job, args.ray, args.workers)
    else:
        if args.workers not in (None, 1):
            print("posenet: --workers needs Ray; running in this process", file=sys.stderr)
        batch.run_local(job, estimator, progress_bar("batch", "inputs"))
    summary = batch.summarize(job.output)
    print(
        f"{args.output}: {summary.inputs} input(s), {summary.poses} pose(s), "
        f"{summary.errors} error(s)"
    )
    return 0


def _use_ray(mode: str, installed: bool) -> bool:
    """Whether the job runs on Ray; `auto` without Ray installed runs here."""
    if not mode.strip():
        raise PosenetError(f"--ray: expected {RAY_MODES}")
    if mode == "none":
        return False
    if not installed:
        if mode != "auto":
            raise PosenetError(MISSING_RAY.format(mode=mode))
        print(
            "posenet: Ray is not installed; running in this process "
            "(pip install 'posenet-toolkit[batch]' to spread the job)",
            file=sys.stderr,
        )
        return False
    return True
