"""Describe a TF.js 1.x checkpoint folder: its variables, and the PoseNet they make.

A checkpoint has no graph: `manifest.json` maps each TF variable to a raw
float32 file. The listing is the variables (shape, file, bytes, values); the
PoseNet view is the Network posenet.formats builds from them, with the
geometry TF.js 1.x gave checkpoints. When the weight files are absent (as
with the real manifest in the shared assets) the view is still drawn from
the manifest's shapes, so the architecture can be read without the weights.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._inputs import is_regular, read_input
from ..errors import PosenetError
from ..formats import read_network
from ..formats.tfjs_checkpoint import (
    NATIVE_OUTPUT_STRIDE,
    checked_entry,
    checkpoint_variables,
    read_manifest,
)
from ..network import HEAD_NAMES, MOBILENET_V1_LAYERS, atrous_geometry
from . import words as w
from .geometry import Conv
from .posenet_view import Unit, build_view, view_from_network
from .report import Graph, Report, Tensor, Totals
from .tfgraph import DEFAULT_SIZE, INPUT_SCALING, OPEN_SIZE_NOTE, values_of

__all__ = ["describe_checkpoint"]


def describe_checkpoint(path: Path, size: tuple[int, int] | None = None) -> Report:
    """Describe a checkpoint folder (or its manifest.json)."""
    manifest_path, manifest = read_manifest(path)
    folder = manifest_path.parent
    source = str(manifest_path)
    tensors, missing, stored = [], 0, 0
    for index, (name, entry) in enumerate(manifest.items()):
        if not isinstance(entry, dict):
            raise PosenetError(f"{source}: malformed entry for {name}")
        file, shape = checked_entry(folder, name, entry, source)
        notes: tuple[str, ...] = (f"file {file.name}",)
        values, nbytes = None, 0
        if is_regular(file):
            nbytes = file.stat().st_size
            stored += nbytes
            if nbytes == 4 * math.prod(shape):
                data = read_input(file, nbytes, "weight file")
                values = values_of(np.frombuffer(data, dtype="<f4"))
            else:
                notes += (f"holds {nbytes} B, its shape needs {4 * math.prod(shape)}",)
        else:
            missing += 1
            notes += ("file missing",)
        tensors.append(
            Tensor(index, name, "float32", shape, nbytes=nbytes, values=values, notes=notes)
        )
    graph = Graph("variables", (), (), tuple(tensors), ())
    input_size, size_from = (size, "--size") if size else (DEFAULT_SIZE, "default")
    notes = [OPEN_SIZE_NOTE.format(w.size(input_size))] if size_from == "default" else []
    notes.append(
        "a checkpoint has no graph: strides and dilations are the ones TF.js 1.x used "
        f"(the atrous rule at output stride {NATIVE_OUTPUT_STRIDE})"
    )
    view, problem = None, None
    try:
        network = read_network(folder)
    except PosenetError as exc:
        problem = str(exc)
        view = _view_from_shapes(manifest, input_size, size_from, [*notes, f"not runnable: {exc}"])
        if view is not None:
            problem = None
    else:
        view = view_from_network(
            network,
            None,
            (),
            (),
            input_size=input_size,
            size_from=size_from,
            input_scaling=INPUT_SCALING,
            source="posenet.formats (checkpoint reader)",
            notes=notes,
        )
    report_notes = []
    if missing:
        report_notes.append(f"{missing} of {len(tensors)} weight files are missing")
    expected = sum(4 * (t.elements or 0) for t in tensors)
    return Report(
        path=source,
        format="tfjs-checkpoint",
        format_name="TF.js 1.x checkpoint",
        file_bytes=manifest_path.stat().st_size + stored,
        facts=(
            ("manifest", manifest_path.name),
            ("variables", str(len(tensors))),
            ("weight files", f"{len(tensors) - missing} present, {missing} missing"),
            ("weight bytes expected", f"{expected:,} (float32)"),
        ),
        graphs=(graph,),
        totals=Totals(
            parameters=sum(t.elements or 0 for t in tensors),
            weight_bytes=stored,
            macs=view.macs if view is not None else None,
            input_size=input_size,
            notes=("MACs are those of the PoseNet network posenet builds (body and 4 heads)",),
        ),
        posenet=view,
        posenet_problem=problem,
        notes=tuple(report_notes),
    )


def _view_from_shapes(manifest: dict, input_size, size_from: str, notes: list[str]):
    """The PoseNet view from the manifest's shapes alone (no weight files needed)."""
    shapes = {}
    for weights, bias in checkpoint_variables():
        entries = [manifest.get(weights), manifest.get(bias)]
        if not all(isinstance(e, dict) and "shape" in e for e in entries):
            return None
        shapes[weights] = (
            tuple(int(d) for d in entries[0]["shape"]),
            math.prod(int(d) for d in entries[1]["shape"]),
        )
        if len(shapes[weights][0]) != 4:
            return None
    pairs = [shapes[wv] for wv, _ in checkpoint_variables()]
    nominal = [stride for _, _, stride in MOBILENET_V1_LAYERS]
    geometry = atrous_geometry(nominal, NATIVE_OUTPUT_STRIDE)
    body = []
    for (shape, bias), (_, kind, _), (stride, dilation) in zip(
        pairs, MOBILENET_V1_LAYERS, geometry, strict=False
    ):
        kh, kw, cin, cout = shape
        depthwise = kind == "depthwise"
        conv = Conv(
            "depthwise" if depthwise else "conv",
            (kh, kw),
            cin,
            cin * cout if depthwise else cout,
            (stride, stride),
            (dilation, dilation) if kind != "pointwise" else (1, 1),
        )
        body.append(Unit(kind, conv, "relu6", math.prod(shape) + bias))
    heads = []
    for name, (shape, bias) in zip(HEAD_NAMES, pairs[len(MOBILENET_V1_LAYERS) :], strict=True):
        conv = Conv("conv", (shape[0], shape[1]), shape[2], shape[3])
        heads.append((name, Unit("head", conv, "none", math.prod(shape) + bias)))
    return build_view(
        body,
        heads,
        input_size=input_size,
        size_from=size_from,
        input_scaling=INPUT_SCALING,
        source="the manifest's variable shapes (weight files missing)",
        notes=notes,
    )
