"""build_tflite against the float64 numpy oracle, and the built model's shape.

Tolerances: float32 TFLite (XNNPACK) vs the float64 oracle, at most 1e-3 on
heatmap logits and 1e-2 px on offsets and displacements.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from PIL import Image

import posenet
from posenet._version import __version__
from posenet.errors import PosenetError
from posenet.formats.tfjs_graph import read_tfjs_graph
from posenet.network import with_output_stride
from posenet.runtime import Runtime
from posenet.tflite.build import OUTPUT_NAMES, build_tflite, network_digest
from posenet.tflite.flatbuffer import op_name, read_model

from . import numpy_posenet
from .conftest import IMAGES, MODELS
from .tiny_network import tiny_network

POSENET_JSON = MODELS / "tfjs" / "posenet-mobilenet-float-075" / "posenet.json"
GRAPH_OUTPUTS = [
    f"MobilenetV1/{n}_2/BiasAdd"
    for n in ("heatmap", "offset", "displacement_fwd", "displacement_bwd")
]
HEAT_TOL, PX_TOL = 1e-3, 1e-2


@cache
def posenet_json():
    return read_tfjs_graph(POSENET_JSON)


@cache
def couple(height: int, width: int) -> np.ndarray:
    image = Image.open(IMAGES / "test_couple.jpg").convert("RGB")
    return np.asarray(image.resize((width, height), Image.BILINEAR))


def run_built(network, size, stride, **kwargs):
    return Runtime(build_tflite(network, size, stride, **kwargs), threads=1).run(couple(*size))


def heads_list(heads) -> list[np.ndarray]:
    return [heads.heatmap, heads.offsets, heads.displacements_fwd, heads.displacements_bwd]


def assert_close_to_oracle(heads, reference: list[np.ndarray]) -> dict[str, float]:
    errors = {}
    for name, got, want in zip(
        ("heatmap", "offsets", "fwd", "bwd"), heads_list(heads), reference, strict=True
    ):
        assert got.shape == want.shape, name
        errors[name] = float(np.abs(got - want).max())
    assert errors["heatmap"] <= HEAT_TOL, errors
    assert max(errors["offsets"], errors["fwd"], errors["bwd"]) <= PX_TOL, errors
    return errors


def test_posenet_json_385_matches_the_graph_as_written():
    """Built from the Network, run by LiteRT == the TF.js graph interpreted in float64."""
    heads = run_built(posenet_json(), (385, 385), 16)
    reference = numpy_posenet.run_tfjs_graph(POSENET_JSON, couple(385, 385), GRAPH_OUTPUTS)
    assert_close_to_oracle(heads, [reference[n] for n in GRAPH_OUTPUTS])
    assert heads.grid_size == (25, 25)


def test_posenet_json_257x353_stride_8_matches_the_oracle():
    """At stride 8 the oracle applies its own copy of the atrous rule (POSENET.md §2)."""
    heads = run_built(with_output_stride(posenet_json(), 8, geometry="atrous"), (257, 353), 8)
    layers = numpy_posenet.network_layers(posenet_json(), output_stride=8)
    reference = numpy_posenet.run_layers(layers, couple(257, 353))
    assert_close_to_oracle(
        heads,
        [reference[n] for n in ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")],
    )
    assert heads.grid_size == ((257 - 1) // 8 + 1, (353 - 1) // 8 + 1)
    assert heads.output_stride == 8


def test_stride_16_graph_has_no_dilation_in_block_13():
    """POSENET.md §2 caution, settled by the graph's own numbers.

    posenet.json at its native stride 16 has dilation 1 everywhere; the atrous
    rule would give block 13 dilation 2. Only the graph's own geometry
    reproduces the graph as written; the rule's version is a different network.
    """
    own = posenet_json()
    block13 = [layer.name for layer in own.body].index("Conv2d_13_depthwise")
    assert all(layer.dilation == 1 for layer in own.body)
    rule = dataclasses.replace(
        own,
        body=tuple(
            dataclasses.replace(layer, dilation=2) if i == block13 else layer
            for i, layer in enumerate(own.body)
        ),
    )
    reference = numpy_posenet.run_tfjs_graph(POSENET_JSON, couple(385, 385), GRAPH_OUTPUTS)
    reference = [reference[n] for n in GRAPH_OUTPUTS]
    assert_close_to_oracle(run_built(own, (385, 385), 16), reference)
    with_rule = run_built(rule, (385, 385), 16)
    assert np.abs(with_rule.heatmap - reference[0]).max() > 0.5
    assert np.abs(with_rule.offsets - reference[1]).max() > 1.0


@pytest.mark.parametrize("stride", [8, 16, 32])
def test_grid_size_per_stride(stride):
    heads = run_built(tiny_network(), (257, 353), stride)
    assert heads.grid_size == (256 // stride + 1, 352 // stride + 1)
    assert heads.output_stride == stride


def test_tiny_network_matches_oracle_at_every_stride():
    net = tiny_network()
    for stride in (8, 16, 32):
        heads = run_built(with_output_stride(net, stride, geometry="atrous"), (129, 97), stride)
        # Its native stride keeps its own geometry; others follow the oracle's atrous rule.
        own = None if stride == net.native_output_stride else stride
        ref = numpy_posenet.run_layers(numpy_posenet.network_layers(net, own), couple(129, 97))
        for got, name in zip(
            heads_list(heads),
            ("heatmap", "offsets", "displacement_fwd", "displacement_bwd"),
            strict=True,
        ):
            assert np.abs(got - ref[name]).max() < 1e-3, (stride, name)


def test_built_model_layout():
    data = build_tflite(posenet_json(), (257, 257), 8)
    assert data[4:8] == b"TFL3"
    model = read_model(data)
    graph = model.subgraphs[0]
    names = [graph.tensors[i].name.decode() for i in graph.outputs]
    assert names == list(OUTPUT_NAMES.values())
    (inp,) = graph.inputs
    assert list(graph.tensors[inp].shape) == [1, 257, 257, 3]
    assert graph.tensors[inp].type == schema.TensorType.FLOAT32
    ops = [op_name(model, op.opcodeIndex) for op in graph.operators]
    assert ops.count("DEPTHWISE_CONV_2D") == 13 and ops.count("CONV_2D") == 14 + 4
    dilations = [op.builtinOptions.dilationHFactor for op in graph.operators]
    # stride 8, default geometry "source": blocks 7-13 keep their 16-px tap spacing
    assert max(dilations) == 2 and dilations.count(2) == 7
    conv0 = graph.tensors[graph.operators[0].inputs[1]]
    assert list(conv0.shape) == [24, 3, 3, 3]  # OHWI
    dw1 = graph.tensors[graph.operators[1].inputs[1]]
    assert list(dw1.shape) == [1, 3, 3, 24]  # 1HWC


def test_float16_weights():
    net = posenet_json()
    full = build_tflite(net, (257, 257), 16)
    half = build_tflite(net, (257, 257), 16, float16_weights=True)
    assert len(half) < 0.55 * len(full)
    a = Runtime(full, threads=1).run(couple(257, 257))
    b = Runtime(half, threads=1).run(couple(257, 257))
    # float16 weight rounding moves scores by about 0.01 and, at the cells that hold
    # keypoints, offsets by < 0.1 px (far from people logits drift more, up to ~0.6).
    assert np.abs(a.scores() - b.scores()).max() < 0.03
    for k in range(17):
        y, x = np.unravel_index(np.argmax(a.heatmap[..., k]), a.grid_size)
        assert np.abs(a.offsets[y, x, [k, k + 17]] - b.offsets[y, x, [k, k + 17]]).max() < 0.25


def test_build_is_deterministic():
    net = tiny_network()
    assert build_tflite(net, (65, 65), 16) == build_tflite(net, (65, 65), 16)


@pytest.mark.parametrize(
    ("size", "stride"), [((0, 10), 16), ((10,), 16), ((65, 65), 12), ((65, 65), 64)]
)
def test_bad_arguments_raise(size, stride):
    with pytest.raises(PosenetError):
        build_tflite(tiny_network(), size, stride)


def test_input_range_must_be_minus_one_to_one():
    net = dataclasses.replace(tiny_network(), input_range=(0.0, 1.0))
    with pytest.raises(PosenetError, match="input range"):
        build_tflite(net, (65, 65), 16)


def test_network_digest():
    net = tiny_network()
    digest = network_digest(net, (65, 65), 16, False)
    assert len(digest) == 64 and digest == network_digest(net, (65, 65), 16, False)
    others = {
        network_digest(net, (65, 81), 16, False),
        network_digest(net, (65, 65), 8, False),
        network_digest(net, (65, 65), 16, True),
        network_digest(tiny_network(seed=1), (65, 65), 16, False),
        # the rule, not the network's own geometry
        network_digest(with_output_stride(net, 32, geometry="atrous"), (65, 65), 16, False),
    }
    assert digest not in others and len(others) == 5
    renamed = dataclasses.replace(net, name="other", description="same weights")
    assert network_digest(renamed, (65, 65), 16, False) == digest


# --- every source at every stride finds test_couple's two people ------------------------------

SOURCES = {
    "posenet.json": MODELS / "tfjs" / "posenet-mobilenet-float-075",
    "graphdef": MODELS / "pb" / "model-mobilenet_v1_050.pb",
    "coral-uint8": MODELS / "coral" / "posenet_mobilenet_v1_075_353_481_quant_decoder.tflite",
    "bodypix-float-050": MODELS / "tfjs" / "bodypix-mobilenet-float-050",
    "bodypix-quant2-075": MODELS / "tfjs" / "bodypix-mobilenet-quant2-075",
}


@cache
def source_network(name: str):
    from posenet.formats import read_network

    return read_network(SOURCES[name])


@pytest.mark.parametrize("stride", [8, 16, 32])
@pytest.mark.parametrize("source", list(SOURCES))
def test_every_source_at_every_stride_finds_both_people(source, stride):
    """At 481x641 (k * 32 + 1 both ways), decoded the TF.js way. The reference is Coral's
    own stride-16 answer, so strides 8 and 32 (re-targeted, default geometry) are held to
    12 px median per keypoint, stride 16 to 5 px."""
    from posenet.decode.tfjs import decode_tfjs

    from .people import assert_finds_both, run_network

    size = (481, 641)
    heads = run_network(source_network(source), size, stride)
    assert heads.grid_size == ((size[0] - 1) // stride + 1, (size[1] - 1) // stride + 1)
    assert heads.output_stride == stride
    assert_finds_both(decode_tfjs(heads), size, max_px=5 if stride == 16 else 12)


def test_stride_8_source_geometry_beats_the_rule_on_the_published_graphs():
    """posenet.json at stride 8: the atrous rule dilates block 13 by 4, the "source" geometry
    (the tap spacing of the published stride-16 graph) by 2. Measured on test_couple, the
    source geometry lands within ~3 px of Coral's reference with pose scores ~0.9 / 0.8,
    the rule ~8 px with ~0.6 / 0.4."""
    from posenet.decode.tfjs import decode_tfjs

    from .people import assert_finds_both, run_network

    size = (353, 481)
    net = source_network("posenet.json")
    results = {}
    for geometry in ("atrous", "source"):
        retargeted = with_output_stride(net, 8, geometry=geometry)
        poses = decode_tfjs(run_network(retargeted, size, 8))
        distances = assert_finds_both(poses, size, max_px=12)
        results[geometry] = (max(distances), sorted(p.score for p in poses)[-2:])
    assert results["source"][0] < 4 < results["atrous"][0], results
    assert min(results["source"][1]) > max(results["atrous"][1]), results


def test_builder_imports_without_the_package_root() -> None:
    """posenet/__init__ -> estimator -> model -> tflite.build: the builder must not import
    the half-initialised package root back (its version comes from posenet._version)."""
    src = Path(posenet.__file__).parent
    code = (
        "import sys, types\n"
        f"root = types.ModuleType('posenet'); root.__path__ = [{str(src)!r}]\n"
        "sys.modules['posenet'] = root  # as during `import posenet`: nothing defined yet\n"
        "from posenet.tflite.build import build_tflite\n"
        "print(sys.modules['posenet._version'].__version__)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == __version__ == posenet.__version__
    model = read_model(build_tflite(tiny_network(), (33, 33), 16))
    assert f"posenet {__version__}:" in model.description.decode()
