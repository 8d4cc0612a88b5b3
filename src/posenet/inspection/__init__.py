"""`posenet inspect`: describe any model file the project reads, for people and programs.

`inspect_model(name_or_path, size)` returns a `Report` (plain frozen data) for
a TFLite file (float, quantized, Coral `_quant_decoder`, Edge TPU), a TF.js
graph model, a TF.js 1.x checkpoint folder or a frozen GraphDef; `render_text`,
`Report.to_dict` and `render_html` turn it into a terminal table, JSON and a
self-contained web page. Each format has its own describer module; all of
them fill the same report, so the renderers never see a file format.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PosenetError
from .report import Report

__all__ = ["Report", "inspect_model", "render_html", "render_text"]


def inspect_model(model: str | Path, size: tuple[int, int] | None = None) -> Report:
    """Describe a model given by registry name or path.

    size: (height, width) at which to count shapes and multiply-accumulates;
    None uses the model's own input size (or a default where the file leaves
    it open). Raises PosenetError for missing, unknown or damaged files.
    """
    from ..formats import detect_format
    from ..model import resolve

    if size is not None and (len(size) != 2 or min(size) < 1):
        raise PosenetError(f"size must be two positive numbers (height, width), got {size}")
    _, path = resolve(model)
    if path.is_file() and path.stat().st_size == 0:
        raise PosenetError(f"{path}: is empty (0 bytes)")
    kind = detect_format(path)
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
