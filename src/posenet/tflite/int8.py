"""A uint8 TFLite model (Coral's) re-encoded as the same integer network in signed int8.

Why: XNNPACK runs uint8 models through its asymmetric QU8 kernels and signed
int8 models through its QS8 kernels, which on x86 take about 0.4 of the time
for Coral's PoseNet. Nothing about the network needs to change for that:

- Every uint8 activation tensor (input, outputs, everything between) becomes
  int8 with the same scale and its zero point minus 128, so each value is the
  same real number as before (q - 128 is q in the other encoding). Each layer
  then has the same output grid, the same ReLU6-as-output-range, the same
  clipping of the heads.
- Weights: the real value of a uint8 weight is (q - zero_point) * scale.
  Stored as int8 (q - zero_point) with zero point 0 and the same scale, it is
  the same value, and int32 biases (scale input_scale * weight_scale) stay as
  they are. XNNPACK's QS8 and QU8 kernels then compute identical accumulators
  and requantize them identically: tests/test_precision.py checks the heads are
  bit-identical.
- Only q - zero_point must fit int8. A weight of +128 (q = 255 with zero point
  127) does not; Coral's files have five, in four layers. Those layers run in
  float32 between a DEQUANTIZE and a QUANTIZE, with their exact real weights:
  the same arithmetic up to float rounding, which flips a quantized activation
  by one step where the exact value lies on a rounding boundary.

The caller feeds the int8 input as pixel ^ 0x80 (Coral's input is scale 1/128,
zero point 128; in int8 zero point 0) and dequantizes outputs with their own
zero points, as for any quantized model.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from ..errors import PosenetError
from .flatbuffer import op_name

__all__ = ["as_int8", "int8_problem", "is_uint8"]

_T = schema.TensorType
_OPS = schema.BuiltinOperator
_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
#: Ops whose int8 kernels take the same quantization rules as their uint8 ones.
_SAME_RULES = frozenset({*_CONVS, "CONCATENATION"})


def is_uint8(model: schema.ModelT) -> bool:
    """Whether the main subgraph's input is uint8 (a uint8-quantized model such as Coral's)."""
    graph = model.subgraphs[0]
    return len(graph.inputs) == 1 and graph.tensors[graph.inputs[0]].type == _T.UINT8


def int8_problem(model: schema.ModelT) -> str | None:
    """Why `model` has no int8 form (as_int8), or None when it has one.

    It needs uint8 throughout: every op one whose int8 kernel follows the same
    quantization rules, every tensor they use uint8 (int32 for biases), every
    weight quantized. A model already int8 inside behind QUANTIZE ops (what
    `posenet export --quantize uint8` writes) has none, and needs none.
    """
    if not is_uint8(model):
        return "its input is not uint8"
    graph = model.subgraphs[0]
    for op in graph.operators:
        name = op_name(model, op.opcodeIndex)
        if name not in _SAME_RULES:
            return f"it has a {name} op"
        used = [*op.inputs, *op.outputs]
        if name in _CONVS:
            used = [op.inputs[0], op.inputs[1], *op.outputs]
            bias = graph.tensors[op.inputs[2]] if len(op.inputs) > 2 else None
            if bias is None or bias.type != _T.INT32:
                return f"{name} {graph.tensors[op.outputs[0]].name!r} has no int32 bias"
        for index in used:
            tensor = graph.tensors[index]
            quant = tensor.quantization
            if tensor.type != _T.UINT8 or quant is None or quant.zeroPoint is None:
                return f"tensor {tensor.name!r} is not uint8-quantized"
    return None


def as_int8(model: schema.ModelT) -> tuple[schema.ModelT, int]:
    """The uint8 model as signed int8 (see the module docstring); edits `model` in place.

    Returns the model and how many layers run in float32 because a weight does
    not fit int8. Raises PosenetError, leaving the model as it was, when the
    model has no int8 form (int8_problem).
    """
    problem = int8_problem(model)
    if problem is not None:
        raise PosenetError(f"precision int8 needs a uint8 model throughout: {problem}")
    graph = model.subgraphs[0]
    activations = {
        index
        for op in graph.operators
        for index in (*op.outputs, *op.inputs)
        if graph.tensors[index].type == _T.UINT8
    }
    operators = []
    islands = 0
    for op in graph.operators:
        if op_name(model, op.opcodeIndex) in _CONVS:
            weights = graph.tensors[op.inputs[1]]
            activations.discard(int(op.inputs[1]))
            signed = _signed(model, weights)
            if signed.min() < -128 or signed.max() > 127:
                operators += _float_island(model, op, signed)
                islands += 1
                continue
            model.buffers[weights.buffer].data = signed.astype(np.int8).view(np.uint8).ravel()
            weights.quantization.zeroPoint = [0] * len(weights.quantization.zeroPoint)
            weights.type = _T.INT8
        operators.append(op)
    graph.operators = operators
    for index in activations:
        tensor = graph.tensors[index]
        tensor.type = _T.INT8
        tensor.quantization.zeroPoint = [int(z) - 128 for z in tensor.quantization.zeroPoint]
    return model, islands


def _signed(model: schema.ModelT, tensor: schema.TensorT) -> np.ndarray:
    """q - zero_point of a uint8 weight tensor (per tensor or per channel), as int32."""
    quant = tensor.quantization
    raw = np.asarray(model.buffers[tensor.buffer].data, np.uint8).reshape(tensor.shape)
    return raw.astype(np.int32) - _per_axis(quant.zeroPoint, quant, raw.ndim).astype(np.int32)


def _per_axis(values, quant: schema.QuantizationParametersT, ndim: int) -> np.ndarray:
    """Per-tensor or per-channel quantization values shaped to broadcast over the tensor."""
    shape = [1] * ndim
    if len(values) > 1:
        shape[quant.quantizedDimension] = len(values)
    return np.asarray(values, np.float64).reshape(shape)


def _float_island(model: schema.ModelT, op: schema.OperatorT, signed: np.ndarray) -> list:
    """DEQUANTIZE -> the conv in float32 with its exact real weights -> QUANTIZE.

    The QUANTIZE writes the conv's own output tensor with its scale and zero
    point, so it rounds and clamps where the integer kernel did.
    """
    graph = model.subgraphs[0]
    source, weights, bias = (graph.tensors[i] for i in op.inputs[:3])
    target = graph.tensors[op.outputs[0]]
    w_scale = _per_axis(weights.quantization.scale, weights.quantization, signed.ndim)
    raw_bias = np.frombuffer(bytes(bytearray(model.buffers[bias.buffer].data)), "<i4")
    bias_scale = float(source.quantization.scale[0]) * w_scale.ravel()

    def add(like: schema.TensorT, data: np.ndarray | None = None) -> int:
        tensor = schema.TensorT()
        tensor.name = (like.name or b"") + b"/float"
        tensor.shape = list(like.shape)
        tensor.type = _T.FLOAT32
        tensor.buffer = 0
        if data is not None:
            buffer = schema.BufferT()
            buffer.data = np.ascontiguousarray(data, "<f4").view(np.uint8).ravel()
            model.buffers.append(buffer)
            tensor.buffer = len(model.buffers) - 1
        graph.tensors.append(tensor)
        return len(graph.tensors) - 1

    float_in, float_out = add(source), add(target)
    float_weights, float_bias = add(weights, signed * w_scale), add(bias, raw_bias * bias_scale)
    dequantize = _operator(model, _OPS.DEQUANTIZE, 2, [op.inputs[0]], [float_in])
    quantize = _operator(model, _OPS.QUANTIZE, 1, [float_out], [op.outputs[0]])
    op.inputs = [float_in, float_weights, float_bias]
    op.outputs = [float_out]
    return [dequantize, op, quantize]


def _operator(model: schema.ModelT, code: int, version: int, inputs, outputs) -> schema.OperatorT:
    index = next(
        (
            i
            for i, c in enumerate(model.operatorCodes)
            if max(c.builtinCode, c.deprecatedBuiltinCode) == code and c.version == version
        ),
        None,
    )
    if index is None:
        opcode = schema.OperatorCodeT()
        opcode.builtinCode, opcode.deprecatedBuiltinCode = code, min(code, 127)
        opcode.version = version
        model.operatorCodes.append(opcode)
        index = len(model.operatorCodes) - 1
    op = schema.OperatorT()
    op.opcodeIndex = index
    op.inputs, op.outputs = list(inputs), list(outputs)
    return op
