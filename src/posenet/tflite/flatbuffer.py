"""Read, check and edit TFLite flatbuffers with the schema's object API.

The one place that knows TFLite's file layout: identifying a model file,
spotting Edge TPU code, decoding a CUSTOM op's FlexBuffer options and cutting
Coral's `PosenetDecoderOp` off so that its three inputs become the outputs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import flatbuffers
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from ..errors import PosenetError

EDGETPU_OP = "edgetpu-custom-op"
POSENET_DECODER_OP = "PosenetDecoderOp"
_IDENTIFIER = b"TFL3"

#: BuiltinOperator code -> name, read from the schema itself.
BUILTIN_NAMES: dict[int, str] = {
    v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")
}
#: TensorType code -> name.
TENSOR_TYPE_NAMES: dict[int, str] = {
    v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")
}


@dataclass(frozen=True)
class CustomOp:
    """A CUSTOM operator found in a model: its code and decoded options."""

    index: int
    code: str
    options: dict[str, Any]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def read_model(data: bytes, source: str = "model") -> schema.ModelT:
    """Parse TFLite bytes; raise PosenetError if they are not a TFLite model."""
    if len(data) < 8 or data[4:8] != _IDENTIFIER:
        raise PosenetError(f"{source}: not a TFLite model (no 'TFL3' identifier)")
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except Exception:  # the generated reader raises anything on bad offsets
        raise PosenetError(f"{source}: damaged TFLite model (truncated or corrupt)") from None
    if not model.subgraphs:
        raise PosenetError(f"{source}: TFLite model has no subgraph")
    return model


def write_model(model: schema.ModelT) -> bytes:
    """Serialise a ModelT back to TFLite bytes."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=_IDENTIFIER)
    return bytes(builder.Output())


def op_name(model: schema.ModelT, opcode_index: int) -> str:
    """Builtin name or custom code of an operator code ("OPCODE_n?" if there is none)."""
    codes = model.operatorCodes or []
    if not 0 <= opcode_index < len(codes):
        return f"OPCODE_{opcode_index}?"
    code = codes[opcode_index]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == schema.BuiltinOperator.CUSTOM:
        return (code.customCode or b"").decode("utf-8", "replace")
    return BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")


def custom_ops(model: schema.ModelT) -> list[CustomOp]:
    """Every CUSTOM op of the main subgraph, with FlexBuffer options decoded."""
    found = []
    codes = model.operatorCodes or []
    for index, op in enumerate(model.subgraphs[0].operators or []):
        if not 0 <= op.opcodeIndex < len(codes):
            continue  # validate.problems names it
        code = codes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) != schema.BuiltinOperator.CUSTOM:
            continue
        found.append(
            CustomOp(
                index=index,
                code=op_name(model, op.opcodeIndex),
                options=decode_custom_options(op.customOptions),
                inputs=tuple(int(i) for i in (op.inputs if op.inputs is not None else ())),
                outputs=tuple(int(i) for i in (op.outputs if op.outputs is not None else ())),
            )
        )
    return found


def decode_custom_options(raw: Any) -> dict[str, Any]:
    """A CUSTOM op's options as a dict; {} when absent or not a FlexBuffer map."""
    if raw is None or len(raw) == 0:
        return {}
    try:
        value = flexbuffers.Loads(bytes(bytearray(raw)))
    except Exception:  # Edge TPU options are opaque bytes, not a FlexBuffer
        return {"_bytes": len(raw)}
    return value if isinstance(value, dict) else {"_value": value}


def is_edgetpu(model: schema.ModelT) -> bool:
    return any(op.code == EDGETPU_OP for op in custom_ops(model))


def cut_posenet_decoder(model: schema.ModelT) -> tuple[schema.ModelT, dict[str, Any]]:
    """Remove Coral's PosenetDecoderOp; its inputs become the subgraph outputs.

    Returns the edited model (the argument is not changed) and the op's options
    (max_detections, score_threshold, stride, nms_radius), or {} if the model
    has no such op. Any other CUSTOM op left behind is an error, since LiteRT
    could not run it.
    """
    ops = custom_ops(model)
    decoder = [op for op in ops if op.code == POSENET_DECODER_OP]
    others = [op.code for op in ops if op.code != POSENET_DECODER_OP]
    if others:
        raise PosenetError(f"model uses custom op(s) LiteRT cannot run: {', '.join(others)}")
    if not decoder:
        return model, {}
    op = decoder[0]
    # Shallow copies: only the main subgraph's operator and output lists change.
    graph = copy.copy(model.subgraphs[0])
    graph.operators = [o for i, o in enumerate(graph.operators) if i != op.index]
    graph.outputs = list(op.inputs)
    cut = copy.copy(model)
    cut.subgraphs = [graph, *model.subgraphs[1:]]
    options = {k: v for k, v in op.options.items() if not k.startswith("_")}
    return cut, options
