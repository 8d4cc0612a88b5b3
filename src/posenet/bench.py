"""Speed measurement: where the time of one estimate goes, on this machine.

PoseNet is chosen for speed, so users need figures from their own hardware,
not from ours: a latency breakdown (model load, the first call, then
preprocess / invoke / decode / total over repeated calls, as median and 90th
percentile), frames per second and peak memory, together with what produced
them (CPU model, core count, Python, LiteRT, numpy and numba versions).
Figures from different machines, or different runs on a shared machine, are
not comparable; ratios measured in one run are.

The first call is reported apart because it pays one-off costs (numba
compilation or loading its cache, XNNPACK weight packing) that a video stream
pays once. Peak memory is measured twice: the process's peak resident set
(everything, LiteRT included) and, in one extra untimed call, the Python heap
peak from tracemalloc (numpy arrays included, LiteRT's own buffers not) —
tracemalloc slows Python code down, so no timed call runs under it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import PosenetError
from .image import DEFAULT_FIT, DEFAULT_RESAMPLE

#: The per-call stages measured, in the order they run (total is their sum).
STAGES: tuple[str, ...] = ("preprocess", "invoke", "decode", "total")
#: Size (width, height) of the stand-in image used when none is given: a VGA camera frame.
SYNTHETIC_SIZE = (640, 480)


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile (linear interpolation) of repeated timings, in seconds."""

    median: float
    p90: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Spread:
        if not seconds:
            raise ValueError("no timings")
        values = np.asarray(seconds, np.float64)
        return cls(float(np.median(values)), float(np.percentile(values, 90)))


@dataclass(frozen=True)
class Machine:
    """What the figures were measured on."""

    cpu: str
    cores: int  # CPUs this process may run on
    system: str
    python: str
    litert: str
    numpy: str
    numba: str | None  # None: decoders run as plain Python (no `fast` extra)
    posenet: str


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: configuration, image, timings (seconds), memory (bytes), machine."""

    model: str
    decoder: str
    input_size: tuple[int, int]  # (height, width) of the network input
    options: dict[str, Any]  # the other Estimator options given (threads, fit, ...)
    image: str
    image_size: tuple[int, int]  # (width, height)
    poses: int  # poses found in the image (decode time depends on it)
    runs: int
    warmup: int
    load: float  # building the estimator: read (or build) the model, LiteRT setup
    first: float  # the first estimate call, one-off costs included
    stages: dict[str, Spread]
    peak_rss: int  # process peak resident set size so far, bytes
    python_peak: int  # tracemalloc peak over one estimate call, bytes
    machine: Machine

    @property
    def fps(self) -> float:
        """Frames per second one estimator sustains: 1 / median total."""
        return 1.0 / self.stages["total"].median

    def to_dict(self) -> dict[str, Any]:
        """JSON form: times in milliseconds, memory in bytes, keys saying which."""

        def ms(seconds: float) -> float:
            return round(seconds * 1000, 4)

        return {
            "model": self.model,
            "decoder": self.decoder,
            "input_size": list(self.input_size),
            "options": dict(self.options),
            "image": self.image,
            "image_size": list(self.image_size),
            "poses": self.poses,
            "runs": self.runs,
            "warmup": self.warmup,
            "load_ms": ms(self.load),
            "first_ms": ms(self.first),
            "stages_ms": {
                name: {"median": ms(s.median), "p90": ms(s.p90)} for name, s in self.stages.items()
            },
            "fps": round(self.fps, 3),
            "peak_rss_bytes": self.peak_rss,
            "python_peak_bytes": self.python_peak,
            "machine": asdict(self.machine),
        }


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo when there is one, else what `platform` knows."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for key in ("model name", "Hardware", "Model", "cpu model", "Processor"):
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key and value.strip():
                return " ".join(value.split())
    return platform.processor() or platform.machine() or "unknown"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> Machine:
    """Describe this machine and the software the figures depend on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return Machine(
        cpu=cpu_name(),
        cores=cores,
        system=platform.platform(terse=True),
        python=platform.python_version(),
        litert=_version("ai-edge-litert") or "unknown",
        numpy=np.__version__,
        numba=_version("numba") if importlib.util.find_spec("numba") else None,
        posenet=__version__,
    )


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS: bytes; Linux: KiB


def synthetic_image(size: tuple[int, int] = SYNTHETIC_SIZE) -> np.ndarray:
    """A uniform mid-gray uint8[H, W, 3] frame: no people, so decoding finds (nearly) nothing.

    Network and preprocessing cost the same on any content; decode time from
    this image is a lower bound. Benchmarks meant for users should pass a photo.
    """
    width, height = size
    return np.full((height, width, 3), 128, np.uint8)


