"""Readers: every published PoseNet form -> Network, checked by numbers and by poses.

Tolerances: float32 TFLite vs the float64 graph oracle 1e-3 on logits and
1e-2 px on offsets (1e-2 on logits for the 1.0-wide BodyPix graph, whose
activations are ten times larger); rebuilt Coral model vs the uint8 original
within 3 px mean per keypoint.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from posenet.decode.coral import decode_coral
from posenet.decode.tfjs import decode_tfjs
from posenet.errors import PosenetError
from posenet.formats import FORMATS, detect_format, read_network
from posenet.formats.tflite import read_tflite
from posenet.network import HEAD_NAMES, with_output_stride
from posenet.runtime import Runtime
from posenet.tflite.build import build_tflite, network_digest

from . import numpy_posenet
from .conftest import CORAL, IMAGES, MODELS, coral_model
from .helpers import coral_heads
from .people import assert_finds_both, couple_stretched, run_network

TFJS = MODELS / "tfjs"
POSENET_JSON = TFJS / "posenet-mobilenet-float-075" / "posenet.json"
BODYPIX = (
    "bodypix-mobilenet-float-050",
    "bodypix-mobilenet-quant2-075",
    "bodypix-mobilenet-quant1-100",
)
PB = MODELS / "pb" / "model-mobilenet_v1_050.pb"
CHECKPOINT_MANIFEST = MODELS / "tfjs-checkpoint" / "manifest.json"
HEADS = ("heatmap", "offsets", "displacement_fwd", "displacement_bwd")

#: Every readable asset: (path, format, widest channel count).
READABLE = [
    (POSENET_JSON, "tfjs-graph", 384),
    (POSENET_JSON.parent, "tfjs-graph", 384),
    (TFJS / BODYPIX[0], "tfjs-graph", 256),
    (TFJS / BODYPIX[1] / "model-stride16.json", "tfjs-graph", 384),
    (TFJS / BODYPIX[2], "tfjs-graph", 1024),
    (PB, "graphdef", 256),
    (coral_model("353_481"), "tflite", 384),
    (coral_model("481_641"), "tflite", 384),
    (coral_model("721_1281"), "tflite", 384),
    (CORAL / "components" / "posenet_mobilenet_v1_075_353_481_quant.tflite", "tflite", 384),
]


@cache
def network(path: Path):
    return read_network(path)


def heads_list(heads) -> list[np.ndarray]:
    return [heads.heatmap, heads.offsets, heads.displacements_fwd, heads.displacements_bwd]


def assert_matches(
    heads, reference: list[np.ndarray], heat_tol: float = 1e-3, px_tol: float = 1e-2
):
    errors = [float(np.abs(a - b).max()) for a, b in zip(heads_list(heads), reference, strict=True)]
    assert errors[0] <= heat_tol and max(errors[1:]) <= px_tol, errors
    return errors


# --- detection and every asset -----------------------------------------------------------------


@pytest.mark.parametrize(("path", "fmt", "width"), READABLE, ids=lambda v: getattr(v, "name", v))
def test_every_asset_reads(path, fmt, width):
    assert detect_format(path) == fmt
    net = network(path)
    assert len(net.body) == 27 and tuple(h.name for h in net.heads) == HEAD_NAMES
    assert max(layer.out_channels for layer in net.body) == width
    assert net.native_output_stride == 16 and net.output_stride == 16
    assert all(layer.weights.dtype == np.float32 for layer in net.layers)
    assert net.input_range == (-1.0, 1.0)
    assert [layer.activation for layer in net.body] == ["relu6"] * 27
    assert all(head.activation == "none" for head in net.heads)


def test_format_table_names_every_reader():
    import importlib

    for fmt in FORMATS.values():
        module = importlib.import_module(f"posenet.formats.{fmt.module}")
        assert callable(getattr(module, fmt.reader))


@pytest.mark.parametrize("size", ["353_481", "481_641", "721_1281"])
def test_edgetpu_models_are_refused(size):
    path = CORAL / f"posenet_mobilenet_v1_075_{size}_quant_decoder_edgetpu.tflite"
    assert detect_format(path) == "tflite"
    with pytest.raises(PosenetError, match="Edge TPU"):
        read_network(path)


def test_decoder_only_model_is_refused():
    with pytest.raises(PosenetError, match="no convolutions"):
        read_network(CORAL / "components" / "posenet_mobilenet_v1_075_353_481_decoder.tflite")


def test_unknown_files_are_refused(tmp_path):
    with pytest.raises(PosenetError, match=r"expected TF\.js graph model"):
        detect_format(IMAGES / "test_couple.jpg")
    with pytest.raises(PosenetError, match="no such file"):
        read_network(tmp_path / "missing.tflite")
    with pytest.raises(PosenetError, match="folder holds no PoseNet model"):
        read_network(tmp_path)
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(PosenetError, match="not a PoseNet model file"):
        read_network(tmp_path / "other.json")


# --- damaged files ------------------------------------------------------------------------------


def copy_posenet_json(folder: Path) -> Path:
    for name in ("posenet.json", "posenet.bin"):
        shutil.copy(POSENET_JSON.parent / name, folder / name)
    return folder / "posenet.json"


def test_missing_shard(tmp_path):
    path = copy_posenet_json(tmp_path)
    (tmp_path / "posenet.bin").unlink()
    with pytest.raises(PosenetError, match=r"weight shard posenet\.bin is missing"):
        read_network(path)


def test_short_shard(tmp_path):
    path = copy_posenet_json(tmp_path)
    data = (tmp_path / "posenet.bin").read_bytes()
    (tmp_path / "posenet.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(PosenetError, match=r"hold 2,516,390 bytes, the manifest's weights need"):
        read_network(path)


def test_long_shard(tmp_path):
    path = copy_posenet_json(tmp_path)
    with (tmp_path / "posenet.bin").open("ab") as f:
        f.write(b"\0" * 16)
    with pytest.raises(PosenetError, match="the manifest"):
        read_network(path)


def test_broken_json(tmp_path):
    path = copy_posenet_json(tmp_path)
    path.write_text(path.read_text()[:1000])
    with pytest.raises(PosenetError):
        read_network(path)


def test_unsupported_weight_dtype(tmp_path):
    path = copy_posenet_json(tmp_path)
    model = json.loads(path.read_text())
    model["weightsManifest"][0]["weights"][0]["dtype"] = "complex64"
    path.write_text(json.dumps(model))
    with pytest.raises(PosenetError, match="unsupported dtype complex64"):
        read_network(path)


def test_graph_without_heads(tmp_path):
    path = copy_posenet_json(tmp_path)
    model = json.loads(path.read_text())
    model["modelTopology"]["node"] = [
        n for n in model["modelTopology"]["node"] if "displacement" not in n["name"]
    ]
    path.write_text(json.dumps(model))
    with pytest.raises(PosenetError, match="displacement_fwd / displacement_bwd head"):
        read_network(path)


def test_truncated_tflite(tmp_path):
    path = tmp_path / "cut.tflite"
    path.write_bytes(coral_model("353_481").read_bytes()[:5000])
    with pytest.raises(PosenetError, match=r"damaged|empty"):
        read_network(path)


def test_tflite_weights_reshaped_to_fit_their_bytes_are_refused(tmp_path):
    """Validation passes (the bytes fit the shape), LiteRT would run it; the reader,
    which export and other strides use, names the shape instead of failing in numpy."""
    from posenet.tflite.flatbuffer import read_model, write_model

    model = read_model(coral_model("353_481").read_bytes())
    graph = model.subgraphs[0]
    weights = graph.tensors[int(graph.operators[2].inputs[1])]  # a 1x1 conv, [O, 1, 1, I]
    out, _, _, into = (int(d) for d in weights.shape)
    weights.shape = np.array([out, 1, into], np.int32)
    path = tmp_path / "reshaped.tflite"
    path.write_bytes(write_model(model))
    with pytest.raises(PosenetError, match=rf"weights of shape \[{out}, 1, {into}\], expected 4-D"):
        read_network(path)


def test_truncated_graphdef(tmp_path):
    path = tmp_path / "cut.pb"
    path.write_bytes(PB.read_bytes()[:100_000])
    with pytest.raises(PosenetError):
        read_network(path)


def test_graphdef_detected_without_extension(tmp_path):
    path = tmp_path / "frozen_model"
    shutil.copy(PB, path)
    assert detect_format(path) == "graphdef"


# --- TF.js graph models: weight dtypes, shards, the graph oracle ---------------------------------


def _encode(array: np.ndarray, dtype: str) -> tuple[bytes, dict | None]:
    """One weight as TF.js stores it: raw float32, float16, or affine uint8 / uint16."""
    if dtype == "float32":
        return array.astype("<f4").tobytes(), None
    if dtype == "float16":
        return array.astype("<f2").tobytes(), {"dtype": "float16"}
    bits = {"uint8": 8, "uint16": 16}[dtype]
    lo, hi = float(array.min()), float(array.max())
    scale = (hi - lo) / (2**bits - 1) or 1.0
    q = np.round((array - lo) / scale).astype({"uint8": "u1", "uint16": "<u2"}[dtype])
    return q.tobytes(), {"dtype": dtype, "scale": scale, "min": lo}


def rewrite_posenet_json(folder: Path, dtypes: list[str], shards: int) -> tuple[Path, dict]:
    """posenet.json with its weights re-encoded (dtype cycling over weights), split into two
    manifest groups of `shards` files each; returns the path and the expected float32 values."""
    _, consts = numpy_posenet.tfjs_graph(POSENET_JSON)
    model = json.loads(POSENET_JSON.read_text())
    names = [w["name"] for w in model["weightsManifest"][0]["weights"]]
    groups, expected = [], {}
    for g, part in enumerate((names[: len(names) // 2], names[len(names) // 2 :])):
        blob, specs = b"", []
        for i, name in enumerate(part):
            array = consts[name].astype(np.float32)
            dtype = dtypes[i % len(dtypes)]
            data, quant = _encode(array, dtype)
            spec = {"name": name, "shape": list(array.shape), "dtype": "float32"}
            if quant:
                spec["quantization"] = quant
            specs.append(spec)
            blob += data
            if dtype == "float16":
                expected[name] = array.astype(np.float16).astype(np.float32)
            elif quant:
                q = np.frombuffer(data, dtype={"uint8": "u1", "uint16": "<u2"}[dtype])
                expected[name] = (
                    (q * quant["scale"] + quant["min"]).astype(np.float32).reshape(array.shape)
                )
            else:
                expected[name] = array
        cuts = np.linspace(0, len(blob), shards + 1).astype(int)
        paths = []
        for s in range(shards):
            paths.append(f"group{g + 1}-shard{s + 1}of{shards}.bin")
            (folder / paths[-1]).write_bytes(blob[cuts[s] : cuts[s + 1]])
        groups.append({"paths": paths, "weights": specs})
    model["weightsManifest"] = groups
    path = folder / "model.json"
    path.write_text(json.dumps(model))
    return path, expected


@pytest.mark.parametrize(
    "dtypes",
    [["float32"], ["float16"], ["uint8"], ["uint16"], ["uint8", "float16", "float32", "uint16"]],
)
def test_weight_dtypes_and_shards(tmp_path, dtypes):
    _, expected = rewrite_posenet_json(tmp_path, dtypes, shards=3)
    assert detect_format(tmp_path) == "tfjs-graph"
    net = read_network(tmp_path)
    original = network(POSENET_JSON)
    # Each layer must hold exactly the decoded constants its graph node reads.
    model = json.loads(POSENET_JSON.read_text())
    convs = [
        n
        for n in model["modelTopology"]["node"]
        if n["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative")
    ]
    heads = {
        head: next(n for n in convs if f"/{scope}/" in n["name"])
        for head, scope in zip(
            HEAD_NAMES,
            ("heatmap_2", "offset_2", "displacement_fwd_2", "displacement_bwd_2"),
            strict=True,
        )
    }
    nodes = [*convs[:27], *(heads[h] for h in HEAD_NAMES)]
    for layer, node in zip(net.layers, nodes, strict=True):
        w_name, b_name = node["input"][1:3]
        assert np.array_equal(layer.weights, expected[w_name]), layer.name
        assert np.array_equal(layer.bias, expected[b_name]), layer.name
    if dtypes == ["float32"]:
        for a, b in zip(net.layers, original.layers, strict=True):
            assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)


def test_posenet_json_heads_match_the_graph_oracle():
    heads = run_network(network(POSENET_JSON), (257, 353), 16)
    outputs = [
        f"MobilenetV1/{n}_2/BiasAdd"
        for n in ("heatmap", "offset", "displacement_fwd", "displacement_bwd")
    ]
    reference = numpy_posenet.run_tfjs_graph(POSENET_JSON, couple_stretched(257, 353), outputs)
    assert_matches(heads, [reference[n] for n in outputs])


BODYPIX_OUTPUTS = [
    "float_heatmaps",
    "float_short_offsets",
    "MobilenetV1/displacement_fwd_2/BiasAdd",
    "MobilenetV1/displacement_bwd_2/BiasAdd",
]


@pytest.mark.parametrize("name", BODYPIX[:2])
def test_bodypix_heads_match_the_graph_oracle(name):
    """Plain Conv2D / BiasAdd / Relu6 graphs (float32 and uint16 weights) read as written;
    the segmentation and part heads are left out."""
    path = TFJS / name / "model-stride16.json"
    heads = run_network(network(TFJS / name), (257, 353), 16)
    reference = numpy_posenet.run_tfjs_graph(path, couple_stretched(257, 353), BODYPIX_OUTPUTS)
    assert_matches(heads, [reference[n] for n in BODYPIX_OUTPUTS])


def test_bodypix_quant1_block_13_dilation():
    """quant1-100 writes block 13's dilations as [2, 2, 1, 1].

    TF.js reads entries 1 and 2 of it (dilation 2 in height, 1 in width). The
    graph's numbers say otherwise: read with dilation 2 in both directions, its
    heatmap logits correlate best with its BodyPix sibling's (quant2-075, same
    training), better than (2, 1), (1, 2) or no dilation, on each of the four
    test images at 257x353 and at 353x481. (Against posenet.json, trained
    apart, the four readings come within 0.01 of each other; it settles
    nothing.) The reader takes (2, 2).
    """
    net = network(TFJS / BODYPIX[2])
    block13 = [layer.name for layer in net.body].index("Conv2d_13_depthwise")
    assert net.body[block13].dilation == 2
    sibling = network(TFJS / BODYPIX[1])
    from PIL import Image

    dilations = ((1, 1), (2, 1), (1, 2), (2, 2))
    for image_name in ("test_couple.jpg", "tennis_in_crowd.jpg", "frisbee.jpg", "soccer.png"):
        image = np.asarray(
            Image.open(IMAGES / image_name).convert("RGB").resize((353, 257), Image.BILINEAR)
        )
        x = numpy_posenet.pixels_to_input(image)
        layers = numpy_posenet.network_layers(net)
        for layer in layers[:block13]:
            x = numpy_posenet.relu6(
                numpy_posenet.conv(
                    x, layer["w"], layer["stride"], layer["dilation"], depthwise=layer["depthwise"]
                )
                + layer["b"]
            )
        dw, pw = layers[block13], layers[block13 + 1]
        heat = layers[block13 + 2]
        reference = Runtime(build_tflite(sibling, (257, 353), 16), threads=1).run(image).heatmap
        agreement = {}
        for dilation in dilations:
            y = numpy_posenet.relu6(
                numpy_posenet.conv(x, dw["w"], 1, dilation, depthwise=True) + dw["b"]
            )
            y = numpy_posenet.relu6(numpy_posenet.conv(y, pw["w"]) + pw["b"])
            logits = (numpy_posenet.conv(y, heat["w"]) + heat["b"]).ravel()
            agreement[dilation] = np.corrcoef(logits, reference.ravel())[0, 1]
        assert max(agreement, key=agreement.get) == (2, 2), (image_name, agreement)


# --- pose finding across sources --------------------------------------------------------------


@pytest.mark.parametrize("name", BODYPIX[:2])
def test_bodypix_finds_both_people(name):
    size = (353, 481)
    poses = decode_tfjs(run_network(network(TFJS / name), size, 16))
    assert_finds_both(poses, size, max_px=5)


def test_bodypix_quant1_finds_both_people():
    """Its per-tensor uint8 weights cost it accuracy (re-quantizing posenet.json the same
    way loses both people); at 257x353 it still finds both, within about half a cell."""
    size = (257, 353)
    poses = decode_tfjs(run_network(network(TFJS / BODYPIX[2]), size, 16))
    assert_finds_both(poses, size, max_px=9)


def test_graphdef_finds_both_people():
    size = (353, 481)
    poses = decode_tfjs(run_network(network(PB), size, 16))
    assert_finds_both(poses, size, max_px=5)


# --- frozen GraphDef ---------------------------------------------------------------------------


def test_graphdef_heads_match_the_graph_oracle_and_drop_the_sigmoid():
    heads = run_network(network(PB), (257, 257), 16)
    outputs = ["heatmap_2", "offset_2", "displacement_fwd_2", "displacement_bwd_2", "heatmap"]
    reference = numpy_posenet.run_graphdef(PB.read_bytes(), couple_stretched(257, 257), outputs)
    assert_matches(heads, [reference[n] for n in outputs[:4]])
    # The graph's own output is sigmoid(heatmap_2); the Network's head stays logits.
    assert np.abs(heads.scores() - reference["heatmap"]).max() < 1e-4
    assert heads.heatmap.min() < 0


def test_graphdef_space_to_batch_dilation(tmp_path):
    """Dilation written as SpaceToBatchND -> conv VALID -> BatchToSpaceND (tf.nn.atrous)
    reads as a dilated SAME conv: rewrite block 13 of the .pb that way and compare with
    the oracle interpreting the rewritten graph."""
    from tensorboardX.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(PB.read_bytes())
    conv = next(n for n in graph.node if n.name == "MobilenetV1/depthwise_12")
    (source,) = [i for i in conv.input if "Relu6" in i]
    size = 257
    grid = (size - 1) // 16 + 1  # 17: padded to 17 + 2 * 2 = 21, not a multiple of 2 -> pad 22
    pads = [[2, 3], [2, 3]]
    crops = [[0, 1], [0, 1]]

    def const(name, values):
        node = graph.node.add()
        node.name, node.op = name, "Const"
        tensor = node.attr["value"].tensor
        tensor.dtype = 3
        array = np.asarray(values, np.int32)
        for d in array.shape:
            tensor.tensor_shape.dim.add().size = d
        tensor.tensor_content = array.tobytes()

    const("s2b/block", [2, 2])
    const("s2b/pads", pads)
    const("b2s/crops", crops)
    s2b = graph.node.add()
    s2b.name, s2b.op = "s2b", "SpaceToBatchND"
    s2b.input.extend([source, "s2b/block", "s2b/pads"])
    b2s = graph.node.add()
    b2s.name, b2s.op = "b2s", "BatchToSpaceND"
    b2s.input.extend([conv.name, "s2b/block", "b2s/crops"])
    conv.input[0] = "s2b"
    conv.attr["padding"].s = b"VALID"
    for node in graph.node:
        if node.name == "MobilenetV1/BiasAdd_24":
            node.input[0] = "b2s"
    path = tmp_path / "atrous.pb"
    path.write_bytes(graph.SerializeToString())
    net = read_network(path)
    assert net.body[-2].dilation == 2 and grid == 17
    heads = run_network(net, (size, size), 16)
    outputs = ["heatmap_2", "offset_2", "displacement_fwd_2", "displacement_bwd_2"]
    reference = numpy_posenet.run_graphdef(path.read_bytes(), couple_stretched(size, size), outputs)
    assert_matches(heads, [reference[n] for n in outputs])


# --- TF.js 1.x checkpoint ---------------------------------------------------------------------


def write_checkpoint(folder: Path) -> None:
    """posenet.json's weights as a 1.x checkpoint, named by the real manifest's scheme."""
    manifest = json.loads(CHECKPOINT_MANIFEST.read_text())
    net = network(POSENET_JSON)
    variables = {}
    for layer in net.body:
        weights = "depthwise_weights" if layer.kind == "depthwise" else "weights"
        variables[f"MobilenetV1/{layer.name}/{weights}"] = layer.weights
        variables[f"MobilenetV1/{layer.name}/biases"] = layer.bias
    scopes = dict(
        zip(
            HEAD_NAMES,
            ("heatmap_2", "offset_2", "displacement_fwd_2", "displacement_bwd_2"),
            strict=True,
        )
    )
    for head in net.heads:
        variables[f"MobilenetV1/{scopes[head.name]}/weights"] = head.weights
        variables[f"MobilenetV1/{scopes[head.name]}/biases"] = head.bias
    assert set(variables) <= set(manifest)  # every variable name is a real one
    for name, array in variables.items():
        manifest[name]["shape"] = list(array.shape)
        (folder / manifest[name]["filename"]).write_bytes(array.astype("<f4").tobytes())
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_real_checkpoint_manifest_without_weights():
    assert detect_format(CHECKPOINT_MANIFEST) == "tfjs-checkpoint"
    assert detect_format(CHECKPOINT_MANIFEST.parent) == "tfjs-checkpoint"
    with pytest.raises(PosenetError, match="weight file MobilenetV1_Conv2d_0_weights is missing"):
        read_network(CHECKPOINT_MANIFEST.parent)


def test_checkpoint_round_trip(tmp_path):
    write_checkpoint(tmp_path)
    assert detect_format(tmp_path) == "tfjs-checkpoint"
    ckpt = read_network(tmp_path)
    graph = network(POSENET_JSON)
    for a, b in zip(ckpt.layers, graph.layers, strict=True):
        assert a.name == b.name and a.kind == b.kind
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    # TF.js 1.x ran checkpoints through the atrous rule at its default stride 16.
    assert ckpt.native_output_stride == 16
    assert ckpt.body[-2].name == "Conv2d_13_depthwise" and ckpt.body[-2].dilation == 2
    size = (257, 353)
    for stride in (8, 32):  # both under the rule: the same model, the same heads
        ruled_ckpt = with_output_stride(ckpt, stride, geometry="atrous")
        ruled_graph = with_output_stride(graph, stride, geometry="atrous")
        assert network_digest(ruled_ckpt, size, stride, False) == network_digest(
            ruled_graph, size, stride, False
        )
        a, b = run_network(ruled_ckpt, size, stride), run_network(ruled_graph, size, stride)
        for x, y in zip(heads_list(a), heads_list(b), strict=True):
            assert np.array_equal(x, y)
    # At 16, with the graph's own geometry (no dilation), the heads are identical too.
    import dataclasses

    own = dataclasses.replace(
        ckpt,
        body=tuple(
            dataclasses.replace(c, stride=g.stride, dilation=g.dilation)
            for c, g in zip(ckpt.body, graph.body, strict=True)
        ),
    )
    a, b = run_network(own, size, 16), run_network(graph, size, 16)
    for x, y in zip(heads_list(a), heads_list(b), strict=True):
        assert np.array_equal(x, y)


def test_checkpoint_with_a_short_file(tmp_path):
    write_checkpoint(tmp_path)
    target = tmp_path / "MobilenetV1_Conv2d_5_pointwise_weights"
    target.write_bytes(target.read_bytes()[:-4])
    with pytest.raises(PosenetError, match="MobilenetV1_Conv2d_5_pointwise_weights holds"):
        read_network(tmp_path / "manifest.json")


# --- TFLite -----------------------------------------------------------------------------------


def test_coral_float_rebuild_finds_the_same_people():
    """The uint8 Coral model's weights, dequantized and rebuilt as float32 at its own size and
    stride, decode (Coral's decoder, the model's own options) to the same two people."""
    quantized, options = coral_heads("353_481")
    size = (353, 481)
    rebuilt = Runtime(build_tflite(network(coral_model("353_481")), size, 16), threads=1).run(
        couple_stretched(*size)
    )
    options = {k: options[k] for k in ("max_detections", "score_threshold", "nms_radius")}
    want, got = decode_coral(quantized, **options), decode_coral(rebuilt, **options)
    assert len(want) == len(got) == 2
    for a, b in zip(want, got, strict=True):
        assert np.linalg.norm(a.xy - b.xy, axis=1).mean() <= 3.0
        assert abs(a.score - b.score) < 0.05
    # Head by head, where the keypoints are: the short offsets agree within a pixel.
    for k in range(17):
        y, x = np.unravel_index(np.argmax(quantized.heatmap[..., k]), quantized.grid_size)
        assert (
            np.abs(quantized.offsets[y, x, [k, k + 17]] - rebuilt.offsets[y, x, [k, k + 17]]).max()
            < 1.0
        )


def test_coral_quantized_relu6_and_bias_scale():
    """ReLU6 comes back from the [0, 6] output range; int32 biases are scaled by
    input_scale * weight_scale (checked on Conv2d_0 by hand)."""
    from posenet.tflite.flatbuffer import read_model

    net = network(coral_model("353_481"))
    assert all(layer.activation == "relu6" for layer in net.body)
    model = read_model(coral_model("353_481").read_bytes())
    graph = model.subgraphs[0]
    op = graph.operators[0]
    inp, w, b = (graph.tensors[i] for i in op.inputs)
    bias = np.frombuffer(bytes(bytearray(model.buffers[b.buffer].data)), "<i4")
    expected = bias * (inp.quantization.scale[0] * w.quantization.scale[0])
    assert np.allclose(net.body[0].bias, expected, rtol=1e-6)
    q = np.frombuffer(bytes(bytearray(model.buffers[w.buffer].data)), "u1").reshape(list(w.shape))
    real = (q.astype(np.float64) - w.quantization.zeroPoint[0]) * w.quantization.scale[0]
    assert np.allclose(net.body[0].weights, real.transpose(1, 2, 3, 0), rtol=1e-6)


def test_built_model_reads_back(tmp_path):
    net = network(POSENET_JSON)
    path = tmp_path / "built.tflite"
    path.write_bytes(build_tflite(net, (257, 257), 8))
    back = read_tflite(path)
    assert back.output_stride == 8
    for a, b in zip(back.layers, with_output_stride(net, 8).layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
        assert (a.stride, a.dilation, a.activation) == (b.stride, b.dilation, b.activation)
    half = tmp_path / "half.tflite"
    half.write_bytes(build_tflite(net, (257, 257), 16, float16_weights=True))
    back = read_network(half)
    for a, b in zip(back.layers, net.layers, strict=True):
        assert np.array_equal(a.weights, b.weights.astype(np.float16).astype(np.float32))


def _int8_model(net, size) -> bytes:
    """A full-integer, per-channel int8 model made by LiteRT's own calibrator (POSENET.md §8)."""
    from ai_edge_litert import _pywrap_tensorflow_lite_calibration_wrapper as calibration

    model = build_tflite(net, size, 16)  # the wrapper does not keep the bytes alive
    wrapper = calibration.CalibrationWrapper(model, [], [])
    wrapper.Prepare([[1, *size, 3]])
    for name in ("test_couple.jpg", "tennis_in_crowd.jpg"):
        from PIL import Image

        image = np.asarray(Image.open(IMAGES / name).convert("RGB").resize(size[::-1]))
        wrapper.FeedTensor([image[np.newaxis].astype(np.float32) / 127.5 - 1])
    return wrapper.QuantizeModel(1, 1, False, 1, 5, False, False)


