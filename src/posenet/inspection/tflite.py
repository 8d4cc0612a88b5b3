"""Describe a TFLite flatbuffer: every tensor, operator, buffer and the PoseNet in it.

Reads the file with the schema's object API (through posenet.tflite.flatbuffer)
and reports what TFLite's own visualize.py shows - model header, operator
codes, per subgraph the inputs, outputs, tensors and operators, buffers,
metadata, signatures - plus what it leaves out: options in words, decoded
custom options (Coral's PosenetDecoderOp, the Edge TPU op's header), constant
values dequantized, implied activations of quantized outputs, shapes and
multiply-accumulates at any input size, and the PoseNet view.
"""

from __future__ import annotations

import dataclasses
import math
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from .._inputs import MAX_MODEL_BYTES, read_input
from ..errors import PosenetError
from ..model import cpu_twin
from ..sizes import MAX_SIDE
from ..tflite.flatbuffer import (
    EDGETPU_OP,
    POSENET_DECODER_OP,
    TENSOR_TYPE_NAMES,
    decode_custom_options,
    op_name,
    read_model,
)
from ..tflite.validate import problems as validation_problems
from . import geometry as geo
from .posenet_view import build_view, channel_names, head_layout, output_channels, walk_graph
from .report import Buffer, Channels, Graph, Op, Quantization, Report, Tensor, Totals
from .tfgraph import DEFAULT_SIZE, OPEN_SIZE_NOTE, values_of

__all__ = ["describe_tflite"]

#: numpy dtype of each TFLite tensor type whose data can be decoded.
_NUMPY: dict[str, str] = {
    "FLOAT32": "<f4",
    "FLOAT16": "<f2",
    "FLOAT64": "<f8",
    "INT8": "i1",
    "UINT8": "u1",
    "INT16": "<i2",
    "UINT16": "<u2",
    "INT32": "<i4",
    "UINT32": "<u4",
    "INT64": "<i8",
    "UINT64": "<u8",
    "BOOL": "?",
}

#: Integer ranges of quantized types, for reading an activation off an output range.
_QRANGE: dict[str, tuple[int, int]] = {
    "UINT8": (0, 255),
    "INT8": (-128, 127),
    "INT16": (-32768, 32767),
}

#: Option fields holding schema enums that are not named after their enum.
_ENUM_FIELDS: dict[str, type] = {
    "fusedActivationFunction": schema.ActivationFunctionType,
    "quantizedBiasType": schema.TensorType,
    "outDataType": schema.TensorType,
    "inDataType": schema.TensorType,
    "outputType": schema.TensorType,
    "outType": schema.TensorType,
    "idxOutType": schema.TensorType,
    "weightsFormat": schema.FullyConnectedOptionsWeightsFormat,
    "mode": schema.MirrorPadMode,
    "type": schema.LSHProjectionType,
    "combiner": schema.CombinerType,
    "kernelType": schema.LSTMKernelType,
}

#: Ops whose output has the broadcast shape of their inputs.
_ELEMENTWISE = {
    "ABS",
    "ADD",
    "CAST",
    "CEIL",
    "COS",
    "DEQUANTIZE",
    "DIV",
    "ELU",
    "EXP",
    "FLOOR",
    "GELU",
    "HARD_SWISH",
    "LEAKY_RELU",
    "LOG",
    "LOGISTIC",
    "MAXIMUM",
    "MINIMUM",
    "MUL",
    "NEG",
    "POW",
    "PRELU",
    "QUANTIZE",
    "RELU",
    "RELU6",
    "RELU_N1_TO_1",
    "ROUND",
    "RSQRT",
    "SIN",
    "SOFTMAX",
    "SQRT",
    "SQUARE",
    "SQUARED_DIFFERENCE",
    "SUB",
    "TANH",
    "LOG_SOFTMAX",
    "SIGN",
}

_EDGETPU_KEYS = {
    "1": "version",
    "2": "chip",
    "3": "parameter_caching_executable",
    "4": "executable",
    "5": "execution_preference",
}


