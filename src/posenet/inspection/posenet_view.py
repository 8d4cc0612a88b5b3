"""The PoseNet view of a model: input, body, heads, output layout, decoder.

Two sources feed it. For a TFLite file the graph itself is walked
(`walk_graph`): from the image input along the single chain of convolutions
(the body) to the point where it forks into 1x1 heads. For the TensorFlow
formats the project's own reader gives a `Network` (`units_from_network`), so
the view shows the model exactly as `posenet` will run it. Either way the
result is a list of `Unit`s that `build_view` turns into per-layer sizes,
parameters and multiply-accumulates at one input size.

Channel layouts come from `posenet.keypoints` (POSENET.md §2), never typed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..keypoints import NUM_EDGES, NUM_KEYPOINTS, PART_NAMES, POSE_CHAIN
from ..network import HEAD_CHANNELS, HEAD_NAMES, MOBILENET_V1_LAYERS, Network
from .geometry import Conv
from .report import Channels, Graph, Head, Layer, PosenetView

__all__ = [
    "MOBILENET_BASE_WIDTH",
    "Unit",
    "build_view",
    "channel_names",
    "head_layout",
    "output_channels",
    "role_from_name",
    "units_from_network",
    "view_from_network",
    "walk_graph",
]

#: Output channels of MobileNetV1's first conv at multiplier 1.0; the
#: multiplier is read as first-conv channels / this.
MOBILENET_BASE_WIDTH = 32

#: Activation op types that may follow a conv as an op of their own.
_ACTIVATION_OPS = {"RELU6": "relu6", "RELU": "relu", "Relu6": "relu6", "Relu": "relu"}
#: Padding ops folded into the VALID convolution that follows them.
_PAD_OPS = {"PAD", "PADV2", "Pad", "PadV2"}


@dataclass(frozen=True)
class Unit:
    """One convolution found in a model, with what the PoseNet view needs of it.

    kind: "conv", "depthwise" or "pointwise" in the body, "head" for a head.
    source: the name the file gives it (node or output tensor name).
    op: its operator in the graph; end: the tensor after its bias / activation ops.
    """

    kind: str
    conv: Conv
    activation: str
    params: int
    source: str = ""
    op: int | None = None
    end: int | None = None


def channel_names(role: str) -> tuple[str, ...]:
    """What each channel of a PoseNet head holds, from POSENET.md §2's layouts."""
    edges = [f"{PART_NAMES[a]}->{PART_NAMES[b]}" for a, b in POSE_CHAIN]
    if role == "heatmap":
        return PART_NAMES
    if role == "offsets":
        return tuple(f"{p}.{axis}" for axis in "yx" for p in PART_NAMES)
    if role == "displacement_fwd":
        return tuple(f"{e}.{axis}" for axis in "yx" for e in edges)
    if role == "displacement_bwd":
        back = [f"{PART_NAMES[b]}->{PART_NAMES[a]}" for a, b in POSE_CHAIN]
        return tuple(f"{e}.{axis}" for axis in "yx" for e in back)
    return ()


def head_layout(role: str) -> str:
    """One line saying what a head's channels hold."""
    k, e = NUM_KEYPOINTS, NUM_EDGES
    first, last = PART_NAMES[0], PART_NAMES[-1]
    return {
        "heatmap": f"{k} keypoint logits (sigmoid -> score): 0 {first} .. {k - 1} {last}",
        "offsets": f"short-range offsets in input pixels: [0:{k}] y, [{k}:{2 * k}] x per keypoint",
        "displacement_fwd": (
            f"mid-range parent->child displacements: [0:{e}] y, [{e}:{2 * e}] x per pose-chain edge"
        ),
        "displacement_bwd": (
            f"mid-range child->parent displacements: [0:{e}] y, [{e}:{2 * e}] x per pose-chain edge"
        ),
    }.get(role, "")


def role_from_name(name: str, channels: int | None) -> str | None:
    """The PoseNet head a tensor or node name points to, checked against its channels.

    Names across the published files: heatmap_2 / float_heatmaps, offset_2 /
    float_short_offsets, displacement_fwd_2, displacement_bwd_2. BodyPix's
    part heatmaps / part offsets and long offsets are other heads.
    """
    low = name.lower()
    if any(word in low for word in ("part", "long", "segment", "mid_offsets")):
        return None
    if "displacement_fwd" in low or "fwd" in low.split("/")[-1]:
        role = "displacement_fwd"
    elif "displacement_bwd" in low or "bwd" in low.split("/")[-1]:
        role = "displacement_bwd"
    elif "heatmap" in low:
        role = "heatmap"
    elif "offset" in low:
        role = "offsets"
    else:
        return None
    if channels is not None and channels != HEAD_CHANNELS[role]:
        return None
    return role