def benchmark(
    model: str | Path | None = None,
    *,
    image: np.ndarray | None = None,
    image_name: str | None = None,
    runs: int = 20,
    warmup: int = 3,
    **options: Any,
) -> Benchmark:
    """Build an Estimator(model, **options) and time it on `image`.

    The model is fetched into the store first, so `load` times reading and
    preparing it, never a download. Then one first call, `warmup` more untimed
    calls, `runs` timed calls (the estimator's own per-stage timings), and one
    call under tracemalloc.
    """
    from .estimator import Estimator, EstimatorSettings
    from .model import resolve

    if runs < 1:
        raise PosenetError(f"runs must be at least 1, got {runs}")
    if warmup < 0:
        raise PosenetError(f"warmup must be 0 or more, got {warmup}")
    if image is None:
        image, image_name = synthetic_image(), image_name or "synthetic gray frame"
    # download / verify now, outside the timing
    resolve(EstimatorSettings(model, **options).resolved()["model"])
    started = time.perf_counter()
    estimator = Estimator(model, **options)
    loaded = time.perf_counter()
    result = estimator.estimate(image)
    first = time.perf_counter() - loaded
    for _ in range(warmup):
        estimator.estimate(image)
    samples: dict[str, list[float]] = {name: [] for name in STAGES}
    for _ in range(runs):
        timings = estimator.estimate(image).timings
        for name in STAGES:
            samples[name].append(getattr(timings, name))
    python_peak = _traced_peak(lambda: estimator.estimate(image))
    return Benchmark(
        model=result.model,
        decoder=result.decoder,
        input_size=result.input_size,
        options={k: v for k, v in options.items() if k != "decoder" and v is not None},
        image=image_name or "image",
        image_size=(result.width, result.height),
        poses=len(result.poses),
        runs=runs,
        warmup=warmup,
        load=loaded - started,
        first=first,
        stages={name: Spread.of(values) for name, values in samples.items()},
        peak_rss=peak_rss_bytes(),
        python_peak=python_peak,
        machine=machine(),
    )


def _traced_peak(call) -> int:
    """Peak bytes tracemalloc sees allocated during `call()` (0 if something else traces)."""
    if tracemalloc.is_tracing():  # somebody else is tracing: do not disturb their figures
        return 0
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def format_report(bench: Benchmark) -> str:
    """A human-readable report that says which machine and software the figures belong to."""
    m = bench.machine
    h, w = bench.input_size
    options = _describe_options(bench.options)
    numba = f"numba {m.numba}" if m.numba else "no numba (plain-Python decoders)"

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:9.2f} ms"

    lines = [
        "Figures for this machine only; compare ratios from one run, not across machines.",
        f"  cpu      {m.cpu} ({m.cores} usable core{'s' if m.cores != 1 else ''})",
        f"  system   {m.system}, Python {m.python}, LiteRT {m.litert}, numpy {m.numpy}, {numba}",
        f"  model    {bench.model}, input {h}x{w}, decoder {bench.decoder}, {options}",
        f"  image    {bench.image} {bench.image_size[0]}x{bench.image_size[1]}, "
        f"{bench.poses} pose{'s' if bench.poses != 1 else ''} found",
        f"  runs     {bench.runs} timed, after {bench.warmup} warm-up",
        "",
        f"{'stage':<12}{'median':>12}{'p90':>12}",
        f"{'load':<12}{ms(bench.load)}{'':>12}  once: read or build the model, LiteRT setup",
        f"{'first call':<12}{ms(bench.first)}{'':>12}  once: compilation, weight packing",
    ]
    for name in STAGES:
        spread = bench.stages[name]
        lines.append(f"{name:<12}{ms(spread.median)}{ms(spread.p90)}")
    lines += [
        f"{'fps':<12}{bench.fps:12.1f}{'':>12}  1 / median total",
        f"{'memory':<12}{bench.peak_rss / 2**20:9.1f} MB{'':>12}  peak resident set of the process",
        f"{'':<12}{bench.python_peak / 2**20:9.1f} MB{'':>12}  Python heap peak in one call "
        "(tracemalloc)",
    ]
    return "\n".join(lines)


def _describe_options(options: dict[str, Any]) -> str:
    """The estimator options that change the figures, briefly (threads always shown)."""
    threads = options.get("threads")
    parts = [f"threads {threads if threads is not None else 'LiteRT default'}"]
    if options.get("like"):
        parts.append(f"like {options['like']}")
    if "fit" in options or "resample" in options:
        fit = options.get("fit", DEFAULT_FIT)
        parts.append(f"fit {fit}/{options.get('resample', DEFAULT_RESAMPLE)}")
    if options.get("decoder_options"):
        parts += [f"{k} {v}" for k, v in options["decoder_options"].items()]
    if options.get("flip_horizontal"):
        parts.append("flipped")
    return ", ".join(parts)


__all__ = [
    "STAGES",
    "Benchmark",
    "Machine",
    "Spread",
    "benchmark",
    "cpu_name",
    "format_report",
    "machine",
    "peak_rss_bytes",
    "synthetic_image",
]