def describe_tflite(path: Path, size: tuple[int, int] | None = None) -> Report:
    """Describe a .tflite file; size (height, width) overrides its input size for MACs.

    Damage is found by posenet.tflite.validate, the checks detect runs before
    LiteRT sees a file, and listed in Report.problems; a file whose description
    can be read around it (a tensor pointing at a buffer that is not there, a
    weight whose buffer is empty, strides of 0) is described with them. One whose
    structure cannot be followed raises PosenetError naming its first problem.
    """
    data = read_input(path, MAX_MODEL_BYTES, "model file")
    model = read_model(data, source=str(path))
    problems = validation_problems(model, len(data))
    try:
        return _describe(path, data, model, size, problems)
    except (IndexError, KeyError, TypeError, ValueError, OverflowError, struct.error):
        if not problems:  # a sound file the describer trips on: a bug, exit 1
            raise
        raise PosenetError(f"{path}: damaged TFLite model: {problems[0]}") from None


def _describe(
    path: Path, data: bytes, model, size: tuple[int, int] | None, problems: list[str]
) -> Report:
    asked = size
    if size is None and _open_input(model):
        size = DEFAULT_SIZE  # an input with -1 in its shape signature: no size of its own
    graphs = []
    subgraph_convs: list[list[geo.Conv | None]] = []
    subgraph_acts: list[list[str]] = []
    for index, sub in enumerate(model.subgraphs):
        graph, convs, acts = _describe_subgraph(model, sub, index, data, size)
        graphs.append(graph)
        subgraph_convs.append(convs)
        subgraph_acts.append(acts)
    main = graphs[0]
    custom = [op for op in main.ops if op.custom]
    edgetpu = any(op.custom == EDGETPU_OP for op in custom)
    decoder = next((op for op in custom if op.custom == POSENET_DECODER_OP), None)
    input_size, size_from = _input_size(main, asked)
    if asked is None and size is not None:
        input_size, size_from = size, "default"
    view, problem = _view(
        main, subgraph_convs[0], subgraph_acts[0], input_size, size_from, decoder, edgetpu
    )
    notes = []
    if edgetpu:
        notes.append(
            "compiled for the Coral Edge TPU: the network is inside edgetpu-custom-op as TPU "
            f"code that cannot run on a CPU; {cpu_twin(path)}"
        )
    if decoder is not None:
        notes.append(
            "PosenetDecoderOp is Coral's multi-pose decoder, not part of LiteRT: posenet cuts it "
            "off and decodes the three heads itself (decoder 'coral')"
        )
    return Report(
        path=str(path),
        format="tflite",
        format_name="TFLite flatbuffer" + (" (Edge TPU)" if edgetpu else ""),
        file_bytes=len(data),
        facts=tuple(_facts(model, graphs, data, edgetpu, damaged=bool(problems))),
        graphs=tuple(graphs),
        totals=_totals(model, graphs, input_size, edgetpu, custom),
        posenet=view,
        posenet_problem=problem,
        operator_codes=tuple(_operator_codes(model)),
        buffers=tuple(_buffers(model, graphs, data)),
        metadata=tuple(_metadata(model, data)),
        signatures=tuple(_signatures(model)),
        notes=tuple(notes),
        problems=tuple(problems),
    )


# -- tensors ---------------------------------------------------------------------------


def _buffer_bytes(model: schema.ModelT, index: int, data: bytes) -> bytes:
    """The data of buffer `index`: inline, or at an offset past the flatbuffer (large models)."""
    if not model.buffers or index <= 0 or index >= len(model.buffers):
        return b""
    buf = model.buffers[index]
    if buf.data is not None and len(buf.data):
        return np.asarray(buf.data, dtype=np.uint8).tobytes()
    if buf.offset and buf.offset > 1 and buf.size:
        return data[buf.offset : buf.offset + buf.size]
    return b""


def _quantization(q: schema.QuantizationParametersT | None) -> Quantization | None:
    if q is None or (q.scale is None and q.min is None and q.max is None):
        return None
    scale = tuple(float(s) for s in (q.scale if q.scale is not None else ()))
    zero = tuple(int(z) for z in (q.zeroPoint if q.zeroPoint is not None else ()))
    return Quantization(
        scale=scale,
        zero_point=zero,
        axis=int(q.quantizedDimension) if len(scale) > 1 else None,
        min=tuple(float(v) for v in (q.min if q.min is not None else ())),
        max=tuple(float(v) for v in (q.max if q.max is not None else ())),
    )


