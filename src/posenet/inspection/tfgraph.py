"""Describe a TensorFlow graph (TF.js model.json topology or frozen .pb) as a Graph.

Both containers hold a GraphDef: nodes with an op, inputs and attributes,
weights as `Const` nodes. The container modules (`tfjs`, `pb`) get their
file's `GraphNode`s from posenet.formats, the readers' own decoding, and
describe its constants as `Constant`s; this module lays them out the way the
TFLite listing is laid out - constants and placeholders become tensors, every
other node an operator reading and writing tensors - sorts the operators
into execution order, and works out shapes and multiply-accumulates at one
input size (a GraphDef stores no activation shapes). `Identity` nodes that
only forward a constant (`.../weights/read` in frozen graphs) are shown as
that constant, not as operators. `posenet_view` gives both containers their
PoseNet view from the Network posenet.formats reads.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PosenetError
from ..formats import read_network
from ..formats._tfgraph import GraphNode
from . import geometry as geo
from . import words
from .posenet_view import view_from_network
from .report import Graph, Op, PosenetView, Quantization, Tensor, Values

__all__ = ["Constant", "describe_graph", "posenet_view", "values_of"]

#: Default input size for graphs that leave it open: TF.js PoseNet's default resolution.
DEFAULT_SIZE = (257, 257)
OPEN_SIZE_NOTE = "the file leaves the input size open: figures are at {} (set --size)"
#: The input every TensorFlow-trained PoseNet (graph or checkpoint) expects.
INPUT_SCALING = "float32, pixels scaled to [-1, 1] (x / 127.5 - 1)"

_CONV_OPS = {"Conv2D", "_FusedConv2D"}
_DEPTHWISE_OPS = {"DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}
_ELEMENTWISE = {
    "Abs",
    "Add",
    "AddV2",
    "BiasAdd",
    "Cast",
    "Elu",
    "Exp",
    "Identity",
    "Log",
    "Maximum",
    "Minimum",
    "Mul",
    "Neg",
    "RealDiv",
    "Relu",
    "Relu6",
    "Rsqrt",
    "Sigmoid",
    "Softmax",
    "Sqrt",
    "Square",
    "SquaredDifference",
    "Sub",
    "Tanh",
    "LeakyRelu",
}
#: Attributes that say nothing a reader needs in the options summary.
_QUIET = {"T", "dtype", "use_cudnn_on_gpu", "num_args", "_class", "value", "Tidx", "Tpaddings"}


@dataclass(frozen=True)
class Constant:
    """A constant's description: dtype and shape, bytes stored, quantization, values."""

    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    quantization: Quantization | None = None
    array: np.ndarray | None = None


def values_of(array: np.ndarray | None) -> Values | None:
    """Statistics of a constant's (real) values (NaN where a damaged file holds NaN)."""
    if array is None or array.size == 0 or array.dtype.kind not in "fiub":
        return None
    with np.errstate(all="ignore"):  # a damaged file's NaN and huge values are reported
        real = np.asarray(array, dtype=np.float64).ravel()
        return _values(real)


def _values(real: np.ndarray) -> Values:
    return Values(
        count=int(real.size),
        minimum=float(real.min()),
        maximum=float(real.max()),
        mean=float(real.mean()),
        zeros=int(np.count_nonzero(real == 0)),
        preview=tuple(float(v) for v in real[:8]),
    )


def posenet_view(
    path: Path,
    graph: Graph,
    convs: Sequence[geo.Conv | None],
    acts: Sequence[str],
    *,
    input_size: tuple[int, int],
    size_from: str,
    reader: str,
    notes: Sequence[str] = (),
) -> tuple[PosenetView | None, str | None]:
    """The PoseNet view of a graph file, from the Network posenet.formats reads.

    reader: which reader, for the view's source line ("TF.js graph reader").
    notes: the file's own, after the one on an open input size.
    Returns (view, None), or (None, why posenet cannot read the file as a PoseNet).
    """
    try:
        network = read_network(path)
    except PosenetError as exc:
        return None, f"posenet cannot read it as a PoseNet: {exc}"
    if size_from == "default":
        notes = [OPEN_SIZE_NOTE.format(words.size(input_size)), *notes]
    view = view_from_network(
        network,
        graph,
        convs,
        acts,
        input_size=input_size,
        size_from=size_from,
        input_scaling=INPUT_SCALING,
        source=f"posenet.formats ({reader})",
        notes=notes,
    )
    return view, None


