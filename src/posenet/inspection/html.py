"""The HTML rendering of a Report: one self-contained page, opened straight from disk.

Everything is inline - CSS, a few lines of JavaScript, SVG drawings - so the
page needs no network and no other file. It shows what TFLite's visualize.py
shows (model facts, operator codes, per graph the inputs, outputs, tensors
and operators, buffers, metadata, a drawing of the graph) and adds the
PoseNet view, options in words, decoded custom options, dequantized values,
parameters and MACs. Long listings fold into <details>; tables can be
filtered; graph nodes link to their rows.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from . import words as w
from .report import Graph, PosenetView, Report, Tensor
from .svg import graph_svg, view_svg

__all__ = ["render_html"]


def render_html(report: Report) -> str:
    """The whole page as a string."""
    name = Path(report.path).name or report.path
    main = report.graphs[0] if report.graphs else None
    roles = _roles(report.posenet)
    if main is not None and main.ops:
        drawing = graph_svg(main, "g0-", roles, label=f"operator graph of {name}")
        caption = f"{len(main.ops)} operators, top to bottom; constants are folded into them"
    elif report.posenet is not None and report.posenet.body:
        drawing = view_svg(report.posenet)
        caption = "no operator graph in this format: the PoseNet layers posenet builds"
    else:
        drawing, caption = "", "nothing to draw"
    sections = [
        _summary(report),
        _posenet(report),
        _totals(report),
        _io(report),
    ]
    for gi, graph in enumerate(report.graphs):
        sections.append(_graph_section(report, graph, gi))
    sections.append(_file_tables(report))
    nav = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("summary", "Summary"),
            ("posenet", "PoseNet"),
            ("totals", "Totals"),
            ("g0-ops", "Operators"),
            ("g0-tensors", "Tensors"),
            ("file", "File"),
        )
    )
    badges = [escape(report.format_name), escape(w.nbytes(report.file_bytes))]
    runs = dict(report.facts).get("runs on the CPU (LiteRT)")
    if runs:
        cls = ' class="warn"' if runs.startswith("no") else ""
        badges.append(f"<span{cls}>runs on the CPU: {escape(runs)}</span>")
    badge_html = "".join(b if b.startswith("<span") else f"<span>{b}</span>" for b in badges)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>posenet inspect: {escape(name)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{escape(name)}</h1>
<div class="path">{escape(report.path)}</div>
<div class="badges">{badge_html}</div>
<nav>{nav}</nav>
</header>
<div class="layout">
<aside id="graph-panel">
<div class="toolbar"><strong>Graph</strong>
<button type="button" data-zoom="out" title="zoom out">&minus;</button>
<span id="zoom-level">100%</span>
<button type="button" data-zoom="in" title="zoom in">+</button>
<button type="button" data-zoom="fit" title="fit the width">fit</button>
<button type="button" data-zoom="one" title="actual size">1:1</button></div>
<div class="caption">{escape(caption)}</div>
<div class="graph-scroll">{drawing}</div>
{_LEGEND}
</aside>
<main>
{"".join(sections)}
<footer>Made by <code>posenet inspect</code>. Numbers in tables are rounded; the JSON output
(<code>--json</code>) has them exactly.</footer>
</main>
</div>
<script>{_JS}</script>
</body>
</html>
"""


def _roles(view: PosenetView | None) -> dict[int, str]:
    """Op index -> badge text ("B3 dw", "heatmap") from the PoseNet view."""
    if view is None:
        return {}
    short = {"conv": "conv", "depthwise": "dw", "pointwise": "pw"}
    roles = {
        layer.op: f"B{layer.block} {short.get(layer.kind, layer.kind)}"
        for layer in view.body
        if layer.op is not None
    }
    roles.update({h.op: h.name for h in view.heads if h.op is not None})
    return roles


# -- sections ----------------------------------------------------------------------------------


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _pairs(pairs: list[tuple[str, str]]) -> str:
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs if v != ""
    )
    return f'<table class="pairs">{rows}</table>'


def _notes(notes) -> str:
    return "".join(f'<div class="note">{escape(n)}</div>' for n in notes)


