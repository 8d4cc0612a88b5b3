"""The terminal rendering of a Report: aligned plain-text tables, PoseNet view first.

Reading order follows what a user asks first: what is this file, what goes
in and out, what PoseNet network it holds and what it costs, then the full
operator and tensor listings. Long tensor names are shortened in the middle
(the JSON and HTML forms keep them whole).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from . import words as w
from .report import Graph, PosenetView, Report

__all__ = ["render_text"]

_NAME_WIDTH = 56


def render_text(report: Report) -> str:
    """The whole report as text, ending in a newline."""
    out: list[str] = []
    out.append(report.path)
    out.append(f"{report.format_name}, {w.nbytes(report.file_bytes)}")
    out += _pairs(report.facts)
    for problem in report.problems:
        out.append(f"  ! problem: {problem}")
    for note in report.notes:
        out.append(f"  ! {note}")
    main = report.graphs[0] if report.graphs else None
    if main is not None and (main.inputs or main.outputs):
        out += _section("Inputs")
        out += _io_table(main, main.inputs)
        out += _section("Outputs")
        out += _io_table(main, main.outputs)
    out += _section("PoseNet")
    if report.posenet is None:
        out.append(f"  not a PoseNet network: {report.posenet_problem or 'no body found'}")
    else:
        out += _posenet(report.posenet)
    out += _section("Totals")
    out += _totals(report)
    for graph in report.graphs:
        label = "" if len(report.graphs) == 1 else f" of {graph.name}"
        if graph.ops:
            out += _section(f"Operators{label} ({len(graph.ops)})")
            out += _ops_table(graph)
        if graph.tensors:
            out += _section(f"Tensors{label} ({len(graph.tensors)})")
            out += _tensors_table(graph)
    if report.operator_codes:
        out += _section(f"Operator codes ({len(report.operator_codes)})")
        rows = [("#", "name", "builtin code", "version")]
        rows += [
            (str(c["index"]), c["name"], str(c["builtin_code"]), str(c["version"]))
            for c in report.operator_codes
        ]
        out += _table(rows)
    if report.buffers:
        used = [b for b in report.buffers if b.nbytes]
        total = sum(b.nbytes for b in used)
        out += _section(f"Buffers ({len(report.buffers)}, {len(used)} with data)")
        if used:
            out.append(f"  {w.nbytes(total)} of data; the largest:")
            rows = [("#", "bytes", "tensors", "first bytes")]
            for b in sorted(used, key=lambda b: -b.nbytes)[:8]:
                rows.append((str(b.index), f"{b.nbytes:,}", _ints(b.tensors), b.head))
            out += _table(rows)
        else:
            out.append("  no buffer holds data")
    if report.metadata:
        out += _section("Metadata")
        out += _table(
            [("name", "buffer", "bytes", "value")]
            + [
                (m["name"], str(m["buffer"]), str(m["bytes"]), m["value"] or "")
                for m in report.metadata
            ]
        )
    if report.signatures:
        out += _section("Signatures")
        for sig in report.signatures:
            out.append(
                f"  {sig['key']} (subgraph {sig['subgraph']}): inputs {sig['inputs']}, "
                f"outputs {sig['outputs']}"
            )
    return "\n".join(out) + "\n"


def _section(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _pairs(pairs: Sequence[tuple[str, str]], indent: str = "  ") -> list[str]:
    width = max((len(k) for k, _ in pairs), default=0)
    return [f"{indent}{k.ljust(width)}  {v}" for k, v in pairs if v != ""]


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns; the last column is not padded."""
    n = max((len(r) for r in rows), default=0)
    if n == 0:
        return []
    rows = [tuple(r) + ("",) * (n - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(n - 1)]
    lines = []
    for r in rows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _short(name: str, width: int = _NAME_WIDTH) -> str:
    """Shorten a long name in the middle, keeping both ends."""
    if len(name) <= width:
        return name
    keep = width - 3
    return name[: keep // 2] + "..." + name[-(keep - keep // 2) :]


def _ints(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values) if values else "-"


def _io_table(graph: Graph, indices: Sequence[int]) -> list[str]:
    rows = [("tensor", "name", "dtype", "shape", "quantization")]
    for i in indices:
        t = graph.tensors[i]
        rows.append(
            (str(i), _short(t.name), t.dtype, _tensor_shape(t), w.quantization(t.quantization))
        )
    return _table(_drop_empty_columns(rows))


def _posenet(view: PosenetView) -> list[str]:
    facts = []
    if view.input_size:
        facts.append(("input size", f"{w.size(view.input_size)} ({w.size_origin(view.size_from)})"))
    if view.input_scaling:
        facts.append(("input", view.input_scaling))
    if view.output_stride:
        facts.append(("output stride", f"{view.output_stride} -> grid {w.size(view.grid_size)}"))
    if view.multiplier is not None:
        first = view.body[0].out_channels
        facts.append(("multiplier", f"{view.multiplier:g} (first conv: {first} channels / 32)"))
    if view.body:
        facts.append(("body", _body_words(view)))
        facts.append(("channels per block", _block_channels(view)))
        facts.append(("parameters", f"{w.count(view.params)} in body and heads"))
        facts.append(("MACs", f"{w.macs(view.macs)} at {w.size(view.input_size)}"))
    if view.decoder:
        facts.append(("embedded decoder", _options(view.decoder)))
    if view.source:
        facts.append(("read from", view.source))
    lines = _pairs(facts)
    for note in view.notes:
        lines.append(f"  ! {note}")
    if view.body:
        lines.append("")
        rows = [
            (
                "blk",
                "layer",
                "kind",
                "kernel",
                "stride",
                "dil",
                "in",
                "out",
                "act",
                "output",
                "params",
                "MACs",
                "op",
            )
        ]
        for layer in view.body:
            rows.append(
                (
                    str(layer.block),
                    layer.name,
                    layer.kind,
                    f"{layer.kernel[0]}x{layer.kernel[1]}",
                    str(layer.stride),
                    str(layer.dilation),
                    str(layer.in_channels),
                    str(layer.out_channels),
                    layer.activation,
                    w.size(layer.output_size),
                    w.count(layer.params),
                    w.macs(layer.macs),
                    _opt(layer.op),
                )
            )
        lines += _table(rows)
    if view.heads:
        lines.append("")
        rows = [("head", "channels", "params", "MACs", "op", "source", "layout")]
        for h in view.heads:
            rows.append(
                (
                    h.name,
                    str(h.channels),
                    w.count(h.params),
                    w.macs(h.macs),
                    _opt(h.op),
                    _short(h.source, 40),
                    h.layout,
                )
            )
        lines += _table(rows)
    if view.outputs:
        lines.append("")
        rows = [("output", "shape", "channels hold")]
        rows += [(_short(c.name), w.shape(c.shape), c.layout) for c in view.outputs]
        lines += _table(rows)
    return lines


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _options(options: dict) -> str:
    return ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in options.items()
    )


def _body_words(view: PosenetView) -> str:
    kinds = [layer.kind for layer in view.body]
    pairs = sum(1 for pair in itertools.pairwise(kinds) if pair == ("depthwise", "pointwise"))
    acts = {layer.activation for layer in view.body}
    act = "ReLU6" if acts == {"relu6"} else "/".join(sorted(acts))
    return f"{kinds[0]} + {pairs} x (depthwise, {act}, pointwise, {act})"


def _block_channels(view: PosenetView) -> str:
    blocks: dict[int, int] = {}
    for layer in view.body:
        blocks[layer.block] = layer.out_channels
    first = blocks.pop(0, None)
    rest = " ".join(str(c) for c in blocks.values())
    return f"{first} | {rest}" if first is not None else rest


def _totals(report: Report) -> list[str]:
    t = report.totals
    facts = [
        ("parameters", w.count(t.parameters)),
        ("weight bytes", w.nbytes(t.weight_bytes)),
        (
            "MACs",
            f"{w.count(t.macs)} ({w.macs(t.macs)})"
            + (f" at {w.size(t.input_size)}" if t.input_size else ""),
        ),
    ]
    lines = _pairs(facts)
    lines += [f"  ! {note}" for note in t.notes]
    return lines


def _ops_table(graph: Graph) -> list[str]:
    rows = [("#", "op", "inputs", "outputs", "MACs", "options")]
    for op in graph.ops:
        macs = "-" if op.custom and op.macs is None else w.macs(op.macs)
        rows.append((str(op.index), op.type, _ints(op.inputs), _ints(op.outputs), macs, op.summary))
    return _table(rows)


def _tensors_table(graph: Graph) -> list[str]:
    header = (
        "#",
        "name",
        "dtype",
        "shape",
        "signature",
        "buffer",
        "bytes",
        "quantization",
        "values",
        "notes",
    )
    rows = [header]
    for t in graph.tensors:
        rows.append(
            (
                str(t.index),
                _short(t.name),
                t.dtype,
                _tensor_shape(t),
                w.shape(t.shape_signature) if t.shape_signature is not None else "",
                "" if t.buffer is None else str(t.buffer),
                f"{t.nbytes:,}" if t.nbytes else "",
                w.quantization(t.quantization),
                w.values(t.values),
                ", ".join(t.notes),
            )
        )
    return _table(_drop_empty_columns(rows))


def _tensor_shape(t) -> str:
    """The stored shape, with the shape at the report's size when it differs."""
    if t.shape is None and t.shape_at_size is not None:
        return f"{w.shape(t.shape_at_size)} (inferred)"
    if t.shape_at_size is not None:
        return f"{w.shape(t.shape)} -> {w.shape(t.shape_at_size)}"
    return w.shape(t.shape)


def _drop_empty_columns(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Leave out columns that are empty in every row but the header."""
    keep = [i for i in range(len(rows[0])) if any(r[i] for r in rows[1:])]
    return [tuple(r[i] for i in keep) for r in rows]
