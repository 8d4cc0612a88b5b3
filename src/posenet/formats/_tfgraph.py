"""A TensorFlow graph (TF.js model.json topology or frozen GraphDef) -> Network.

Both formats hold the same thing, a GraphDef: nodes with an op, inputs and
attributes, weights as constants. Their readers only decode the container
into `GraphNode`s and numpy constants; this module walks the graph from the
input placeholder along the MobileNetV1 chain and collects each convolution
with its bias and activation, taking strides, dilations and padding from the
graph itself (POSENET.md §2: trust the source's geometry).

Understood per convolution unit: Conv2D / DepthwiseConv2dNative, the fused
`_FusedConv2D` / `FusedDepthwiseConv2dNative` (fused_ops BiasAdd[, Relu6]),
a following BiasAdd or Add of a constant, Relu6, Identity, and dilation
written as SpaceToBatchND -> conv (VALID) -> BatchToSpaceND. Where the body
forks, the 1x1 convs whose names say heatmap_2 / offset_2 /
displacement_fwd_2 / displacement_bwd_2 are the heads; other branches
(BodyPix segmentation and part heads) and a trailing Sigmoid are ignored, so
the heatmap head always gives logits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import PosenetError
from ..network import (
    HEAD_CHANNELS,
    HEAD_NAMES,
    MAX_DILATION,
    Network,
    heads_from,
    mobilenet_v1_body,
)

log = logging.getLogger(__name__)

_CONV_OPS = {"Conv2D", "_FusedConv2D"}
_DEPTHWISE_OPS = {"DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}
_PASS_OPS = {"Identity"}

#: Name components that identify each head, across the published graphs
#: (posenet-python names its BiasAdds after the head, BodyPix its weights).
_HEAD_KEYS: dict[str, tuple[str, ...]] = {
    "heatmap": ("heatmap_2", "heatmap", "float_heatmaps"),
    "offsets": ("offset_2", "float_short_offsets"),
    "displacement_fwd": ("displacement_fwd_2", "displacement_fwd"),
    "displacement_bwd": ("displacement_bwd_2", "displacement_bwd"),
}


@dataclass(frozen=True)
class GraphNode:
    """One GraphDef node, container-independent.

    inputs: as written: 'node', 'node:1' (an output other than the first),
        '^node' (a control input).
    attrs: plain python values: int, float, bool, str, lists of them, dtype
        names ('float32'), shapes as lists of dims (-1 unknown).
    """

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Unit:
    """One convolution with what follows it: bias add, activation."""

    kind: str  # conv | depthwise
    weights: np.ndarray
    bias: np.ndarray | None
    stride: int
    dilation: int
    activation: str
    output: str  # the name of the unit's last node
    names: tuple[str, ...]  # every node / const name involved, for head matching


class _Graph:
    def __init__(
        self, nodes: Sequence[GraphNode], consts: Mapping[str, np.ndarray], source: str
    ) -> None:
        self.source = source
        # producers by name alone ('node:1' -> 'node'); control inputs dropped
        nodes = [
            replace(n, inputs=tuple(i.split(":", 1)[0] for i in n.inputs if i and i[0] != "^"))
            for n in nodes
        ]
        self.nodes = {n.name: n for n in nodes}
        self.consts = consts
        self.consumers: dict[str, list[GraphNode]] = {}
        for node in nodes:
            for name in node.inputs:
                self.consumers.setdefault(name, []).append(node)

    def fail(self, message: str) -> PosenetError:
        return PosenetError(f"{self.source}: {message}")

    def const(self, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """The constant behind name (through Identity nodes) and the names passed."""
        names = [name]
        node = self.nodes.get(name)
        while node is not None and node.op in _PASS_OPS and node.inputs:
            name = node.inputs[0]
            if name in names:
                raise self.fail(f"node {names[0]}: its Identity nodes form a cycle")
            names.append(name)
            node = self.nodes.get(name)
        if name not in self.consts:
            raise self.fail(f"node {names[0]} should be a constant but is computed")
        return self.consts[name], tuple(names)

    def next_ops(self, name: str) -> list[GraphNode]:
        """Consumers of a tensor, looking through Identity nodes (each passed once)."""
        found, passed, todo = [], {name}, [name]
        while todo:
            for node in self.consumers.get(todo.pop(0), []):
                if node.op not in _PASS_OPS:
                    found.append(node)
                elif node.name not in passed:
                    passed.add(node.name)
                    todo.append(node.name)
        return found

    def input(self, node: GraphNode, position: int, what: str) -> str:
        """The name node reads at input position; PosenetError if it has none."""
        if len(node.inputs) <= position:
            raise self.fail(f"{node.op} {node.name} has no {what} input")
        return node.inputs[position]

    def only_next(self, name: str, ops: set[str]) -> GraphNode | None:
        nxt = self.next_ops(name)
        if len(nxt) == 1 and nxt[0].op in ops:
            return nxt[0]
        return None

    def unit(self, node: GraphNode) -> _Unit:
        """Parse the conv unit that starts at node (a conv or SpaceToBatchND)."""
        names: list[str] = []
        block = 1
        if node.op == "SpaceToBatchND":
            block_shape, _ = self.const(self.input(node, 1, "block shape"))
            block = _equal_pair(block_shape.astype(int).tolist(), node.name, "block shape", self)
            conv = self.only_next(node.name, _CONV_OPS | _DEPTHWISE_OPS)
            if conv is None:
                raise self.fail(f"SpaceToBatchND {node.name} is not followed by a convolution")
            names.append(node.name)
            node = conv
        attrs = node.attrs
        if str(attrs.get("data_format", "NHWC")) != "NHWC":
            raise self.fail(f"{node.name}: data format {attrs['data_format']} (expected NHWC)")
        weights, weight_names = self.const(self.input(node, 1, "weights"))
        names += [node.name, *weight_names]
        if weights.ndim != 4:
            raise self.fail(f"{node.name}: weights of shape {weights.shape}, expected 4-D")
        kind = "depthwise" if node.op in _DEPTHWISE_OPS else "conv"
        stride = _spatial(attrs.get("strides", [1, 1, 1, 1]), node.name, "strides", self)
        dilation = _spatial(attrs.get("dilations", [1, 1, 1, 1]), node.name, "dilations", self)
        padding = str(attrs.get("padding", "SAME"))
        one_by_one = weights.shape[:2] == (1, 1)
        if block > 1:
            if dilation != 1 or stride != 1 or padding != "VALID":
                raise self.fail(f"{node.name}: SpaceToBatchND around a strided/dilated conv")
            dilation = block
        elif padding != "SAME" and not (one_by_one and stride == 1):
            raise self.fail(f"{node.name}: padding {padding} (PoseNet convs are SAME)")
        bias = None
        activation = "none"
        fused = [str(op) for op in attrs.get("fused_ops", [])]
        if node.op.startswith("_Fused") or node.op.startswith("Fused"):
            if not fused or fused[0] != "BiasAdd" or len(fused) > 2:
                raise self.fail(f"{node.name}: fused ops {fused} (expected BiasAdd[, Relu6])")
            bias, bias_names = self.const(self.input(node, 2, "bias"))
            names += bias_names
            if len(fused) == 2:
                activation = _activation(fused[1], node.name, self)
        out = node.name
        while True:
            nxt = self.next_ops(out)
            if len(nxt) != 1:
                break
            step = nxt[0]
            if step.op == "BatchToSpaceND" and block > 1:
                block = 1  # consumed
            elif step.op in ("BiasAdd", "Add", "AddV2") and bias is None and activation == "none":
                bias, bias_names = self.const(self.input(step, 1, "bias"))
                names += bias_names
            elif step.op in ("Relu6", "Relu") and activation == "none":
                activation = _activation(step.op, step.name, self)
            else:
                break
            names.append(step.name)
            out = step.name
        if block > 1:
            raise self.fail(f"{node.name}: SpaceToBatchND without BatchToSpaceND")
        if bias is None:
            bias = np.zeros(weights.shape[2] if kind == "depthwise" else weights.shape[3])
        return _Unit(kind, weights, bias, stride, dilation, activation, out, tuple(names))


def network_from_graph(
    nodes: Sequence[GraphNode],
    consts: Mapping[str, np.ndarray],
    *,
    name: str,
    description: str,
    source: str,
) -> Network:
    """Walk a PoseNet GraphDef from its input and return its Network."""
    graph = _Graph(nodes, consts, source)
    inputs = [n for n in nodes if n.op == "Placeholder" and graph.next_ops(n.name)]
    if len(inputs) != 1:
        raise graph.fail(f"expected one image input, found {len(inputs)} placeholders")
    current = inputs[0].name
    body: list[_Unit] = []
    walked = {current}
    while True:
        nxt = graph.next_ops(current)
        starts = [n for n in nxt if n.op in _CONV_OPS | _DEPTHWISE_OPS | {"SpaceToBatchND"}]
        if len(nxt) != 1 or not starts:
            break
        unit = graph.unit(starts[0])
        if unit.output in walked:
            raise graph.fail(f"the graph loops back to {unit.output}")
        walked.add(unit.output)
        if unit.activation == "none" and body:
            break  # a lone conv without activation on a single path: a head
        body.append(unit)
        current = unit.output
    if not body:
        raise graph.fail("no convolution follows the input (not a PoseNet graph)")
    heads = _find_heads(graph, current)
    layers = [(u.weights, u.bias) for u in body]
    geometry = [(u.stride, u.dilation) for u in body]
    output_stride = int(np.prod([u.stride for u in body]))
    network_body = mobilenet_v1_body(layers, geometry, [u.activation for u in body], source=source)
    return Network(
        name=name,
        body=network_body,
        heads=heads_from(heads, source),
        native_output_stride=output_stride,
        description=description,
    )


def _find_heads(graph: _Graph, tensor: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The four heads among the 1x1 convs reading the last body tensor."""
    units = []
    for node in graph.next_ops(tensor):
        if node.op in _CONV_OPS:
            unit = graph.unit(node)
            if unit.weights.shape[:2] == (1, 1) and unit.activation == "none":
                units.append(unit)
    found: dict[str, _Unit] = {}
    unmatched = []
    for unit in units:
        components = {part for name in unit.names for part in re.split(r"[/:]", name)}
        matches = [h for h, keys in _HEAD_KEYS.items() if components & set(keys)]
        if len(matches) == 1:
            head = matches[0]
            if head in found:
                raise graph.fail(f"two convolutions look like the {head} head")
            found[head] = unit
        else:
            unmatched.append(unit)
    for head in HEAD_NAMES:
        if head in found:
            continue
        same = [u for u in unmatched if u.weights.shape[3] == HEAD_CHANNELS[head]]
        if len(same) == 1 and list(HEAD_CHANNELS.values()).count(HEAD_CHANNELS[head]) == 1:
            log.debug("taking %s as the %s head by its channel count", same[0].output, head)
            found[head] = same[0]
    missing = [h for h in HEAD_NAMES if h not in found]
    if missing:
        raise graph.fail(
            f"no {' / '.join(missing)} head after the body (expected 1x1 convs named "
            f"{', '.join(_HEAD_KEYS[h][0] for h in missing)})"
        )
    return {head: (unit.weights, unit.bias) for head, unit in found.items()}