def _problems(problems) -> str:
    return "".join(f'<div class="note problem">problem: {escape(p)}</div>' for p in problems)


def _summary(report: Report) -> str:
    body = _pairs(
        [
            ("path", report.path),
            ("format", report.format_name),
            ("file size", w.nbytes(report.file_bytes)),
            *report.facts,
        ]
    )
    return _section("summary", "Summary", body + _problems(report.problems) + _notes(report.notes))


def _io(report: Report) -> str:
    if not report.graphs or not (report.graphs[0].inputs or report.graphs[0].outputs):
        return ""
    graph = report.graphs[0]
    html = ""
    for title, indices in (("Inputs", graph.inputs), ("Outputs", graph.outputs)):
        rows = [
            [
                _tensor_link(graph, 0, i),
                escape(graph.tensors[i].name),
                escape(graph.tensors[i].dtype),
                escape(_shape(graph.tensors[i])),
                escape(w.quantization(graph.tensors[i].quantization)),
            ]
            for i in indices
        ]
        html += f"<h3>{title}</h3>" + _table(
            ["tensor", "name", "dtype", "shape", "quantization"], rows, numeric={0}
        )
    return _section("io", "Inputs and outputs", html)


def _posenet(report: Report) -> str:
    view = report.posenet
    if view is None:
        text = report.posenet_problem or "no PoseNet body found"
        return _section(
            "posenet", "PoseNet", f'<div class="note">Not a PoseNet network: {escape(text)}</div>'
        )
    cards = []
    if view.input_size:
        cards.append(("input size", w.size(view.input_size), w.size_origin(view.size_from)))
    if view.output_stride:
        cards.append(("output stride", str(view.output_stride), f"grid {w.size(view.grid_size)}"))
    if view.multiplier is not None:
        cards.append(
            (
                "multiplier",
                f"{view.multiplier:g}",
                f"first conv {view.body[0].out_channels} channels / 32",
            )
        )
    if view.body:
        cards.append(("parameters", w.human(view.params), f"{view.params:,} in body and heads"))
        cards.append(("MACs", w.macs(view.macs), f"at {w.size(view.input_size)}"))
        cards.append(("body", f"{len(view.body)} layers", _body_words(view)))
    if view.decoder:
        cards.append(("embedded decoder", "PosenetDecoderOp", _options_words(view.decoder)))
    html = (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div>'
            f'<div class="d">{escape(d)}</div></div>'
            for k, v, d in cards
        )
        + "</div>"
    )
    if view.input_scaling:
        html += f"<p><b>Input:</b> {escape(view.input_scaling)}</p>"
    if view.source:
        html += f'<p class="muted">Read from {escape(view.source)}.</p>'
    html += _notes(view.notes)
    if view.body:
        html += "<h3>Channels and MACs per block</h3>" + _block_chart(view)
        rows = []
        for layer in view.body:
            op = f'<a href="#g0-op{layer.op}">{layer.op}</a>' if layer.op is not None else ""
            rows.append(
                [
                    str(layer.block),
                    escape(layer.name),
                    escape(layer.kind),
                    f"{layer.kernel[0]}x{layer.kernel[1]}",
                    str(layer.stride),
                    str(layer.dilation),
                    str(layer.in_channels),
                    str(layer.out_channels),
                    escape(layer.activation),
                    w.size(layer.output_size),
                    f"{layer.params:,}",
                    w.macs(layer.macs),
                    op,
                ]
            )
        html += "<h3>Body: conv + 13 depthwise-separable blocks</h3>" + _table(
            [
                "block",
                "layer",
                "kind",
                "kernel",
                "stride",
                "dilation",
                "in",
                "out",
                "activation",
                "output",
                "params",
                "MACs",
                "op",
            ],
            rows,
            numeric={0, 4, 5, 6, 7, 10, 11, 12},
            row_ids=[f"layer{i}" for i in range(len(rows))],
        )
    if view.heads:
        rows = []
        for h in view.heads:
            op = f'<a href="#g0-op{h.op}">{h.op}</a>' if h.op is not None else ""
            rows.append(
                [
                    escape(h.name),
                    str(h.channels),
                    f"{h.params:,}",
                    w.macs(h.macs),
                    op,
                    escape(h.source),
                    escape(h.layout) + _channel_details(h.channel_names),
                ]
            )
        html += "<h3>Heads</h3>" + _table(
            ["head", "channels", "params", "MACs", "op", "name in the file", "channel layout"],
            rows,
            numeric={1, 2, 3, 4},
            row_ids=[f"head{i}" for i in range(len(rows))],
        )
    if view.outputs:
        rows = [
            [
                escape(c.name),
                escape(w.shape(c.shape)),
                escape(c.layout) + _channel_details(c.channel_names),
            ]
            for c in view.outputs
        ]
        html += "<h3>What the outputs hold</h3>" + _table(["tensor", "shape", "channels"], rows)
    if view.decoder:
        html += "<h3>Embedded decoder options</h3>" + _pairs(
            [(k, f"{v:g}" if isinstance(v, float) else str(v)) for k, v in view.decoder.items()]
        )
    return _section("posenet", "PoseNet", html)


