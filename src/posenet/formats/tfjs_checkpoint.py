"""TF.js 1.x checkpoint (manifest.json + one raw float32 file per variable) -> Network.

PoseNet 1.x shipped its weights as a checkpoint folder: `manifest.json` maps
TF variable names (`MobilenetV1/Conv2d_0/weights`, `.../depthwise_weights`,
`.../biases`, `MobilenetV1/heatmap_2/weights`, ...) to `{filename, shape}`,
and each file is the variable as little-endian float32 (POSENET.md §6).
Variables of other heads (segmentation, part maps) are ignored.

A checkpoint has no graph, so its geometry is the one TF.js 1.x gave it:
`toOutputStridedLayers` applied the atrous rule at the output stride asked
for, 16 by default. The Network is therefore built at native output stride
16 by that rule (block 13 dilated by 2), unlike the converted stride-16 graphs,
which have no dilation there.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._inputs import MAX_WEIGHT_ELEMENTS, check_exists, read_input, read_json, resolve_inside
from ..errors import PosenetError
from ..network import (
    HEAD_NAMES,
    MOBILENET_V1_LAYERS,
    Network,
    atrous_geometry,
    heads_from,
    mobilenet_v1_body,
)

__all__ = [
    "MANIFEST",
    "NATIVE_OUTPUT_STRIDE",
    "checked_entry",
    "checkpoint_variables",
    "read_manifest",
    "read_tfjs_checkpoint",
]

MANIFEST = "manifest.json"
#: TF.js 1.x's default output stride for checkpoints.
NATIVE_OUTPUT_STRIDE = 16
_SCOPE = "MobilenetV1"
#: Network head name -> checkpoint variable scope.
_HEAD_SCOPES = {
    "heatmap": "heatmap_2",
    "offsets": "offset_2",
    "displacement_fwd": "displacement_fwd_2",
    "displacement_bwd": "displacement_bwd_2",
}


def checkpoint_variables() -> list[tuple[str, str]]:
    """(weights variable, biases variable) per body layer then per head, in Network order."""
    pairs = []
    for name, kind, _ in MOBILENET_V1_LAYERS:
        weights = "depthwise_weights" if kind == "depthwise" else "weights"
        pairs.append((f"{_SCOPE}/{name}/{weights}", f"{_SCOPE}/{name}/biases"))
    for head in HEAD_NAMES:
        scope = _HEAD_SCOPES[head]
        pairs.append((f"{_SCOPE}/{scope}/weights", f"{_SCOPE}/{scope}/biases"))
    return pairs


def read_manifest(path: Path) -> tuple[Path, dict]:
    """A checkpoint's manifest.json (path: its folder or the file): the file and its mapping."""
    path = Path(path)
    manifest_path = path / MANIFEST if path.is_dir() else path
    source = str(manifest_path)
    manifest = read_json(manifest_path, "checkpoint manifest")
    if not isinstance(manifest, dict) or not manifest:
        raise PosenetError(f"{source}: expected a checkpoint manifest (variable -> filename)")
    return manifest_path, manifest


def checked_entry(folder: Path, name: str, entry: dict, source: str) -> tuple[Path, tuple]:
    """(weight file, shape) of a manifest entry: a file inside the checkpoint's folder and
    a shape of non-negative whole numbers small enough to hold; PosenetError otherwise."""
    shape = entry.get("shape")
    file = resolve_inside(folder, entry.get("filename"), source, f"{name}'s weight file")
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise PosenetError(f"{source}: variable {name}: shape {shape!r:.60} is not a shape")
    if math.prod(shape) > MAX_WEIGHT_ELEMENTS:
        raise PosenetError(f"{source}: variable {name}: shape {shape} is too large")
    return file, tuple(shape)


def read_tfjs_checkpoint(path: Path) -> Network:
    """Read a TF.js 1.x checkpoint: its folder, or the manifest.json in it."""
    manifest_path, manifest = read_manifest(path)
    folder = manifest_path.parent
    source = str(manifest_path)

    def variable(name: str) -> np.ndarray:
        entry = manifest.get(name)
        if not isinstance(entry, dict) or "filename" not in entry or "shape" not in entry:
            raise PosenetError(f"{source}: variable {name} is missing from the manifest")
        file, shape = checked_entry(folder, name, entry, source)
        missing = f"{source}: weight file {entry['filename']} is missing"
        size = check_exists(file, "weight file", missing).st_size
        if size != 4 * math.prod(shape):
            raise PosenetError(
                f"{source}: {entry['filename']} holds {size} bytes, "
                f"shape {list(shape)} needs {4 * math.prod(shape)} (raw float32)"
            )
        data = read_input(file, size, "weight file")
        return np.frombuffer(data, dtype="<f4").reshape(shape)

    pairs = [(variable(w), variable(b)) for w, b in checkpoint_variables()]
    body, heads = pairs[: len(MOBILENET_V1_LAYERS)], pairs[len(MOBILENET_V1_LAYERS) :]
    nominal = [stride for _, _, stride in MOBILENET_V1_LAYERS]
    geometry = [
        (stride, dilation if kind != "pointwise" else 1)
        for (stride, dilation), (_, kind, _) in zip(
            atrous_geometry(nominal, NATIVE_OUTPUT_STRIDE), MOBILENET_V1_LAYERS, strict=True
        )
    ]
    return Network(
        name=folder.name or "checkpoint",
        body=mobilenet_v1_body(body, geometry, source=source),
        heads=heads_from(dict(zip(HEAD_NAMES, heads, strict=True)), source),
        native_output_stride=NATIVE_OUTPUT_STRIDE,
        description=f"TF.js 1.x checkpoint {folder.name}",
    )
