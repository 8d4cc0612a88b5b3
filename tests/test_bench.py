"""Benchmark figures: shape and sanity (never speed: the machines are shared and noisy)."""

from __future__ import annotations

import json
import platform
import tracemalloc

import numpy as np
import pytest

from posenet import bench
from posenet.cli import main
from posenet.errors import PosenetError
from posenet.image import load_image

from .conftest import IMAGES, MODELS

COUPLE = IMAGES / "test_couple.jpg"


def test_spread_is_median_and_linear_p90() -> None:
    spread = bench.Spread.of([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])
    assert spread.median == 5.5
    assert spread.p90 == pytest.approx(9.1)  # between the 9th and 10th of 10 values
    assert bench.Spread.of([0.25]) == bench.Spread(0.25, 0.25)
    with pytest.raises(ValueError):
        bench.Spread.of([])


def test_machine_names_cpu_and_software() -> None:
    machine = bench.machine()
    assert machine.cpu and machine.cpu != "unknown"
    assert machine.cores >= 1
    assert machine.python == platform.python_version()
    assert machine.litert[0].isdigit()
    assert machine.numpy == np.__version__


def test_synthetic_image_is_a_gray_vga_frame() -> None:
    image = bench.synthetic_image()
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8
    assert np.all(image == 128)


