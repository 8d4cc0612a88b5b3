"""Frozen TensorFlow GraphDef (.pb) -> Network.

The posenet-python converters write PoseNet 1.x as a frozen GraphDef: `Const`
nodes holding TensorProtos (dtype, shape, raw `tensor_content` or typed
values), read through `Identity` nodes by Conv2D / DepthwiseConv2dNative,
BiasAdd / Add, Relu6; the heads `heatmap_2`, `offset_2`, `displacement_fwd_2`,
`displacement_bwd_2`, and a `heatmap` Sigmoid on top, which is dropped so that
the Network's heatmap head gives logits like every other source
(POSENET.md §2, §6).

The protobuf schema is TensorFlow's own, compiled into tensorboardX (an 87 KB
wheel that needs only protobuf): install the `graphdef` extra. `read_graph` is
the decoding alone (nodes, and constants in their stored dtype), which
`posenet inspect` lists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._inputs import MAX_MODEL_BYTES, MAX_WEIGHT_ELEMENTS, read_input
from ..errors import PosenetError
from ..network import Network
from ._tfgraph import GraphNode, network_from_graph

__all__ = ["GraphConstant", "read_graph", "read_graphdef"]

#: TensorFlow DataType enum -> name, numpy dtype and the TensorProto field holding
#: typed values (None where the values are not decoded).
_DTYPES: dict[int, tuple[str, str | None, str | None]] = {
    1: ("float32", "<f4", "float_val"),
    2: ("float64", "<f8", "double_val"),
    3: ("int32", "<i4", "int_val"),
    4: ("uint8", "u1", "int_val"),
    5: ("int16", "<i2", "int_val"),
    6: ("int8", "i1", "int_val"),
    7: ("string", None, None),
    9: ("int64", "<i8", "int64_val"),
    10: ("bool", "?", "bool_val"),
    17: ("uint16", "<u2", "int_val"),
    19: ("float16", "<f2", "half_val"),
}


@dataclass(frozen=True)
class GraphConstant:
    """A Const node's TensorProto.

    dtype: TensorFlow's name ('float32'; 'dtype N' where not in _DTYPES).
    nbytes: bytes the file stores for it.
    array: the values in their own dtype and shape; None for strings and
        dtypes not in _DTYPES, or values that do not fill the shape.
    problem: why array is None, when the constant is damaged rather than of
        a kind posenet does not decode (a negative or huge shape, missing values).
    """

    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    array: np.ndarray | None
    problem: str | None = None


def read_graphdef(path: Path) -> Network:
    """Read a frozen PoseNet GraphDef (.pb)."""
    source = str(path)
    _, nodes, constants = read_graph(path)
    arrays = {}
    for name, const in constants.items():
        array = const.array
        if array is None:
            raise PosenetError(
                f"{source}: constant {name} ({const.dtype}, shape {list(const.shape)}) "
                f"{const.problem or 'has no values posenet can decode'}"
            )
        arrays[name] = array.astype(np.float32) if array.dtype.kind == "f" else array
    return network_from_graph(
        nodes,
        arrays,
        name=Path(path).stem,
        description=f"frozen TensorFlow GraphDef {Path(path).name}",
        source=source,
    )


def read_graph(path: Path) -> tuple[Any, list[GraphNode], dict[str, GraphConstant]]:
    """Parse a GraphDef file: the GraphDef proto, its nodes, its constants by node name."""
    source = str(path)
    graph_pb2 = _graph_pb2()
    data = read_input(path, MAX_MODEL_BYTES, "model file")
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(data)
    except Exception:  # protobuf's DecodeError and friends
        raise PosenetError(f"{source}: not a TensorFlow GraphDef (protobuf parse failed)") from None
    if not graph.node:
        raise PosenetError(f"{source}: not a TensorFlow GraphDef (no nodes)")
    nodes, constants = [], {}
    for node in graph.node:
        attrs = {key: _attr(value) for key, value in node.attr.items()}
        nodes.append(GraphNode(node.name, node.op, tuple(node.input), attrs))
        if node.op == "Const" and "value" in node.attr:
            constants[node.name] = _constant(node.attr["value"].tensor)
    return graph, nodes, constants


def _graph_pb2():
    try:
        from tensorboardX.proto import graph_pb2
    except ImportError:
        raise PosenetError(
            "reading a .pb GraphDef needs tensorboardX (pip install 'posenet-toolkit[graphdef]')"
        ) from None
    return graph_pb2


def _dtype_name(number: int) -> str:
    return _DTYPES[number][0] if number in _DTYPES else f"dtype {number}"


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
            return [_dtype_name(t) for t in items.type]
        return []
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    if kind == "type":
        return _dtype_name(value.type)
    if kind == "shape":
        if value.shape.unknown_rank:
            return None
        return [int(d.size) for d in value.shape.dim]
    return None


def _constant(proto) -> GraphConstant:
    """A TensorProto's dtype, shape, stored bytes and (for numbers) its values.

    The shape is checked before anything is allocated: a splat (one value for a
    whole shape) of [2^20, 2^20] would otherwise ask for terabytes.
    """
    name, dtype, field = _DTYPES.get(proto.dtype, (_dtype_name(proto.dtype), None, None))
    shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
    itemsize = np.dtype(dtype).itemsize if dtype else 1
    values = () if proto.tensor_content or not field else getattr(proto, field)
    nbytes = len(proto.tensor_content) if proto.tensor_content else len(values) * itemsize
    problem = _shape_problem(shape)
    if problem is not None or dtype is None:
        return GraphConstant(name, shape, nbytes, None, problem)
    count = math.prod(shape)
    if proto.tensor_content:
        if nbytes != count * itemsize:
            return GraphConstant(
                name,
                shape,
                nbytes,
                None,
                f"holds {nbytes} bytes, its shape needs {count * itemsize}",
            )
        array = np.frombuffer(proto.tensor_content, dtype=dtype)
    elif proto.dtype == 19:  # half_val holds the float16 bit patterns as ints
        array = np.asarray(values, dtype=np.uint16).view(np.float16)
    else:
        array = np.asarray(values, dtype=dtype)
    if array.size == 1 and count > 1:  # TF stores a splat as one value
        array = np.full(count, array[0], dtype=array.dtype)
    if array.size != count:
        return GraphConstant(
            name, shape, nbytes, None, f"holds {array.size} values, its shape needs {count}"
        )
    return GraphConstant(name, shape, nbytes, array.reshape(shape))


def _shape_problem(shape: tuple[int, ...]) -> str | None:
    """Why a constant's shape cannot be allocated, or None."""
    if len(shape) > 8:
        return f"has rank {len(shape)} (at most 8)"
    if any(d < 0 for d in shape):
        return "has a negative size"
    if math.prod(shape) > MAX_WEIGHT_ELEMENTS:
        return f"holds {math.prod(shape):,} values (at most {MAX_WEIGHT_ELEMENTS:,})"
    return None
