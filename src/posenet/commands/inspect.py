"""`posenet inspect`: everything in a model file, as a table, JSON or an HTML page."""

from __future__ import annotations

import argparse
import json
import sys

from .. import EstimatorSettings, PosenetError
from ..files import check_output, same_file, write_atomic

SIZE_FORMS = EstimatorSettings.SIZE_FORMS


def register(commands: argparse._SubParsersAction) -> None:
    """Add `inspect` to the CLI's sub-commands."""
    inspect = commands.add_parser(
        "inspect",
        help="describe a model: tensors, operators, the PoseNet network, parameters and MACs",
        description=(
            "Describe a model file (TFLite incl. Coral and Edge TPU, TF.js graph model, "
            "TF.js 1.x checkpoint folder, frozen .pb) or a registry model name. A damaged "
            "file is described as far as it can be, with its problems shown (the 'problems' "
            "field in JSON) and exit status 0; one that cannot be described at all exits 2."
        ),
    )
    inspect.add_argument("model", metavar="MODEL", help="model file or folder, or registry name")
    inspect.add_argument(
        "--size",
        metavar="HxW|N|auto",
        help=f"input size at which to count shapes and MACs: {SIZE_FORMS}, as detect takes it "
        "and rounded the same way (default, and auto: the model's own size)",
    )
    inspect.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the report as JSON to FILE, replaced on re-runs (to stdout when no FILE "
        "is given)",
    )
    inspect.add_argument(
        "--html", metavar="FILE", help="write a self-contained HTML report (replaced on re-runs)"
    )
    inspect.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Describe args.model; outputs are checked before any work so that nothing is half-done."""
    from ..inspection import inspect_model, render_html, render_text

    targets = [f for f in (args.json, args.html) if f and f != "-"]
    if len(targets) == 2 and same_file(*targets):
        raise PosenetError("--json and --html name the same file")
    inputs = EstimatorSettings(model=args.model).model_files()
    for target in targets:
        check_output(target, inputs=inputs)
    report = inspect_model(args.model, size=args.size)
    if args.html:
        write_atomic(args.html, render_html(report).encode())
    if args.json:
        text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            write_atomic(args.json, text.encode())
    if args.json != "-":
        if args.html or args.json:
            written = ", ".join(targets)
            print(f"{report.path}: {report.format_name}; wrote {written}")
        else:
            sys.stdout.write(render_text(report))
    return 0