def units_from_network(network: Network) -> tuple[list[Unit], list[tuple[str, Unit]]]:
    """Body units and (head name, unit) pairs of a Network, as the project runs it."""
    body = [_unit(layer.kind, layer) for layer in network.body]
    heads = [(layer.name, _unit("head", layer)) for layer in network.heads]
    return body, heads


def _unit(kind: str, layer) -> Unit:
    depthwise = layer.kind == "depthwise"
    conv = Conv(
        kind="depthwise" if depthwise else "conv",
        kernel=layer.kernel,
        in_channels=layer.in_channels,
        out_channels=layer.out_channels,
        stride=(layer.stride, layer.stride),
        dilation=(layer.dilation, layer.dilation),
        padding="SAME",
    )
    params = int(layer.weights.size + layer.bias.size)
    return Unit(kind, conv, layer.activation, params, source=layer.name)


def walk_graph(
    graph: Graph,
    convs: Sequence[Conv | None],
    activations: Sequence[str],
) -> tuple[list[Unit], list[tuple[str, Unit]], str | None]:
    """Find the body chain and the heads in a graph of convolutions.

    convs / activations: per op, its convolution geometry (None for other ops)
    and the activation fused into it. Starting at the first graph input,
    follow the tensor while exactly one op reads it. A convolution joins the
    body together with what follows it on a single path - bias adds,
    quantize ops, and the activation op that ends it - and any other op with
    one non-constant input (quantize, pad) is stepped over. A 1x1 conv without
    activation ends the body: it is a head. Where the chain forks, the 1x1
    convs reading the fork are the heads. Returns (body, heads, problem).
    """
    if not graph.inputs:
        return [], [], "the graph has no input"
    consumers: dict[int, list[int]] = {}
    for op in graph.ops:
        for t in op.inputs:
            if t >= 0:
                consumers.setdefault(t, []).append(op.index)

    def single_reader(tensor: int):
        readers = consumers.get(tensor, [])
        if len(readers) != 1 or len(graph.ops[readers[0]].outputs) != 1:
            return None
        return graph.ops[readers[0]]

    def follow(tensor: int) -> tuple[str, int]:
        """The activation reached along single-reader pass-through ops, and the end tensor."""
        activation = "none"
        passed = {tensor}
        while (op := single_reader(tensor)) is not None and convs[op.index] is None:
            if op.type in _ACTIVATION_OPS:
                activation = _ACTIVATION_OPS[op.type]
            elif _data_inputs(graph, op) != 1 or activation != "none" or op.type in _PAD_OPS:
                break
            if op.outputs[0] in passed:  # a damaged file's loop
                break
            tensor = op.outputs[0]
            passed.add(tensor)
        return activation, tensor

    body: list[Unit] = []
    current = graph.inputs[0]
    walked = {current}
    pads: tuple[int, int, int, int] | None = None
    while (op := single_reader(current)) is not None:
        if op.outputs[0] in walked:  # only a damaged file loops back on itself
            return [], [], f"the graph loops back to tensor {op.outputs[0]}"
        walked.add(op.outputs[0])
        conv = convs[op.index]
        if conv is None:
            if _data_inputs(graph, op) != 1 or op.type in _ACTIVATION_OPS:
                break
            pads = _spatial_pads(graph, op) if op.type in _PAD_OPS else pads
            current = op.outputs[0]
            continue
        if pads is not None and conv.padding == "VALID":
            conv = replace(conv, padding=pads)  # PAD + VALID conv is one padded conv
        pads = None
        kind = _body_kind(conv, first=not body)
        following, end = follow(op.outputs[0])
        activation = activations[op.index] if activations[op.index] != "none" else following
        if kind is None or (kind == "pointwise" and activation == "none" and body):
            break
        body.append(_graph_unit(graph, op.index, kind, conv, activation))
        current = end
    if not body:
        return [], [], "no convolution reads the image input (not a PoseNet network)"
    heads: list[tuple[str, Unit]] = []
    for index in consumers.get(current, []):
        conv = convs[index]
        if conv is None or conv.kind != "conv" or conv.kernel != (1, 1):
            continue
        unit = _graph_unit(graph, index, "head", conv, activations[index])
        _, end = follow(graph.ops[index].outputs[0])
        names = [graph.ops[index].name, graph.tensors[end].name]
        names += [graph.tensors[t].name for t in graph.ops[index].inputs if t >= 0]
        role = next((r for n in names if (r := role_from_name(n, conv.out_channels))), None)
        heads.append((role or "other", replace(unit, end=end, source=graph.tensors[end].name)))
    _fill_roles_by_channels(heads)
    return body, heads, None


