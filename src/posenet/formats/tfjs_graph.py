"""TF.js graph model (model.json + binary shards) -> Network.

A graph model's `modelTopology` is a GraphDef in JSON (string attributes
base64) and its `weightsManifest` lists groups of shard files, concatenated in
order, holding the constants one after another (POSENET.md §6). Weights may be
float32, or quantized to uint8 / uint16 with an affine `scale` / `min`
(`value = q * scale + min`) or to float16. This covers PoseNet's own
`posenet.json` (fused ops) and the BodyPix graphs (plain ops, quantized), whose
four PoseNet heads are taken and whose segmentation heads are ignored.
`graph_node` and `read_weights` are shared with `posenet inspect`.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PosenetError
from ..network import Network
from ._tfgraph import GraphNode, network_from_graph

__all__ = ["find_model_json", "graph_node", "read_tfjs_graph", "read_weights"]

#: Stored weight dtypes: (numpy dtype, bytes per value).
_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "uint8": np.dtype("u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}


def find_model_json(path: Path) -> Path:
    """The graph model's JSON file: path itself, or the one JSON in a folder with a topology."""
    if path.is_file():
        return path
    candidates = [p for p in sorted(path.glob("*.json")) if _is_graph_json(p)]
    if len(candidates) != 1:
        raise PosenetError(
            f"{path}: expected one TF.js graph model JSON (with modelTopology and "
            f"weightsManifest) in the folder, found {len(candidates)}"
        )
    return candidates[0]


def _is_graph_json(path: Path) -> bool:
    try:
        head = path.read_bytes()[: 1 << 16]
    except OSError:
        return False
    return b'"modelTopology"' in head or b'"weightsManifest"' in head


def read_tfjs_graph(path: Path) -> Network:
    """Read a TF.js graph model (its model.json, or the folder holding it)."""
    path = find_model_json(Path(path))
    source = str(path)
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PosenetError(f"{source}: not a readable TF.js model.json ({exc})") from None
    if not isinstance(model, dict) or "modelTopology" not in model:
        raise PosenetError(f"{source}: not a TF.js graph model (no modelTopology)")
    topology = model["modelTopology"]
    if not isinstance(topology, dict) or "node" not in topology:
        if isinstance(topology, dict) and "config" in topology:
            raise PosenetError(f"{source}: a TF.js layers model, expected a graph model")
        raise PosenetError(f"{source}: modelTopology has no GraphDef nodes")
    consts = read_weights(path, model.get("weightsManifest"))
    nodes = [graph_node(n, source) for n in topology["node"]]
    generic = path.stem in ("model", "posenet") or path.stem.startswith("model-")
    name = path.parent.name if generic and path.parent.name else path.stem
    return network_from_graph(
        nodes,
        consts,
        name=name,
        description=f"TF.js graph model {path.name} ({model.get('convertedBy') or 'TF.js'})",
        source=source,
    )


def read_weights(path: Path, manifest: Any) -> dict[str, np.ndarray]:
    """Every weight of a weightsManifest as float32 (int32 kept), keyed by name."""
    source = str(path)
    if not isinstance(manifest, list) or not manifest:
        raise PosenetError(f"{source}: no weightsManifest")
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            paths, specs = group["paths"], group["weights"]
        except (TypeError, KeyError):
            raise PosenetError(f"{source}: weightsManifest group without paths/weights") from None
        data = b"".join(_read_shard(path.parent / p, source) for p in paths)
        offset = 0
        for spec in specs:
            array, offset = _weight(spec, data, offset, source)
            weights[spec["name"]] = array
        if offset != len(data):
            raise PosenetError(
                f"{source}: shards {paths} hold {len(data)} bytes, the manifest {offset}"
            )
    return weights


def _read_shard(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise PosenetError(f"{source}: weight shard {path.name} is missing") from None


def _weight(spec: dict, data: bytes, offset: int, source: str) -> tuple[np.ndarray, int]:
    """Decode one manifest entry at offset; returns the array and the next offset."""
    try:
        name, shape = spec["name"], [int(d) for d in spec["shape"]]
        dtype = spec["dtype"]
    except (TypeError, KeyError, ValueError):
        raise PosenetError(f"{source}: malformed weightsManifest entry {spec!r:.80}") from None
    quant = spec.get("quantization")
    stored = quant["dtype"] if quant else dtype
    if stored not in _DTYPES:
        raise PosenetError(f"{source}: weight {name} has unsupported dtype {stored}")
    count = int(np.prod(shape))
    size = count * _DTYPES[stored].itemsize
    if offset + size > len(data):
        raise PosenetError(
            f"{source}: weight shards end early: {name} needs bytes {offset}..{offset + size}, "
            f"shards hold {len(data)}"
        )
    raw = np.frombuffer(data, dtype=_DTYPES[stored], count=count, offset=offset)
    if quant and stored in ("uint8", "uint16"):
        try:
            scale, minimum = float(quant["scale"]), float(quant["min"])
        except (KeyError, TypeError, ValueError):
            raise PosenetError(f"{source}: weight {name}: quantization without scale/min") from None
        array = (raw.astype(np.float64) * scale + minimum).astype(np.float32)
    elif dtype == "int32" and not quant:
        array = raw.astype(np.int32)
    else:
        array = raw.astype(np.float32)
    return array.reshape(shape), offset + size


def graph_node(raw: Any, source: str) -> GraphNode:
    """One node of a modelTopology's JSON GraphDef."""
    try:
        return GraphNode(
            name=str(raw["name"]),
            op=str(raw["op"]),
            inputs=tuple(str(i) for i in raw.get("input") or []),
            attrs={key: _attr(value) for key, value in (raw.get("attr") or {}).items()},
        )
    except (TypeError, KeyError, AttributeError):
        raise PosenetError(f"{source}: damaged modelTopology (a node without name/op)") from None


def _attr(value: Any) -> Any:
    """A JSON AttrValue as a plain value: str, int, float, bool, list, dtype name, shape."""
    if not isinstance(value, dict):
        return value
    if "list" in value:
        items = value["list"] or {}
        for key, convert in (("i", int), ("f", float), ("s", _b64), ("type", _dtype)):
            if key in items:
                return [convert(v) for v in items[key]]
        return []
    if "s" in value:
        return _b64(value["s"])
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return _dtype(value["type"])
    if "shape" in value:
        dims = (value["shape"] or {}).get("dim", [])
        return [int(d.get("size", -1)) for d in dims]
    if "tensor" in value:
        return None
    return value


def _dtype(name: str) -> str:
    """'DT_FLOAT' -> 'float32'."""
    table = {"DT_FLOAT": "float32", "DT_INT32": "int32", "DT_BOOL": "bool", "DT_HALF": "float16"}
    return table.get(name, str(name).removeprefix("DT_").lower())


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text