def describe_graph(
    nodes: Sequence[GraphNode],
    constants: Mapping[str, Constant],
    *,
    size: tuple[int, int],
    outputs: Sequence[str] = (),
    name: str = "main",
) -> tuple[Graph, list[geo.Conv | None], list[str]]:
    """The Graph of a GraphDef at input size (height, width).

    outputs: the graph's outputs by node name; default, nodes nobody reads.
    Returns the graph and, per op, its convolution geometry and activation
    (for the PoseNet walk).
    """
    by_name = {n.name: n for n in nodes}
    tensors: list[Tensor] = []
    index: dict[str, int] = {}

    def add(key: str, tensor: Tensor) -> int:
        index[key] = len(tensors)
        tensors.append(replace(tensor, index=len(tensors)))
        return index[key]

    for node in nodes:
        if node.op == "Const":
            const = constants.get(node.name)
            if const is None:
                add(node.name, Tensor(0, node.name, _dtype(node.attrs), None))
                continue
            add(
                node.name,
                Tensor(
                    0,
                    node.name,
                    const.dtype,
                    const.shape,
                    nbytes=const.nbytes,
                    quantization=const.quantization,
                    values=values_of(const.array),
                ),
            )
    for node in nodes:  # Identity chains over constants are the constant itself
        target = _forwarded_const(node, by_name)
        if target is not None and target in index:
            index[node.name] = index[target]
    inputs = []
    for node in nodes:
        if node.op == "Placeholder":
            shape = node.attrs.get("shape")
            inputs.append(
                add(
                    node.name,
                    Tensor(
                        0,
                        node.name,
                        _dtype(node.attrs),
                        tuple(shape) if shape is not None else None,
                    ),
                )
            )
    op_nodes = _execution_order([n for n in nodes if n.name not in index], by_name)
    for node in op_nodes:
        add(node.name, Tensor(0, node.name, _dtype(node.attrs), None))

    def tensor_of(ref: str) -> int | None:
        if ref.startswith("^"):
            return None
        base, _, port = ref.partition(":")
        key = base if port in ("", "0") else ref
        if key not in index:
            known = index.get(base)
            dtype = tensors[known].dtype if known is not None else "float32"
            add(key, Tensor(0, key, dtype, None))
        return index[key]

    ops: list[Op] = []
    convs: list[geo.Conv | None] = []
    rules: list[geo.Rule | None] = []
    acts: list[str] = []
    for k, node in enumerate(op_nodes):
        ins = tuple(t for t in (tensor_of(r) for r in node.inputs) if t is not None)
        controls = sum(1 for r in node.inputs if r.startswith("^"))
        conv = _conv(node, ins, tensors)
        activation = _activation(node)
        options = {
            key: value for key, value in node.attrs.items() if key not in ("value", "_class")
        }
        params = sum(tensors[i].elements or 0 for i in ins if tensors[i].constant)
        ops.append(
            Op(
                index=k,
                type=node.op,
                name=node.name,
                inputs=ins,
                outputs=(index[node.name],),
                options=options,
                summary=_summary(node, conv),
                brief=conv.brief(activation) if conv is not None else "",
                params=params,
                notes=(f"{controls} control input(s)",) if controls else (),
            )
        )
        convs.append(conv)
        rules.append(_rule(node, conv, ins, tensors))
        acts.append(activation)
    # shapes at the requested size
    seeds: dict[int, tuple[int, ...] | None] = {t.index: t.shape for t in tensors if t.constant}
    for i in inputs:
        seeds[i] = _sized(tensors[i].shape, size)
    shapes = geo.infer_shapes([(op.inputs, op.outputs) for op in ops], rules, seeds, {}, False)
    tensors = [
        replace(t, shape_at_size=shapes.get(t.index))
        if not t.constant and shapes.get(t.index) is not None and shapes.get(t.index) != t.shape
        else t
        for t in tensors
    ]
    ops = [
        replace(
            op,
            macs=conv.macs(shapes.get(op.outputs[0]), shapes.get(op.inputs[0]))
            if conv is not None
            else 0,
        )
        for op, conv in zip(ops, convs, strict=True)
    ]
    read = {t for op in ops for t in op.inputs}
    if outputs:
        out_ids = tuple(index[o.split(":")[0]] for o in outputs if o.split(":")[0] in index)
    else:
        out_ids = tuple(op.outputs[0] for op in ops if op.outputs[0] not in read)
    graph = Graph(name, tuple(inputs), out_ids, tuple(tensors), tuple(ops))
    return graph, convs, acts


def _sized(shape: tuple[int, ...] | None, size: tuple[int, int]) -> tuple[int, ...] | None:
    """An NHWC placeholder shape at size; unknown batch -> 1."""
    if shape is None or len(shape) != 4:
        return (1, size[0], size[1], 3) if shape is None else shape
    batch = shape[0] if shape[0] > 0 else 1
    channels = shape[3] if shape[3] > 0 else 3
    return (batch, size[0], size[1], channels)


def _forwarded_const(node: GraphNode, by_name: Mapping[str, GraphNode]) -> str | None:
    seen = set()
    while node.op == "Identity" and node.inputs and node.name not in seen:
        seen.add(node.name)
        source = by_name.get(node.inputs[0].split(":")[0].lstrip("^"))
        if source is None:
            return None
        if source.op == "Const":
            return source.name
        node = source
    return None


