"""Frozen TensorFlow GraphDef (.pb) -> Network.

The posenet-python converters write PoseNet 1.x as a frozen GraphDef: `Const`
nodes holding TensorProtos (dtype, shape, raw `tensor_content` or typed
values), read through `Identity` nodes by Conv2D / DepthwiseConv2dNative,
BiasAdd / Add, Relu6; the heads `heatmap_2`, `offset_2`, `displacement_fwd_2`,
`displacement_bwd_2`, and a `heatmap` Sigmoid on top, which is dropped so that
the Network's heatmap head gives logits like every other source
(POSENET.md §2, §6).

The protobuf schema is TensorFlow's own, compiled into tensorboardX (an 87 KB
wheel that needs only protobuf): install the `graphdef` extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import PosenetError
from ..network import Network
from ._tfgraph import GraphNode, clean_input, network_from_graph

__all__ = ["read_graphdef"]

#: TensorFlow DataType enum -> numpy dtype and the typed-value field of a TensorProto.
_DTYPES: dict[int, tuple[str, str]] = {
    1: ("<f4", "float_val"),  # DT_FLOAT
    2: ("<f8", "double_val"),  # DT_DOUBLE
    3: ("<i4", "int_val"),  # DT_INT32
    9: ("<i8", "int64_val"),  # DT_INT64
    19: ("<f2", "half_val"),  # DT_HALF
}


def read_graphdef(path: Path) -> Network:
    """Read a frozen PoseNet GraphDef (.pb)."""
    source = str(path)
    graph_pb2 = _graph_pb2()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PosenetError(f"{source}: cannot read it ({exc.strerror})") from None
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(data)
    except Exception:  # protobuf's DecodeError and friends
        raise PosenetError(f"{source}: not a TensorFlow GraphDef (protobuf parse failed)") from None
    if not graph.node:
        raise PosenetError(f"{source}: not a TensorFlow GraphDef (no nodes)")
    nodes, consts = [], {}
    for node in graph.node:
        nodes.append(
            GraphNode(
                name=node.name,
                op=node.op,
                inputs=tuple(i for i in (clean_input(s) for s in node.input) if i),
                attrs={key: _attr(value) for key, value in node.attr.items()},
            )
        )
        if node.op == "Const":
            consts[node.name] = _tensor(node.attr["value"].tensor, node.name, source)
    return network_from_graph(
        nodes,
        consts,
        name=Path(path).stem,
        description=f"frozen TensorFlow GraphDef {Path(path).name}",
        source=source,
    )


def _graph_pb2():
    try:
        from tensorboardX.proto import graph_pb2
    except ImportError:
        raise PosenetError(
            "reading a .pb GraphDef needs tensorboardX (pip install 'posenet[graphdef]')"
        ) from None
    return graph_pb2


def _attr(value):
    """An AttrValue proto as a plain value."""
    kind = value.WhichOneof("value")
    if kind == "list":
        if value.list.i:
            return [int(v) for v in value.list.i]
        if value.list.s:
            return [s.decode("utf-8", "replace") for s in value.list.s]
        return []
    if kind == "s":
        return value.s.decode("utf-8", "replace")
    if kind in ("i", "f", "b"):
        return getattr(value, kind)
    return None


def _tensor(proto, name: str, source: str) -> np.ndarray:
    """A TensorProto as a numpy array (float weights as float32)."""
    if proto.dtype not in _DTYPES:
        raise PosenetError(f"{source}: constant {name} has unsupported dtype {proto.dtype}")
    dtype, field = _DTYPES[proto.dtype]
    shape = [int(d.size) for d in proto.tensor_shape.dim]
    count = int(np.prod(shape))
    if proto.tensor_content:
        array = np.frombuffer(proto.tensor_content, dtype=dtype)
    else:
        values = getattr(proto, field)
        if proto.dtype == 19:  # half_val holds the float16 bit patterns as ints
            array = np.asarray(values, dtype=np.uint16).view(np.float16)
        else:
            array = np.asarray(values, dtype=dtype)
        if array.size == 1 and count > 1:
            array = np.full(count, array[0], dtype=array.dtype)
    if array.size != count:
        raise PosenetError(
            f"{source}: constant {name} holds {array.size} values, its shape {shape} needs {count}"
        )
    array = array.reshape(shape)
    return array.astype(np.float32) if array.dtype.kind == "f" else array