def _spatial(values: Sequence[int], node: str, what: str, graph: _Graph) -> int:
    """The spatial factor of an NHWC strides / dilations attribute, equal in H and W.

    [1, s, s, 1] is the TensorFlow form. BodyPix's quant1-100 graph writes its
    block-13 dilation as [2, 2, 1, 1]; TF.js reads entries 1 and 2 of it, but
    the numbers say the network was trained with dilation 2 in both
    directions (tests/test_formats.py compares both readings), so a list
    whose batch/channel entries are not 1 is read as [d, d, 1, 1].
    """
    if not isinstance(values, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise graph.fail(f"{node}: {what} {values!r:.60} are not whole numbers")
    values = [int(v) for v in values]
    if len(values) != 4:
        raise graph.fail(f"{node}: {what} {values} (expected 4 values, NHWC)")
    if values[0] == 1 and values[3] == 1:
        return _equal_pair(values[1:3], node, what, graph)
    if values[2] == 1 and values[3] == 1:
        return _equal_pair(values[0:2], node, what, graph)
    raise graph.fail(f"{node}: {what} {values} not understood")


def _equal_pair(pair: Sequence[int], node: str, what: str, graph: _Graph) -> int:
    if len(pair) != 2 or pair[0] != pair[1]:
        raise graph.fail(f"{node}: {what} {list(pair)} differ between height and width")
    if not 1 <= pair[0] <= MAX_DILATION:
        raise graph.fail(f"{node}: {what} {list(pair)} (expected 1..{MAX_DILATION})")
    return int(pair[0])


def _activation(op: str, node: str, graph: _Graph) -> str:
    if op == "Relu6":
        return "relu6"
    raise graph.fail(f"{node}: activation {op} (PoseNet uses Relu6)")