def _body_words(view: PosenetView) -> str:
    blocks = max(layer.block for layer in view.body)
    acts = sorted({layer.activation for layer in view.body})
    return f"conv + {blocks} x (depthwise, pointwise), activation {'/'.join(acts)}"


def _options_words(options: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in options.items()
    )


def _channel_details(names) -> str:
    if not names:
        return ""
    cells = "".join(f"<li><b>{i}</b> {escape(n)}</li>" for i, n in enumerate(names))
    summary = f"<summary>{len(names)} channels</summary>"
    return f'<details>{summary}<ol class="channels">{cells}</ol></details>'


def _block_chart(view: PosenetView) -> str:
    """Bars per block: output channels (blue) and MACs (orange), output size below."""
    blocks: dict[int, dict[str, Any]] = {}
    for layer in view.body:
        b = blocks.setdefault(layer.block, {"channels": 0, "macs": 0, "size": None, "stride": 1})
        b["channels"] = max(b["channels"], layer.out_channels)
        b["macs"] += layer.macs or 0
        b["size"] = layer.output_size
        b["stride"] *= layer.stride
        b["dilation"] = max(b.get("dilation", 1), layer.dilation)
    heads_macs = sum(h.macs or 0 for h in view.heads)
    columns = [(f"B{k}", v) for k, v in sorted(blocks.items())]
    if view.heads:
        columns.append(
            (
                "heads",
                {
                    "channels": sum(h.channels for h in view.heads),
                    "macs": heads_macs,
                    "size": view.grid_size,
                    "stride": 1,
                },
            )
        )
    top_c = max(c["channels"] for _, c in columns) or 1
    top_m = max(c["macs"] for _, c in columns) or 1
    col, bar, height, base = 52, 18, 120, 150
    width = col * len(columns) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="blocks" width="{width}" '
        f'height="{base + 44}" viewBox="0 0 {width} {base + 44}" role="img" '
        f'aria-label="channels and MACs per block">'
    ]
    for i, (label, c) in enumerate(columns):
        x = 10 + i * col
        hc = max(2, height * c["channels"] / top_c)
        hm = max(2, height * c["macs"] / top_m) if c["macs"] else 0
        parts.append(
            f'<rect x="{x + 4}" y="{base - hc:.1f}" width="{bar}" height="{hc:.1f}" '
            f'fill="#3b82f6"><title>{label}: {c["channels"]} channels</title></rect>'
        )
        if hm:
            parts.append(
                f'<rect x="{x + 4 + bar + 2}" y="{base - hm:.1f}" width="{bar}" '
                f'height="{hm:.1f}" fill="#f97316"><title>{label}: '
                f"{w.macs(c['macs'])} MACs</title></rect>"
            )
        parts.append(
            f'<text x="{x + 4 + bar}" y="{base - hc - 4:.1f}" class="c">{c["channels"]}</text>'
        )
        stride = (
            " /2" if c["stride"] > 1 else (f" d{c['dilation']}" if c.get("dilation", 1) > 1 else "")
        )
        parts.append(f'<text x="{x + 4 + bar}" y="{base + 14}" class="l">{label}{stride}</text>')
        parts.append(
            f'<text x="{x + 4 + bar}" y="{base + 28}" class="s">{w.size(c["size"])}</text>'
        )
    parts.append(f'<line x1="6" x2="{width - 6}" y1="{base}" y2="{base}" stroke="#94a3b8"/>')
    parts.append("</svg>")
    legend = (
        '<div class="chart-legend"><span class="sw" style="background:#3b82f6"></span>'
        'output channels <span class="sw" style="background:#f97316"></span>MACs '
        "(/2: the block halves the size; dN: dilation)</div>"
    )
    return f'<div class="chart">{"".join(parts)}</div>{legend}'