@pytest.fixture(scope="module")
def couple_bench(tmp_path_factory: pytest.TempPathFactory) -> bench.Benchmark:
    """One small benchmark shared by the tests that read it (module scope runs before
    conftest's per-test store isolation, so it sets the same store itself)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POSENET_HOME", str(tmp_path_factory.getbasetemp() / "posenet-home"))
        env.setenv("POSENET_MIRROR", str(MODELS))
        return bench.benchmark(
            image=load_image(COUPLE), image_name="test_couple.jpg", runs=3, warmup=1, threads=1
        )


def check_sane(stages: dict[str, tuple[float, float]]) -> None:
    """(median, p90) per stage: positive, p90 >= median, total >= each stage it sums."""
    assert set(stages) == set(bench.STAGES)
    for name, (median, p90) in stages.items():
        assert median > 0, name
        assert p90 >= median, name
    # total = preprocess + invoke + decode call by call, so its order statistics
    # dominate each stage's: median and p90 of total are at least those of invoke.
    for name in ("preprocess", "invoke", "decode"):
        assert stages["total"][0] >= stages[name][0]
        assert stages["total"][1] >= stages[name][1]


def test_benchmark_figures_are_sane(couple_bench: bench.Benchmark) -> None:
    b = couple_bench
    assert (b.model, b.decoder, b.input_size) == ("coral-075-353x481", "coral", (353, 481))
    assert b.options == {"threads": 1}
    assert (b.image, b.image_size, b.runs, b.warmup) == ("test_couple.jpg", (1920, 1278), 3, 1)
    assert b.poses >= 1
    check_sane({name: (s.median, s.p90) for name, s in b.stages.items()})
    assert b.load > 0 and b.first > 0
    assert b.fps == pytest.approx(1 / b.stages["total"].median)
    assert b.peak_rss > 10 * 2**20  # numpy + LiteRT + a model are resident
    assert b.python_peak > 0
    assert not tracemalloc.is_tracing()


def test_benchmark_json_form(couple_bench: bench.Benchmark) -> None:
    data = json.loads(json.dumps(couple_bench.to_dict()))
    check_sane({k: (v["median"], v["p90"]) for k, v in data["stages_ms"].items()})
    assert data["stages_ms"]["invoke"]["median"] == pytest.approx(
        couple_bench.stages["invoke"].median * 1000, abs=1e-3
    )
    assert data["fps"] > 0 and data["load_ms"] > 0 and data["first_ms"] > 0
    assert data["input_size"] == [353, 481] and data["image_size"] == [1920, 1278]
    assert set(data["machine"]) == {
        "cpu",
        "cores",
        "system",
        "python",
        "litert",
        "numpy",
        "numba",
        "posenet",
    }


def test_report_says_whose_figures_they_are(couple_bench: bench.Benchmark) -> None:
    text = bench.format_report(couple_bench)
    machine = couple_bench.machine
    assert "this machine" in text.splitlines()[0]
    for fact in (machine.cpu, f"Python {machine.python}", f"LiteRT {machine.litert}", "threads 1"):
        assert fact in text
    rows = {line.split()[0] for line in text.splitlines() if line and not line.startswith(" ")}
    assert {"load", "first", *bench.STAGES, "fps", "memory"} <= rows


def test_benchmark_refuses_nonsense_counts() -> None:
    with pytest.raises(PosenetError, match="runs must be at least 1"):
        bench.benchmark(runs=0)
    with pytest.raises(PosenetError, match="warmup"):
        bench.benchmark(runs=1, warmup=-1)


def test_python_peak_leaves_other_tracers_alone() -> None:
    tracemalloc.start()
    try:
        assert bench._traced_peak(lambda: bytearray(1 << 20)) == 0
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()
    assert bench._traced_peak(lambda: bytearray(1 << 20)) >= 1 << 20


# --- the command --------------------------------------------------------------------------


def test_cli_text(capsys: pytest.CaptureFixture) -> None:
    assert main(["bench", "--runs", "2", "--warmup", "0", "--image", str(COUPLE)]) == 0
    out = capsys.readouterr().out
    assert "this machine" in out and "LiteRT" in out and "Python" in out
    medians = {}
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] in bench.STAGES:
            medians[fields[0]] = float(fields[1])
            assert fields[2] == "ms" and float(fields[3]) >= float(fields[1])
    assert set(medians) == set(bench.STAGES)
    assert medians["total"] >= medians["invoke"] > 0


def test_cli_json_with_size_decoder_and_threads(capsys: pytest.CaptureFixture) -> None:
    argv = ["bench", "--runs", "2", "--warmup", "0", "--json"]
    argv += ["--size", "257x257", "--decoder", "tfjs", "--threads", "1"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_size"] == [257, 257] and data["decoder"] == "tfjs"
    assert data["options"]["threads"] == 1
    assert data["image"] == "synthetic gray frame" and data["image_size"] == [640, 480]
    assert data["runs"] == 2
    check_sane({k: (v["median"], v["p90"]) for k, v in data["stages_ms"].items()})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--size", "7x9"], "smaller than the output stride"),
        (["--size", "big"], "expected HxW"),
        (["--runs", "0"], "runs must be at least 1"),
        (["--image", "/nonexistent.jpg"], "no such file"),
    ],
)
def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture, argv, message: str) -> None:
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_compare_script_writes_a_dated_markdown_table(tmp_path, capsys) -> None:
    import datetime
    import importlib.util

    from .conftest import ROOT

    spec = importlib.util.spec_from_file_location("compare", ROOT / "benchmarks" / "compare.py")
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    out = tmp_path / "table.md"
    argv = ["--runs", "1", "--warmup", "0", "--image", str(COUPLE), "--out", str(out)]
    argv += ["--models", "coral-075-353x481", "no-such-model", "--decoders", "coral", "single"]
    assert compare.main(argv) == 0
    text = out.read_text()
    assert capsys.readouterr().out == text
    assert datetime.date.today().isoformat() in text and bench.machine().cpu in text
    rows = [line for line in text.splitlines() if line.startswith("| coral-075-353x481 ")]
    assert [row.split(" | ")[2] for row in rows] == ["coral", "single"]
    assert all(len(row.split("|")) == len(text.splitlines()[4].split("|")) for row in rows)
    assert "Skipped no-such-model: unknown model" in text
    out.write_text("from an earlier run")
    assert compare.main(argv) == 0  # replaced
    assert "Skipped no-such-model" in out.read_text()
    image = tmp_path / "image.jpg"
    image.write_bytes(COUPLE.read_bytes())
    with pytest.raises(SystemExit):  # never the image it times
        compare.main(["--image", str(image), "--out", str(image)])
    assert image.read_bytes() == COUPLE.read_bytes()
