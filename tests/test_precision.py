"""Precision: the int8 form of Coral's uint8 models, --precision, and the load cache.

The int8 form must be the same integer network (bit-identical heads wherever every
weight fits int8), and the default path built on it must stay within the bounds of
Coral's reference CSVs (tests/test_estimator.py runs the reference through it).
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

import posenet
import posenet.model as model_module
from posenet.cli import main
from posenet.errors import PosenetError
from posenet.export.tflite import export_tflite
from posenet.model import load, load_tflite
from posenet.runtime import Runtime
from posenet.tflite.flatbuffer import cut_posenet_decoder, op_name, read_model, write_model
from posenet.tflite.int8 import as_int8, int8_problem

from .conftest import IMAGES, coral_model
from .helpers import coral_reference
from .tiny_network import tiny_network

TYPES = schema.TensorType


def raw_outputs(tflite: bytes, image: np.ndarray) -> list[np.ndarray]:
    """The model's output tensors as stored (quantized integers), from LiteRT."""
    interpreter = Interpreter(model_content=tflite, num_threads=1)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], image[np.newaxis].astype(detail["dtype"]))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()]


def coral_cut(size: str):
    return cut_posenet_decoder(read_model(coral_model(size).read_bytes()))[0]


def clip_to_int8(model):
    """Coral's uint8 model with every weight q - zero_point clipped into int8's range
    (five weights of +128 become 127): a uint8 model whose weights all fit int8."""
    graph = model.subgraphs[0]
    for op in graph.operators:
        if op_name(model, op.opcodeIndex) in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            weights = graph.tensors[op.inputs[1]]
            zero = weights.quantization.zeroPoint[0]
            raw = np.asarray(model.buffers[weights.buffer].data, np.uint8).astype(int)
            model.buffers[weights.buffer].data = np.clip(raw, zero - 128, zero + 127).astype(
                np.uint8
            )
    return model


@pytest.fixture(scope="module")
def couple_input(couple) -> np.ndarray:
    from posenet.image import fit

    return fit(couple, (353, 481), "stretch", "nearest").pixels


def test_int8_form_computes_the_same_integers_as_the_uint8_model(couple_input):
    """Where every weight fits int8, the int8 form's outputs are the uint8 model's minus 128,
    bit for bit: same activation grid, same weights, same requantization."""
    uint8 = write_model(clip_to_int8(coral_cut("353_481")))
    int8, islands = as_int8(read_model(uint8))
    assert islands == 0
    expected = raw_outputs(uint8, couple_input)
    got = raw_outputs(write_model(int8), (couple_input ^ np.uint8(0x80)).view(np.int8))
    assert len(got) == len(expected) == 3
    for a, b in zip(got, expected, strict=True):
        assert a.dtype == np.int8 and b.dtype == np.uint8
        np.testing.assert_array_equal(a.astype(np.int16) + 128, b)


def test_only_layers_with_a_weight_outside_int8_run_in_float():
    """Coral's files hold five weights of +128 (zero point 127), in four layers: those
    layers, and only those, run in float32 between DEQUANTIZE and QUANTIZE."""
    model, islands = as_int8(coral_cut("481_641"))
    graph = model.subgraphs[0]
    names = [op_name(model, op.opcodeIndex) for op in graph.operators]
    assert islands == 4
    assert names.count("DEQUANTIZE") == names.count("QUANTIZE") == 4
    floats = [
        graph.tensors[op.outputs[0]].name.decode()
        for op in graph.operators
        if op_name(model, op.opcodeIndex) in ("CONV_2D", "DEPTHWISE_CONV_2D")
        and graph.tensors[op.inputs[1]].type == TYPES.FLOAT32
    ]
    assert [name.split("/")[1] for name in floats] == [
        "Conv2d_0",
        "Conv2d_1_pointwise",
        "Conv2d_9_depthwise",
        "Conv2d_13_depthwise",
    ]
    used = {i for op in graph.operators for i in (*op.inputs, *op.outputs)}
    assert {graph.tensors[i].type for i in used} == {TYPES.FLOAT32, TYPES.INT32, TYPES.INT8}