def _totals(report: Report) -> str:
    t = report.totals
    macs = "unknown" if t.macs is None else f"{t.macs:,} ({w.macs(t.macs)})"
    pairs = [
        ("parameters", w.count(t.parameters)),
        ("weight bytes", w.nbytes(t.weight_bytes)),
        ("MACs", macs + (f" at {w.size(t.input_size)}" if t.input_size else "")),
    ]
    if report.posenet is not None and report.posenet.body:
        pairs.append(
            (
                "PoseNet network",
                f"{report.posenet.params:,} parameters, {w.macs(report.posenet.macs)} MACs",
            )
        )
    return _section("totals", "Totals", _pairs(pairs) + _notes(t.notes))


def _graph_section(report: Report, graph: Graph, gi: int) -> str:
    prefix = f"g{gi}-"
    title = "" if len(report.graphs) == 1 else f" of {graph.name}"
    html = ""
    if gi > 0 and graph.ops:
        html += f"<details><summary>drawing</summary>{graph_svg(graph, prefix)}</details>"
    if graph.ops:
        rows, ids = [], []
        for op in graph.ops:
            ins = " ".join(_tensor_link(graph, gi, t) for t in op.inputs)
            outs = " ".join(_tensor_link(graph, gi, t) for t in op.outputs)
            macs = "-" if op.custom and op.macs is None else w.macs(op.macs)
            detail = escape(op.summary)
            if op.options:
                label = "custom options" if op.custom else "options"
                detail += (
                    f"<details><summary>{label}</summary><pre>"
                    f"{escape(json.dumps(op.options, indent=1, default=str))}</pre></details>"
                )
            if op.notes:
                detail += "".join(f'<div class="muted">{escape(n)}</div>' for n in op.notes)
            kind = ' class="custom"' if op.custom else ""
            rows.append(
                [
                    str(op.index),
                    f"<b{kind}>{escape(op.type)}</b>",
                    _mono(op.name),
                    ins,
                    outs,
                    macs,
                    f"{op.params:,}" if op.params else "",
                    detail,
                ]
            )
            ids.append(f"{prefix}op{op.index}")
        html += (
            f'<h3 id="{prefix}ops">Operators{escape(title)} ({len(graph.ops)})</h3>'
            f"{_filter(prefix + 'ops-table', 'operators')}"
        )
        html += _table(
            ["#", "op", "name", "inputs", "outputs", "MACs", "params", "options"],
            rows,
            numeric={0, 5, 6},
            row_ids=ids,
            table_id=prefix + "ops-table",
        )
    rows, ids = [], []
    for t in graph.tensors:
        rows.append(_tensor_row(t))
        ids.append(f"{prefix}t{t.index}")
    html += (
        f'<h3 id="{prefix}tensors">Tensors{escape(title)} ({len(graph.tensors)})</h3>'
        f"{_filter(prefix + 'tensors-table', 'tensors')}"
    )
    html += _table(
        ["#", "name", "dtype", "shape", "signature", "buffer", "bytes", "quantization", "values"],
        rows,
        numeric={0, 5, 6},
        row_ids=ids,
        table_id=prefix + "tensors-table",
    )
    return _section(f"graph{gi}", f"Graph{title}: {graph.name}", html)