def _spatial_pads(graph: Graph, op) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of an NHWC PAD op with constant paddings."""
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return None
    values = graph.tensors[op.inputs[1]].values
    p = values.whole_numbers() if values is not None else None
    if p is None or len(p) != 8 or p[0] or p[1] or p[6] or p[7]:
        return None
    return (p[2], p[3], p[4], p[5])


def _data_inputs(graph: Graph, op) -> int:
    """How many of an op's inputs are computed (not constants)."""
    return sum(1 for t in op.inputs if t >= 0 and not graph.tensors[t].constant)


def _fill_roles_by_channels(heads: list[tuple[str, Unit]]) -> None:
    """Name unnamed heads by channel count where the count is unique to one head."""
    taken = {role for role, _ in heads}
    for i, (role, unit) in enumerate(heads):
        if role != "other":
            continue
        matches = [r for r in HEAD_NAMES if HEAD_CHANNELS[r] == unit.conv.out_channels]
        if len(matches) == 1 and matches[0] not in taken:
            heads[i] = (matches[0], unit)
            taken.add(matches[0])


def _body_kind(conv: Conv, first: bool) -> str | None:
    if conv.kind == "depthwise":
        return "depthwise"
    if conv.kind != "conv":
        return None
    if first:
        return "conv"
    return "pointwise" if conv.kernel == (1, 1) else "conv"


def _graph_unit(graph: Graph, index: int, kind: str, conv: Conv, activation: str) -> Unit:
    op = graph.ops[index]
    source = graph.tensors[op.outputs[0]].name if op.outputs else op.name
    return Unit(kind, conv, activation, op.params, source=source, op=index)


