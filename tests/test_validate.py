"""posenet.tflite.validate: no TFLite file reaches LiteRT with an index, shape or option
that could crash it; published files and built ones pass; the trial run for other ops."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from posenet.errors import PosenetError
from posenet.model import load
from posenet.runtime import Runtime
from posenet.tflite import validate as validation
from posenet.tflite.build import build_tflite
from posenet.tflite.flatbuffer import read_model, write_model
from posenet.tflite.validate import check_runnable, problems, trial_run

from .conftest import CORAL, IMAGES, coral_model
from .tiny_network import tiny_network

CORAL_353 = coral_model("353_481")


def _coral() -> schema.ModelT:
    return read_model(CORAL_353.read_bytes())


def test_published_and_built_models_have_no_problems():
    for path in sorted(CORAL.glob("*.tflite")):  # CPU and Edge TPU files
        assert problems(read_model(path.read_bytes())) == [], path.name
    for float16 in (False, True):
        built = build_tflite(tiny_network(), (33, 33), 16, float16_weights=float16)
        assert problems(read_model(built)) == []
    assert problems(read_model(load("tfjs-075").tflite)) == []


def _op(model, k: int):
    return model.subgraphs[0].operators[k]


def _set(obj, field: str, index: int, value: int) -> None:
    values = np.array(getattr(obj, field), dtype=np.int64)
    values[index] = value
    setattr(obj, field, values.astype(np.int32))


# Each damages the Coral model one way; the problem names what is wrong.
DAMAGE: dict[str, tuple[Callable[[schema.ModelT], None], str]] = {
    "weights input -1 (segfaults LiteRT)": (
        lambda m: _set(_op(m, 0), "inputs", 1, -1),
        "operator 0 (CONV_2D): input 1 is tensor -1",
    ),
    "input past the tensors": (
        lambda m: _set(_op(m, 3), "inputs", 0, 999),
        "operator 3 (DEPTHWISE_CONV_2D): input 0 is tensor 999 (the graph has 99)",
    ),
    "output -1": (lambda m: _set(_op(m, 5), "outputs", 0, -1), "output 0 is tensor -1"),
    "graph output -1 (aborts LiteRT)": (
        lambda m: _set(m.subgraphs[0], "outputs", 0, -1),
        "graph output -1 is not a tensor",
    ),
    "no graph inputs": (
        lambda m: setattr(m.subgraphs[0], "inputs", np.zeros(0, np.int32)),
        "the graph has no inputs",
    ),
    "opcode index out of range": (
        lambda m: setattr(_op(m, 6), "opcodeIndex", 255),
        "operator 6: opcode index 255 (the model has 4)",
    ),
    "stride 0 (SIGFPE)": (
        lambda m: setattr(_op(m, 2).builtinOptions, "strideH", 0),
        "strideH 0",
    ),
    "dilation 2^30": (
        lambda m: setattr(_op(m, 2).builtinOptions, "dilationWFactor", 2**30),
        "dilationWFactor 1073741824",
    ),
    "bad padding": (lambda m: setattr(_op(m, 2).builtinOptions, "padding", 7), "padding 7"),
    "no options (stride 0 in LiteRT)": (
        lambda m: (
            setattr(_op(m, 2), "builtinOptions", None),
            setattr(_op(m, 2), "builtinOptionsType", 0),
        ),
        "options of type 0",
    ),
    "negative shape": (
        lambda m: setattr(m.subgraphs[0].tensors[5], "shape", np.array([1, -7, 3, 3], np.int32)),
        "with a negative size",
    ),
    "huge shape": (
        lambda m: setattr(m.subgraphs[0].tensors[5], "shape", np.array([2**20, 2**20], np.int32)),
        "elements (at most",
    ),
    "shape not matching its data": (
        lambda m: setattr(m.subgraphs[0].tensors[42], "shape", np.array([8, 3, 3, 3], np.int32)),
        "bytes of data, its shape [8, 3, 3, 3] of UINT8 needs 216",
    ),
    "buffer past the list": (
        lambda m: setattr(m.subgraphs[0].tensors[42], "buffer", 5000),
        "-> buffer 5000 points past the file's 101 buffers",
    ),
    "NaN scale": (
        lambda m: setattr(m.subgraphs[0].tensors[42].quantization, "scale", np.array([np.nan])),
        "quantization scale outside",
    ),
    "zero points without a scale": (
        lambda m: setattr(m.subgraphs[0].tensors[9].quantization, "scale", np.zeros(0, np.float32)),
        "has 1 quantization zero points but no scale",
    ),
    "zero point outside uint8": (
        lambda m: setattr(m.subgraphs[0].tensors[42].quantization, "zeroPoint", np.array([300])),
        "zero point outside UINT8's range",
    ),
    "wiped weights": (
        lambda m: setattr(
            m.buffers[m.subgraphs[0].tensors[42].buffer], "data", _zero_point_bytes(m)
        ),
        "the weights of tensor 42 are all zero",
    ),
    "written twice": (
        lambda m: _set(_op(m, 4), "outputs", 0, int(_op(m, 3).outputs[0])),
        "is already written before",
    ),
    "read before written": (
        lambda m: _set(_op(m, 1), "inputs", 0, int(_op(m, 5).outputs[0])),
        "is read before any operator writes it",
    ),
}


def _zero_point_bytes(model: schema.ModelT) -> np.ndarray:
    tensor = model.subgraphs[0].tensors[42]
    size = len(model.buffers[tensor.buffer].data)
    return np.full(size, tensor.quantization.zeroPoint[0], np.uint8)


@pytest.mark.parametrize("how", DAMAGE)
def test_damage_is_named(how: str):
    damage, expected = DAMAGE[how]
    model = _coral()
    damage(model)
    found = problems(model)
    assert found and any(expected in p for p in found), found
    data = write_model(model)
    with pytest.raises(PosenetError, match="damaged TFLite model") as caught:
        check_runnable(data, "m.tflite")
    assert str(caught.value).count("\n") == 0


def test_runtime_refuses_before_litert_sees_the_model():
    """The crash of issue #13: an operator input of -1 killed allocate_tensors (SIGSEGV)."""
    model = _coral()
    _set(_op(model, 0), "inputs", 1, -1)
    with pytest.raises(PosenetError, match="input 1 is tensor -1"):
        Runtime(write_model(model))