def test_int8_per_channel_model_reads(tmp_path):
    net = network(POSENET_JSON)
    path = tmp_path / "int8.tflite"
    path.write_bytes(_int8_model(net, (129, 129)))
    back = read_network(path)
    for a, b in zip(back.layers, net.layers, strict=True):
        # Per-channel symmetric int8: each output channel within half a step of its own scale.
        axis = (0, 1, 2) if a.kind != "depthwise" else (0, 1, 3)
        step = np.abs(b.weights).max(axis=axis, keepdims=True) / 127
        assert np.all(np.abs(a.weights - b.weights) <= step / 2 + 1e-6), a.name
        assert a.activation == b.activation
    size = (353, 481)
    poses = decode_tfjs(run_network(back, size, 16))
    assert_finds_both(poses, size, max_px=5)


def google_style_model(net) -> bytes:
    """A float model laid out like Google's multi_person_mobilenet_v1_075_float.tflite:
    outputs float_heatmaps, float_short_offsets, float_mid_offsets (fwd | bwd, 64 channels),
    plus decoys float_long_offsets (34 channels) and float_segments (1 channel)."""
    from ai_edge_litert import schema_py_generated as schema

    from posenet.tflite.flatbuffer import read_model, write_model

    model = read_model(build_tflite(net, (257, 257), 16))
    graph = model.subgraphs[0]
    by_name = {graph.tensors[op.outputs[0]].name.decode(): op for op in graph.operators}

    def constant(array: np.ndarray) -> int:
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(array.astype("<f4").tobytes(), np.uint8)
        model.buffers.append(buffer)
        tensor = schema.TensorT()
        tensor.shape, tensor.type = np.asarray(array.shape, np.int32), schema.TensorType.FLOAT32
        tensor.buffer, tensor.name = len(model.buffers) - 1, b"const"
        graph.tensors.append(tensor)
        return len(graph.tensors) - 1

    def head(name: str, weights: np.ndarray, bias: np.ndarray) -> int:
        """A 1x1 conv on the body output; weights HWIO."""
        template = by_name["heatmap"]
        op = schema.OperatorT()
        op.opcodeIndex, op.builtinOptionsType = template.opcodeIndex, template.builtinOptionsType
        op.builtinOptions = template.builtinOptions
        output = schema.TensorT()
        output.shape = np.asarray([1, 17, 17, weights.shape[3]], np.int32)
        output.type, output.buffer, output.name = schema.TensorType.FLOAT32, 0, name.encode()
        graph.tensors.append(output)
        index = len(graph.tensors) - 1
        source = template.inputs[0]
        op.inputs = np.asarray(
            [source, constant(weights.transpose(3, 0, 1, 2)), constant(bias)], np.int32
        )
        op.outputs = np.asarray([index], np.int32)
        graph.operators.append(op)
        return index

    fwd, bwd = net.head("displacement_fwd"), net.head("displacement_bwd")
    keep = [
        op
        for op in graph.operators
        if graph.tensors[op.outputs[0]].name.decode()
        not in ("displacement_fwd_2", "displacement_bwd_2")
    ]
    graph.operators = keep
    graph.tensors[by_name["heatmap"].outputs[0]].name = b"float_heatmaps"
    graph.tensors[by_name["offset_2"].outputs[0]].name = b"float_short_offsets"
    mid = head(
        "float_mid_offsets",
        np.concatenate([fwd.weights, bwd.weights], axis=3),
        np.concatenate([fwd.bias, bwd.bias]),
    )
    offsets = net.head("offsets")
    long = head("float_long_offsets", -offsets.weights, -offsets.bias)
    segments = head("float_segments", offsets.weights[..., :1], offsets.bias[:1])
    graph.outputs = np.asarray(
        [by_name["heatmap"].outputs[0], by_name["offset_2"].outputs[0], mid, long, segments],
        np.int32,
    )
    return write_model(model)


def test_google_style_float_model(tmp_path):
    net = network(POSENET_JSON)
    path = tmp_path / "multi_person_mobilenet_v1_075_float.tflite"
    path.write_bytes(google_style_model(net))
    back = read_network(path)
    for a, b in zip(back.layers, net.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias), a.name
    # The Runtime maps the same file onto the same heads as the plain build.
    image = couple_stretched(257, 257)
    plain = Runtime(build_tflite(net, (257, 257), 16), threads=1).run(image)
    google = Runtime(path.read_bytes(), threads=1).run(image)
    for x, y in zip(heads_list(plain), heads_list(google), strict=True):
        assert np.abs(x - y).max() < 1e-4


def test_explicit_pad_layout_reads_back(tmp_path):
    """The K210 layout (stride-2 3x3 convs as symmetric PAD + VALID) reads as SAME convs."""
    net = network(POSENET_JSON)
    path = tmp_path / "k210.tflite"
    path.write_bytes(build_tflite(net, (257, 257), 16, explicit_pad=True))
    back = read_network(path)
    for a, b in zip(back.layers, net.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
        assert (a.stride, a.dilation, a.activation) == (b.stride, b.dilation, b.activation)
