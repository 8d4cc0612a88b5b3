"""Network -> runnable float32 TFLite model, for any input size and output stride.

The one place that turns a Network into TFLite bytes, written with the
schema's object API (`ai_edge_litert.schema_py_generated`) and flatbuffers,
so no TensorFlow is needed. The graph is the Network as it stands after the
output-stride rule: CONV_2D / DEPTHWISE_CONV_2D with SAME padding, the
layer's stride and dilation and a fused RELU6 where the layer has one, then
four 1x1 CONV_2D heads. Conv weights are stored OHWI, depthwise weights 1HWC,
as TFLite wants them.

With explicit_pad every stride-2 3x3 conv is written as PAD [[0,0],[1,1],[1,1],[0,0]]
+ a VALID conv instead: the layout the Kendryte K210's KPU accepts (symmetric
padding only, POSENET.md §7). Where the padded side is odd (every size
k * output_stride + 1) that is exactly SAME. Where it is even SAME would pad
bottom/right only and shift the grid by up to output_stride - 1 pixels; the
symmetric pad keeps cell i centred on pixel i * output_stride, the alignment
the decoders assume, so sizes k * output_stride are usable too (the K210
needs them: its KPU halves only even sides).

Input: float32[1, H, W, 3] in [-1, 1] (the Runtime feeds x / 127.5 - 1).
Outputs: `heatmap` (logits, 17), `offset_2` (34), `displacement_fwd_2` (32),
`displacement_bwd_2` (32); the Runtime maps them onto Heads by channel count
and name.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from .._version import __version__
from ..errors import PosenetError
from ..network import Layer, Network, with_output_stride

__all__ = ["INPUT_NAME", "OUTPUT_NAMES", "build_tflite", "network_digest"]

INPUT_NAME = "image"
#: Output tensor name per head, in HEAD_NAMES order (TF.js naming).
OUTPUT_NAMES: dict[str, str] = {
    "heatmap": "heatmap",
    "offsets": "offset_2",
    "displacement_fwd": "displacement_fwd_2",
    "displacement_bwd": "displacement_bwd_2",
}
#: Bumped whenever the bytes build_tflite writes change for the same Network.
_BUILD_FORMAT = 1
_IDENTIFIER = b"TFL3"
_OPS = schema.BuiltinOperator
_FP32 = schema.TensorType.FLOAT32
_FP16 = schema.TensorType.FLOAT16
_INT32 = schema.TensorType.INT32


def build_tflite(
    network: Network,
    input_size: tuple[int, int],
    output_stride: int,
    *,
    float16_weights: bool = False,
    explicit_pad: bool = False,
) -> bytes:
    """A float32 TFLite model of network for input (height, width) at output_stride.

    The network is re-targeted with network.with_output_stride first (its own
    geometry at its native stride, the default geometry otherwise).
    float16_weights stores weights and biases as float16 with DEQUANTIZE ops in
    front (half the file size; LiteRT computes in float32 either way).
    explicit_pad writes stride-2 3x3 convs as PAD + VALID (the K210 layout;
    equal to SAME at odd sides, grid-aligned symmetric padding at even ones).
    Raises PosenetError for an impossible stride or size.
    """
    height, width = _check_size(input_size)
    net = with_output_stride(network, output_stride)
    if net.input_range != (-1.0, 1.0):
        raise PosenetError(
            f"network {net.name}: input range {net.input_range}; the builder feeds [-1, 1]"
        )
    graph = _GraphBuilder(float16_weights)
    shape = (height, width, 3)
    current = graph.tensor(INPUT_NAME, (1, *shape))
    for layer in net.body:
        out_shape = _out_shape(shape, layer)
        padding = schema.Padding.SAME
        if explicit_pad and layer.stride == 2 and layer.kernel != (1, 1):
            current = graph.pad(layer, current, (shape[0] + 2, shape[1] + 2, shape[2]))
            padding = schema.Padding.VALID
        output = graph.tensor(layer.name, (1, *out_shape))
        graph.conv(layer, current, output, padding)
        current, shape = output, out_shape
    outputs = []
    for head in net.heads:
        output = graph.tensor(OUTPUT_NAMES[head.name], (1, shape[0], shape[1], head.out_channels))
        graph.conv(head, current, output)
        outputs.append(output)
    description = (
        f"posenet {__version__}: {net.name} at {height}x{width}, output stride {output_stride}"
        + (", explicit pad" if explicit_pad else "")
    )
    return graph.finish(inputs=[0], outputs=outputs, description=description)


def network_digest(
    network: Network,
    input_size: tuple[int, int],
    output_stride: int,
    float16: bool,
    *,
    explicit_pad: bool = False,
) -> str:
    """sha256 (hex) naming the model build_tflite would write for these arguments.

    Covers every layer's kind, geometry, activation, weights and biases after
    the output-stride rule, the input size and range, and the builder's format
    version, so a cache keyed by it never serves a stale build. Names and
    descriptions are left out: the same weights read from two files share a
    build.
    """
    height, width = _check_size(input_size)
    net = with_output_stride(network, output_stride)
    digest = hashlib.sha256()
    header = f"posenet-build:{_BUILD_FORMAT}:{height}x{width}:{output_stride}:{bool(float16)}:"
    if explicit_pad:  # appended only when set, so the digests of SAME builds stay as they were
        header += "explicit-pad:"
    digest.update(f"{header}{net.input_range}".encode())
    for layer in net.layers:
        digest.update(
            f"|{layer.kind}:{layer.weights.shape}:{layer.stride}:{layer.dilation}:"
            f"{layer.activation}".encode()
        )
        digest.update(np.ascontiguousarray(layer.weights, dtype="<f4").tobytes())
        digest.update(np.ascontiguousarray(layer.bias, dtype="<f4").tobytes())
    return digest.hexdigest()


def _check_size(input_size: tuple[int, int]) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise PosenetError(f"input size must be (height, width), got {input_size!r}") from None
    if height < 1 or width < 1:
        raise PosenetError(f"input size must be positive, got {height}x{width}")
    return height, width


def _out_shape(shape: tuple[int, int, int], layer: Layer) -> tuple[int, int, int]:
    """SAME padding: ceil(size / stride) per side (also what PAD 1 + VALID 3x3 gives)."""
    return (
        math.ceil(shape[0] / layer.stride),
        math.ceil(shape[1] / layer.stride),
        layer.out_channels,
    )


class _GraphBuilder:
    """Accumulates tensors, buffers and operators of one subgraph."""

    def __init__(self, float16: bool) -> None:
        self.float16 = float16
        self.tensors: list[schema.TensorT] = []
        self.buffers: list[schema.BufferT] = [schema.BufferT()]  # buffer 0: the empty sentinel
        self.operators: list[schema.OperatorT] = []
        self.opcodes: dict[tuple[int, int], int] = {}

    def tensor(
        self, name: str, shape: tuple[int, ...], data: np.ndarray | None = None, dtype: int = _FP32
    ) -> int:
        tensor = schema.TensorT()
        tensor.name = name
        tensor.shape = np.asarray(shape, dtype=np.int32)
        tensor.type = dtype
        tensor.buffer = 0
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.buffers.append(buffer)
            tensor.buffer = len(self.buffers) - 1
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def constant(self, name: str, array: np.ndarray) -> int:
        """A float32 constant, or float16 + DEQUANTIZE when building with float16 weights."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        if not self.float16:
            return self.tensor(name, array.shape, array.astype("<f4"))
        half = self.tensor(f"{name}_fp16", array.shape, array.astype("<f2"), dtype=_FP16)
        full = self.tensor(name, array.shape)
        self.operator(_OPS.DEQUANTIZE, 3, [half], [full], None, None)
        return full

    def operator(
        self,
        code: int,
        version: int,
        inputs: Sequence[int],
        outputs: Sequence[int],
        options_type: int | None,
        options: Any | None,
    ) -> None:
        key = (code, version)
        if key not in self.opcodes:
            self.opcodes[key] = len(self.opcodes)
        op = schema.OperatorT()
        op.opcodeIndex = self.opcodes[key]
        op.inputs = np.asarray(inputs, dtype=np.int32)
        op.outputs = np.asarray(outputs, dtype=np.int32)
        if options is not None:
            op.builtinOptionsType = options_type
            op.builtinOptions = options
        self.operators.append(op)

    def pad(self, layer: Layer, source: int, shape: tuple[int, int, int]) -> int:
        """PAD source by one pixel on each spatial side; returns the padded tensor."""
        paddings = np.array([[0, 0], [1, 1], [1, 1], [0, 0]], dtype="<i4")
        amounts = self.tensor(f"{layer.name}/paddings", paddings.shape, paddings, _INT32)
        output = self.tensor(f"{layer.name}/padded", (1, *shape))
        self.operator(
            _OPS.PAD,
            1,
            [source, amounts],
            [output],
            schema.BuiltinOptions.PadOptions,
            schema.PadOptionsT(),
        )
        return output

    def conv(
        self, layer: Layer, source: int, output: int, padding: int = schema.Padding.SAME
    ) -> None:
        activation = (
            schema.ActivationFunctionType.RELU6
            if layer.activation == "relu6"
            else schema.ActivationFunctionType.NONE
        )
        bias = self.constant(f"{layer.name}/bias", layer.bias)
        if layer.kind == "depthwise":
            weights = self.constant(f"{layer.name}/weights", layer.weights[:, :, :, 0][np.newaxis])
            options = schema.DepthwiseConv2DOptionsT()
            options.depthMultiplier = 1
            options_type = schema.BuiltinOptions.DepthwiseConv2DOptions
            code, version = _OPS.DEPTHWISE_CONV_2D, 2 if layer.dilation > 1 else 1
        else:
            weights = self.constant(f"{layer.name}/weights", layer.weights.transpose(3, 0, 1, 2))
            options = schema.Conv2DOptionsT()
            options_type = schema.BuiltinOptions.Conv2DOptions
            code, version = _OPS.CONV_2D, 1
        options.padding = padding
        options.strideH = options.strideW = layer.stride
        options.dilationHFactor = options.dilationWFactor = layer.dilation
        options.fusedActivationFunction = activation
        self.operator(code, version, [source, weights, bias], [output], options_type, options)

    def finish(self, inputs: list[int], outputs: list[int], description: str) -> bytes:
        graph = schema.SubGraphT()
        graph.tensors = self.tensors
        graph.inputs = np.asarray(inputs, dtype=np.int32)
        graph.outputs = np.asarray(outputs, dtype=np.int32)
        graph.operators = self.operators
        graph.name = "main"
        model = schema.ModelT()
        model.version = 3
        model.description = description
        model.subgraphs = [graph]
        model.buffers = self.buffers
        model.operatorCodes = []
        for (code, version), _ in sorted(self.opcodes.items(), key=lambda item: item[1]):
            opcode = schema.OperatorCodeT()
            opcode.builtinCode = code
            opcode.deprecatedBuiltinCode = min(code, 127)
            opcode.version = version
            model.operatorCodes.append(opcode)
        builder = flatbuffers.Builder(1 << 20)
        builder.Finish(model.Pack(builder), file_identifier=_IDENTIFIER)
        return bytes(builder.Output())