def test_detect_names_the_damage_in_one_line(tmp_path: Path, capsys):
    from posenet.cli import main

    model = _coral()
    _set(_op(model, 0), "inputs", 1, -1)
    path = tmp_path / "m.tflite"
    path.write_bytes(write_model(model))
    code = main(["detect", str(IMAGES / "frisbee.jpg"), "--model", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{path}: damaged TFLite model: operator 0 (CONV_2D): input 1 is tensor -1" in err


def _with_unchecked_op(model: schema.ModelT) -> bytes:
    """The Coral model with a RESHAPE (an op OPS does not cover) to the same shape after
    its displacement CONCATENATION: still a sound graph that LiteRT runs."""
    codes = model.operatorCodes
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RESHAPE
    code.version = 1
    codes.append(code)
    graph = model.subgraphs[0]
    concat = graph.operators[-2]
    source = graph.tensors[int(concat.outputs[0])]
    tensor = schema.TensorT()
    tensor.name, tensor.shape, tensor.type = b"reshaped", source.shape, source.type
    tensor.quantization = source.quantization
    graph.tensors.append(tensor)
    op = schema.OperatorT()
    op.opcodeIndex = len(codes) - 1
    op.inputs = np.array(concat.outputs, np.int32)
    op.outputs = np.array([len(graph.tensors) - 1], np.int32)
    op.builtinOptionsType = schema.BuiltinOptions.ReshapeOptions
    op.builtinOptions = schema.ReshapeOptionsT()
    op.builtinOptions.newShape = [int(d) for d in source.shape]
    graph.operators.insert(len(graph.operators) - 1, op)
    return write_model(model)


def test_unchecked_ops_get_one_trial_run_remembered_by_hash(tmp_path, monkeypatch):
    from posenet.model import load_tflite

    path = tmp_path / "reshape.tflite"
    path.write_bytes(_with_unchecked_op(_coral()))
    runs = []
    real_run = validation.subprocess.run
    monkeypatch.setattr(
        validation.subprocess, "run", lambda *a, **k: runs.append(a) or real_run(*a, **k)
    )
    runnable = load_tflite(path).tflite  # checked here, trial included
    assert validation.unchecked_ops(read_model(runnable)) == ["RESHAPE"]
    assert len(runs) == 1
    monkeypatch.setattr(validation, "_PASSED", set())  # as in a new process
    check_runnable(runnable)
    assert len(runs) == 1  # its sha256 is remembered in the store
    check_runnable(load_tflite(CORAL_353).tflite)
    assert len(runs) == 1  # every op of the Coral model is checked without a trial


def test_a_trial_that_crashes_is_an_error(monkeypatch):
    model = _with_unchecked_op(_coral())
    monkeypatch.setattr(
        validation, "_TRIAL_CODE", f"import os; os.kill(os.getpid(), {int(signal.SIGSEGV)})"
    )
    with pytest.raises(PosenetError, match=r"m\.tflite: LiteRT crashed \(SIGSEGV\)"):
        trial_run(model, "m.tflite")
    monkeypatch.setattr(validation, "_TRIAL_CODE", "raise SystemExit(3)")
    with pytest.raises(PosenetError, match="LiteRT cannot run it"):
        trial_run(model + b"\0", "m.tflite")  # another hash: not remembered


def test_pads_must_be_small_constants():
    """The K210 layout's explicit PADs: a huge amount would make LiteRT allocate gigabytes."""
    built = read_model(build_tflite(tiny_network(), (33, 33), 16, explicit_pad=True))
    assert problems(built) == []
    graph = built.subgraphs[0]
    pad = next(op for op in graph.operators if _is_pad(built, op))
    amounts = graph.tensors[int(pad.inputs[1])]
    built.buffers[amounts.buffer].data = (
        np.array([[0, 0], [1, 10**6], [1, 1], [0, 0]], "<i4").view(np.uint8).ravel()
    )
    assert any("paddings" in p and "outside 0..512" in p for p in problems(built))


def _is_pad(model: schema.ModelT, op: schema.OperatorT) -> bool:
    code = model.operatorCodes[op.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.PAD


@pytest.mark.parametrize("how", DAMAGE)
def test_inspect_describes_the_damage(how: str, tmp_path: Path):
    """inspect lists the same problem, describing the rest of the file where it can, or
    names the problem in one line where the structure cannot be followed."""
    from posenet.inspection import inspect_model, render_html, render_text

    damage, expected = DAMAGE[how]
    model = _coral()
    damage(model)
    path = tmp_path / "damaged.tflite"
    path.write_bytes(write_model(model))
    try:
        report = inspect_model(path)
    except PosenetError as exc:
        assert expected in str(exc) and "damaged TFLite model" in str(exc)
        return
    assert any(expected in p for p in report.problems), report.problems
    text = render_text(report)
    assert "! problem: " in text and "no: the file is damaged" in text
    render_html(report)