def _tensor_row(t: Tensor) -> list[str]:
    q = w.quantization(t.quantization)
    if t.quantization is not None and t.quantization.per_axis:
        data = {"scale": list(t.quantization.scale), "zero_point": list(t.quantization.zero_point)}
        q = escape(q) + (
            f"<details><summary>per-axis values</summary><pre>"
            f"{escape(json.dumps(data))}</pre></details>"
        )
    else:
        q = escape(q)
    values = escape(w.values(t.values))
    if t.values is not None:
        preview = ", ".join(f"{v:.5g}" for v in t.values.preview)
        values += (
            f"<details><summary>first values</summary><code>{escape(preview)}"
            f"{' …' if t.values.count > len(t.values.preview) else ''}</code>"
            f"<div class='muted'>{t.values.count:,} values, {t.values.zeros:,} zero</div>"
            "</details>"
        )
    notes = "".join(f'<div class="muted">{escape(n)}</div>' for n in t.notes)
    return [
        str(t.index),
        _mono(t.name) + notes,
        escape(t.dtype),
        escape(_shape(t)),
        escape(w.shape(t.shape_signature)) if t.shape_signature is not None else "",
        "" if t.buffer is None else str(t.buffer),
        f"{t.nbytes:,}" if t.nbytes else "",
        q,
        values,
    ]


def _file_tables(report: Report) -> str:
    html = ""
    if report.operator_codes:
        rows = [
            [
                str(c["index"]),
                escape(c["name"]),
                str(c["builtin_code"]),
                escape(c["custom_code"] or ""),
                str(c["version"]),
            ]
            for c in report.operator_codes
        ]
        html += "<h3>Operator codes</h3>" + _table(
            ["#", "name", "builtin code", "custom code", "version"], rows, numeric={0, 2, 4}
        )
    if report.buffers:
        used = [b for b in report.buffers if b.nbytes]
        rows = [
            [
                str(b.index),
                f"{b.nbytes:,}",
                "" if b.offset is None else f"{b.offset:,}",
                " ".join(_tensor_link(report.graphs[0], 0, t) for t in b.tensors),
                f"<code>{escape(b.head)}</code>",
            ]
            for b in report.buffers
        ]
        html += (
            f"<h3>Buffers</h3><details><summary>{len(report.buffers)} buffers, {len(used)} "
            f"with data ({w.nbytes(sum(b.nbytes for b in used))})</summary>"
            + _table(["#", "bytes", "offset", "tensors", "first bytes"], rows, numeric={0, 1, 2})
            + "</details>"
        )
    if report.metadata:
        rows = [
            [escape(m["name"]), str(m["buffer"]), f"{m['bytes']:,}", escape(m["value"] or "")]
            for m in report.metadata
        ]
        html += "<h3>Metadata</h3>" + _table(["name", "buffer", "bytes", "value"], rows)
    if report.signatures:
        rows = [
            [
                escape(s["key"]),
                str(s["subgraph"]),
                escape(json.dumps(s["inputs"])),
                escape(json.dumps(s["outputs"])),
            ]
            for s in report.signatures
        ]
        html += "<h3>Signatures</h3>" + _table(["key", "subgraph", "inputs", "outputs"], rows)
    if not html:
        html = '<p class="muted">This format has no operator codes, buffers or metadata.</p>'
    return _section("file", "File", html)


# -- helpers -----------------------------------------------------------------------------------


def _shape(t: Tensor) -> str:
    if t.shape is None and t.shape_at_size is not None:
        return f"{w.shape(t.shape_at_size)} (inferred)"
    if t.shape_at_size is not None:
        return f"{w.shape(t.shape)} → {w.shape(t.shape_at_size)}"
    return w.shape(t.shape)


def _tensor_link(graph: Graph, gi: int, t: int) -> str:
    if t < 0:
        return '<span class="muted">-</span>'
    tensor = graph.tensors[t]
    cls = "t const" if tensor.constant else "t"
    return (
        f'<a class="{cls}" href="#g{gi}-t{t}" title="{escape(tensor.name)} '
        f'{escape(_shape(tensor))} {escape(tensor.dtype)}">{t}</a>'
    )


def _mono(text: str) -> str:
    return f'<span class="mono">{escape(text)}</span>'


