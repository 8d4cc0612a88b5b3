"""A seeded sample of the fuzz run (tests/fuzzing.py) in CI: mutated TFLite, TF.js and .pb
models and damaged images through the CLI, each case a child process with a time limit and
2 GB of address space. No signal, no hang, exit 0 or 2 with one line, inputs unchanged.

The cases are the first of the long run's (`scripts/fuzz`), which runs 1,000 per format.
The sample runs in its own process: the fuzzer forks, and pytest's process has threads.
"""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT
from .fuzzing import COLUMNS, FORMATS

#: Cases per format in CI: about 70 s in all (warm-up included) on a shared 2-core machine.
SAMPLE = 35


def test_fuzz_sample():
    run = subprocess.run(
        [sys.executable, "-m", "tests.fuzzing", "--cases", str(SAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    table = run.stdout[run.stdout.rindex("seed ") :]
    for fmt in FORMATS:
        row = next(line for line in table.splitlines() if line.startswith(f"| {fmt} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        counts = dict(zip(["format", *COLUMNS], cells, strict=True))
        assert int(counts["cases"]) == SAMPLE, row
        for column in ("signals", "hangs", "exit-1s", "stderr", "changed inputs"):
            assert counts[column] == "0", row
