"""Shapes and multiply-accumulates of a graph at any input size.

A model file stores tensor shapes for one input size (TFLite) or none at all
(GraphDef); `--size` asks for another. Each describer turns its operators
into layout-free `Conv` geometry and small shape rules, and `infer_shapes`
pushes an input shape through them in execution order. Multiply-accumulates
(MACs) are counted the usual way: one per weight per output position, bias
adds and activations not counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .report import Graph

__all__ = [
    "CONV_KINDS",
    "Conv",
    "Rule",
    "concat_rule",
    "conv_rule",
    "infer_shapes",
    "pad_rule",
    "reshape_rule",
    "same_rule",
    "weight_totals",
]

Shape = tuple[int, ...]
#: A shape rule: input shapes (None where unknown) -> output shapes, or None if unknown.
Rule = Callable[[Sequence[Shape | None]], list[Shape] | None]

#: Kinds of Conv: a full convolution, a depthwise one, a dense (fully connected)
#: layer and a transposed convolution.
CONV_KINDS: tuple[str, ...] = ("conv", "depthwise", "dense", "transpose")


@dataclass(frozen=True)
class Conv:
    """A convolution's geometry, free of any weight layout.

    in_channels: the input channels each output channel sees (a depthwise
        conv sees 1 per output; its `in_channels` are the channels it reads).
    multiplier: output channels per input channel of a depthwise conv.
    padding: "SAME", "VALID" or explicit (top, bottom, left, right).
    """

    kind: str
    kernel: tuple[int, int]
    in_channels: int
    out_channels: int
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int, int, int] = "SAME"
    multiplier: int = 1

    def output_shape(self, shape: Shape | None) -> Shape | None:
        """The output shape for an NHWC input shape (or [..., features] for dense)."""
        if shape is None:
            return None
        if self.kind == "dense":
            return (*shape[:-1], self.out_channels) if shape else None
        if len(shape) != 4 or self.kind == "transpose":
            return None
        n, h, w, _ = shape
        out_h = _output_length(h, self.kernel[0], self.stride[0], self.dilation[0], self._pad(0))
        out_w = _output_length(w, self.kernel[1], self.stride[1], self.dilation[1], self._pad(1))
        if out_h is None or out_w is None:
            return None
        return (n, out_h, out_w, self.out_channels)

    def macs(self, output: Shape | None, input_shape: Shape | None = None) -> int | None:
        """Multiply-accumulates to compute `output` (input shape needed for transpose)."""
        if self.kind == "transpose":
            if input_shape is None or len(input_shape) != 4:
                return None
            n, h, w, c = input_shape
            return int(n * h * w * c * self.kernel[0] * self.kernel[1] * self.out_channels)
        if output is None:
            return None
        positions = math.prod(int(d) for d in output[:-1])
        per_output = self.kernel[0] * self.kernel[1]
        if self.kind != "depthwise":
            per_output *= self.in_channels
        return int(positions * self.out_channels * per_output)

    def brief(self, activation: str = "none") -> str:
        """A few characters for a drawing: '3x3 /2 3->24 relu6', 'dw 3x3 d2 384'."""
        parts = [f"{self.kernel[0]}x{self.kernel[1]}"]
        if self.kind == "dense":
            parts = ["dense"]
        if self.stride != (1, 1):
            parts.append("/" + "x".join(str(s) for s in dict.fromkeys(self.stride)))
        if self.dilation != (1, 1):
            parts.append("d" + "x".join(str(d) for d in dict.fromkeys(self.dilation)))
        if self.kind == "depthwise":
            parts.append(f"{self.in_channels} ch")
        else:
            parts.append(f"{self.in_channels}\u2192{self.out_channels}")
        if activation not in ("none", ""):
            parts.append(activation)
        return " ".join(parts)

    def _pad(self, axis: int) -> str | tuple[int, int]:
        if isinstance(self.padding, str):
            return self.padding
        return (self.padding[2 * axis], self.padding[2 * axis + 1])


def _output_length(
    n: int, kernel: int, stride: int, dilation: int, padding: str | tuple[int, int]
) -> int | None:
    """Output length of one spatial axis, or None when it cannot be known: an unknown
    (< 0) input, or geometry a damaged file gets wrong (stride 0, padding "FOO")."""
    if n < 0 or min(kernel, stride, dilation) < 1:
        return None
    span = dilation * (kernel - 1) + 1
    if padding == "SAME":
        return -(-n // stride)
    if padding == "VALID":
        length = -(-(n - span + 1) // stride)
    elif isinstance(padding, tuple) and len(padding) == 2:
        before, after = padding
        length = (n + before + after - span) // stride + 1
    else:
        return None
    return length if length > 0 else None


def conv_rule(conv: Conv) -> Rule:
    """Shape rule of a convolution: the first input is the image."""
    return lambda shapes: [s] if shapes and (s := conv.output_shape(shapes[0])) else None


def same_rule(outputs: int = 1) -> Rule:
    """Element-wise ops: the broadcast of the input shapes."""

    def rule(shapes: Sequence[Shape | None]) -> list[Shape] | None:
        known = [s for s in shapes if s is not None]
        if not known or len(known) != len(shapes):
            return None
        try:
            shape = tuple(int(d) for d in np.broadcast_shapes(*known))
        except (ValueError, RuntimeError):  # shapes that do not broadcast, or over 32-D
            return None
        return [shape] * outputs

    return rule


def concat_rule(axis: int) -> Rule:
    """Concatenation along axis (negative counts from the end)."""

    def rule(shapes: Sequence[Shape | None]) -> list[Shape] | None:
        if not shapes or any(s is None for s in shapes):
            return None
        first = list(shapes[0])  # type: ignore[arg-type]
        k = axis % len(first) if first else 0
        if any(len(s) != len(first) for s in shapes):  # type: ignore[arg-type]
            return None
        first[k] = sum(int(s[k]) for s in shapes)  # type: ignore[index]
        return [tuple(first)]

    return rule


def pad_rule(pads: Sequence[tuple[int, int]]) -> Rule:
    """Padding by (before, after) per axis."""

    def rule(shapes: Sequence[Shape | None]) -> list[Shape] | None:
        if not shapes or shapes[0] is None or len(shapes[0]) != len(pads):
            return None
        return [tuple(int(d) + a + b for d, (a, b) in zip(shapes[0], pads, strict=True))]

    return rule


def reshape_rule(target: Sequence[int]) -> Rule:
    """Reshape to target, one -1 filled in from the element count."""

    def rule(shapes: Sequence[Shape | None]) -> list[Shape] | None:
        if not shapes or shapes[0] is None:
            return None
        total = math.prod(int(d) for d in shapes[0])
        known = math.prod(int(d) for d in target if d != -1)
        if list(target).count(-1) > 1 or known == 0:
            return None
        out = tuple(int(d) if d != -1 else total // known for d in target)
        return [out] if math.prod(out) == total else None

    return rule


def infer_shapes(
    ops: Sequence[tuple[Sequence[int], Sequence[int]]],
    rules: Sequence[Rule | None],
    seeds: Mapping[int, Shape | None],
    stored: Mapping[int, Shape | None],
    trust_stored: bool,
) -> dict[int, Shape | None]:
    """Every tensor's shape after pushing `seeds` (inputs, constants) through the ops.

    ops: (input tensor indices, output tensor indices) in execution order;
        -1 inputs are ignored.
    rules: one per op; None when the op's shapes cannot be worked out.
    trust_stored: the seeds are the file's own input shapes, so an op without
        a rule keeps the output shapes the file stores.
    """
    shapes: dict[int, Shape | None] = dict(seeds)
    for (inputs, outputs), rule in zip(ops, rules, strict=True):
        given = [shapes.get(i) for i in inputs if i >= 0]
        result = rule(given) if rule is not None else None
        if result is not None and len(result) < len(outputs):
            result = None
        for k, tensor in enumerate(outputs):
            if result is not None:
                shapes[tensor] = tuple(int(d) for d in result[k])
            else:
                shapes[tensor] = stored.get(tensor) if trust_stored else None
    return shapes


#: Ops whose constant inputs past the first describe structure (paddings, shapes,
#: axes, block sizes), not learned weights.
STRUCTURAL_OPS = {
    "PAD", "PADV2", "MIRROR_PAD", "RESHAPE", "TRANSPOSE", "SLICE", "STRIDED_SLICE",
    "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "MEAN", "SUM", "REDUCE_MAX", "SQUEEZE",
    "EXPAND_DIMS", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "GATHER", "TILE",
    "Pad", "PadV2", "MirrorPad", "Reshape", "Transpose", "Slice", "StridedSlice",
    "SpaceToBatchND", "BatchToSpaceND", "Mean", "Sum", "Max", "Squeeze", "ExpandDims",
    "ConcatV2", "ResizeBilinear", "ResizeNearestNeighbor", "GatherV2", "Tile",
}  # fmt: skip


def weight_totals(graphs: Sequence[Graph]) -> tuple[int, int, int]:
    """(parameters, bytes, structural constants left out) over the constants of graphs.

    A constant counts as a weight unless every op that reads it is a
    structural op reading it past its first input (PAD's paddings, RESHAPE's
    shape). A buffer shared by several tensors is counted once.
    """
    params = nbytes = skipped = 0
    seen: set[int] = set()
    for graph in graphs:
        readers: dict[int, list[tuple[str, int]]] = {}
        for op in graph.ops:
            for position, t in enumerate(op.inputs):
                if t >= 0:
                    readers.setdefault(t, []).append((op.type, position))
        for t in graph.tensors:
            if not t.constant or (t.buffer and t.buffer in seen):
                continue
            if t.buffer:
                seen.add(t.buffer)
            uses = readers.get(t.index, [])
            if uses and all(kind in STRUCTURAL_OPS and pos > 0 for kind, pos in uses):
                skipped += 1
                continue
            params += t.elements or 0
            nbytes += t.nbytes
    return params, nbytes, skipped
