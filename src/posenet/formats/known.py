"""Which registry model a file given by path is, or resembles.

A file whose bytes are a registry model's (every file's sha256 matches) is that
model. One with a registry model's structure - the same tensors or weights, by
name, shape and dtype - but other bytes is that model with its weights or
options changed: a flipped bit in a Coral weight still loads and moves
keypoints by tens of pixels. Such a file is accepted (it may be a deliberate
fine-tune), with one warning naming the model it differs from.

One case is certain damage and refused: a TF.js model.json that reads a registry
model's own weight shards, byte for byte, in another layout than the published
manifest (its weights listed in another order, say): every weight would be
read from the bytes of another.

STRUCTURES and LAYOUTS hold the digests of every registry model;
tests/test_known.py recomputes each from the real files, so they cannot drift.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import PosenetError
from . import source_files

__all__ = ["LAYOUTS", "STRUCTURES", "layout_digest", "resemblance", "structure_digest"]

#: Registry model name -> sha256 of its structure (see structure_digest).
STRUCTURES: dict[str, str] = {
    "coral-075-353x481": "dd5c118d7d475a204a268d016b3693bb9a38b3fb4edcde12b910bc033254e39b",
    "coral-075-353x481-edgetpu": "27ac067e03af1ec626d6544f386bfbc08697f20d94e0f740a4720547401dba30",
    "coral-075-481x641": "f9e44054dd2e4fba0befdbcbfdbbf71c20e9ab3d550b29241afbc077cb360708",
    "coral-075-481x641-edgetpu": "c894bdc262804471acf8802fd177b76c6d27f613768b082bc3836c161b29906b",
    "coral-075-721x1281": "eae1e44e34b7867d3ade698063edfa61f253540d0c4903813bfdf1a51a01ec6b",
    "coral-075-721x1281-edgetpu": "782f9f6e07af4d352ef4f22b3fb07676e6223c08dbbca33eed87b5dbb81b6c78",  # noqa: E501
    "tfjs-075": "43b231d7d2d3f54f4948fd589d6991df95987e918f8fcc795a07ce719478c92c",
    "bodypix-float-050": "6e590c5760aa9a0ac4bcac8e513a0bc0b04cb75734b0d262bc6f296d5042e192",
    "bodypix-quant2-075": "a7db6bbd66348fa599ff62d8297a3134aaef1b20c275681ce3b244d13bef1be9",
    "bodypix-quant1-100": "cd2b38dd2d16ee0b5664664b760f3dc28313ce9d8fd308760f0458a4ba7a8ef1",
    "pb-050": "65f295dc39310aae84c22212e3d8cdbfbd3ab236a3cbf721ccca8a0700ae684d",
}
#: TF.js registry model name -> sha256 of its manifest's weights in shard order (layout_digest).
LAYOUTS: dict[str, str] = {
    "tfjs-075": "9f9a8426f80c4fbfee4cc8dda377400064f48a2fbd6b30e306ba8b988279238f",
    "bodypix-float-050": "1ea3b1f434c192a2d6fc550df4665925981c14b0c082ad63a68480b1c9cbec86",
    "bodypix-quant2-075": "535ced280850bbae7eb9a9de69140306791a5c7e1b1ab7ffd3c12b338ffa0e66",
    "bodypix-quant1-100": "d39ea256e006b57d876cc158100eab290d316a086365a411b377868f832b1818",
}


def resemblance(path: Path, kind: str) -> str | None:
    """A warning, one line, if the model at path has a registry model's structure but
    not its bytes; None for an exact copy or anything else. PosenetError if it reads
    a registry model's weight shards in another layout (see the module docstring)."""
    from .. import store

    try:
        digests = [_sha256(f) for f in source_files(path)]
        structure = structure_digest(path, kind)
    except (OSError, PosenetError):
        return None  # a file that cannot be read whole is not a copy of anything
    for spec in store.REGISTRY:
        published = [f.sha256 for f in spec.files]
        if digests == published:
            return None  # the published model itself
        same_shards = kind == "tfjs-graph" and digests[1:] == published[1:]
        if same_shards and spec.name in LAYOUTS and layout_digest(path) != LAYOUTS[spec.name]:
            raise PosenetError(
                f"{path}: reads the weight shards of registry model {spec.name} in "
                "another layout than its published manifest (weights reordered, renamed "
                "or reshaped): every weight would come from the bytes of another"
            )
    for name, known in STRUCTURES.items():
        if known == structure:
            return (
                f"{path}: has the structure of registry model {name} but not its sha256: "
                "its weights or options were changed, and so may its poses"
            )
    return None


def structure_digest(path: Path, kind: str) -> str | None:
    """sha256 of a model's structure: what it holds, by name, shape and dtype, in order,
    without the values; None for formats without registry models."""
    if kind == "tflite":
        items = _tflite_structure(path)
    elif kind == "tfjs-graph":
        items = _tfjs_structure(path)
    elif kind == "graphdef":
        items = _graphdef_structure(path)
    else:
        return None
    return hashlib.sha256(json.dumps([kind, items]).encode()).hexdigest()


def _tflite_structure(path: Path) -> list[Any]:
    from .._inputs import MAX_MODEL_BYTES, read_input
    from ..tflite.flatbuffer import read_model

    model = read_model(read_input(path, MAX_MODEL_BYTES, "model file"), str(path))
    return [
        [(t.name or b"").decode("utf-8", "replace"), [int(d) for d in t.shape], int(t.type)]
        if t.shape is not None
        else [(t.name or b"").decode("utf-8", "replace"), None, int(t.type)]
        for t in model.subgraphs[0].tensors or []
    ]


def _tfjs_structure(path: Path) -> list[Any]:
    """Nodes and weights by name, sorted: a manifest listing the same weights in another
    order is the same structure (LAYOUTS tells the two apart)."""
    from .tfjs_graph import read_model_json

    _, model = read_model_json(path)
    nodes = sorted(
        [str(n.get("name")), str(n.get("op"))]
        for n in model["modelTopology"]["node"]
        if isinstance(n, dict)
    )
    return [nodes, sorted(_weight_entries(model), key=json.dumps)]


def layout_digest(path: Path) -> str:
    """sha256 of a TF.js manifest's weights in the order they lie in the shards."""
    from .tfjs_graph import read_model_json

    _, model = read_model_json(path)
    return hashlib.sha256(json.dumps(_weight_entries(model)).encode()).hexdigest()


def _weight_entries(model: dict) -> list[Any]:
    """[name, shape, dtype, stored dtype] of each well-formed manifest entry, in order."""
    entries = []
    manifest = model.get("weightsManifest")
    for group in manifest if isinstance(manifest, list) else []:
        weights = group.get("weights") if isinstance(group, dict) else None
        for w in weights if isinstance(weights, list) else []:
            quant = w.get("quantization") or {} if isinstance(w, dict) else None
            if isinstance(quant, dict):
                entries.append([w.get("name"), w.get("shape"), w.get("dtype"), quant.get("dtype")])
    return entries


def _graphdef_structure(path: Path) -> list[Any]:
    from .graphdef import read_graph

    _, nodes, constants = read_graph(path)
    return [
        [[n.name, n.op] for n in nodes],
        [[name, c.dtype, list(c.shape)] for name, c in constants.items()],
    ]


def _sha256(path: Path) -> str:
    from .._inputs import open_input

    digest = hashlib.sha256()
    with open_input(path) as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
