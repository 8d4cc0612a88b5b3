"""`posenet inspect`: describe any model file the project reads, for people and programs.

`inspect_model(name_or_path, size)` returns a `Report` (plain frozen data) for
a TFLite file (float, quantized, Coral `_quant_decoder`, Edge TPU), a TF.js
graph model, a TF.js 1.x checkpoint folder or a frozen GraphDef; `render_text`,
`Report.to_dict` and `render_html` turn it into a terminal table, JSON and a
self-contained web page. Each format has its own describer module; all of
them fill the same report, so the renderers never see a file format.

Damage is reported, not hidden: a file that can be described despite it (a
TFLite tensor pointing at a missing buffer, a weight without data) gets a
Report with `problems` (shown as "! problem:" lines, a JSON field, a red note
in HTML), and `posenet inspect` exits 0; a file that cannot be described at
all raises PosenetError (exit 2).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import PosenetError
from .report import Report

__all__ = ["Report", "inspect_model", "render_html", "render_text"]


def inspect_model(model: str | Path, size: str | tuple[int, int] | None = None) -> Report:
    """Describe a model given by registry name or path.

    size: the input size at which to count shapes and multiply-accumulates, in
    the forms detect and export take ("HxW", "N", (height, width)); None or
    "auto" use the model's own input size (or a default where the file leaves
    it open). Like detect, a PoseNet is counted at the size it would run at:
    the nearest k * output_stride + 1, with a note saying so; sides outside
    what sizes.round_side accepts are refused. Raises PosenetError for
    missing, unknown or (beyond description) damaged files.
    """
    from ..formats import detect_format
    from ..formats.known import resemblance
    from ..model import resolve

    requested = _requested_size(size)
    _, path = resolve(model)
    kind = detect_format(path)
    report = _describe_at(kind, path, requested)
    try:
        if changed := resemblance(path, kind):
            report = dataclasses.replace(report, notes=(*report.notes, changed))
    except PosenetError as exc:  # a registry model's weights read in another layout
        report = dataclasses.replace(report, problems=(*report.problems, str(exc)))
    return report


def _describe_at(kind: str, path: Path, requested: tuple[int, int] | None) -> Report:
    """The report at the requested size, rounded as detect would round it (with a note)."""
    from ..network import OUTPUT_STRIDES
    from ..sizes import resolve_size

    report = _describe(kind, path, requested)
    stride = report.posenet.output_stride if report.posenet is not None else None
    if requested is None or stride not in OUTPUT_STRIDES:
        return report
    rounded = resolve_size(requested, stride)
    if rounded == requested:
        return report
    report = _describe(kind, path, rounded)
    note = (
        f"size {requested[0]}x{requested[1]} rounded to {rounded[0]}x{rounded[1]} "
        f"(k * {stride} + 1), the size detect and export would use"
    )
    return dataclasses.replace(report, notes=(note, *report.notes))


def _requested_size(size: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """size parsed as detect parses it, each side within sizes.round_side's bounds."""
    from ..network import OUTPUT_STRIDES
    from ..sizes import parse_size, round_side

    if size is None:
        return None
    if isinstance(size, str):
        parsed = parse_size(size)
        if parsed is None:  # auto: an image's aspect ratio; inspect has no image
            return None
        size = parsed
    if len(size) != 2:
        raise PosenetError(f"size must be (height, width), got {size}")
    height, width = int(size[0]), int(size[1])
    for side in (height, width):
        round_side(side, min(OUTPUT_STRIDES))  # too small or too large for any stride
    return height, width


def _describe(kind: str, path: Path, size: tuple[int, int] | None) -> Report:
    if kind == "tflite":
        from .tflite import describe_tflite

        return describe_tflite(path, size)
    if kind == "tfjs-graph":
        from .tfjs import describe_tfjs_graph

        return describe_tfjs_graph(path, size)
    if kind == "graphdef":
        from .pb import describe_graphdef

        return describe_graphdef(path, size)
    if kind == "tfjs-checkpoint":
        from .checkpoint import describe_checkpoint

        return describe_checkpoint(path, size)
    raise PosenetError(f"{path}: inspect does not know the {kind} format")


def render_text(report: Report) -> str:
    """The report as aligned terminal tables."""
    from .text import render_text as render

    return render(report)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page (inline CSS, JS and SVG only)."""
    from .html import render_html as render

    return render(report)
