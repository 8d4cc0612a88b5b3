"""posenet inspect: every asset in every output mode, hand-counted totals, a real browser.

The parameter and MAC counts are checked against numbers worked out by hand
for a three-layer TFLite model built here with the schema's object API; the
published models are checked for agreement between routes (the file's own
graph, the Network posenet.formats reads, the TFLite posenet builds). The
HTML report is opened in headless Chromium: the page's script must run
without console errors and a screenshot must show the graph and the tables.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from PIL import Image

from posenet.cli import main
from posenet.errors import PosenetError
from posenet.formats import read_network
from posenet.formats.tfjs_checkpoint import checkpoint_variables
from posenet.inspection import inspect_model, render_html, render_text
from posenet.model import cpu_twin
from posenet.network import MOBILENET_V1_LAYERS
from posenet.sizes import SIZE_FORMS
from posenet.tflite.build import build_tflite

from .conftest import CORAL, MODELS, coral_model
from .helpers import BROWSER_FLAGS

POSENET_JSON = MODELS / "tfjs" / "posenet-mobilenet-float-075" / "posenet.json"
EDGETPU = CORAL / "posenet_mobilenet_v1_075_353_481_quant_decoder_edgetpu.tflite"
DECODER_ONLY = CORAL / "components" / "posenet_mobilenet_v1_075_353_481_decoder.tflite"

#: Every model file in the shared assets, and the checkpoint folder (manifest only).
ASSETS = [
    *sorted(CORAL.rglob("*.tflite")),
    *sorted((MODELS / "tfjs").glob("*/*.json")),
    *sorted((MODELS / "pb").glob("*.pb")),
    MODELS / "tfjs-checkpoint",
]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["inspect", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- every asset, every mode ---------------------------------------------------------------


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: str(p.relative_to(MODELS)))
def test_every_asset_in_every_mode(path: Path, tmp_path: Path, capsys) -> None:
    code, text, err = run_cli(capsys, str(path))
    assert code == 0, err
    assert "Totals" in text and "PoseNet" in text
    code, out, err = run_cli(capsys, str(path), "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["graphs"] and data["totals"] and data["facts"]
    code, out, err = run_cli(capsys, str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["format"] == data["format"]
    code, out, err = run_cli(capsys, str(path), "--html", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert_self_contained(page)
    assert "<svg" in page and "<table" in page and "<details" in page


def assert_self_contained(page: str) -> None:
    """Nothing on the page is fetched: no external scripts, styles, images or fonts."""
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page, re.I)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # url(#id) is local
    # URLs may appear as text (a converter's home page), never where a browser would fetch.
    assert not re.search(r"(src|href|action|poster|srcset)\s*=\s*[\"']?\s*(https?:)?//", page)


@pytest.mark.parametrize("path", ASSETS, ids=lambda p: str(p.relative_to(MODELS)))
def test_json_is_strict_and_complete(path: Path) -> None:
    data = json.loads(json.dumps(inspect_model(path).to_dict(), allow_nan=False))
    assert data["problems"] == []  # every published file is sound
    for graph in data["graphs"]:
        for tensor in graph["tensors"]:
            assert {"name", "dtype", "shape", "shape_signature", "nbytes", "quantization"} <= set(
                tensor
            )
        for op in graph["ops"]:
            assert {"type", "inputs", "outputs", "options", "summary", "macs"} <= set(op)


# --- Coral, Edge TPU -----------------------------------------------------------------------


@pytest.mark.parametrize("size", ["353_481", "481_641", "721_1281"])
def test_coral_decoder_options(size: str, capsys) -> None:
    code, out, _ = run_cli(capsys, str(coral_model(size)), "--json")
    assert code == 0
    data = json.loads(out)
    decoder = [op for op in data["graphs"][0]["ops"] if op["custom"] == "PosenetDecoderOp"]
    assert len(decoder) == 1
    for options in (decoder[0]["options"], data["posenet"]["decoder"]):
        assert options["max_detections"] == 10
        assert options["score_threshold"] == pytest.approx(0.2)
        assert options["stride"] == 16
        assert options["nms_radius"] == pytest.approx(10.0)
    assert (
        "max_detections 10, score_threshold 0.2, stride 16, nms_radius 10"
        in (decoder[0]["summary"])
    )
    h, w = (int(n) for n in size.split("_"))
    view = data["posenet"]
    assert view["input_size"] == [h, w] and view["output_stride"] == 16
    assert view["grid_size"] == [(h - 1) // 16 + 1, (w - 1) // 16 + 1]
    assert view["multiplier"] == pytest.approx(0.75)


def test_coral_posenet_view() -> None:
    report = inspect_model(coral_model("353_481"))
    view = report.posenet
    assert view is not None
    assert [layer.kind for layer in view.body] == [k for _, k, _ in MOBILENET_V1_LAYERS]
    assert [layer.block for layer in view.body] == [0] + [b for b in range(1, 14) for _ in "dp"]
    # The quantized file drops ReLU6 into the output range; the view puts it back.
    assert {layer.activation for layer in view.body} == {"relu6"}
    assert [layer.out_channels for layer in view.body if layer.kind == "pointwise"] == [
        48,
        96,
        96,
        192,
        192,
        384,
        384,
        384,
        384,
        384,
        384,
        384,
        384,
    ]
    assert [layer.stride for layer in view.body if layer.stride == 2] == [2] * 4
    assert [(h.name, h.channels) for h in view.heads] == [
        ("heatmap", 17),
        ("offsets", 34),
        ("displacement_fwd", 32),
        ("displacement_bwd", 32),
    ]
    assert view.heads[0].channel_names[1] == "leftEye"
    assert view.heads[1].channel_names[17] == "nose.x"
    mid = next(c for c in view.outputs if c.name.startswith("concat"))
    assert mid.shape == (1, 23, 31, 64) and mid.channel_names[32] == "leftEye->nose.y"
    # The file's own graph, counted op by op, agrees with the view.
    assert report.totals.macs == view.macs
    assert report.totals.parameters == view.params == 1_258_195
    first = report.graphs[0].ops[0]
    assert "stride 2" in first.summary and "padding SAME" in first.summary
    assert "ReLU6 by output range" in first.summary
    assert "depth multiplier 1" in report.graphs[0].ops[1].summary
    # At the file's own size, inferred shapes equal the stored ones.
    assert all(t.shape_at_size is None for t in report.graphs[0].tensors)


def test_coral_per_tensor_quantization_is_shown() -> None:
    report = inspect_model(coral_model("353_481"))
    tensors = {t.name: t for t in report.graphs[0].tensors}
    image = tensors["sub_2"]
    assert image.quantization.scale == (0.0078125,) and image.quantization.zero_point == (128,)
    bias = tensors["MobilenetV1/heatmap_2/Conv2D_bias"]
    assert bias.dtype == "INT32" and bias.nbytes == 68 and bias.values is not None
    assert "uint8 raw pixels" in report.posenet.input_scaling


def test_size_option_rescales_macs(capsys) -> None:
    native = inspect_model(coral_model("353_481"))
    small = inspect_model(coral_model("353_481"), size=(257, 257))
    assert small.posenet.grid_size == (17, 17) and small.posenet.size_from == "--size"
    assert small.totals.macs == small.posenet.macs < native.totals.macs
    assert small.totals.parameters == native.totals.parameters
    head = next(t for t in small.graphs[0].tensors if t.name == "MobilenetV1/heatmap_2/BiasAdd")
    assert head.shape == (1, 23, 31, 17) and head.shape_at_size == (1, 17, 17, 17)
    code, out, _ = run_cli(capsys, str(coral_model("353_481")), "--size", "257x257")
    assert code == 0 and "257x257 (from --size)" in out


@pytest.mark.parametrize(
    ("size", "counted"),
    [("257", (257, 257)), ("353×481", (353, 481)), ("257X353", (257, 353)), ("auto", (353, 481))],
)
def test_size_takes_what_detect_takes(size: str, counted: tuple[int, int], capsys) -> None:
    code, out, err = run_cli(capsys, str(coral_model("353_481")), "--size", size, "--json")
    assert code == 0, err
    assert tuple(json.loads(out)["totals"]["input_size"]) == counted


def test_size_is_rounded_and_bounded_as_detect_does(capsys) -> None:
    report = inspect_model(coral_model("353_481"), size="300")
    assert report.totals.input_size == (305, 305) and report.posenet.grid_size == (20, 20)
    assert report.notes[0].startswith("size 300x300 rounded to 305x305 (k * 16 + 1)")
    assert inspect_model(POSENET_JSON, size=(300, 300)).totals.input_size == (305, 305)
    for size in ("1x1", "99999x99999", "0", "4200x257"):
        code, _, err = run_cli(capsys, str(coral_model("353_481")), "--size", size)
        assert code == 2 and err.count("\n") == 1, (size, err)
        assert "smaller than the output stride" in err or "too large" in err, err


def test_edgetpu_is_described_not_rejected(capsys) -> None:
    code, out, err = run_cli(capsys, str(EDGETPU))
    assert code == 0, err
    assert "Edge TPU code, cannot run on a CPU" in out
    assert "use --model coral-075-353x481 (the same network for the CPU)" in out
    report = inspect_model(EDGETPU)
    tpu = report.graphs[0].ops[0]
    assert tpu.custom == "edgetpu-custom-op" and not tpu.cpu
    assert tpu.options["chip"] == "beagle" and tpu.options["executable_identifier"] == "DWN1"
    assert tpu.options["executable_bytes"] > 1_000_000
    assert report.totals.parameters is None and report.totals.macs is None
    view = report.posenet
    assert view.decoder["max_detections"] == 10 and view.grid_size == (23, 31)
    assert not view.body and view.input_size == (353, 481)
    assert "runs on the CPU" in dict(report.facts)["runs on the CPU (LiteRT)"] or dict(
        report.facts
    )["runs on the CPU (LiteRT)"].startswith("no")


def test_edgetpu_advice_never_names_the_file_itself(tmp_path: Path) -> None:
    """A renamed Edge TPU file is not told to use "the CPU version (its own name)"."""
    renamed = tmp_path / "tpu.tflite"
    shutil.copy(EDGETPU, renamed)
    (note,) = [n for n in inspect_model(renamed).notes if "Edge TPU" in n]
    assert "tpu.tflite" not in note and "CPU (non-Edge-TPU) version of this model" in note
    kept = tmp_path / "mine_edgetpu.tflite"
    shutil.copy(EDGETPU, kept)
    (note,) = [n for n in inspect_model(kept).notes if "Edge TPU" in n]
    assert "(mine.tflite)" in note
    assert cpu_twin(renamed) == "use the CPU (non-Edge-TPU) version of this model"


def test_decoder_only_component() -> None:
    report = inspect_model(DECODER_ONLY)
    assert report.posenet.decoder["max_detections"] == 20
    assert not report.posenet.body and report.totals.parameters == 0
    assert [c.name for c in report.posenet.outputs][:3] == [
        "float_heatmaps (decoder input)",
        "float_short_offsets (decoder input)",
        "float_mid_offsets (decoder input)",
    ]


# --- counted by hand -----------------------------------------------------------------------


def tiny_tflite(height: int = 9, width: int = 9) -> bytes:
    """A 3-layer float model: 3x3 conv stride 2 (3->8), 3x3 depthwise (8), 1x1 conv (8->16)."""
    rng = np.random.default_rng(0)
    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    graph = schema.SubGraphT()
    graph.tensors, graph.operators = [], []

    def tensor(name: str, shape: tuple[int, ...], data: np.ndarray | None = None) -> int:
        t = schema.TensorT()
        t.name, t.shape, t.type = name.encode(), list(shape), schema.TensorType.FLOAT32
        t.buffer = 0
        if data is not None:
            buf = schema.BufferT()
            buf.data = np.frombuffer(data.astype("<f4").tobytes(), dtype=np.uint8)
            model.buffers.append(buf)
            t.buffer = len(model.buffers) - 1
        graph.tensors.append(t)
        return len(graph.tensors) - 1

    def const(name: str, shape: tuple[int, ...]) -> int:
        return tensor(name, shape, rng.normal(size=shape).astype(np.float32))

    codes = []
    for code in (schema.BuiltinOperator.CONV_2D, schema.BuiltinOperator.DEPTHWISE_CONV_2D):
        opcode = schema.OperatorCodeT()
        opcode.builtinCode, opcode.deprecatedBuiltinCode, opcode.version = code, code, 1
        codes.append(opcode)
    model.operatorCodes = codes

    def op(code: int, inputs: list[int], output: int, options, options_type: int) -> None:
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = code, inputs, [output]
        o.builtinOptionsType, o.builtinOptions = options_type, options
        graph.operators.append(o)

    def conv_options(stride: int) -> schema.Conv2DOptionsT:
        options = schema.Conv2DOptionsT()
        options.padding, options.strideH, options.strideW = schema.Padding.SAME, stride, stride
        options.fusedActivationFunction = schema.ActivationFunctionType.RELU6
        return options

    gh, gw = (height + 1) // 2, (width + 1) // 2
    image = tensor("image", (1, height, width, 3))
    a = tensor("conv", (1, gh, gw, 8))
    op(
        0,
        [image, const("conv/w", (8, 3, 3, 3)), const("conv/b", (8,))],
        a,
        conv_options(2),
        schema.BuiltinOptions.Conv2DOptions,
    )
    dw = schema.DepthwiseConv2DOptionsT()
    dw.padding, dw.strideH, dw.strideW, dw.depthMultiplier = schema.Padding.SAME, 1, 1, 1
    dw.fusedActivationFunction = schema.ActivationFunctionType.RELU6
    b = tensor("depthwise", (1, gh, gw, 8))
    op(
        1,
        [a, const("dw/w", (1, 3, 3, 8)), const("dw/b", (8,))],
        b,
        dw,
        schema.BuiltinOptions.DepthwiseConv2DOptions,
    )
    c = tensor("pointwise", (1, gh, gw, 16))
    op(
        0,
        [b, const("pw/w", (16, 1, 1, 8)), const("pw/b", (16,))],
        c,
        conv_options(1),
        schema.BuiltinOptions.Conv2DOptions,
    )
    graph.inputs, graph.outputs = [image], [c]
    model.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_params_and_macs_counted_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "tiny.tflite"
    path.write_bytes(tiny_tflite())
    from ai_edge_litert.interpreter import Interpreter

    Interpreter(model_content=path.read_bytes()).allocate_tensors()  # a model LiteRT accepts
    # Parameters: weights + biases of each layer.
    conv = 3 * 3 * 3 * 8 + 8  # 224
    depthwise = 3 * 3 * 8 + 8  # 80
    pointwise = 8 * 16 + 16  # 144
    # MACs at 9x9: SAME with stride 2 gives ceil(9 / 2) = 5, so 5x5 outputs everywhere.
    macs_conv = 5 * 5 * 8 * (3 * 3 * 3)  # 5400
    macs_dw = 5 * 5 * 8 * (3 * 3)  # 1800
    macs_pw = 5 * 5 * 16 * 8  # 3200
    report = inspect_model(path)
    assert [op.params for op in report.graphs[0].ops] == [conv, depthwise, pointwise]
    assert [op.macs for op in report.graphs[0].ops] == [macs_conv, macs_dw, macs_pw]
    assert report.totals.parameters == 448
    assert report.totals.weight_bytes == 448 * 4
    assert report.totals.macs == 10_400 == macs_conv + macs_dw + macs_pw
    assert report.totals.input_size == (9, 9)
    # At 17x17 the outputs are 9x9 = 81 positions: 81 * (216 + 72 + 128).
    bigger = inspect_model(path, size=(17, 17))
    assert bigger.totals.macs == 81 * (216 + 72 + 128) == 33_696
    out = next(t for t in bigger.graphs[0].tensors if t.name == "pointwise")
    assert out.shape == (1, 5, 5, 16) and out.shape_at_size == (1, 9, 9, 16)
    # Even sizes: SAME stride 2 on 10 rows gives 5, on 11 gives 6.
    assert inspect_model(path, size=(10, 11)).totals.macs == 5 * 6 * (216 + 72 + 128)
    view = report.posenet
    assert [layer.kind for layer in view.body] == ["conv", "depthwise", "pointwise"]
    assert [layer.activation for layer in view.body] == ["relu6"] * 3
    assert view.params == 448 and view.macs == 10_400
    assert any("not MobileNetV1's 27" in note for note in view.notes)
    ops = report.graphs[0].ops
    assert ops[0].summary == (
        "3x3, 3->8 channels, stride 2, dilation 1, padding SAME, fused activation RELU6"
    )
    assert ops[1].summary.startswith("3x3, 8 channels, stride 1") and "depth multiplier 1" in (
        ops[1].summary
    )


def test_per_axis_quantization(tmp_path: Path) -> None:
    """Per-channel int8 weights: scales per output channel, values dequantized per channel."""
    model = schema.ModelT.InitFromPackedBuf(tiny_tflite(), 0)
    graph = model.subgraphs[0]
    weights = next(t for t in graph.tensors if t.name == b"conv/w")
    q = np.arange(8 * 27, dtype=np.int8).reshape(8, 3, 3, 3) % 100 - 50  # -50..49
    scales = np.array([0.01 * (c + 1) for c in range(8)], dtype=np.float32)
    weights.type = schema.TensorType.INT8
    model.buffers[weights.buffer].data = np.frombuffer(q.tobytes(), dtype=np.uint8)
    weights.quantization = schema.QuantizationParametersT()
    weights.quantization.scale = scales
    weights.quantization.zeroPoint = np.zeros(8, dtype=np.int64)
    weights.quantization.quantizedDimension = 0
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "per_axis.tflite"
    path.write_bytes(bytes(builder.Output()))
    report = inspect_model(path)
    tensor = next(t for t in report.graphs[0].tensors if t.name == "conv/w")
    assert tensor.dtype == "INT8" and tensor.nbytes == 216
    assert tensor.quantization.per_axis and tensor.quantization.axis == 0
    assert tensor.quantization.scale == pytest.approx(tuple(scales))
    real = q.astype(np.float64) * scales.reshape(8, 1, 1, 1)
    assert tensor.values.minimum == pytest.approx(real.min())
    assert tensor.values.maximum == pytest.approx(real.max())
    assert tensor.values.preview[0] == pytest.approx(real.ravel()[0])
    assert "per-axis (dim 0, 8 channels): scale 0.01..0.08, zero point 0" in render_text(report)
    assert "per-axis values" in render_html(report)


def test_open_input_size_uses_the_default(tmp_path: Path) -> None:
    """A signature of [1, -1, -1, 3] leaves the size open: figures at 257x257, or --size."""
    model = schema.ModelT.InitFromPackedBuf(tiny_tflite(), 0)
    image = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]]
    image.shapeSignature = np.array([1, -1, -1, 3], dtype=np.int32)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "open.tflite"
    path.write_bytes(bytes(builder.Output()))
    report = inspect_model(path)
    assert report.posenet.size_from == "default" and report.totals.input_size == (257, 257)
    assert report.totals.macs == 129 * 129 * (216 + 72 + 128)  # ceil(257 / 2) = 129
    assert report.graphs[0].tensors[0].shape_signature == (1, -1, -1, 3)
    assert inspect_model(path, size=(9, 9)).totals.macs == 10_400


def test_registry_names_are_accepted() -> None:
    report = inspect_model("coral-075-353x481")
    assert report.posenet.decoder["max_detections"] == 10


# --- TF.js, .pb, checkpoint, built TFLite: routes agree ---------------------------------------


def test_tfjs_graph_model() -> None:
    report = inspect_model(POSENET_JSON)
    view = report.posenet
    assert report.format == "tfjs-graph" and view.size_from == "model signature"
    assert view.input_size == (385, 385) and view.grid_size == (25, 25)
    assert view.multiplier == pytest.approx(0.75)
    # The file holds exactly the PoseNet: its own graph and the Network agree.
    assert report.totals.parameters == view.params == 1_258_195
    assert report.totals.macs == view.macs
    assert [layer.op for layer in view.body] == list(range(27))
    fused = report.graphs[0].ops[0]
    assert fused.type == "_FusedConv2D" and "fused BiasAdd + Relu6" in fused.summary
    assert "stride 2" in fused.summary


def test_bodypix_extra_heads_are_named_and_counted() -> None:
    report = inspect_model(MODELS / "tfjs" / "bodypix-mobilenet-quant2-075")
    view = report.posenet
    assert [h.name for h in view.heads] == [
        "heatmap",
        "offsets",
        "displacement_fwd",
        "displacement_bwd",
    ]
    assert any("float_segments" in n for n in view.notes)
    assert report.totals.parameters > view.params  # segmentation and part heads
    weights = [t for t in report.graphs[0].tensors if t.quantization is not None]
    assert weights and {t.quantization.stored for t in weights} == {"uint16"}
    assert report.totals.weight_bytes == 2 * report.totals.parameters


def test_bodypix_dilation_is_read() -> None:
    view = inspect_model(MODELS / "tfjs" / "bodypix-mobilenet-quant1-100").posenet
    assert view.body[-2].name == "Conv2d_13_depthwise" and view.body[-2].dilation == 2
    assert view.multiplier == 1


def test_graphdef() -> None:
    report = inspect_model(MODELS / "pb" / "model-mobilenet_v1_050.pb", size=(257, 353))
    view = report.posenet
    assert report.format == "graphdef" and view.multiplier == pytest.approx(0.5)
    assert view.grid_size == (17, 23)
    assert report.totals.macs == view.macs and report.totals.parameters == view.params
    assert any("sigmoid" in note for note in view.notes)
    heatmap = next(c for c in view.outputs if c.name == "heatmap")
    assert "sigmoid already applied" in heatmap.layout
    # Identity nodes forwarding constants are folded into the constants.
    assert not any(op.type == "Identity" for op in report.graphs[0].ops)


def test_built_tflite_agrees_with_its_network(tmp_path: Path) -> None:
    """Three routes to one number: the TF.js graph, its Network, the TFLite built from it."""
    network = read_network(POSENET_JSON)
    size = (257, 257)
    from_json = inspect_model(POSENET_JSON, size=size)
    for name, data in (
        ("plain", build_tflite(network, size, 16)),
        ("pad", build_tflite(network, size, 16, explicit_pad=True)),
        ("f16", build_tflite(network, size, 16, float16_weights=True)),
    ):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(data)
        report = inspect_model(path)
        assert report.totals.macs == report.posenet.macs == from_json.posenet.macs, name
        assert report.posenet.params in (from_json.posenet.params, 0), name
        assert report.totals.parameters == from_json.posenet.params, name
        assert len(report.posenet.body) == 27 and len(report.posenet.heads) == 4, name
    assert report.totals.weight_bytes == 2 * report.totals.parameters  # float16 weights


def write_checkpoint(folder: Path) -> None:
    """posenet.json's weights as a TF.js 1.x checkpoint (manifest + raw float32 files)."""
    network = read_network(POSENET_JSON)
    manifest = {}
    for (weights, bias), layer in zip(checkpoint_variables(), network.layers, strict=True):
        for variable, array in ((weights, layer.weights), (bias, layer.bias)):
            filename = variable.replace("/", "_")
            (folder / filename).write_bytes(np.asarray(array, dtype="<f4").tobytes())
            manifest[variable] = {"filename": filename, "shape": list(array.shape)}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_checkpoint_folder(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    write_checkpoint(folder)
    report = inspect_model(folder, size=(257, 257))
    reference = inspect_model(POSENET_JSON, size=(257, 257)).posenet
    assert report.format == "tfjs-checkpoint" and report.posenet is not None
    assert report.posenet.params == reference.params == report.totals.parameters
    assert report.totals.weight_bytes == 4 * report.totals.parameters
    # TF.js 1.x gave checkpoints dilation 2 in block 13; same MACs with SAME padding.
    assert report.posenet.body[-2].dilation == 2
    assert report.totals.macs == reference.macs
    assert not report.notes and all(t.values is not None for t in report.graphs[0].tensors)
    for mode in ([], ["--json", str(tmp_path / "c.json")], ["--html", str(tmp_path / "c.html")]):
        code, _, err = run_cli(capsys, str(folder), *mode)
        assert code == 0, err
    assert "<svg" in (tmp_path / "c.html").read_text()


def test_real_manifest_without_weight_files() -> None:
    report = inspect_model(MODELS / "tfjs-checkpoint")
    assert report.posenet is not None and len(report.posenet.body) == 27
    assert report.posenet.multiplier == 1 and report.totals.weight_bytes == 0
    assert any("missing" in note for note in report.notes)


# --- errors and outputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"hello, world", "not a PoseNet model file"),
        (b"\x10\x00\x00\x00TFL3" + bytes(range(256)) * 4, "damaged"),
    ],
    ids=["empty", "text", "garbage-after-identifier"],
)
def test_bad_files_exit_2(tmp_path: Path, capsys, content: bytes, message: str) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(content)
    code, _, err = run_cli(capsys, str(path))
    assert code == 2 and message in err and err.count("\n") == 1


