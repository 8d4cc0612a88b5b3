"""What checking a model before LiteRT sees it costs (issue #13), next to what loading costs.

Per model, interleaved round by round so that machine noise hits every figure alike:

- parse: the flatbuffer read with the schema's object API (`read_model`);
- checks: `validate.problems` on the parsed model;
- trial: the one-time run in a child process that models with operators outside
  `validate.OPS` pay (once per file; the Coral and built models never do);
- runtime: building the LiteRT interpreter and allocating it (`Runtime`, which
  includes parse and checks), and one invoke, for scale.

Medians of one run on this machine (shared and noisy): read the ratios.

    .venv/bin/python benchmarks/bench_validate.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

from posenet import store  # noqa: E402  (after the mirror is set)
from posenet.model import load  # noqa: E402
from posenet.runtime import Runtime  # noqa: E402
from posenet.tflite import validate  # noqa: E402
from posenet.tflite.flatbuffer import read_model  # noqa: E402


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _estimator_times(name: str, rounds: int) -> tuple[float, float]:
    """Median ms to build Estimator(name), with the checks and with them switched off."""
    from posenet import model as model_module
    from posenet.estimator import Estimator

    real = (validate.check_runnable, model_module.check_runnable, model_module.validate)
    # checked: a new process (nothing remembered) loading from a warm build cache
    checked, unchecked = [], []
    Estimator(name, threads=1)  # warm: numba's kernels, the model cache
    for _ in range(rounds):
        validate._PASSED.clear()  # as in a new process
        checked.append(_seconds(lambda: Estimator(name, threads=1)))
        skip = lambda *args, **kwargs: None  # noqa: E731
        validate.check_runnable = model_module.check_runnable = model_module.validate = skip
        try:
            unchecked.append(_seconds(lambda: Estimator(name, threads=1)))
        finally:
            validate.check_runnable, model_module.check_runnable, model_module.validate = real
    return statistics.median(checked) * 1000, statistics.median(unchecked) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    models = {name: load(name).tflite for name in ("coral-075-353x481", "tfjs-075")}
    stages = ("parse", "checks", "trial", "runtime", "invoke")
    times: dict[str, dict[str, list[float]]] = {m: {s: [] for s in stages} for m in models}
    with tempfile.TemporaryDirectory() as home:
        os.environ["POSENET_HOME"] = home  # trial runs are remembered: start from none
        for round_ in range(args.rounds):
            for name, data in models.items():
                model = read_model(data)
                runtime = Runtime(data, threads=1)
                image = np.zeros((*runtime.input_size, 3), np.uint8)
                runtime.invoke(image)  # XNNPACK packs its weights on the first call
                stamp = data + round_.to_bytes(4, "little")  # a new sha256: a trial each round
                spent = times[name]
                spent["parse"].append(_seconds(lambda data=data: read_model(data)))
                size = len(data)
                spent["checks"].append(_seconds(lambda m=model, n=size: validate.problems(m, n)))
                spent["trial"].append(_seconds(lambda s=stamp: validate.trial_run(s)))
                validate._PASSED.clear()  # Runtime checks bytes once per process
                spent["runtime"].append(_seconds(lambda data=data: Runtime(data, threads=1)))
                spent["invoke"].append(_seconds(lambda r=runtime, i=image: r.invoke(i)))
    print(f"{'model':<20}" + "".join(f"{s:>10}" for s in stages) + "   checks/runtime")
    for name, spent in times.items():
        ms = {s: statistics.median(v) * 1000 for s, v in spent.items()}
        row = "".join(f"{ms[s]:>8.1f}ms" for s in stages)
        ratio = (ms["parse"] + ms["checks"]) / ms["runtime"]
        print(f"{name:<20}{row}   {ratio:.2f}")
    print("\nEstimator(model) from a warm cache, with and without the checks (interleaved):")
    for name in models:
        checked, unchecked = _estimator_times(name, args.rounds)
        print(
            f"{name:<20} checked {checked:7.1f} ms   unchecked {unchecked:7.1f} ms   "
            f"ratio {checked / unchecked:.3f}"
        )
    print(
        f"\n{args.rounds} rounds, medians; trial = one child process run "
        f"(paid once per file, only by files with ops outside validate.OPS); "
        f"default model: {store.DEFAULT_MODEL}"
    )


if __name__ == "__main__":
    main()
