"""Describe a frozen TensorFlow GraphDef (.pb): nodes, constants, and the PoseNet in it.

The protobuf is parsed with TensorFlow's own schema as compiled into
tensorboardX (the optional dependency posenet.formats.graphdef uses too); the
PoseNet view is the Network posenet.formats reads, so it shows what posenet
runs - which for the posenet-python graphs means the heatmap without the
file's final sigmoid.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PosenetError
from .geometry import weight_totals
from .report import Report, Totals
from .tfgraph import DEFAULT_SIZE, Constant, Node, describe_graph, posenet_view

__all__ = ["describe_graphdef"]

#: TensorFlow DataType number -> (name, numpy dtype or None if not decoded).
_DTYPES: dict[int, tuple[str, str | None]] = {
    1: ("float32", "<f4"),
    2: ("float64", "<f8"),
    3: ("int32", "<i4"),
    4: ("uint8", "u1"),
    5: ("int16", "<i2"),
    6: ("int8", "i1"),
    7: ("string", None),
    9: ("int64", "<i8"),
    10: ("bool", "?"),
    17: ("uint16", "<u2"),
    19: ("float16", "<f2"),
}
#: The typed repeated field of a TensorProto per dtype number, when tensor_content is empty.
_FIELDS = {
    1: "float_val",
    2: "double_val",
    3: "int_val",
    4: "int_val",
    5: "int_val",
    6: "int_val",
    9: "int64_val",
    10: "bool_val",
    17: "int_val",
    19: "half_val",
}


def describe_graphdef(path: Path, size: tuple[int, int] | None = None) -> Report:
    """Describe a frozen GraphDef file."""
    source = str(path)
    graph_pb2 = _graph_pb2()
    data = Path(path).read_bytes()
    proto = graph_pb2.GraphDef()
    try:
        proto.ParseFromString(data)
    except Exception:  # protobuf's DecodeError and friends
        raise PosenetError(f"{source}: damaged or not a GraphDef (protobuf parse failed)") from None
    if not proto.node:
        raise PosenetError(f"{source}: not a TensorFlow GraphDef (no nodes)")
    nodes, constants = [], {}
    for raw in proto.node:
        nodes.append(
            Node(
                name=raw.name,
                op=raw.op,
                inputs=tuple(raw.input),
                attrs={k: _attr(v) for k, v in raw.attr.items() if k != "value"},
            )
        )
        if raw.op == "Const" and "value" in raw.attr:
            constants[raw.name] = _constant(raw.attr["value"].tensor)
    placeholder = next((n for n in nodes if n.op == "Placeholder"), None)
    shape = placeholder.attrs.get("shape") if placeholder else None
    if size is not None:
        input_size, size_from = size, "--size"
    elif isinstance(shape, list) and len(shape) == 4 and shape[1] > 0 and shape[2] > 0:
        input_size, size_from = (shape[1], shape[2]), "model"
    else:
        input_size, size_from = DEFAULT_SIZE, "default"
    graph, convs, acts = describe_graph(nodes, constants, size=input_size)
    notes = []
    if any(op.type == "Sigmoid" for op in graph.ops):
        notes.append("the file ends the heatmap in a sigmoid; posenet drops it and keeps logits")
    view, problem = posenet_view(
        path,
        graph,
        convs,
        acts,
        input_size=input_size,
        size_from=size_from,
        reader="GraphDef reader",
        notes=notes,
    )
    counts = Counter(n.op for n in nodes)
    facts = [
        ("GraphDef producer", str(proto.versions.producer) if proto.HasField("versions") else ""),
        ("nodes", f"{len(nodes)} ({len(graph.ops)} operators, {len(constants)} constants)"),
        ("node types", ", ".join(f"{k} {v}" for k, v in counts.most_common())),
        ("devices", ", ".join(sorted({r.device for r in proto.node if r.device})) or "none set"),
    ]
    params, weight_bytes, skipped = weight_totals([graph])
    macs_list = [op.macs for op in graph.ops]
    macs = None if any(m is None for m in macs_list) else int(sum(m or 0 for m in macs_list))
    return Report(
        path=source,
        format="graphdef",
        format_name="frozen TensorFlow GraphDef",
        file_bytes=len(data),
        facts=tuple(facts),
        graphs=(graph,),
        totals=Totals(params, weight_bytes, macs, input_size, _skipped_note(skipped)),
        posenet=view,
        posenet_problem=problem,
    )


def _skipped_note(skipped: int) -> tuple[str, ...]:
    if not skipped:
        return ()
    return (f"{skipped} structural constant(s) (paddings, shapes, axes) are not parameters",)


def _graph_pb2():
    try:
        from tensorboardX.proto import graph_pb2
    except ImportError:
        raise PosenetError(
            "reading a .pb GraphDef needs tensorboardX (pip install 'posenet[graphdef]')"
        ) from None
    return graph_pb2


def _attr(value) -> Any:
    """An AttrValue proto as a plain value: str, int, float, bool, list, dtype name, dims."""
    kind = value.WhichOneof("value")
    if kind == "list":
        items = value.list
        if items.i:
            return [int(v) for v in items.i]
        if items.s:
            return [s.decode("utf-8", "replace") for s in items.s]
        if items.f:
            return [float(v) for v in items.f]
        if items.type:
            return [_DTYPES.get(t, (f"dtype {t}", None))[0] for t in items.type]
        return []
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    if kind == "type":
        return _DTYPES.get(value.type, (f"dtype {value.type}", None))[0]
    if kind == "shape":
        if value.shape.unknown_rank:
            return None
        return [int(d.size) for d in value.shape.dim]
    return None


def _constant(proto) -> Constant:
    """A TensorProto's dtype, shape, stored bytes and (for numbers) its values."""
    name, dtype = _DTYPES.get(proto.dtype, (f"dtype {proto.dtype}", None))
    shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
    count = math.prod(shape)
    array = None
    if proto.tensor_content:
        nbytes = len(proto.tensor_content)
        if dtype is not None and nbytes == count * np.dtype(dtype).itemsize:
            array = np.frombuffer(proto.tensor_content, dtype=dtype)
    else:
        values = list(getattr(proto, _FIELDS.get(proto.dtype, "float_val"), []))
        if proto.dtype == 19:  # half_val holds float16 bit patterns
            values = list(np.asarray(values, dtype=np.uint16).view(np.float16))
        itemsize = np.dtype(dtype).itemsize if dtype else 1
        nbytes = len(values) * itemsize
        if dtype is not None and values:
            array = np.asarray(values, dtype=dtype)
            if array.size == 1 and count > 1:  # TF stores a splat as one value
                array = np.full(count, array[0], dtype=array.dtype)
    return Constant(name, shape, nbytes, None, array)