def _values(raw: bytes, dtype: str, shape: tuple[int, ...] | None, q: Quantization | None):
    """Statistics of a constant tensor's values, dequantized when it is quantized."""
    if dtype not in _NUMPY or not raw:
        return None
    item = np.dtype(_NUMPY[dtype]).itemsize
    array = np.frombuffer(raw[: len(raw) // item * item], dtype=_NUMPY[dtype])
    if array.size == 0:
        return None
    real = array.astype(np.float64)
    if q is not None and q.scale and dtype not in ("FLOAT32", "FLOAT16", "FLOAT64"):
        scale = np.asarray(q.scale, dtype=np.float64)
        zero = np.asarray(q.zero_point or (0,) * len(q.scale), dtype=np.float64)
        if (
            q.per_axis
            and shape is not None
            and q.axis is not None
            and array.size == math.prod(shape)
        ):
            view = [1] * len(shape)
            view[q.axis] = len(q.scale)
            real = ((real.reshape(shape) - zero.reshape(view)) * scale.reshape(view)).ravel()
        elif not q.per_axis:
            real = (real - zero[0]) * scale[0]
    return values_of(real)


def _tensor(model, t: schema.TensorT, index: int, data: bytes) -> Tensor:
    dtype = TENSOR_TYPE_NAMES.get(t.type, f"TYPE_{t.type}")
    shape = tuple(int(d) for d in t.shape) if t.shape is not None else ()
    signature = tuple(int(d) for d in t.shapeSignature) if t.shapeSignature is not None else None
    raw = _buffer_bytes(model, t.buffer, data)
    quant = _quantization(t.quantization)
    notes = []
    if t.isVariable:
        notes.append("variable")
    if t.sparsity is not None:
        notes.append("sparse")
    if getattr(t, "externalBuffer", 0):
        notes.append(f"external buffer {t.externalBuffer}")
    return Tensor(
        index=index,
        name=_text(t.name),
        dtype=dtype,
        shape=shape,
        shape_signature=signature,
        buffer=int(t.buffer),
        nbytes=len(raw),
        quantization=quant,
        values=_values(raw, dtype, shape, quant),
        notes=tuple(notes),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# -- operators ---------------------------------------------------------------------------


def _describe_subgraph(model, sub, index: int, data: bytes, size: tuple[int, int] | None):
    tensors = [_tensor(model, t, i, data) for i, t in enumerate(sub.tensors or [])]
    inputs = tuple(int(i) for i in (sub.inputs if sub.inputs is not None else ()))
    outputs = tuple(int(i) for i in (sub.outputs if sub.outputs is not None else ()))
    ops: list[Op] = []
    convs: list[geo.Conv | None] = []
    rules: list[geo.Rule | None] = []
    acts: list[str] = []
    for k, raw_op in enumerate(sub.operators or []):
        op_type = op_name(model, raw_op.opcodeIndex)
        code = model.operatorCodes[raw_op.opcodeIndex]
        is_custom = (
            max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.CUSTOM
        )
        op_in = tuple(int(i) for i in (raw_op.inputs if raw_op.inputs is not None else ()))
        op_out = tuple(int(i) for i in (raw_op.outputs if raw_op.outputs is not None else ()))
        options = _builtin_options(raw_op)
        if is_custom:
            options = _custom_options(op_type, raw_op, data)
        conv = _conv(op_type, options, op_in, tensors)
        out_tensor = tensors[op_out[0]] if op_out else None
        activation, implied = _activation(options, out_tensor)
        params = sum(tensors[i].elements or 0 for i in op_in if i >= 0 and tensors[i].constant)
        ops.append(
            Op(
                index=k,
                type=op_type,
                name=out_tensor.name if out_tensor else op_type,
                inputs=op_in,
                outputs=op_out,
                options=options,
                summary=_summary(op_type, options, conv, implied, is_custom),
                brief=_brief(op_type, options, conv, activation),
                custom=op_type if is_custom else None,
                cpu=op_type != EDGETPU_OP,
                params=params,
                version=int(code.version),
            )
        )
        convs.append(conv)
        rules.append(_rule(op_type, options, conv, op_in, tensors))
        acts.append(activation)
    graph_name = _text(sub.name) or ("main" if index == 0 else f"subgraph {index}")
    tensors, ops = _at_size(tensors, ops, convs, rules, inputs, size)
    return Graph(graph_name, inputs, outputs, tuple(tensors), tuple(ops)), convs, acts


def _builtin_options(op: schema.OperatorT) -> dict[str, Any]:
    """A builtin op's options as {field: value}, enums by name."""
    found: dict[str, Any] = {}
    for options in (op.builtinOptions, getattr(op, "builtinOptions2", None)):
        if options is None:
            continue
        for key, value in vars(options).items():
            found[key] = _option_value(key, value)
    return found


def _option_value(key: str, value: Any) -> Any:
    enum = _ENUM_FIELDS.get(key) or getattr(schema, key[:1].upper() + key[1:], None)
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(enum, type):
        names = {v: n for n, v in vars(enum).items() if not n.startswith("_")}
        if value in names:
            return names[value]
    if isinstance(value, np.ndarray):
        return [v.item() for v in value]
    if isinstance(value, list | tuple):
        return [_option_value(key, v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "__dict__"):
        return {k: _option_value(k, v) for k, v in vars(value).items()}
    return value


def _custom_options(code: str, op: schema.OperatorT, data: bytes) -> dict[str, Any]:
    raw = op.customOptions
    if (raw is None or len(raw) == 0) and getattr(op, "largeCustomOptionsSize", 0):
        start = op.largeCustomOptionsOffset
        raw = data[start : start + op.largeCustomOptionsSize]
    if code == EDGETPU_OP:
        return _edgetpu_options(raw)
    return {k: _plain_option(v) for k, v in decode_custom_options(raw).items()}


def _plain_option(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple):
        return [_plain_option(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_option(v) for k, v in value.items()}
    return value


def _edgetpu_options(raw: Any) -> dict[str, Any]:
    """The header of edgetpu-custom-op's options: a FlexBuffer map of numbered keys.

    libedgetpu writes "1" version, "2" chip name, "4" the compiled executable
    (a DarwiNN package, identifier DWN1), "3" / "5" caching and preference
    data. The executable is binary held in a FlexBuffer string, which the
    generic decoder refuses, so each key is read on its own here.
    """
    if raw is None or len(raw) == 0:
        return {}
    blob = bytes(bytearray(raw))
    try:
        root = flexbuffers.GetRoot(blob).AsMap
        pairs = list(zip(root.Keys, root.Values, strict=True))
    except Exception:  # not a FlexBuffer map after all: report its size only
        return {"code_bytes": len(blob)}
    found: dict[str, Any] = {}
    for key, value in pairs:
        name = _EDGETPU_KEYS.get(key.AsKey, f"key_{key.AsKey}")
        if value.IsInt:
            found[name] = value.AsInt
        elif value.IsString or value.IsBlob:
            content = bytes(value.AsBlob) if value.IsBlob else _flex_bytes(value)
            text = content.decode("ascii") if content.isascii() else ""
            if text and text.isprintable():
                found[name] = text
            else:
                found[f"{name}_bytes"] = len(content)
                magic = content[4:8]
                if len(content) >= 8 and magic.isascii() and magic.decode().isalnum():
                    found[f"{name}_identifier"] = magic.decode()
        else:
            found[name] = _plain_option(value.Value)
    return found


def _flex_bytes(ref) -> bytes:
    """The raw bytes of a FlexBuffer string, without decoding them as UTF-8."""
    string = flexbuffers.String(ref._Indirect(), ref._byte_width)
    return bytes(string.Bytes)


def _conv(op_type: str, options: dict, inputs: Sequence[int], tensors: list[Tensor]):
    """Layout-free geometry of a convolution-like op, from its options and weight shape."""
    if op_type not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
        return None
    weight_at = 1
    if len(inputs) <= weight_at or inputs[weight_at] < 0:
        return None
    weights = tensors[inputs[weight_at]].shape
    stride = (int(options.get("strideH", 1) or 1), int(options.get("strideW", 1) or 1))
    dilation = (int(options.get("dilationHFactor", 1)), int(options.get("dilationWFactor", 1)))
    padding = str(options.get("padding", "SAME"))
    image = tensors[inputs[0]].shape
    if op_type == "FULLY_CONNECTED" and weights and len(weights) == 2:
        return geo.Conv("dense", (1, 1), weights[1], weights[0])
    if not weights or len(weights) != 4:
        return None
    if op_type == "CONV_2D":  # OHWI; grouped when the image has more channels than I
        return geo.Conv(
            "conv", (weights[1], weights[2]), weights[3], weights[0], stride, dilation, padding
        )
    if op_type == "TRANSPOSE_CONV":  # inputs: output shape, weights OHWI, image
        return geo.Conv(
            "transpose", (weights[1], weights[2]), weights[3], weights[0], stride, (1, 1), padding
        )
    channels = int(image[-1]) if image else weights[3]
    multiplier = int(options.get("depthMultiplier") or max(weights[3] // max(channels, 1), 1))
    return geo.Conv(
        "depthwise",
        (weights[1], weights[2]),
        channels,
        weights[3],
        stride,
        dilation,
        padding,
        multiplier,
    )


def _activation(options: dict, out: Tensor | None) -> tuple[str, str]:
    """(activation for the PoseNet view, words for an implied one or "").

    Quantized converters drop a fused ReLU6 into the output's quantization:
    with range [0, 6] the clamp happens by saturation.
    """
    fused = str(options.get("fusedActivationFunction", "NONE"))
    if fused not in ("NONE", "None"):
        return fused.lower(), ""
    q = out.quantization if out is not None else None
    if q is None or not q.scale or q.per_axis or out.dtype not in _QRANGE:  # type: ignore[union-attr]
        return "none", ""
    low, high = _QRANGE[out.dtype]  # type: ignore[union-attr]
    zero = q.zero_point[0] if q.zero_point else 0
    lo, hi = (low - zero) * q.scale[0], (high - zero) * q.scale[0]
    if abs(lo) < 1e-9 and abs(hi - 6.0) < 2 * q.scale[0]:
        return "relu6", f"ReLU6 by output range [0, {hi:.3g}]"
    if abs(lo) < 1e-9:
        return "none", f"clamped to [0, {hi:.3g}] by output range"
    return "none", ""


def _summary(op_type: str, options: dict, conv, implied: str, custom: bool) -> str:
    """An op's options in words."""
    if custom:
        return _custom_summary(op_type, options)
    parts = []
    if conv is not None and conv.kind != "dense":
        kh, kw = conv.kernel
        parts.append(f"{kh}x{kw}")
        if conv.kind == "depthwise":
            parts.append(f"{conv.in_channels} channels")
        else:
            parts.append(f"{conv.in_channels}->{conv.out_channels} channels")
    elif conv is not None:
        parts.append(f"{conv.in_channels}->{conv.out_channels} features")
    if "filterHeight" in options:
        parts.append(f"{options['filterHeight']}x{options['filterWidth']} window")
    if "strideH" in options:
        parts.append("stride " + _pair(options["strideH"], options["strideW"]))
    if "dilationHFactor" in options:
        parts.append("dilation " + _pair(options["dilationHFactor"], options["dilationWFactor"]))
    if "padding" in options:
        parts.append(f"padding {options['padding']}")
    if "depthMultiplier" in options:
        parts.append(f"depth multiplier {options['depthMultiplier']}")
    handled = {
        "strideH",
        "strideW",
        "dilationHFactor",
        "dilationWFactor",
        "padding",
        "depthMultiplier",
        "filterHeight",
        "filterWidth",
        "fusedActivationFunction",
    }
    for key, value in options.items():
        if key in handled or value is None or (key == "quantizedBiasType" and value == "FLOAT32"):
            continue
        parts.append(f"{_words(key)} {_short(value)}")
    if "fusedActivationFunction" in options:
        activation = options["fusedActivationFunction"]
        parts.append(f"fused activation {activation}" + (f" ({implied})" if implied else ""))
    return ", ".join(parts)


def _brief(op_type: str, options: dict, conv, activation: str) -> str:
    """A few characters for the drawing."""
    if conv is not None:
        return conv.brief(activation)
    if op_type == POSENET_DECODER_OP:
        return f"{options.get('max_detections', '?')} poses, stride {options.get('stride', '?')}"
    if op_type == EDGETPU_OP:
        return f"TPU code, {options.get('executable_bytes', 0) / 1e6:.2f} MB"
    if "axis" in options:
        return f"axis {options['axis']}"
    return ""


def _custom_summary(code: str, options: dict) -> str:
    if code == POSENET_DECODER_OP:
        keys = ("max_detections", "score_threshold", "stride", "nms_radius")
        words = [f"{k} {_short(options[k])}" for k in keys if k in options]
        words += [f"{k} {_short(v)}" for k, v in options.items() if k not in keys and k[:1] != "_"]
        return "Coral multi-pose decoder: " + ", ".join(words)
    if code == EDGETPU_OP:
        words = [f"{_words(k.replace('_', ' '))} {_short(v)}" for k, v in options.items()]
        return "Edge TPU code, cannot run on a CPU: " + ", ".join(words)
    if not options:
        return "custom op, no options"
    return "custom options: " + ", ".join(f"{k} {_short(v)}" for k, v in options.items())


def _pair(a: Any, b: Any) -> str:
    return f"{a}" if a == b else f"{a}x{b}"


def _words(key: str) -> str:
    """camelCase option field -> words."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", key).lower()


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and len(value) > 8:
        return f"[{', '.join(map(str, value[:8]))}, ... {len(value)} values]"
    return str(value)


def _rule(op_type: str, options: dict, conv, inputs: Sequence[int], tensors: list[Tensor]):
    """The shape rule of an op, for inference at another input size."""
    if conv is not None and conv.kind != "transpose":
        return geo.conv_rule(conv)
    if op_type in _ELEMENTWISE:
        return geo.same_rule()
    if op_type == "CONCATENATION":
        return geo.concat_rule(int(options.get("axis", 0)))
    if op_type in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"):
        image = tensors[inputs[0]].shape
        channels = int(image[-1]) if image else 1
        window = geo.Conv(
            "depthwise",
            (int(options["filterHeight"]), int(options["filterWidth"])),
            channels,
            channels,
            (int(options["strideH"]), int(options["strideW"])),
            (1, 1),
            str(options["padding"]),
        )
        return geo.conv_rule(window)
    constant = _constant_ints(inputs, 1, tensors)
    if (
        op_type in ("PAD", "PADV2", "MIRROR_PAD")
        and constant is not None
        and len(constant) % 2 == 0
    ):
        return geo.pad_rule([(constant[i], constant[i + 1]) for i in range(0, len(constant), 2)])
    if op_type == "RESHAPE":
        target = options.get("newShape") or constant
        if target:
            return geo.reshape_rule([int(d) for d in target])
    return None


def _constant_ints(inputs: Sequence[int], position: int, tensors: list[Tensor]):
    if len(inputs) <= position or inputs[position] < 0:
        return None
    values = tensors[inputs[position]].values
    return values.whole_numbers() if values is not None else None


def _at_size(tensors, ops, convs, rules, inputs, size):
    """Tensors with shapes at the requested size, ops with their MACs at it."""
    stored = {t.index: t.shape for t in tensors}
    seeds: dict[int, tuple[int, ...] | None] = {t.index: t.shape for t in tensors if t.constant}
    native = True
    for i in inputs:
        shape = tensors[i].shape
        if size is not None and shape is not None and len(shape) == 4:
            wanted = (shape[0], size[0], size[1], shape[3])
            native = native and wanted == tuple(shape)
            shape = wanted
        seeds[i] = shape
    shapes = geo.infer_shapes([(op.inputs, op.outputs) for op in ops], rules, seeds, stored, native)
    new_tensors = []
    for t in tensors:
        at = shapes.get(t.index, t.shape)
        differs = at is not None and tuple(at) != tuple(t.shape or ())
        new_tensors.append(dataclasses.replace(t, shape_at_size=tuple(at) if differs else None))
    new_ops = []
    for op, conv in zip(ops, convs, strict=True):
        macs = None
        if conv is not None and op.outputs:
            macs = conv.macs(shapes.get(op.outputs[0]), shapes.get(op.inputs[0]))
        elif op.custom is None:
            macs = 0
        new_ops.append(dataclasses.replace(op, macs=macs))
    return new_tensors, new_ops


# -- the PoseNet view ----------------------------------------------------------------------


def _open_input(model) -> bool:
    """Whether the main graph's image input leaves height or width open (-1 in its signature)."""
    sub = model.subgraphs[0]
    if sub.inputs is None or len(sub.inputs) == 0:
        return False
    signature = sub.tensors[int(sub.inputs[0])].shapeSignature
    return signature is not None and len(signature) == 4 and min(signature[1], signature[2]) < 0


def _input_size(graph: Graph, size: tuple[int, int] | None) -> tuple[tuple[int, int] | None, str]:
    if size is not None:
        return size, "--size"
    if graph.inputs:
        shape = graph.tensors[graph.inputs[0]].shape
        image = shape is not None and len(shape) == 4 and shape[3] == 3
        if image and 0 < min(shape[1:3]) <= max(shape[1:3]) <= MAX_SIDE:
            return (int(shape[1]), int(shape[2])), "model"
    return None, "unknown"


def _input_scaling(graph: Graph) -> str:
    if not graph.inputs:
        return ""
    tensor = graph.tensors[graph.inputs[0]]
    q = tensor.quantization
    if tensor.dtype in _QRANGE and q is not None and q.scale and not q.per_axis:
        low, high = _QRANGE[tensor.dtype]
        zero = q.zero_point[0] if q.zero_point else 0
        lo, hi = (low - zero) * q.scale[0], (high - zero) * q.scale[0]
        return (
            f"{tensor.dtype.lower()} raw pixels; the input quantization (scale {q.scale[0]:.6g}, "
            f"zero point {zero}) maps {low}..{high} to [{lo:.4g}, {hi:.4g}]"
        )
    if tensor.dtype.startswith("FLOAT"):
        return f"{tensor.dtype.lower()}, pixels scaled to [-1, 1] (x / 127.5 - 1)"
    return tensor.dtype.lower()


def _view(graph, convs, acts, input_size, size_from, decoder: Op | None, edgetpu: bool):
    """(PoseNet view, problem): the walked body and heads, or the heads-only view of a file
    whose network is Edge TPU code or that holds the decoder alone."""
    decoder_options = _decoder_options(decoder.options) if decoder else None
    notes = []
    if size_from == "default" and input_size:
        notes.append(OPEN_SIZE_NOTE.format(f"{input_size[0]}x{input_size[1]}"))
    if size_from == "--size" and graph.inputs:
        shape = graph.tensors[graph.inputs[0]].shape
        if shape is not None and len(shape) == 4:
            notes.append(f"the file is made for {shape[1]}x{shape[2]}; figures are at --size")
    body, heads, problem = walk_graph(graph, convs, acts)
    roles = {graph.ops[u.op].outputs[0]: role for role, u in heads if u.op is not None}
    outputs = _decoder_inputs(graph, decoder) + output_channels(
        graph, roles, decoder.outputs if decoder else ()
    )
    common = {"outputs": outputs, "decoder": decoder_options, "source": "TFLite graph"}
    if not edgetpu and problem is None:
        view = build_view(
            body,
            heads,
            input_size=input_size,
            size_from=size_from,
            input_scaling=_input_scaling(graph),
            notes=notes,
            **common,
        )
        return view, None
    if decoder is None and not edgetpu:
        return None, problem
    # No body to walk: the grid comes from the decoder's inputs, the stride from its options.
    stride = (
        int(decoder_options["stride"]) if decoder_options and "stride" in decoder_options else None
    )
    grid = None
    shape = graph.tensors[decoder.inputs[0]].shape if decoder and decoder.inputs else None
    if shape is not None and len(shape) == 4:
        grid = (int(shape[1]), int(shape[2]))
    if size_from == "--size" and input_size and stride:
        grid = ((input_size[0] - 1) // stride + 1, (input_size[1] - 1) // stride + 1)
    if edgetpu:
        notes.append(
            "the body and heads are Edge TPU code: layers, parameters and MACs cannot be read"
        )
        view = build_view(
            (),
            (),
            input_size=input_size,
            size_from=size_from,
            input_scaling=_input_scaling(graph),
            notes=notes,
            output_stride=stride,
            grid_size=grid,
            **common,
        )
    else:
        notes.append("this file holds the decoder alone: its inputs are a PoseNet's three heads")
        view = build_view(
            (),
            (),
            input_size=None,
            size_from="decoder inputs",
            input_scaling="",
            notes=notes,
            output_stride=stride,
            grid_size=grid,
            **common,
        )
    return view, None


def _decoder_options(options: dict[str, Any]) -> dict[str, Any]:
    """PosenetDecoderOp's options in POSENET.md's order, converter flags (_x) left out."""
    order = ("max_detections", "score_threshold", "stride", "nms_radius")
    found = {k: options[k] for k in order if k in options}
    found.update({k: v for k, v in options.items() if k not in found and not k.startswith("_")})
    return found


def _decoder_inputs(graph: Graph, decoder: Op | None) -> list[Channels]:
    """PosenetDecoderOp's three inputs, in the layout POSENET.md §5 gives them."""
    if decoder is None:
        return []
    fwd, bwd = channel_names("displacement_fwd"), channel_names("displacement_bwd")
    mid = "mid-range displacements: [0:32] fwd (16 y, 16 x), [32:64] bwd (16 y, 16 x)"
    layouts = [
        ("heatmap", head_layout("heatmap"), channel_names("heatmap")),
        ("offsets", head_layout("offsets"), channel_names("offsets")),
        ("mid offsets", mid, fwd + bwd),
    ]
    rows = []
    for t, (_, layout, names) in zip(decoder.inputs, layouts, strict=False):
        if t < 0:
            continue
        tensor = graph.tensors[t]
        rows.append(
            Channels(
                f"{tensor.name} (decoder input)",
                tensor.shape_at_size or tensor.shape,
                layout,
                names,
            )
        )
    return rows


# -- file level ---------------------------------------------------------------------------


def _facts(
    model, graphs: list[Graph], data: bytes, edgetpu: bool, damaged: bool
) -> list[tuple[str, str]]:
    main = graphs[0]
    facts = [
        ("schema version", str(model.version)),
        ("description", _text(model.description)),
        ("subgraphs", str(len(graphs))),
        ("operators", f"{len(main.ops)} in the main graph"),
        ("tensors", f"{len(main.tensors)} in the main graph"),
        ("buffers", str(len(model.buffers or []))),
    ]
    for entry in model.metadata or []:
        if _text(entry.name) == "min_runtime_version":
            facts.append(
                (
                    "min runtime version",
                    _buffer_bytes(model, entry.buffer, data)
                    .rstrip(b"\0")
                    .decode("ascii", "replace"),
                )
            )
    custom = sorted({op.custom for g in graphs for op in g.ops if op.custom})
    facts.append(("custom ops", ", ".join(custom) if custom else "none"))
    runs = (
        "no: Edge TPU code"
        if edgetpu
        else ("after cutting PosenetDecoderOp" if POSENET_DECODER_OP in custom else "yes")
    )
    if not edgetpu and any(c not in (POSENET_DECODER_OP,) for c in custom):
        runs = "no: unknown custom ops"
    if damaged:
        runs = "no: the file is damaged (see its problems)"
    facts.append(("runs on the CPU (LiteRT)", runs))
    return facts


def _totals(model, graphs, input_size, edgetpu: bool, custom: list[Op]) -> Totals:
    params, nbytes, skipped = geo.weight_totals(graphs)
    main = graphs[0]
    counted = [op.macs for op in main.ops if op.custom is None]
    macs = None if any(m is None for m in counted) else int(sum(m or 0 for m in counted))
    notes = []
    if edgetpu:
        code = sum(
            int(op.options.get("executable_bytes", 0)) for op in custom if op.custom == EDGETPU_OP
        )
        notes.append(
            f"the weights are compiled into {code:,} bytes of Edge TPU code: parameters and "
            "MACs cannot be counted"
        )
        return Totals(None, None, None, input_size, tuple(notes))
    if custom:
        names = ", ".join(sorted({op.custom for op in custom if op.custom}))
        notes.append(f"MACs leave out the custom op(s) {names}")
    if skipped:
        notes.append(f"{skipped} structural constant(s) (paddings, shapes) are not parameters")
    return Totals(params, nbytes, macs, input_size, tuple(notes))


def _operator_codes(model) -> list[dict[str, Any]]:
    rows = []
    for index, code in enumerate(model.operatorCodes or []):
        rows.append(
            {
                "index": index,
                "name": op_name(model, index),
                "builtin_code": int(max(code.builtinCode, code.deprecatedBuiltinCode)),
                "custom_code": _text(code.customCode) or None,
                "version": int(code.version),
            }
        )
    return rows


def _buffers(model, graphs: list[Graph], data: bytes) -> list[Buffer]:
    users: dict[int, list[int]] = {}
    for t in graphs[0].tensors:
        if t.buffer:
            users.setdefault(t.buffer, []).append(t.index)
    rows = []
    for index, buf in enumerate(model.buffers or []):
        raw = _buffer_bytes(model, index, data)
        offset = int(buf.offset) if buf.offset and buf.offset > 1 else None
        rows.append(Buffer(index, len(raw), offset, tuple(users.get(index, ())), raw[:16].hex(" ")))
    return rows


def _metadata(model, data: bytes) -> list[dict[str, Any]]:
    rows = []
    for entry in model.metadata or []:
        raw = _buffer_bytes(model, entry.buffer, data)
        text = raw.rstrip(b"\0")
        printable = text.isascii() and text.decode("ascii").isprintable() and len(text) < 200
        rows.append(
            {
                "name": _text(entry.name),
                "buffer": int(entry.buffer),
                "bytes": len(raw),
                "value": text.decode("ascii") if printable else None,
            }
        )
    return rows


def _signatures(model) -> list[dict[str, Any]]:
    rows = []
    for sig in model.signatureDefs or []:
        rows.append(
            {
                "key": _text(sig.signatureKey),
                "subgraph": int(sig.subgraphIndex),
                "inputs": {_text(m.name): int(m.tensorIndex) for m in sig.inputs or []},
                "outputs": {_text(m.name): int(m.tensorIndex) for m in sig.outputs or []},
            }
        )
    return rows
