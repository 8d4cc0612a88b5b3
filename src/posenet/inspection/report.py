"""The description of a model file that `posenet inspect` prints, as plain data.

Every format's describer fills the same frozen dataclasses, and the text, JSON
and HTML renderers read only these, so a renderer never opens a model file and
a describer never formats text for a terminal. Tensor and operator indices are
positions in `Graph.tensors` / `Graph.ops`; -1 marks an optional input that is
left out (TFLite writes it so).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Buffer",
    "Channels",
    "Graph",
    "Head",
    "Layer",
    "Op",
    "PosenetView",
    "Quantization",
    "Report",
    "Tensor",
    "Totals",
    "Values",
]


@dataclass(frozen=True)
class Quantization:
    """How stored integers map to real numbers.

    scheme "affine": real = scale * (q - zero_point), one (scale, zero point)
    per tensor or, per-axis, one per slice along `axis` (TFLite).
    scheme "min-scale": real = q * scale + min (TF.js weight quantization;
    `stored` names the integer type, the tensor's dtype the decoded one).
    min / max: the float range the converter recorded, when present.
    """

    scale: tuple[float, ...]
    zero_point: tuple[float, ...] = ()
    axis: int | None = None
    min: tuple[float, ...] = ()
    max: tuple[float, ...] = ()
    scheme: str = "affine"
    stored: str = ""

    @property
    def per_axis(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True)
class Values:
    """What a constant tensor holds, dequantized to real numbers when quantized."""

    count: int
    minimum: float
    maximum: float
    mean: float
    zeros: int
    preview: tuple[float, ...]

    def whole_numbers(self) -> list[int] | None:
        """All values as ints (paddings, axes, shapes), or None when there are more than
        the preview holds or one is not a whole number of sane size (a damaged file)."""
        if self.count > len(self.preview):
            return None
        if not all(math.isfinite(v) and v == int(v) and abs(v) < 2**31 for v in self.preview):
            return None
        return [int(v) for v in self.preview]


@dataclass(frozen=True)
class Tensor:
    """One tensor of a graph.

    shape: as stored in the file (None if the file does not say).
    shape_signature: TFLite's shape with -1 for dimensions that may change.
    shape_at_size: the shape at the report's input size, when it differs from
        `shape` or the file does not store one (filled by shape inference).
    buffer: TFLite buffer index (0 = no data), else None.
    nbytes: bytes of data the file stores for it (0 for activations).
    """

    index: int
    name: str
    dtype: str
    shape: tuple[int, ...] | None
    shape_signature: tuple[int, ...] | None = None
    shape_at_size: tuple[int, ...] | None = None
    buffer: int | None = None
    nbytes: int = 0
    quantization: Quantization | None = None
    values: Values | None = None
    notes: tuple[str, ...] = ()

    @property
    def constant(self) -> bool:
        return self.nbytes > 0 or self.values is not None

    @property
    def elements(self) -> int | None:
        if self.shape is None:
            return None
        count = 1
        for d in self.shape:
            count *= max(int(d), 0)
        return count


@dataclass(frozen=True)
class Op:
    """One operator, in execution order.

    type: TFLite builtin name, custom code, or TensorFlow op name.
    name: the node name (GraphDef) or the name of the first output (TFLite).
    options: the operator's own options, decoded into JSON-able values.
    summary: the options in words ("3x3, stride 2, SAME, ReLU6").
    brief: a few characters of it for the graph drawing ("3x3 /2 3->24 relu6").
    custom: the custom code when the op is a TFLite CUSTOM op.
    cpu: False for code no CPU can run (Edge TPU).
    macs: multiply-accumulates at the report's input size; None if unknown.
    params: elements of the op's constant inputs (weights, biases).
    """

    index: int
    type: str
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    brief: str = ""
    custom: str | None = None
    cpu: bool = True
    macs: int | None = None
    params: int = 0
    version: int | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graph:
    """A (sub)graph: tensors, operators, and which tensors are its inputs and outputs."""

    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]


@dataclass(frozen=True)
class Buffer:
    """A TFLite data buffer: its size, where it lives, who uses it, its first bytes."""

    index: int
    nbytes: int
    offset: int | None
    tensors: tuple[int, ...]
    head: str


@dataclass(frozen=True)
class Layer:
    """One convolution of the PoseNet body as the project sees it.

    block: 0 for the first conv, 1..13 for the depthwise-separable blocks.
    output_size: (height, width) of its output at the report's input size.
    op: index of the operator that computes it in graphs[0], when known.
    """

    block: int
    name: str
    kind: str
    kernel: tuple[int, int]
    stride: int
    dilation: int
    in_channels: int
    out_channels: int
    activation: str
    params: int
    output_size: tuple[int, int] | None = None
    macs: int | None = None
    op: int | None = None


@dataclass(frozen=True)
class Head:
    """One 1x1 output head: its PoseNet role, its name in the file, its channel layout.

    name: a PoseNet head name (network.HEAD_NAMES) or "other" (BodyPix extras).
    channel_names: what each output channel holds, e.g. "leftEye.y".
    """

    name: str
    source: str
    channels: int
    layout: str
    params: int
    macs: int | None = None
    op: int | None = None
    channel_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Channels:
    """An output tensor of the file and what its last axis holds."""

    name: str
    shape: tuple[int, ...] | None
    layout: str
    channel_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class PosenetView:
    """The model as PoseNet: input, body, heads, outputs and embedded decoder.

    size_from: where input_size comes from ("model", "--size", or a default
        when the file leaves the size open).
    input_scaling: what the first layer expects of pixels.
    decoder: PosenetDecoderOp options embedded in the file, if any.
    body is empty when the body cannot be seen (Edge TPU code, decoder-only files).
    """

    input_size: tuple[int, int] | None
    size_from: str
    output_stride: int | None
    grid_size: tuple[int, int] | None
    multiplier: float | None
    input_scaling: str
    body: tuple[Layer, ...] = ()
    heads: tuple[Head, ...] = ()
    outputs: tuple[Channels, ...] = ()
    decoder: dict[str, Any] | None = None
    source: str = ""
    notes: tuple[str, ...] = ()

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.body) + sum(h.params for h in self.heads)

    @property
    def macs(self) -> int | None:
        values = [layer.macs for layer in self.body] + [h.macs for h in self.heads]
        if not values or any(v is None for v in values):
            return None
        return int(sum(v for v in values if v is not None))


@dataclass(frozen=True)
class Totals:
    """Whole-file totals.

    parameters: elements of every weight the file stores.
    weight_bytes: bytes those weights take in the file.
    macs: multiply-accumulates of one inference at input_size (None if unknown).
    """

    parameters: int | None
    weight_bytes: int | None
    macs: int | None
    input_size: tuple[int, int] | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything `posenet inspect` says about one model file or folder.

    format: "tflite", "tfjs-graph", "tfjs-checkpoint" or "graphdef".
    facts: ordered (label, value) pairs about the file as a whole.
    posenet_problem: why there is no PoseNet view, when there is none.
    problems: damage the file was described around, each in one line (a tensor
        pointing at a buffer that is not there, a weight without data): the
        runtime would refuse or fail on such a file. Empty for a sound file.
    """

    path: str
    format: str
    format_name: str
    file_bytes: int
    facts: tuple[tuple[str, str], ...]
    graphs: tuple[Graph, ...]
    totals: Totals
    posenet: PosenetView | None = None
    posenet_problem: str | None = None
    operator_codes: tuple[dict[str, Any], ...] = ()
    buffers: tuple[Buffer, ...] = ()
    metadata: tuple[dict[str, Any], ...] = ()
    signatures: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the whole report (tuples become lists)."""
        data = _plain(dataclasses.asdict(self))
        data["facts"] = dict(self.facts)
        for graph, raw in zip(self.graphs, data["graphs"], strict=True):
            for tensor, out in zip(graph.tensors, raw["tensors"], strict=True):
                out["constant"] = tensor.constant
        if self.posenet is not None:
            data["posenet"]["params"] = self.posenet.params
            data["posenet"]["macs"] = self.posenet.macs
        return data


def _plain(value: Any) -> Any:
    """Tuples -> lists, numpy scalars -> Python numbers, NaN / Inf -> None, recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / Inf
    return value
