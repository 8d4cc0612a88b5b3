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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._inputs import (
    MAX_MODEL_BYTES,
    MAX_WEIGHT_ELEMENTS,
    check_exists,
    open_input,
    read_input,
    read_json,
    resolve_inside,
)
from ..errors import PosenetError
from ..network import Network
from ._tfgraph import GraphNode, network_from_graph

__all__ = [
    "WeightSpec",
    "find_model_json",
    "graph_node",
    "read_model_json",
    "read_tfjs_graph",
    "read_weights",
    "weight_spec",
]

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
    if not path.is_dir():
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
        with open_input(path) as f:
            head = f.read(1 << 16)
    except (OSError, PosenetError):
        return False
    return b'"modelTopology"' in head or b'"weightsManifest"' in head


def read_model_json(path: Path) -> tuple[Path, dict]:
    """(the model.json, its content) for a graph model's JSON or its folder; the
    topology checked to hold a list of nodes."""
    path = find_model_json(Path(path))
    model = read_json(path, "TF.js model.json")
    if not isinstance(model, dict) or "modelTopology" not in model:
        raise PosenetError(f"{path}: not a TF.js graph model (no modelTopology)")
    topology = model["modelTopology"]
    if not isinstance(topology, dict) or not isinstance(topology.get("node"), list):
        if isinstance(topology, dict) and "config" in topology:
            raise PosenetError(f"{path}: a TF.js layers model, expected a graph model")
        raise PosenetError(f"{path}: modelTopology has no list of GraphDef nodes")
    return path, model


def read_tfjs_graph(path: Path) -> Network:
    """Read a TF.js graph model (its model.json, or the folder holding it)."""
    path, model = read_model_json(path)
    source = str(path)
    consts = read_weights(path, model.get("weightsManifest"))
    nodes = [graph_node(n, source) for n in model["modelTopology"]["node"]]
    generic = path.stem in ("model", "posenet") or path.stem.startswith("model-")
    name = path.parent.name if generic and path.parent.name else path.stem
    converter = model.get("convertedBy")
    converter = converter if isinstance(converter, str) and converter else "TF.js"
    return network_from_graph(
        nodes,
        consts,
        name=name,
        description=f"TF.js graph model {path.name} ({converter})",
        source=source,
    )


@dataclass(frozen=True)
class WeightSpec:
    """One weightsManifest entry, checked: name, shape, dtype, how it is stored."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # the dtype of the values: float32 or int32
    stored: str  # the dtype of the bytes: a key of _DTYPES
    scale: float = 1.0  # uint8 / uint16: value = q * scale + min
    minimum: float = 0.0

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * _DTYPES[self.stored].itemsize


def weight_spec(raw: Any, source: str) -> WeightSpec:
    """A manifest entry as a WeightSpec; PosenetError saying what is wrong with it."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise PosenetError(f"{source}: weightsManifest entry without a name: {raw!r:.80}")
    name, shape, dtype = raw["name"], raw.get("shape"), raw.get("dtype", "float32")
    where = f"{source}: weight {name}"
    if not isinstance(shape, list) or len(shape) > 8:
        raise PosenetError(f"{where}: shape {shape!r:.60} is not a list of up to 8 sizes")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise PosenetError(f"{where}: shape {shape!r:.60} is not non-negative whole numbers")
    if math.prod(shape) > MAX_WEIGHT_ELEMENTS:
        raise PosenetError(
            f"{where}: shape {shape} holds {math.prod(shape):,} values "
            f"(at most {MAX_WEIGHT_ELEMENTS:,})"
        )
    if dtype not in ("float32", "int32"):
        raise PosenetError(f"{where}: unsupported dtype {dtype!s:.40}")
    quant = raw.get("quantization")
    if quant is None:
        return WeightSpec(name, tuple(shape), dtype, dtype)
    stored = quant.get("dtype") if isinstance(quant, dict) else None
    if stored not in ("uint8", "uint16", "float16"):
        raise PosenetError(f"{where}: unsupported quantization {quant!r:.60}")
    if stored == "float16":
        return WeightSpec(name, tuple(shape), dtype, stored)
    scale, minimum = quant.get("scale"), quant.get("min")
    numbers = (scale, minimum)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers) or not (
        math.isfinite(scale) and math.isfinite(minimum)
    ):
        raise PosenetError(f"{where}: quantization needs finite scale and min, got {quant!r:.60}")
    return WeightSpec(name, tuple(shape), dtype, stored, float(scale), float(minimum))