def _execution_order(
    nodes: Sequence[GraphNode], by_name: Mapping[str, GraphNode]
) -> list[GraphNode]:
    """Nodes sorted so that every node follows its inputs; file order breaks ties."""
    position = {n.name: i for i, n in enumerate(nodes)}
    waiting: dict[str, int] = {}
    readers: dict[str, list[str]] = {}
    for node in nodes:
        deps = {r.lstrip("^").split(":")[0] for r in node.inputs} & position.keys()
        waiting[node.name] = len(deps)
        for dep in deps:
            readers.setdefault(dep, []).append(node.name)
    ready = [(position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(by_name[name])
        for reader in readers.get(name, []):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, (position[reader], reader))
    done = {n.name for n in order}
    order += [n for n in nodes if n.name not in done]  # cycles: keep file order
    return order


def _dtype(attrs: Mapping[str, Any]) -> str:
    for key in ("T", "dtype", "out_type"):
        value = attrs.get(key)
        if isinstance(value, str):
            return value
    return "float32"


def _pair(values: Any) -> tuple[int, int]:
    """(h, w) of an NHWC strides / dilations list; BodyPix's [d, d, 1, 1] read as d."""
    if not isinstance(values, list) or len(values) != 4:
        return (1, 1)
    v = [int(x) for x in values]
    if v[0] == 1 and v[3] == 1:
        return (v[1], v[2])
    if v[2] == 1 and v[3] == 1:
        return (v[0], v[1])
    return (v[1], v[2])


def _conv(node: GraphNode, inputs: Sequence[int], tensors: list[Tensor]) -> geo.Conv | None:
    if node.op not in _CONV_OPS | _DEPTHWISE_OPS or len(inputs) < 2:
        return None
    weights = tensors[inputs[1]].shape
    if not weights or len(weights) != 4:
        return None
    padding: Any = str(node.attrs.get("padding", "SAME"))
    if padding == "EXPLICIT":
        pads = [int(p) for p in node.attrs.get("explicit_paddings", [])]
        padding = tuple(pads[2:6]) if len(pads) == 8 else "VALID"
    stride, dilation = _pair(node.attrs.get("strides")), _pair(node.attrs.get("dilations"))
    kh, kw, cin, cout = (int(d) for d in weights)
    if node.op in _DEPTHWISE_OPS:  # HWCM
        return geo.Conv("depthwise", (kh, kw), cin, cin * cout, stride, dilation, padding, cout)
    return geo.Conv("conv", (kh, kw), cin, cout, stride, dilation, padding)  # HWIO


def _activation(node: GraphNode) -> str:
    fused = [str(f) for f in node.attrs.get("fused_ops", []) or []]
    for op in reversed(fused):
        if op in ("Relu6", "Relu"):
            return op.lower()
    return "none"


def _summary(node: GraphNode, conv: geo.Conv | None) -> str:
    parts = []
    attrs = node.attrs
    if conv is not None:
        parts.append(f"{conv.kernel[0]}x{conv.kernel[1]}")
        if conv.kind == "depthwise":
            parts.append(f"{conv.in_channels} channels")
            if conv.multiplier != 1:
                parts.append(f"depth multiplier {conv.multiplier}")
        else:
            parts.append(f"{conv.in_channels}->{conv.out_channels} channels")
    handled = {"strides", "dilations", "padding", "explicit_paddings", "fused_ops", "data_format"}
    if "strides" in attrs:
        parts.append("stride " + _words_pair(_pair(attrs["strides"])))
    if "dilations" in attrs:
        parts.append("dilation " + _words_pair(_pair(attrs["dilations"])))
    if "padding" in attrs:
        parts.append(f"padding {attrs['padding']}")
        if attrs["padding"] == "EXPLICIT":
            parts.append(f"pads {attrs.get('explicit_paddings')}")
    if attrs.get("data_format") not in (None, "NHWC"):
        parts.append(f"data format {attrs['data_format']}")
    if attrs.get("fused_ops"):
        parts.append("fused " + " + ".join(str(f) for f in attrs["fused_ops"]))
    for key, value in attrs.items():
        if key in handled or key in _QUIET or value in ([], None, ""):
            continue
        if key == "epsilon" and not value:
            continue
        parts.append(f"{key} {value}")
    return ", ".join(parts)


def _words_pair(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _rule(node: GraphNode, conv, inputs: Sequence[int], tensors: list[Tensor]) -> geo.Rule | None:
    if conv is not None:
        return geo.conv_rule(conv)
    if node.op in _ELEMENTWISE:
        return geo.same_rule()
    values = tensors[inputs[-1]].values if len(inputs) >= 2 else None
    constant = values.whole_numbers() if values is not None else None
    if node.op in ("ConcatV2",) and constant and len(constant) == 1:
        return _concat_without_axis(constant[0])
    if node.op in ("Pad", "PadV2", "MirrorPad") and constant and len(constant) % 2 == 0:
        return geo.pad_rule([(constant[i], constant[i + 1]) for i in range(0, len(constant), 2)])
    if node.op == "Reshape" and constant:
        return geo.reshape_rule(constant)
    return None


def _concat_without_axis(axis: int) -> geo.Rule:
    """ConcatV2's last input is the axis: concatenate the others."""
    inner = geo.concat_rule(axis)
    return lambda shapes: inner(list(shapes)[:-1])