@pytest.mark.parametrize("size", ["353_481", "481_641"])
@pytest.mark.parametrize(
    ("settings", "runs"),
    [({}, "int8"), ({"precision": "original"}, "original"), ({"like": "coral"}, "original")],
)
def test_coral_reference_through_the_estimator(couple, size, settings, runs):
    """The shipped default path (the int8 form), the file's own arithmetic and the coral
    preset (which runs it), each set up as Coral's reference was (PIL nearest stretch):
    the poses, taken back into model-input pixels, match the CSV within the issue's
    bounds: every keypoint within 1.5 px, pose scores 0.01, keypoint scores 0.05."""
    estimator = posenet.Estimator(
        str(coral_model(size)), fit="stretch", resample="nearest", **settings
    )
    assert estimator.precision == runs
    result = estimator.estimate(couple)
    reference = coral_reference(size)
    assert len(result.poses) == len(reference)
    by_score = sorted(result.poses, key=lambda pose: -pose.score)  # like="coral" keeps Coral's
    for pose, ref in zip(by_score, reference, strict=True):
        in_input = (pose.xy - np.array(result.fit.shift)) / np.array(result.fit.scale)
        assert np.linalg.norm(in_input - ref["xy"], axis=1).max() <= 1.5
        assert abs(pose.score - ref["score"]) <= 0.01
        assert np.abs(pose.scores - ref["scores"]).max() <= 0.05


def test_default_is_the_int8_form_and_original_is_the_file(couple_input):
    default = load(str(coral_model("353_481")))
    original = load(str(coral_model("353_481")), precision="original")
    assert (default.precision, original.precision) == ("int8", "original")
    assert original.tflite == write_model(coral_cut("353_481"))
    assert default.decoder_options == original.decoder_options
    assert default.decoder_options["max_detections"] == 10
    assert default.input_size == original.input_size == (353, 481)


def test_precision_original_runs_the_files_own_arithmetic(couple):
    """--precision original gives the heads of the cut file itself, bit for bit."""
    estimator = posenet.Estimator(str(coral_model("353_481")), precision="original", threads=1)
    result = estimator.estimate(couple, keep=True)
    assert estimator.precision == "original"
    expected = Runtime(write_model(coral_cut("353_481")), threads=1).run(result.input)
    heads = result.heads
    for name in ("heatmap", "offsets", "displacements_fwd", "displacements_bwd"):
        np.testing.assert_array_equal(getattr(heads, name), getattr(expected, name))


def test_precision_float_rebuilds_at_the_files_size():
    loaded = load(str(coral_model("481_641")), precision="float")
    assert loaded.precision == "float"
    assert loaded.input_size == (481, 641)
    assert loaded.decoder_options["nms_radius"] == 10


def test_float_sources_run_as_they_are():
    assert load("tfjs-075").precision == "float"
    assert load("tfjs-075", precision="original").precision == "float"


@pytest.mark.parametrize(
    ("model", "options", "message"),
    [
        ("tfjs-075", {"precision": "int8"}, "applies to uint8 models"),
        (None, {"precision": "int8", "output_stride": 8}, "rebuilds the network in float32"),
        (None, {"precision": "original", "output_stride": 32}, "use precision auto or float"),
        (None, {"precision": "fast"}, "precision must be one of auto, original, int8, float"),
    ],
)
def test_precision_errors(model, options, message):
    with pytest.raises(PosenetError, match=message):
        load(model, **options)


def test_a_loaded_file_is_not_parsed_again(monkeypatch):
    """Cut and converted bytes are cached by content hash: the second load of a file
    reads the cache and never parses the model (what made Coral files slow to load)."""
    first = load_tflite(coral_model("353_481"), precision="auto")

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(model_module, "read_model", no_parsing)
    again = load_tflite(coral_model("353_481"), precision="auto")
    assert again == first


def test_a_damaged_cache_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("POSENET_HOME", str(tmp_path))
    first = load_tflite(coral_model("353_481"), precision="auto")
    (cached,) = (tmp_path / "built").glob("*.tflite")
    cached.write_bytes(first.tflite[:1000])
    assert load_tflite(coral_model("353_481"), precision="auto") == first
    assert cached.read_bytes() == first.tflite


def test_cli_precision(capsys):
    image = str(IMAGES / "test_couple.jpg")
    assert main(["detect", image, "--precision", "original", "--json", "-"]) == 0
    assert '"model": "coral-075-353x481"' in capsys.readouterr().out
    assert main(["detect", image, "--precision", "fast"]) == 2
    assert "invalid choice: 'fast'" in capsys.readouterr().err


def test_a_model_already_int8_inside_runs_as_it_is(tmp_path):
    """`posenet export --quantize uint8` writes int8 convs behind uint8 QUANTIZE ops: it
    has no int8 form (and needs none); auto runs it as it is, int8 says why not."""
    image = np.random.default_rng(0).integers(0, 256, (33, 33, 3), np.uint8)
    path = tmp_path / "uint8.tflite"
    path.write_bytes(export_tflite(tiny_network(), (33, 33), 16, "uint8", [image]))
    assert int8_problem(read_model(path.read_bytes())) == "it has a QUANTIZE op"
    assert load(str(path)).precision == "original"
    with pytest.raises(PosenetError, match=r"uint8\.tflite: it has a QUANTIZE op"):
        load(str(path), precision="int8")
