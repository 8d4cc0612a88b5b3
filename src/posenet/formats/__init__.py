"""Readers: every published PoseNet form -> one Network.

`detect_format(path)` names the format of a file or folder, `read_network(path)`
reads it. Each format lives in its own module, imported only when used (the
GraphDef reader needs the optional tensorboardX). FORMATS is the one table of
what is understood; error messages and docs read it.
"""

from __future__ import annotations

import importlib
import stat
from dataclasses import dataclass
from pathlib import Path

from .._inputs import check_exists, is_regular, open_input, read_json
from ..errors import PosenetError
from ..network import Network

__all__ = [
    "FORMATS",
    "Format",
    "detect_format",
    "read_network",
    "source_files",
]


@dataclass(frozen=True)
class Format:
    """A model format: what it looks like and which function reads it."""

    description: str
    module: str
    reader: str


FORMATS: dict[str, Format] = {
    "tfjs-graph": Format(
        "TF.js graph model: model.json (modelTopology + weightsManifest) and its .bin shards",
        "tfjs_graph",
        "read_tfjs_graph",
    ),
    "tfjs-checkpoint": Format(
        "TF.js 1.x checkpoint: manifest.json (variable -> file) and raw float32 files",
        "tfjs_checkpoint",
        "read_tfjs_checkpoint",
    ),
    "graphdef": Format(
        "frozen TensorFlow GraphDef (.pb, as posenet-python writes it)",
        "graphdef",
        "read_graphdef",
    ),
    "tflite": Format(
        "TFLite model (.tflite, float or uint8/int8 quantized; not Edge TPU)",
        "tflite",
        "read_tflite",
    ),
}


def detect_format(path: str | Path) -> str:
    """The FORMATS key for a model file or folder; PosenetError if none fits."""
    path = Path(path)
    if stat.S_ISDIR(check_exists(path, "model").st_mode):
        kinds = {_json_kind(p) for p in sorted(path.glob("*.json"))}
        for kind in ("tfjs-graph", "tfjs-checkpoint"):
            if kind in kinds:
                return kind
        raise PosenetError(f"{path}: folder holds no PoseNet model ({_expected()})")
    with open_input(path, "model file") as f:
        try:
            head = f.read(4096)
        except OSError as exc:
            raise PosenetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not head:
        raise PosenetError(f"{path}: is empty (0 bytes)")
    if head[4:8] == b"TFL3":
        return "tflite"
    if path.suffix.lower() == ".json" or head.lstrip()[:1] == b"{":
        kind = _json_kind(path)
        if kind:
            return kind
    if path.suffix.lower() == ".pb" or _looks_like_graphdef(head):
        return "graphdef"
    raise PosenetError(f"{path}: not a PoseNet model file ({_expected()})")


def read_network(path: str | Path) -> Network:
    """Read any supported PoseNet model into a Network (see FORMATS)."""
    fmt = FORMATS[detect_format(path)]
    module = importlib.import_module(f"{__name__}.{fmt.module}")
    return getattr(module, fmt.reader)(Path(path))


def source_files(path: str | Path) -> list[Path]:
    """The files a model is read from: the file itself, or a TF.js model's JSON and the
    weight files its manifest names. Outputs are checked against these, so that no
    command writes over its own model. A manifest that cannot be read adds nothing
    (reading the model fails later, before anything is written)."""
    from .tfjs_checkpoint import read_manifest
    from .tfjs_graph import find_model_json

    path = Path(path)
    files = [path] if is_regular(path) else []
    try:
        kind = detect_format(path)
        if kind == "tfjs-graph":
            model_json = find_model_json(path)
            manifest = read_json(model_json, "TF.js model.json").get("weightsManifest")
            groups = manifest if isinstance(manifest, list) else []
            shards = [p for g in groups if isinstance(g, dict) for p in _names(g.get("paths"))]
            files = [model_json, *(model_json.parent / p for p in shards)]
        elif kind == "tfjs-checkpoint":
            manifest_path, manifest = read_manifest(path)
            entries = [e for e in manifest.values() if isinstance(e, dict)]
            names = _names([e.get("filename") for e in entries])
            files = [manifest_path, *(manifest_path.parent / n for n in names)]
    except (PosenetError, AttributeError):
        pass
    return files


def _names(values: object) -> list[str]:
    """The file names among a manifest's values (which a damaged file may make anything)."""
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, str) and v and "\0" not in v]


def _json_kind(path: Path) -> str | None:
    """'tfjs-graph' for a model.json, 'tfjs-checkpoint' for a manifest.json, else None."""
    try:
        data = read_json(path)
    except PosenetError:
        return None
    if not isinstance(data, dict):
        return None
    if "modelTopology" in data:
        return "tfjs-graph"
    entries = list(data.values())
    if entries and all(isinstance(e, dict) and "filename" in e for e in entries):
        return "tfjs-checkpoint"
    return None


def _looks_like_graphdef(head: bytes) -> bool:
    """A GraphDef starts with field 1 (node, length-delimited) whose own field 1 is a name."""
    if len(head) < 8 or head[0] != 0x0A:
        return False
    i = 1
    while i < 6 and head[i] & 0x80:  # skip the varint length
        i += 1
    return head[i + 1] == 0x0A


def _expected() -> str:
    return "expected " + "; ".join(f.description for f in FORMATS.values())
