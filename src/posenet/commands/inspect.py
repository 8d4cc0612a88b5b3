"""`posenet inspect`: everything in a model file, as a table, JSON or an HTML page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import PosenetError
from ..sizes import SIZE_FORMS


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
        help="write the report as JSON to FILE (to stdout when no FILE is given)",
    )
    inspect.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    inspect.add_argument("--force", action="store_true", help="overwrite existing output files")
    inspect.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Describe args.model; outputs are checked before any work so that nothing is half-done."""
    from ..inspection import inspect_model, render_html, render_text

    targets = [f for f in (args.json, args.html) if f and f != "-"]
    if args.json and args.html and args.json == args.html:
        raise PosenetError("--json and --html name the same file")
    for target in targets:
        path = Path(target)
        if path.is_dir():
            raise PosenetError(f"{target}: is a folder, expected a file name")
        if path.exists() and not args.force:
            raise PosenetError(f"{target}: exists; use --force to overwrite")
        if not path.parent.is_dir():
            raise PosenetError(f"{target}: folder {path.parent} does not exist")
    report = inspect_model(args.model, size=args.size)
    if args.html:
        _write(Path(args.html), render_html(report), args.force)
    if args.json:
        text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            _write(Path(args.json), text, args.force)
    if args.json != "-":
        if args.html or args.json:
            written = ", ".join(targets)
            print(f"{report.path}: {report.format_name}; wrote {written}")
        else:
            sys.stdout.write(render_text(report))
    return 0


def _write(path: Path, text: str, force: bool) -> None:
    """Write text; without force, refuse a file that appeared since the check."""
    try:
        with path.open("w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise PosenetError(f"{path}: exists; use --force to overwrite") from None
    except OSError as exc:
        raise PosenetError(f"{path}: cannot write it ({exc.strerror})") from None
