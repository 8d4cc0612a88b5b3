"""A seeded sample of the fuzz run (tests/fuzzing.py) in CI: mutated TFLite, TF.js and .pb
models and damaged images through the CLI, each case a child process with a time limit and
2 GB of address space. No signal, no hang, exit 0 or 2 with one line, inputs unchanged.

The cases are the first of the long run's (`scripts/fuzz`), which runs 1,000 per format.
The sample runs in its own process: the fuzzer forks, and pytest's process has threads.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT
from .fuzzing import COLUMNS, FORMATS

#: Cases per format in CI: about 90 s in all on a 2-core machine.
SAMPLE = {"tflite": 40, "tfjs": 40, "pb": 25, "image": 40}


@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_sample(fmt: str):
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzzing", "--format", fmt, "--cases", str(SAMPLE[fmt])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    row = next(line for line in run.stdout.splitlines() if line.startswith(f"| {fmt} |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    counts = dict(zip(["format", *COLUMNS], cells, strict=True))
    assert int(counts["cases"]) == SAMPLE[fmt]
    for column in ("signals", "hangs", "exit-1s", "stderr", "changed inputs"):
        assert counts[column] == "0", row
