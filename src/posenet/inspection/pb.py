"""Describe a frozen TensorFlow GraphDef (.pb): nodes, constants, and the PoseNet in it.

Nodes and constants come from posenet.formats.graphdef's `read_graph`, the
reader's own decoding (TensorFlow's schema as compiled into tensorboardX); the
PoseNet view is the Network posenet.formats reads, so it shows what posenet
runs - which for the posenet-python graphs means the heatmap without the
file's final sigmoid.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ..formats.graphdef import read_graph
from ..sizes import MAX_SIDE
from .geometry import weight_totals
from .report import Report, Totals
from .tfgraph import DEFAULT_SIZE, Constant, describe_graph, posenet_view

__all__ = ["describe_graphdef"]


def describe_graphdef(path: Path, size: tuple[int, int] | None = None) -> Report:
    """Describe a frozen GraphDef file."""
    source = str(path)
    proto, nodes, tensors = read_graph(path)
    constants = {
        name: Constant(t.dtype, t.shape, t.nbytes, None, t.array) for name, t in tensors.items()
    }
    placeholder = next((n for n in nodes if n.op == "Placeholder"), None)
    shape = placeholder.attrs.get("shape") if placeholder else None
    if size is not None:
        input_size, size_from = size, "--size"
    elif (
        isinstance(shape, list)
        and len(shape) == 4
        and 0 < min(shape[1:3]) <= max(shape[1:3]) <= MAX_SIDE
    ):
        input_size, size_from = (shape[1], shape[2]), "model"
    else:
        input_size, size_from = DEFAULT_SIZE, "default"
    graph, convs, acts = describe_graph(nodes, constants, size=input_size)
    notes = []
    if any(op.type == "Sigmoid" for op in graph.ops):
        notes.append("the file ends the heatmap in a sigmoid; posenet drops it and keeps logits")
    view, problem = posenet_view(
        path,
        graph,
        convs,
        acts,
        input_size=input_size,
        size_from=size_from,
        reader="GraphDef reader",
        notes=notes,
    )
    counts = Counter(n.op for n in nodes)
    facts = [
        ("GraphDef producer", str(proto.versions.producer) if proto.HasField("versions") else ""),
        ("nodes", f"{len(nodes)} ({len(graph.ops)} operators, {len(constants)} constants)"),
        ("node types", ", ".join(f"{k} {v}" for k, v in counts.most_common())),
        ("devices", ", ".join(sorted({r.device for r in proto.node if r.device})) or "none set"),
    ]
    params, weight_bytes, skipped = weight_totals([graph])
    macs_list = [op.macs for op in graph.ops]
    macs = None if any(m is None for m in macs_list) else int(sum(m or 0 for m in macs_list))
    return Report(
        path=source,
        format="graphdef",
        format_name="frozen TensorFlow GraphDef",
        file_bytes=Path(path).stat().st_size,
        facts=tuple(facts),
        graphs=(graph,),
        totals=Totals(params, weight_bytes, macs, input_size, _skipped_note(skipped)),
        posenet=view,
        posenet_problem=problem,
    )


def _skipped_note(skipped: int) -> tuple[str, ...]:
    if not skipped:
        return ()
    return (f"{skipped} structural constant(s) (paddings, shapes, axes) are not parameters",)
