"""Draw a graph as inline SVG, top to bottom, with no library and no network.

A small layered layout: every node goes one row below the lowest of its
inputs (longest path from the sources), rows are ordered by a few sweeps
of the barycentre heuristic to cut edge crossings, and each row is centred.
Edges are cubic curves from the bottom of the producer to the top of the
consumer, labelled with the tensor shape. Two builders feed it: the operator
graph of a Report (`graph_svg`) and, for files without a graph (checkpoints),
the PoseNet layers (`view_svg`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from . import words as w
from .report import Graph, Op, PosenetView

__all__ = ["DrawNode", "graph_svg", "layout_svg", "view_svg"]

_W, _H = 210, 52  # node box
_GAP_X, _GAP_Y = 26, 34
_MARGIN = 18

#: Node kind -> (fill, stroke) colours.
_COLOURS: dict[str, tuple[str, str]] = {
    "conv": ("#dbeafe", "#2563eb"),
    "pointwise": ("#e0e7ff", "#4f46e5"),
    "depthwise": ("#ccfbf1", "#0d9488"),
    "head": ("#fae8ff", "#a21caf"),
    "elementwise": ("#f1f5f9", "#64748b"),
    "shape": ("#fef3c7", "#d97706"),
    "decoder": ("#ffedd5", "#ea580c"),
    "edgetpu": ("#fee2e2", "#dc2626"),
    "custom": ("#ffedd5", "#ea580c"),
    "io": ("#dcfce7", "#16a34a"),
}
_SHAPE_OPS = {"CONCATENATION", "ConcatV2", "RESHAPE", "Reshape", "PAD", "Pad", "PADV2", "SQUEEZE"}


@dataclass(frozen=True)
class DrawNode:
    """A box to draw: up to three lines of text, a colour kind, a link and a tooltip."""

    key: str
    lines: tuple[str, ...]
    kind: str
    href: str = ""
    title: str = ""
    badge: str = ""


def layout_svg(
    nodes: Sequence[DrawNode], edges: Sequence[tuple[str, str, str]], label: str = "graph"
) -> str:
    """An <svg> of nodes and (source key, target key, edge label) edges, laid out top-down."""
    keys = [n.key for n in nodes]
    known = set(keys)
    edges = [(a, b, text) for a, b, text in edges if a in known and b in known and a != b]
    preds: dict[str, list[str]] = {k: [] for k in keys}
    for a, b, _ in edges:
        preds[b].append(a)
    rank: dict[str, int] = {}
    for key in _topological(keys, preds):
        rank[key] = 1 + max((rank[p] for p in preds[key] if p in rank), default=-1)
    rows: dict[int, list[str]] = {}
    for key in keys:
        rows.setdefault(rank[key], []).append(key)
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for a, b, _ in edges:
        succs[a].append(b)
    _order_rows(rows, preds, succs)
    widest = max((len(r) for r in rows.values()), default=1)
    width = 2 * _MARGIN + widest * _W + (widest - 1) * _GAP_X
    height = 2 * _MARGIN + len(rows) * _H + max(len(rows) - 1, 0) * _GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for r, row in rows.items():
        row_width = len(row) * _W + (len(row) - 1) * _GAP_X
        x0 = (width - row_width) / 2
        for i, key in enumerate(row):
            pos[key] = (x0 + i * (_W + _GAP_X), _MARGIN + r * (_H + _GAP_Y))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}" data-width="{width:.0f}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#64748b"/></marker></defs>',
        '<g class="edges">',
    ]
    labelled: set[tuple[str, str]] = set()
    for a, b, text in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        x1, y1, x2, y2 = xa + _W / 2, ya + _H, xb + _W / 2, yb
        bend = max((y2 - y1) / 2, 12)
        parts.append(
            f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} '
            f'{x2:.1f},{y2 - 1:.1f}" marker-end="url(#arrow)"><title>{escape(text)}</title></path>'
        )
        if text and (a, text) not in labelled:  # a tensor read by many ops: label it once
            labelled.add((a, text))
            parts.append(
                f'<text class="edge-label" x="{x1 + 6:.1f}" y="{y1 + 14:.1f}">{escape(text)}</text>'
            )
    parts.append('</g><g class="nodes">')
    for node in nodes:
        x, y = pos[node.key]
        fill, stroke = _COLOURS.get(node.kind, _COLOURS["elementwise"])
        radius = _H / 2 if node.kind == "io" else 7
        box = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_W}" height="{_H}" rx="{radius:.0f}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
        )
        texts = []
        lines = [node.lines[0], *(line for line in node.lines[1:3] if line)]
        for i, line in enumerate(lines):
            cls = "n-title" if i == 0 else "n-sub"
            texts.append(
                f'<text class="{cls}" x="{x + _W / 2:.1f}" y="{y + 16 + i * 15:.1f}">'
                f"{escape(_clip(line, 30 if i == 0 else 34))}</text>"
            )
        if node.badge:  # above the top-left corner, in the gap edges do not use
            texts.append(
                f'<text class="n-badge" x="{x + 2:.1f}" y="{y - 4:.1f}" '
                f'fill="{stroke}">{escape(node.badge)}</text>'
            )
        inner = f"<title>{escape(node.title)}</title>{box}{''.join(texts)}"
        data = f' data-node="{escape(node.key)}"'
        if node.href:
            parts.append(f'<a href="{escape(node.href)}" class="node"{data}>{inner}</a>')
        else:
            parts.append(f'<g class="node"{data}>{inner}</g>')
    parts.append("</g></svg>")
    return "".join(parts)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _topological(keys: Sequence[str], preds: dict[str, list[str]]) -> list[str]:
    """Keys with every node after its predecessors (cycles broken in key order)."""
    order, state = [], {}
    for start in keys:
        stack = [(start, iter(preds[start]))]
        if start in state:
            continue
        state[start] = "open"
        while stack:
            key, it = stack[-1]
            nxt = next((p for p in it if p not in state), None)
            if nxt is None:
                stack.pop()
                state[key] = "done"
                order.append(key)
            else:
                state[nxt] = "open"
                stack.append((nxt, iter(preds[nxt])))
    return order


def _order_rows(rows: dict[int, list[str]], preds, succs, sweeps: int = 4) -> None:
    """Reorder rows in place by the mean position of neighbours (barycentre sweeps)."""
    ranks = sorted(rows)
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        for r in ranks[1:] if down else ranks[-2::-1]:
            other = {k: i for i, k in enumerate(rows.get(r - 1 if down else r + 1, []))}
            links = preds if down else succs
            current = rows[r]
            keyed = []
            for i, key in enumerate(current):
                near = [other[k] for k in links[key] if k in other]
                keyed.append((sum(near) / len(near) if near else float(i), i, key))
            rows[r] = [key for _, _, key in sorted(keyed)]


def graph_svg(
    graph: Graph, prefix: str, roles: dict[int, str] | None = None, label: str = "graph"
) -> str:
    """The operator graph: inputs, operators, outputs; constants are folded into the ops.

    roles: op index -> short PoseNet role ("B3 dw", "heatmap") shown as a badge.
    prefix: anchor prefix of the page's op and tensor rows.
    """
    roles = roles or {}
    producer: dict[int, int] = {}
    for op in graph.ops:
        for t in op.outputs:
            producer[t] = op.index
    nodes: list[DrawNode] = []
    edges: list[tuple[str, str, str]] = []
    for t in graph.inputs:
        tensor = graph.tensors[t]
        nodes.append(
            DrawNode(
                f"t{t}",
                ("input", tensor.name, _tensor_words(graph, t)),
                "io",
                f"#{prefix}t{t}",
                f"input tensor {t}: {tensor.name}",
            )
        )
    for op in graph.ops:
        nodes.append(_op_node(graph, op, prefix, roles.get(op.index, "")))
        for t in op.inputs:
            if t < 0 or graph.tensors[t].constant:
                continue
            source = f"op{producer[t]}" if t in producer else f"t{t}"
            edges.append((source, f"op{op.index}", _edge_words(graph, t)))
    for t in graph.outputs:
        tensor = graph.tensors[t]
        nodes.append(
            DrawNode(
                f"out{t}",
                ("output", tensor.name, _tensor_words(graph, t)),
                "io",
                f"#{prefix}t{t}",
                f"output tensor {t}: {tensor.name}",
            )
        )
        if t in producer:
            edges.append((f"op{producer[t]}", f"out{t}", ""))
        elif t in graph.inputs:
            edges.append((f"t{t}", f"out{t}", ""))
    return layout_svg(nodes, edges, label)


def _tensor_words(graph: Graph, t: int) -> str:
    tensor = graph.tensors[t]
    shape = tensor.shape_at_size or tensor.shape
    return f"{w.shape(shape)} {tensor.dtype}"


def _edge_words(graph: Graph, t: int) -> str:
    tensor = graph.tensors[t]
    return w.shape(tensor.shape_at_size or tensor.shape)


def _op_node(graph: Graph, op: Op, prefix: str, role: str) -> DrawNode:
    kind = _kind(op)
    out = graph.tensors[op.outputs[0]] if op.outputs else None
    detail = op.brief or op.summary
    shape = w.shape(out.shape_at_size or out.shape) if out is not None else ""
    macs = f" · {w.macs(op.macs)} MACs" if op.macs else ""
    return DrawNode(
        key=f"op{op.index}",
        lines=(f"{op.index} {op.type}", detail, shape + macs),
        kind=kind,
        href=f"#{prefix}op{op.index}",
        title=f"{op.index} {op.type} {op.name}\n{op.summary}",
        badge=role,
    )


def _kind(op: Op) -> str:
    t = op.type
    if op.custom:
        if not op.cpu:
            return "edgetpu"
        return "decoder" if t == "PosenetDecoderOp" else "custom"
    if "Depthwise" in t or "DEPTHWISE" in t:
        return "depthwise"
    if t in ("CONV_2D", "Conv2D", "_FusedConv2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"):
        return "pointwise" if op.summary.startswith("1x1") else "conv"
    if t in _SHAPE_OPS:
        return "shape"
    return "elementwise"


def view_svg(view: PosenetView, label: str = "PoseNet layers") -> str:
    """The PoseNet layers as a graph, for files that have no operator graph."""
    nodes = [DrawNode("input", ("input", f"{w.size(view.input_size)} RGB", ""), "io")]
    edges = []
    previous = "input"
    for i, layer in enumerate(view.body):
        key = f"l{i}"
        nodes.append(
            DrawNode(
                key,
                (
                    layer.name,
                    f"{layer.kernel[0]}x{layer.kernel[1]} {layer.kind}, stride "
                    f"{layer.stride}, dilation {layer.dilation}",
                    f"{layer.out_channels} ch · {w.size(layer.output_size)}",
                ),
                layer.kind,
                f"#layer{i}",
                f"{layer.name}: {layer.in_channels}->{layer.out_channels}, {layer.activation}",
                f"B{layer.block}",
            )
        )
        edges.append((previous, key, ""))
        previous = key
    for i, head in enumerate(view.heads):
        key = f"h{i}"
        nodes.append(
            DrawNode(
                key,
                (head.name, f"1x1 conv, {head.channels} channels", ""),
                "head",
                f"#head{i}",
                head.layout,
            )
        )
        edges.append((previous, key, ""))
    return layout_svg(nodes, edges, label)