def test_truncated_and_inconsistent_tflite(tmp_path: Path, capsys) -> None:
    data = coral_model("353_481").read_bytes()
    (tmp_path / "short.tflite").write_bytes(data[:60_000])
    code, _, err = run_cli(capsys, str(tmp_path / "short.tflite"))
    assert code == 2 and "damaged" in err
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    op = model.subgraphs[0].operators[3]
    op.inputs = np.array([op.inputs[0], 999, op.inputs[2]], dtype=np.int32)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    (tmp_path / "index.tflite").write_bytes(bytes(builder.Output()))
    code, _, err = run_cli(capsys, str(tmp_path / "index.tflite"))
    assert code == 2 and "damaged TFLite model" in err


def _damage(how: str) -> bytes:
    """tiny_tflite with one kind of damage LiteRT refuses but a description can read around."""
    model = schema.ModelT.InitFromPackedBuf(tiny_tflite(), 0)
    tensors = model.subgraphs[0].tensors
    if how == "buffer past the list":
        tensors[1].buffer = 89  # of 7
    elif how == "empty weight":
        model.buffers[tensors[5].buffer].data = None  # dw/w
    else:  # data past the end of the file
        buf = model.buffers[tensors[5].buffer]
        buf.data, buf.offset, buf.size = None, 1 << 20, 32
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.mark.parametrize(
    ("how", "problem", "litert"),
    [
        ("buffer past the list", "tensor 1 (conv) -> buffer 89 points past the file's 7", "89"),
        (
            "empty weight",
            "operator 1 (DEPTHWISE_CONV_2D): input 1: weight tensor 5 (dw/w) has an empty",
            "5",
        ),
        ("data past the end", "buffer 3 (offset 1048576, 32 bytes) lies past the end", "3"),
    ],
)
def test_damaged_tflite_is_described_with_its_problems(
    how: str, problem: str, litert: str, tmp_path: Path, capsys
) -> None:
    """Exit 0 with the file described and the damage shown in every form; LiteRT agrees."""
    from ai_edge_litert.interpreter import Interpreter

    path = tmp_path / "damaged.tflite"
    path.write_bytes(_damage(how))
    with pytest.raises((RuntimeError, ValueError), match=rf"\b{litert}\b"):
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
        interpreter.invoke()
    code, out, err = run_cli(capsys, str(path), "--html", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert 'class="note problem">problem: ' + problem in html.unescape(page)
    code, out, err = run_cli(capsys, str(path))
    assert code == 0 and f"  ! problem: {problem}" in out
    assert "runs on the CPU (LiteRT)  no: the file is damaged" in out
    assert "Operators (3)" in out  # still described
    code, out, err = run_cli(capsys, str(path), "--json")
    (shown,) = json.loads(out)["problems"]
    assert code == 0 and problem in shown
    assert inspect_model(_sound_copy(tmp_path)).problems == ()


def _sound_copy(folder: Path) -> Path:
    path = folder / "sound.tflite"
    path.write_bytes(tiny_tflite())
    return path


def test_missing_and_unknown(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(capsys, str(tmp_path / "nothing.tflite"))
    assert code == 2 and "not found" in err
    code, _, err = run_cli(capsys, "no-such-model-name")
    assert code == 2
    (tmp_path / "broken.json").write_text('{"modelTopology": {"node": [')
    code, _, err = run_cli(capsys, str(tmp_path / "broken.json"))
    assert code == 2
    code, _, err = run_cli(capsys, str(coral_model("353_481")), "--size", "big")
    assert code == 2 and SIZE_FORMS in err
    with pytest.raises(PosenetError):
        inspect_model(coral_model("353_481"), size=(0, 5))


def test_tfjs_with_a_missing_shard_is_still_described(tmp_path: Path) -> None:
    copy = tmp_path / "posenet.json"
    shutil.copy(POSENET_JSON, copy)  # the shard is left behind
    report = inspect_model(copy)
    assert any("weights not readable" in n for n in report.notes)
    assert report.posenet is None and "posenet cannot read it" in report.posenet_problem
    assert report.totals.parameters == 1_258_195  # shapes come from the manifest


def test_outputs_are_replaced_but_never_an_input(tmp_path: Path, capsys) -> None:
    model = tmp_path / "model.tflite"
    shutil.copy(coral_model("353_481"), model)
    before = model.read_bytes()
    for flag in ("--json", "--html"):
        target = tmp_path / f"out{flag}"
        target.write_text("from an earlier run")
        code, _, err = run_cli(capsys, str(model), flag, str(target))
        assert code == 0 and target.read_text() != "from an earlier run"
        (tmp_path / "link").unlink(missing_ok=True)
        (tmp_path / "link").symlink_to(model)
        for output in (model, tmp_path / "link"):
            code, _, err = run_cli(capsys, str(model), flag, str(output))
            assert code == 2 and "is one of the inputs" in err and model.read_bytes() == before
    code, _, err = run_cli(
        capsys, str(model), "--json", str(tmp_path / "a"), "--html", str(tmp_path)
    )
    assert code == 2 and "folder" in err and not (tmp_path / "a").exists()
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_text_and_html_agree_on_the_numbers() -> None:
    report = inspect_model(coral_model("353_481"))
    text, page = render_text(report), render_html(report)
    for needle in ("1,258,195", "1,246,214,352", "PosenetDecoderOp", "Conv2d_13_pointwise"):
        assert needle in text and needle in page


# --- a real browser ------------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is needed: apt-get install -y chromium (.ci/run installs it)"
    return found


def browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium(),
            *BROWSER_FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    "model",
    [coral_model("353_481"), EDGETPU, MODELS / "tfjs" / "bodypix-mobilenet-float-050"],
    ids=["coral", "edgetpu", "bodypix"],
)
def test_html_in_a_real_browser(model: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(inspect_model(model)))
    dom = browse(page, tmp_path / "p1", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="yes"' in dom.stdout  # the page's script ran to the end
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    shot = tmp_path / "shot.png"
    result = browse(page, tmp_path / "p2", f"--screenshot={shot}", "--window-size=1600,1100")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape == (1100, 1600, 3)
    colours = {tuple(c) for c in image[::7, ::7].reshape(-1, 3)}
    assert len(colours) > 50
    # The graph panel (left third, below the header) holds drawn nodes: their fills.
    panel = image[180:1050, 10:500]
    node_fills = [(0xDB, 0xEA, 0xFE), (0xCC, 0xFB, 0xF1), (0xDC, 0xFC, 0xE7), (0xFE, 0xE2, 0xE2)]
    found = [fill for fill in node_fills if (np.abs(panel - fill).sum(axis=2) < 6).sum() > 500]
    assert found, "no graph nodes visible in the graph panel"
    # The tables (right part) hold text: many dark pixels.
    tables = image[180:1050, 600:1580]
    assert (tables.sum(axis=2) < 200).sum() > 5000
