"""posenet export to TFLite: float16 and full-integer int8 / uint8, the calibrator wrapper, the CLI.

Acceptance, on test_couple at 353x481 for the TF.js float model and the Coral
353x481 model: every float16 keypoint within 0.5 px of the float32 build's; int8 and
uint8 find both people with a mean keypoint distance to float32 <= 3 px.
Distances are in model-input pixels, both decoders.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from posenet.cli import main
from posenet.decode import decode
from posenet.errors import PosenetError
from posenet.export import FORMATS, QUANTIZATIONS, export, output_files
from posenet.export.quantize import quantize_full_integer
from posenet.export.verify import (
    PERSON_SCORE,
    Check,
    check,
    head_errors,
    person_distances,
)
from posenet.formats import read_network
from posenet.image import fit, load_image
from posenet.model import resolve
from posenet.poses import Pose
from posenet.runtime import Runtime
from posenet.tflite.build import build_tflite
from posenet.tflite.flatbuffer import op_name, read_model

from .conftest import IMAGES, MODELS, coral_model
from .tiny_network import tiny_network

SIZE = (353, 481)
COUPLE = IMAGES / "test_couple.jpg"
SOURCES = {"tfjs-075": "tfjs-075", "coral-353x481": str(coral_model("353_481"))}
DECODERS = ("coral", "tfjs")


@cache
def couple_input(height: int, width: int) -> np.ndarray:
    return fit(load_image(COUPLE), (height, width), "stretch").pixels


@cache
def float_heads(source: str):
    network = read_network(resolve(source)[1])
    return Runtime(build_tflite(network, SIZE, 16), threads=1).run(couple_input(*SIZE))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """export() of both sources in every quantization, once per module: {(source, q): result}."""
    base = tmp_path_factory.getbasetemp()
    results = {}
    with pytest.MonkeyPatch.context() as patch:  # the autouse store fixture is per test
        patch.setenv("POSENET_HOME", str(base / "posenet-home"))
        patch.setenv("POSENET_MIRROR", str(IMAGES.parent / "models"))
        (base / "export").mkdir(exist_ok=True)
        for key, source in SOURCES.items():
            for quantize in ("float16", "int8", "uint8"):
                out = base / "export" / f"{key}-{quantize}.tflite"
                results[key, quantize] = export(
                    source,
                    out,
                    quantize=quantize,
                    calibration=IMAGES,
                    check_image=COUPLE,
                )
    return results


def exported_heads(result):
    runtime = Runtime(result.files[0].read_bytes(), threads=1)
    assert runtime.input_size == SIZE
    return runtime.run(couple_input(*SIZE))


def keypoint_distances_one_to_one(people: list[Pose], found: list[Pose]) -> list[np.ndarray]:
    """Per-keypoint distances of each person to a different pose of found.

    Of every assignment of distinct found poses to the people (brute force over
    the permutations), the one with the smallest sum of mean keypoint distances.
    """
    best: tuple[float, list[np.ndarray]] | None = None
    for chosen in itertools.permutations(range(len(found)), len(people)):
        distances = [
            np.linalg.norm(person.xy - found[j].xy, axis=1)
            for person, j in zip(people, chosen, strict=True)
        ]
        total = sum(float(d.mean()) for d in distances)
        if best is None or total < best[0]:
            best = (total, distances)
    assert best is not None, f"{len(found)} poses for {len(people)} people"
    return best[1]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("decoder", DECODERS)
def test_float16_poses_match_float32(exported, source, decoder):
    result = exported[source, "float16"]
    reference = decode(float_heads(SOURCES[source]), decoder)
    found = decode(exported_heads(result), decoder)
    people = [p for p in reference if p.score >= PERSON_SCORE]
    assert len(people) == 2
    distances = keypoint_distances_one_to_one(people, found)
    worst = max(float(d.max()) for d in distances)
    print(f"float16 vs float32, {source}, {decoder}: {worst:.4f} px")
    assert worst <= 0.5, distances
    assert result.files[0].stat().st_size < 0.55 * 5.0e6  # weights stored as float16


@pytest.mark.parametrize("quantize", ["int8", "uint8"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("decoder", DECODERS)
def test_integer_models_find_both_people(exported, source, quantize, decoder):
    result = exported[source, quantize]
    model = read_model(result.files[0].read_bytes())
    graph = model.subgraphs[0]
    io_type = schema.TensorType.INT8 if quantize == "int8" else schema.TensorType.UINT8
    assert graph.tensors[graph.inputs[0]].type == io_type
    assert {graph.tensors[i].type for i in graph.outputs} == {io_type}
    heads = exported_heads(result)
    reference = decode(float_heads(SOURCES[source]), decoder)
    found = decode(heads, decoder)
    assert sum(p.score >= 0.5 for p in found) == 2
    distances = person_distances(reference, found)
    assert len(distances) == 2
    assert np.mean(distances) <= 3.0, distances


def test_export_reports_its_checks(exported):
    result = exported["coral-353x481", "int8"]
    assert result.input_size == SIZE and result.output_stride == 16
    labels = [c.label for c in result.checks]
    assert labels[0] == "int8 TFLite vs float32"
    assert labels[1].startswith("int8 TFLite vs source posenet_mobilenet_v1_075_353_481")
    for c in result.checks:
        assert c.people == 2 and c.poses == 2 and c.mean_distance <= 3.0
        assert set(c.head_errors) == {"heatmap", "offsets", "fwd", "bwd"}
        assert "people 2/2" in c.line()


def test_quantize_full_integer_int8_has_no_float_ops():
    model = build_tflite(tiny_network(), (33, 33), 16)
    rng = np.random.default_rng(0)
    samples = [rng.uniform(-1, 1, (1, 33, 33, 3)).astype(np.float32) for _ in range(3)]
    flat = read_model(quantize_full_integer(model, samples, "int8"))
    graph = flat.subgraphs[0]
    ops = {op_name(flat, op.opcodeIndex) for op in graph.operators}
    assert ops == {"CONV_2D", "DEPTHWISE_CONV_2D"}
    assert graph.tensors[graph.inputs[0]].type == schema.TensorType.INT8
    uint8 = read_model(quantize_full_integer(model, samples, "uint8"))
    ends = {op_name(uint8, op.opcodeIndex) for op in uint8.subgraphs[0].operators}
    assert "QUANTIZE" in ends  # LiteRT converts at the uint8 ends
    assert uint8.subgraphs[0].tensors[uint8.subgraphs[0].inputs[0]].type == schema.TensorType.UINT8


def test_quantize_full_integer_refuses_bad_calls():
    model = build_tflite(tiny_network(), (33, 33), 16)
    with pytest.raises(PosenetError, match="at least one"):
        quantize_full_integer(model, [], "int8")
    with pytest.raises(PosenetError, match="int4"):
        quantize_full_integer(model, [np.zeros((1, 33, 33, 3), np.float32)], "int4")
    with pytest.raises(PosenetError, match="not a TFLite model"):  # checked before LiteRT
        quantize_full_integer(b"not a model", [np.zeros((1, 33, 33, 3), np.float32)], "int8")


def test_person_distances_and_head_errors_by_hand():
    xy = np.zeros((17, 2), np.float32)
    person = Pose(xy, np.ones(17, np.float32), 0.9)
    faint = Pose(xy + 50, np.ones(17, np.float32), 0.1)
    near = Pose(xy + np.float32([3, 4]), np.ones(17, np.float32), 0.8)
    far = Pose(xy + 100, np.ones(17, np.float32), 0.8)
    assert person_distances([person, faint], [far, near]) == (5.0,)  # the faint one is no person
    assert person_distances([person], []) == (float("inf"),)
    heads = float_heads("tfjs-075")
    assert head_errors(heads, heads) == {"heatmap": 0, "offsets": 0, "fwd": 0, "bwd": 0}
    result = check(heads, heads, label="same", image="x")
    assert isinstance(result, Check) and result.mean_distance == 0 and result.people == 2


def test_output_files():
    assert output_files("a/model.tflite", "tflite") == (Path("a/model.tflite"),)
    assert output_files("a/posenet-0.75.kmodel", "k210") == (
        Path("a/posenet-0.75.kmodel"),
        Path("a/posenet-0.75.tflite"),
    )
    assert output_files("a/m", "k210") == (Path("a/m.kmodel"), Path("a/m.tflite"))


def test_cli_export_float16(tmp_path, capsys):
    out = tmp_path / "m.tflite"
    argv = ["export", "tfjs-075", "-o", str(out), "--quantize", "float16", "--size", "257"]
    assert main([*argv, "--check-image", str(COUPLE)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "at 257x257" in text
    assert "check: float16 TFLite vs float32 on test_couple.jpg" in text
    assert Runtime(out.read_bytes()).input_size == (257, 257)
    assert main([*argv, "--size", "250"]) == 0  # a re-run replaces the file
    assert "note: size 250x250 rounded to 257x257" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*"))  # written through a temporary file, renamed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["coral-075-353x481-edgetpu"], "Edge TPU"),
        (["tfjs-075", "--format", "onnx"], "unknown export format 'onnx'"),
        (["tfjs-075", "--quantize", "int4"], "unknown quantization 'int4'"),
        (["tfjs-075", "--size", "5x5"], "smaller than the output stride"),
        (["tfjs-075", "--size", "100000"], "too large"),
        (["tfjs-075", "--stride", "12"], "output stride 12"),
        (["tfjs-075", "--quantize", "int8"], "int8 needs calibration images"),
        (["tfjs-075", "--format", "k210", "--quantize", "int8"], "drop --quantize"),
        (["tfjs-075", "--format", "k210", "--size", "353x481"], "320x240 (W x H)"),
    ],
)
def test_cli_export_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("POSENET_CALIBRATION", raising=False)
    assert main(["export", *args, "-o", str(tmp_path / "out.tflite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posenet: error:") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.tflite").exists()


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copies of a model of each kind, a check image and a calibration folder in tmp_path
    (never the shared assets), with $POSENET_CALIBRATION unset."""
    monkeypatch.delenv("POSENET_CALIBRATION", raising=False)
    shutil.copy(coral_model("353_481"), tmp_path / "self.tflite")
    (tmp_path / "link.tflite").symlink_to(tmp_path / "self.tflite")
    shutil.copytree(MODELS / "tfjs" / "posenet-mobilenet-float-075", tmp_path / "tfjs")
    shutil.copy(COUPLE, tmp_path / "chk.jpg")
    (tmp_path / "cal").mkdir()
    shutil.copy(COUPLE, tmp_path / "cal" / "a.jpg")
    return tmp_path


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["self.tflite", "-o", "self.tflite"], "self.tflite: -o is the model file"),
        (["self.tflite", "-o", "./link.tflite"], "link.tflite: -o is the model file"),
        (["tfjs", "-o", "tfjs/posenet.bin"], "posenet.bin: -o is a file of the model"),
        (["tfjs/posenet.json", "-o", "cal/../tfjs/posenet.bin"], "is a file of the model"),
        (["tfjs", "-o", "tfjs/posenet.json"], "tfjs/posenet.json: -o is the model file"),
        (["tfjs", "-o", "chk.jpg", "--check-image", "chk.jpg"], "chk.jpg: -o is the check image"),
        (["tfjs", "-o", "cal/a.jpg", "--calibration", "cal"], "-o is a calibration image"),
        (["tfjs", "-o", "cal/a.jpg", "--quantize", "int8", "--calibration", "cal"], "a calib"),
    ],
)
def test_export_never_writes_over_its_inputs(inputs, monkeypatch, capsys, args, message):
    """The model's files (by any path), the check image, calibration images."""
    monkeypatch.chdir(inputs)
    before = _digests(inputs)
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "never writes over its inputs" in err and err.count("\n") == 1
    assert _digests(inputs) == before


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("./", "./: is a folder"),
        ("cal", "cal: is a folder"),
        ("nodir/m.tflite", "nodir/m.tflite: folder nodir does not exist"),
        ("/sys/m.tflite", "/sys/m.tflite: cannot be written"),
        ("/dev/null", "/dev/null: is not a regular file"),
    ],
)
def test_export_refuses_bad_outputs_before_any_work(inputs, monkeypatch, capsys, output, message):
    import posenet.export

    def no_work(*_args, **_kwargs):
        raise AssertionError("the model was read before the output was checked")

    monkeypatch.chdir(inputs)
    monkeypatch.setattr(posenet.export, "read_network", no_work)
    before = sorted(p.name for p in inputs.iterdir())
    assert main(["export", "tfjs-075", "-o", output]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"posenet: error: {message}") and err.count("\n") == 1
    assert sorted(p.name for p in inputs.iterdir()) == before
    assert not (inputs / "nodir").exists()


def test_tables_name_every_choice():
    assert set(FORMATS) == {"tflite", "k210"}
    assert set(QUANTIZATIONS) == {"none", "float16", "int8", "uint8"}