def build_view(
    body: Sequence[Unit],
    heads: Sequence[tuple[str, Unit]],
    *,
    input_size: tuple[int, int] | None,
    size_from: str,
    input_scaling: str,
    outputs: Sequence[Channels] = (),
    decoder: dict | None = None,
    source: str = "",
    notes: Sequence[str] = (),
    output_stride: int | None = None,
    grid_size: tuple[int, int] | None = None,
) -> PosenetView:
    """Per-layer sizes, parameters and MACs at input_size, block numbers, multiplier.

    output_stride / grid_size are only needed when there is no body to compute
    them from (Edge TPU files).
    """
    notes = list(notes)
    layers: list[Layer] = []
    shape = (1, *input_size, 3) if input_size else None
    block = 0
    for index, unit in enumerate(body):
        if unit.kind == "depthwise":
            block += 1
        out = unit.conv.output_shape(shape) if shape else None
        layers.append(
            Layer(
                block=block,
                name=_layer_name(index, unit, block, len(body)),
                kind=unit.kind,
                kernel=unit.conv.kernel,
                stride=unit.conv.stride[0],
                dilation=unit.conv.dilation[0],
                in_channels=unit.conv.in_channels,
                out_channels=unit.conv.out_channels,
                activation=unit.activation,
                params=unit.params,
                output_size=(out[1], out[2]) if out else None,
                macs=unit.conv.macs(out),
                op=unit.op,
            )
        )
        shape = out
    head_rows = []
    order = {name: i for i, name in enumerate(HEAD_NAMES)}
    for role, unit in sorted(heads, key=lambda pair: order.get(pair[0], len(order))):
        out = unit.conv.output_shape(shape) if shape else None
        head_rows.append(
            Head(
                name=role,
                source=unit.source,
                channels=unit.conv.out_channels,
                layout=head_layout(role),
                params=unit.params,
                macs=unit.conv.macs(out),
                op=unit.op,
                channel_names=channel_names(role),
            )
        )
    if body:
        stride = 1
        for unit in body:
            stride *= unit.conv.stride[0]
        output_stride = stride
        if shape is not None:
            grid_size = (shape[1], shape[2])
        if len(body) != len(MOBILENET_V1_LAYERS):
            notes.append(
                f"the body has {len(body)} convolutions, not MobileNetV1's "
                f"{len(MOBILENET_V1_LAYERS)} (conv + 13 depthwise-separable blocks)"
            )
        missing = [h for h in HEAD_NAMES if h not in {r for r, _ in heads}]
        if missing:
            notes.append(f"no {', '.join(missing)} head found after the body")
    elif grid_size is None and input_size and output_stride:
        grid_size = tuple((n - 1) // output_stride + 1 for n in input_size)  # type: ignore[assignment]
    multiplier = body[0].conv.out_channels / MOBILENET_BASE_WIDTH if body else None
    return PosenetView(
        input_size=input_size,
        size_from=size_from,
        output_stride=output_stride,
        grid_size=grid_size,
        multiplier=multiplier,
        input_scaling=input_scaling,
        body=tuple(layers),
        heads=tuple(head_rows),
        outputs=tuple(outputs),
        decoder=decoder,
        source=source,
        notes=tuple(notes),
    )


def _layer_name(index: int, unit: Unit, block: int, count: int) -> str:
    """MobileNetV1's scope name for a body layer (Conv2d_0, Conv2d_3_depthwise, ...)."""
    if count == len(MOBILENET_V1_LAYERS):
        return MOBILENET_V1_LAYERS[index][0]
    return f"Conv2d_{block}" if unit.kind == "conv" else f"Conv2d_{block}_{unit.kind}"


def output_channels(
    graph: Graph,
    roles: dict[int, str],
    decoder_outputs: Sequence[int] = (),
) -> list[Channels]:
    """What the last axis of each graph output holds.

    roles: tensor index -> head name for tensors known to be a head's output.
    A concatenation of head outputs gets their layouts in order; decoder
    outputs (PosenetDecoderOp) get the decoder's own layout; other outputs
    are named from their tensor name when it says which head it is.
    """
    producer = {t: op for op in graph.ops for t in op.outputs}
    rows = []
    decoder_layouts = (
        "poses x 17 keypoints x (y, x) in input pixels",
        "poses x 17 keypoint scores",
        "pose scores",
        "number of poses found (float)",
    )
    for t in graph.outputs:
        tensor = graph.tensors[t]
        shape = tensor.shape_at_size or tensor.shape
        channels = int(shape[-1]) if shape else None
        names: tuple[str, ...] = ()
        layout = ""
        if t in decoder_outputs:
            position = list(decoder_outputs).index(t)
            layout = decoder_layouts[position] if position < len(decoder_layouts) else ""
        else:
            role = roles.get(t) or role_from_name(tensor.name, channels)
            op = producer.get(t)
            if role:
                layout, names = head_layout(role), channel_names(role)
                if role == "heatmap" and op is not None and op.type in ("Sigmoid", "LOGISTIC"):
                    layout = (
                        f"{NUM_KEYPOINTS} keypoint scores (sigmoid already applied in the file)"
                    )
            elif op is not None and op.type in ("CONCATENATION", "ConcatV2", "Concat"):
                parts = [
                    roles.get(i) or role_from_name(graph.tensors[i].name, None)
                    for i in op.inputs
                    if i >= 0 and not graph.tensors[i].constant
                ]
                if parts and all(parts):
                    spans, start = [], 0
                    for part in parts:
                        width = HEAD_CHANNELS[part]  # type: ignore[index]
                        spans.append(f"[{start}:{start + width}] {part}")
                        names += channel_names(part)  # type: ignore[arg-type]
                        start += width
                    layout = "concatenation: " + ", ".join(spans)
                    if "displacement_fwd" in parts:
                        layout += " (each y then x per pose-chain edge)"
        rows.append(Channels(name=tensor.name, shape=shape, layout=layout, channel_names=names))
    return rows


def view_from_network(
    network: Network,
    graph: Graph | None,
    convs: Sequence[Conv | None],
    activations: Sequence[str],
    *,
    input_size: tuple[int, int] | None,
    size_from: str,
    input_scaling: str,
    source: str,
    notes: Sequence[str] = (),
) -> PosenetView:
    """The view of a Network read by posenet.formats, tied to the file's graph when it has one.

    Layers, strides, dilations, activations and parameters are the Network's,
    i.e. what posenet runs. When the graph walk finds the same number of body
    layers, each layer and head also names the operator that computes it.
    """
    body, heads = units_from_network(network)
    notes = list(notes)
    outputs: list[Channels] = []
    if graph is not None:
        graph_body, graph_heads, _ = walk_graph(graph, convs, activations)
        if len(graph_body) == len(body):
            body = [
                replace(unit, op=found.op, source=found.source)
                for unit, found in zip(body, graph_body, strict=True)
            ]
        by_role = {role: unit for role, unit in graph_heads if role != "other"}
        heads = [
            (role, replace(unit, op=by_role[role].op, source=by_role[role].source))
            if role in by_role
            else (role, unit)
            for role, unit in heads
        ]
        roles = {u.end: role for role, u in graph_heads if u.end is not None and role != "other"}
        outputs = output_channels(graph, roles)
        others = [u for role, u in graph_heads if role == "other"]
        if others:
            names = ", ".join(graph.tensors[u.end].name for u in others if u.end is not None)
            notes.append(
                f"{len(others)} more 1x1 head(s) read the body ({names}): not PoseNet's, "
                "posenet ignores them"
            )
    return build_view(
        body,
        heads,
        input_size=input_size,
        size_from=size_from,
        input_scaling=input_scaling,
        outputs=outputs,
        source=source,
        notes=notes,
    )