def _filter(table_id: str, what: str) -> str:
    return (
        f'<input class="filter" type="search" placeholder="filter {what}…" '
        f'data-filter="{table_id}" aria-label="filter {what}">'
    )


def _table(
    header: list[str],
    rows: list[list[str]],
    numeric: set[int] | frozenset[int] = frozenset(),
    row_ids: list[str] | None = None,
    table_id: str = "",
) -> str:
    """A table; cells are HTML already escaped by the caller."""
    head = "".join(
        f"<th{' class=num' if i in numeric else ''}>{escape(h)}</th>" for i, h in enumerate(header)
    )
    body = []
    for r, row in enumerate(rows):
        rid = f' id="{row_ids[r]}"' if row_ids else ""
        cells = "".join(
            f"<td{' class=num' if i in numeric else ''}>{c}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr{rid}>{cells}</tr>")
    tid = f' id="{table_id}"' if table_id else ""
    return (
        f'<div class="table-wrap"><table{tid}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


_LEGEND = "".join(
    [
        '<div class="legend">',
        *(
            f'<span><i style="background:{fill};border-color:{stroke}"></i>{label}</span>'
            for label, fill, stroke in (
                ("conv", "#dbeafe", "#2563eb"),
                ("1x1 conv", "#e0e7ff", "#4f46e5"),
                ("depthwise", "#ccfbf1", "#0d9488"),
                ("other op", "#f1f5f9", "#64748b"),
                ("concat / reshape", "#fef3c7", "#d97706"),
                ("custom / decoder", "#ffedd5", "#ea580c"),
                ("Edge TPU", "#fee2e2", "#dc2626"),
                ("input / output", "#dcfce7", "#16a34a"),
            )
        ),
        "</div>",
    ]
)

_CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--accent:#2563eb;--bg:#f1f5f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header{background:#0f172a;color:#f8fafc;padding:12px 20px}
header h1{margin:0;font-size:20px;word-break:break-all}
header .path{color:#94a3b8;font-size:12px;word-break:break-all}
.badges span{display:inline-block;margin:6px 6px 0 0;padding:2px 10px;border-radius:999px;
background:#1e293b;font-size:12px}
.badges span.warn{background:#991b1b}
nav{margin-top:8px}nav a{color:#93c5fd;margin-right:14px;font-size:13px;text-decoration:none}
.layout{display:grid;grid-template-columns:minmax(320px,34%) minmax(0,1fr);align-items:start}
#graph-panel{position:sticky;top:0;height:100vh;display:flex;flex-direction:column;
background:#fff;border-right:1px solid var(--line)}
.toolbar{display:flex;gap:6px;align-items:center;padding:8px 10px;
border-bottom:1px solid var(--line)}
.toolbar strong{margin-right:auto}
.toolbar button{border:1px solid var(--line);background:#f8fafc;border-radius:6px;padding:2px 9px;
cursor:pointer;font:inherit}
.toolbar button:hover{background:#e2e8f0}
#zoom-level{min-width:42px;text-align:center;color:var(--muted);font-size:12px}
.caption{color:var(--muted);font-size:12px;padding:4px 10px}
.graph-scroll{overflow:auto;flex:1;padding:4px 8px}
.legend{display:flex;flex-wrap:wrap;gap:4px 10px;padding:6px 10px;border-top:1px solid var(--line);
font-size:11px;color:var(--muted)}
.legend i{display:inline-block;width:12px;height:10px;border:1.5px solid;border-radius:3px;
margin-right:4px;vertical-align:-1px}
main{padding:16px 22px 40px;min-width:0}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 16px;
margin-bottom:16px}
h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:#f8fafc;position:sticky;top:0;z-index:1}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.pairs{width:auto}table.pairs th{background:none;color:var(--muted);font-weight:500;
white-space:nowrap}
tr:target{background:#fef9c3}tr.hot{background:#eff6ff}
.table-wrap{overflow:auto;max-height:75vh}
.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.mono{word-break:break-all}
pre{margin:4px 0;white-space:pre-wrap;background:#f8fafc;padding:6px;border-radius:6px}
a.t{display:inline-block;padding:0 5px;border-radius:4px;background:#e0f2fe;color:#075985;
text-decoration:none;font-size:12px;margin:1px}
a.t.const{background:#f1f5f9;color:#475569}
b.custom{color:#c2410c}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 10px;background:#f8fafc}
.card .k{color:var(--muted);font-size:12px}.card .v{font-size:18px;font-weight:650}
.card .d{color:var(--muted);font-size:12px}
.note{border-left:3px solid #f59e0b;background:#fffbeb;padding:6px 10px;margin:6px 0;
border-radius:0 6px 6px 0}
.note.problem{border-left-color:#dc2626;background:#fef2f2}
.muted{color:var(--muted)}
details>summary{cursor:pointer;color:var(--accent);font-size:12px}
ol.channels{columns:3;font-size:12px;margin:4px 0;padding-left:0;list-style:none}
ol.channels b{color:var(--muted);display:inline-block;min-width:22px;text-align:right;
margin-right:4px}
input.filter{margin:0 0 6px;padding:4px 8px;border:1px solid var(--line);border-radius:6px;
width:260px;font:inherit}
.chart{overflow-x:auto}
svg.blocks text{font:10px system-ui,sans-serif;text-anchor:middle;fill:#334155}
svg.blocks text.l{font-weight:600}svg.blocks text.s{fill:#64748b}
.chart-legend{font-size:12px;color:var(--muted)}
.chart-legend .sw{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
svg.graph{display:block;margin:0 auto;max-width:none}
svg.graph text.n-title{font:600 12px system-ui,sans-serif;text-anchor:middle;fill:#0f172a}
svg.graph text.n-sub{font:11px system-ui,sans-serif;text-anchor:middle;fill:#334155}
svg.graph text.n-badge{font:700 10px system-ui,sans-serif;text-anchor:start}
svg.graph .edges path{fill:none;stroke:#94a3b8;stroke-width:1.4}
svg.graph text.edge-label{font:10px ui-monospace,monospace;fill:#475569;paint-order:stroke;
stroke:#fff;stroke-width:3px}
svg.graph .node:hover rect,svg.graph .node.hot rect{stroke-width:3}
footer{color:var(--muted);font-size:12px;margin-top:20px}
"""

_JS = """
(function () {
  "use strict";
  var panel = document.querySelector("#graph-panel .graph-scroll");
  var svg = panel ? panel.querySelector("svg.graph") : null;
  var label = document.getElementById("zoom-level");
  var natural = svg ? parseFloat(svg.getAttribute("data-width")) : 0;
  var scale = 1;
  function apply() {
    if (!svg) { return; }
    svg.style.width = Math.round(natural * scale) + "px";
    svg.style.height = "auto";
    label.textContent = Math.round(scale * 100) + "%";
  }
  function fit() {
    if (!svg) { return; }
    scale = Math.max(0.2, Math.min(1, (panel.clientWidth - 16) / natural));
    apply();
  }
  document.querySelectorAll("button[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.getAttribute("data-zoom");
      if (how === "in") { scale = Math.min(3, scale * 1.25); apply(); }
      else if (how === "out") { scale = Math.max(0.1, scale / 1.25); apply(); }
      else if (how === "fit") { fit(); }
      else { scale = 1; apply(); }
    });
  });
  apply();
  if (svg) { panel.scrollLeft = (panel.scrollWidth - panel.clientWidth) / 2; }
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var query = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.hidden = query !== "" && row.textContent.toLowerCase().indexOf(query) < 0;
      });
    });
  });
  function mark(id, on) {
    if (!svg) { return; }
    var node = svg.querySelector('[data-node="' + id + '"]');
    if (node) { node.classList.toggle("hot", on); }
  }
  document.querySelectorAll("tr[id^='g0-op']").forEach(function (row) {
    var id = "op" + row.id.slice(5);
    row.addEventListener("mouseenter", function () { mark(id, true); });
    row.addEventListener("mouseleave", function () { mark(id, false); });
  });
  document.body.setAttribute("data-ready", "yes");
}());
"""
