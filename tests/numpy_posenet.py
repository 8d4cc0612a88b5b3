"""A float64 numpy PoseNet, the oracle the built TFLite models are checked against.

Written from POSENET.md, not from posenet's builder or readers:

- `run_tfjs_graph` / `run_graphdef` interpret a TF.js graph model or a frozen
  GraphDef node by node, exactly as written (their strides, dilations,
  padding, fused ops, SpaceToBatchND dilation, the trailing Sigmoid), with
  their own minimal decoding of the containers (§6).
- `run_layers` runs a plain list of convolutions; `atrous` is §2's output
  stride rule and `MOBILENET_V1_STRIDES` §2's nominal strides, so a re-targeted
  forward pass does not borrow `posenet.network.with_output_stride`.

Convolutions follow TensorFlow's SAME padding: output ceil(n / stride), total
padding max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0), the smaller
half at the top / left.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

#: §2: conv stride 2, then per block (depthwise stride, pointwise 1).
_BLOCKS = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)
MOBILENET_V1_STRIDES: tuple[int, ...] = (2, *(s for b in _BLOCKS for s in (b, 1)))


def pixels_to_input(image: np.ndarray) -> np.ndarray:
    """uint8[H, W, 3] -> float64[1, H, W, 3], the same float32 values the Runtime feeds."""
    x = image.astype(np.float32) * np.float32(1 / 127.5) - np.float32(1)
    return x.astype(np.float64)[np.newaxis]


def _pad_same(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


def conv(
    x: np.ndarray,
    w: np.ndarray,
    stride: int = 1,
    dilation: int | tuple[int, int] = 1,
    padding: str = "SAME",
    depthwise: bool = False,
) -> np.ndarray:
    """x: [N, H, W, Cin]; w: HWIO (conv) or HWC1 (depthwise). float64 out [N, oh, ow, Cout].

    dilation: one factor, or (height, width) factors.
    """
    n, h, wd, _ = x.shape
    kh, kw = w.shape[:2]
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    if padding == "SAME":
        oh, top, bottom = _pad_same(h, kh, stride, dh)
        ow, left, right = _pad_same(wd, kw, stride, dw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    else:
        oh = (h - (kh - 1) * dh - 1) // stride + 1
        ow = (wd - (kw - 1) * dw - 1) // stride + 1
    cout = w.shape[2] if depthwise else w.shape[3]
    out = np.zeros((n, oh, ow, cout))
    for i in range(kh):
        for j in range(kw):
            patch = x[
                :,
                i * dh : i * dh + (oh - 1) * stride + 1 : stride,
                j * dw : j * dw + (ow - 1) * stride + 1 : stride,
                :,
            ]
            if depthwise:
                out += patch * w[i, j, :, 0]
            else:
                out += patch @ w[i, j]
    return out


def relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 6.0)


def atrous(nominal: tuple[int, ...], output_stride: int) -> list[tuple[int, int]]:
    """§2: while current < output_stride keep the stride; afterwards stride 1, dilation rate."""
    current, rate, out = 1, 1, []
    for s in nominal:
        if current == output_stride:
            out.append((1, rate))
            rate *= s
        else:
            out.append((s, 1))
            current *= s
    assert current == output_stride
    return out


def run_layers(layers: list[dict], image: np.ndarray) -> dict[str, np.ndarray]:
    """Run body + heads given as dicts: kind, w (HWIO / HWC1), b, stride, dilation, relu6.

    The heads are the dicts with a 'head' key; returns {head: float64[H, W, C]}.
    """
    x = pixels_to_input(image)
    heads = {}
    for layer in layers:
        if "head" in layer:
            continue
        x = conv(x, layer["w"], layer["stride"], layer["dilation"], depthwise=layer["depthwise"])
        x = x + layer["b"]
        if layer["relu6"]:
            x = relu6(x)
    for layer in layers:
        if "head" in layer:
            heads[layer["head"]] = (conv(x, layer["w"]) + layer["b"])[0]
    return heads


def network_layers(network, output_stride: int | None = None) -> list[dict]:
    """A posenet Network's weights as run_layers dicts.

    output_stride None keeps the strides / dilations stored in the network;
    otherwise they come from this module's own atrous rule.
    """
    geometry = (
        [(layer.stride, layer.dilation) for layer in network.body]
        if output_stride is None
        else atrous(MOBILENET_V1_STRIDES, output_stride)
    )
    layers = [
        {
            "w": layer.weights.astype(np.float64),
            "b": layer.bias.astype(np.float64),
            "stride": stride,
            "dilation": dilation,
            "depthwise": layer.kind == "depthwise",
            "relu6": layer.activation == "relu6",
        }
        for layer, (stride, dilation) in zip(network.body, geometry, strict=True)
    ]
    layers += [
        {"head": head.name, "w": head.weights.astype(np.float64), "b": head.bias.astype(np.float64)}
        for head in network.heads
    ]
    return layers


# --- interpreting a GraphDef as written ------------------------------------------------------


def _space_to_batch(x: np.ndarray, block: list[int], pads: np.ndarray) -> np.ndarray:
    n, _, _, c = x.shape
    bh, bw = block
    x = np.pad(x, ((0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)))
    h, w = x.shape[1] // bh, x.shape[2] // bw
    x = x.reshape(n, h, bh, w, bw, c).transpose(2, 4, 0, 1, 3, 5)
    return x.reshape(bh * bw * n, h, w, c)


def _batch_to_space(x: np.ndarray, block: list[int], crops: np.ndarray) -> np.ndarray:
    bh, bw = block
    nb, h, w, c = x.shape
    n = nb // (bh * bw)
    x = x.reshape(bh, bw, n, h, w, c).transpose(2, 3, 0, 4, 1, 5).reshape(n, h * bh, w * bw, c)
    return x[:, crops[0][0] : h * bh - crops[0][1], crops[1][0] : w * bw - crops[1][1], :]


def run_graph(
    nodes: dict[str, dict], consts: dict[str, np.ndarray], image: np.ndarray, outputs: list[str]
) -> dict[str, np.ndarray]:
    """Evaluate outputs of a graph given as {name: {op, inputs, attrs}}; returns [H, W, C]."""
    values: dict[str, np.ndarray] = {}

    def spatial(attr: list[int]) -> int:
        assert attr[0] == 1 and attr[3] == 1 and attr[1] == attr[2], attr
        return attr[1]

    def value(name: str) -> np.ndarray:
        name = name.split(":")[0]
        if name in values:
            return values[name]
        node = nodes[name]
        op, ins, attrs = node["op"], node["inputs"], node["attrs"]
        if op == "Const":
            out = consts[name]
        elif op == "Placeholder":
            out = pixels_to_input(image)
        elif op == "Identity":
            out = value(ins[0])
        elif op in (
            "Conv2D",
            "DepthwiseConv2dNative",
            "_FusedConv2D",
            "FusedDepthwiseConv2dNative",
        ):
            out = conv(
                value(ins[0]),
                value(ins[1]).astype(np.float64),
                spatial(attrs["strides"]),
                spatial(attrs.get("dilations", [1, 1, 1, 1])),
                attrs.get("padding", "SAME"),
                depthwise="Depthwise" in op,
            )
            fused = attrs.get("fused_ops", [])
            if fused:
                assert fused[0] == "BiasAdd", fused
                out = out + value(ins[2])
                if fused[1:] == ["Relu6"]:
                    out = relu6(out)
                else:
                    assert not fused[1:], fused
        elif op in ("BiasAdd", "Add", "AddV2"):
            out = value(ins[0]) + value(ins[1])
        elif op == "Relu6":
            out = relu6(value(ins[0]))
        elif op == "Sigmoid":
            out = 1.0 / (1.0 + np.exp(-value(ins[0])))
        elif op == "SpaceToBatchND":
            out = _space_to_batch(value(ins[0]), list(value(ins[1])), value(ins[2]))
        elif op == "BatchToSpaceND":
            out = _batch_to_space(value(ins[0]), list(value(ins[1])), value(ins[2]))
        else:
            raise NotImplementedError(op)
        values[name] = out
        return out

    return {name: value(name)[0] for name in outputs}


def tfjs_graph(path: Path) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """A TF.js graph model's nodes and constants (weights dequantized)."""
    model = json.loads(Path(path).read_text())
    consts: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        data = b"".join((Path(path).parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            quant = spec.get("quantization")
            dtype = {"float32": "<f4", "uint8": "u1", "uint16": "<u2", "float16": "<f2"}[
                quant["dtype"] if quant else spec["dtype"]
            ]
            count = int(np.prod(spec["shape"]))
            q = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += q.nbytes
            real = q * quant["scale"] + quant["min"] if quant and "scale" in quant else q
            consts[spec["name"]] = np.asarray(real, dtype=np.float64).reshape(spec["shape"])

    def attr(v: dict):
        if "list" in v:
            lst = v["list"]
            if "i" in lst:
                return [int(i) for i in lst["i"]]
            return [base64.b64decode(s).decode() for s in lst.get("s", [])]
        if "s" in v:
            return base64.b64decode(v["s"]).decode()
        return v

    nodes = {
        n["name"]: {
            "op": n["op"],
            "inputs": [i for i in n.get("input", []) if not i.startswith("^")],
            "attrs": {k: attr(v) for k, v in n.get("attr", {}).items()},
        }
        for n in model["modelTopology"]["node"]
    }
    return nodes, consts


def graphdef(data: bytes) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """A frozen GraphDef's nodes and constants, parsed with tensorboardX's TF protos."""
    from tensorboardX.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(data)
    nodes, consts = {}, {}
    for n in graph.node:
        attrs = {}
        for key, v in n.attr.items():
            kind = v.WhichOneof("value")
            if kind == "list":
                attrs[key] = list(v.list.i) or [s.decode() for s in v.list.s]
            elif kind == "s":
                attrs[key] = v.s.decode()
        nodes[n.name] = {
            "op": n.op,
            "inputs": [i for i in n.input if not i.startswith("^")],
            "attrs": attrs,
        }
        if n.op == "Const":
            t = n.attr["value"].tensor
            shape = [d.size for d in t.tensor_shape.dim]
            dtype = {1: "<f4", 3: "<i4"}[t.dtype]
            if t.tensor_content:
                array = np.frombuffer(t.tensor_content, dtype=dtype)
            else:
                array = np.asarray(t.float_val if t.dtype == 1 else t.int_val, dtype=dtype)
                array = np.broadcast_to(array, shape) if array.size == 1 else array
            array = array.reshape(shape)
            consts[n.name] = array.astype(np.float64) if t.dtype == 1 else array.astype(np.int64)
    return nodes, consts


def run_tfjs_graph(path: Path, image: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
    nodes, consts = tfjs_graph(path)
    return run_graph(nodes, consts, image, outputs)


def run_graphdef(data: bytes, image: np.ndarray, outputs: list[str]) -> dict[str, np.ndarray]:
    nodes, consts = graphdef(data)
    return run_graph(nodes, consts, image, outputs)