def read_weights(path: Path, manifest: Any) -> dict[str, np.ndarray]:
    """Every weight of a weightsManifest as float32 (int32 kept), keyed by name.

    Shards must be regular files inside the model's folder, each named once, and
    their sizes must add up to what the manifest's shapes and dtypes need, all
    checked before a byte is read.
    """
    source = str(path)
    if not isinstance(manifest, list) or not manifest:
        raise PosenetError(f"{source}: no weightsManifest")
    folder = path.parent
    seen: set[Path] = set()
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        if not (
            isinstance(group, dict)
            and isinstance(group.get("paths"), list)
            and isinstance(group.get("weights"), list)
        ):
            raise PosenetError(f"{source}: weightsManifest group without lists of paths/weights")
        specs = [weight_spec(raw, source) for raw in group["weights"]]
        shards = [_shard(folder, name, source, seen) for name in group["paths"]]
        sizes = [check_exists(shard).st_size for shard in shards]
        needed = sum(spec.nbytes for spec in specs)
        if sum(sizes) != needed:
            names = ", ".join(str(p) for p in group["paths"][:3])
            raise PosenetError(
                f"{source}: weight shards ({names}) hold {sum(sizes):,} bytes, "
                f"the manifest's weights need {needed:,}"
            )
        if needed > MAX_MODEL_BYTES:
            raise PosenetError(f"{source}: {needed:,} bytes of weights is too large for a PoseNet")
        data = b"".join(
            read_input(shard, size, "weight shard")
            for shard, size in zip(shards, sizes, strict=True)
        )
        if len(data) != needed:
            raise PosenetError(f"{source}: a weight shard changed while it was read")
        offset = 0
        for spec in specs:
            if spec.name in weights:
                raise PosenetError(f"{source}: weight {spec.name} is listed twice")
            weights[spec.name] = _decode(spec, data, offset)
            offset += spec.nbytes
    return weights


def _shard(folder: Path, name: Any, source: str, seen: set[Path]) -> Path:
    """A shard path from the manifest, refused unless it is a file inside folder, named once."""
    path = resolve_inside(folder, name, source, "weight shard")
    if path in seen:
        raise PosenetError(f"{source}: weight shard {name!r:.60} is listed twice")
    seen.add(path)
    check_exists(path, "weight shard", missing=f"{source}: weight shard {name} is missing")
    return path


def _decode(spec: WeightSpec, data: bytes, offset: int) -> np.ndarray:
    """The values of one manifest entry stored at offset."""
    count = math.prod(spec.shape)
    raw = np.frombuffer(data, dtype=_DTYPES[spec.stored], count=count, offset=offset)
    if spec.stored in ("uint8", "uint16"):
        array = (raw.astype(np.float64) * spec.scale + spec.minimum).astype(np.float32)
    elif spec.dtype == "int32" and spec.stored == "int32":
        array = raw.astype(np.int32)
    else:
        array = raw.astype(np.float32)
    return array.reshape(spec.shape)


def graph_node(raw: Any, source: str) -> GraphNode:
    """One node of a modelTopology's JSON GraphDef."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise PosenetError(f"{source}: damaged modelTopology (a node without a name: {raw!r:.60})")
    name, inputs, attrs = raw["name"], raw.get("input") or [], raw.get("attr") or {}
    if not isinstance(raw.get("op"), str):
        raise PosenetError(f"{source}: damaged modelTopology (node {name} has no op)")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise PosenetError(f"{source}: node {name}: inputs {inputs!r:.60} are not names")
    if not isinstance(attrs, dict):
        raise PosenetError(f"{source}: node {name}: attributes {attrs!r:.60} are not a map")
    try:
        values = {key: _attr(value) for key, value in attrs.items()}
    except (TypeError, KeyError, AttributeError, ValueError, OverflowError):
        raise PosenetError(f"{source}: node {name}: damaged attribute") from None
    return GraphNode(name=name, op=raw["op"], inputs=tuple(inputs), attrs=values)


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
