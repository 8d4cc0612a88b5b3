"""The `posenet` command: one sub-command per job, all through the public API.

Exit codes: 0 success, 2 usage or input error (one line on stderr), 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from . import __version__, store
from .decode import DECODERS
from .errors import PosenetError
from .image import FITS, RESAMPLES

log = logging.getLogger("posenet")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as PosenetError (exit 2, one line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise PosenetError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="posenet", description="PoseNet human pose estimation on the CPU.")
    parser.add_argument("--version", action="version", version=f"posenet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    detect = commands.add_parser("detect", help="find poses in images or folders of images")
    detect.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    _add_model_options(detect)
    detect.add_argument("--json", metavar="FILE|-", help="write results as JSON (- for stdout)")
    detect.add_argument(
        "--draw", metavar="FILE|DIR", help="write images with the poses drawn (DIR for several)"
    )
    detect.add_argument(
        "--force", action="store_true", help="overwrite existing output files"
    )
    detect.set_defaults(run=_detect)

    models = commands.add_parser("models", help="list, download or locate named models")
    verbs = models.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    verbs.add_parser("list", help="the known models and whether they are cached").set_defaults(
        run=_models_list
    )
    pull = verbs.add_parser("pull", help="download models into the cache (default: the default)")
    pull.add_argument("names", nargs="*", metavar="NAME")
    pull.add_argument("--all", action="store_true", help="every model in the registry")
    pull.set_defaults(run=_models_pull)
    where = verbs.add_parser("path", help="print the local path of a model, fetching it if needed")
    where.add_argument("name", metavar="NAME")
    where.set_defaults(run=_models_path)
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", metavar="NAME|PATH", help=f"model name or file (default {store.DEFAULT_MODEL})"
    )
    parser.add_argument("--decoder", choices=DECODERS, default="coral", help="default: coral")
    parser.add_argument("--fit", choices=FITS, default="pad", help="default: pad")
    parser.add_argument("--resample", choices=tuple(RESAMPLES), default="bilinear")
    parser.add_argument("--max-poses", type=int, metavar="N", help="max_detections")
    parser.add_argument("--min-score", type=float, metavar="S", help="score_threshold")
    parser.add_argument("--nms-radius", type=float, metavar="PX", help="nms_radius")
    parser.add_argument("--flip", action="store_true", help="mirror results (selfie cameras)")
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads for the network")


def _estimator(args: argparse.Namespace):
    from .estimator import Estimator

    options: dict[str, Any] = {}
    for flag, option in (
        ("max_poses", "max_detections"),
        ("min_score", "score_threshold"),
        ("nms_radius", "nms_radius"),
    ):
        if getattr(args, flag) is not None:
            options[option] = getattr(args, flag)
    return Estimator(
        args.model,
        decoder=args.decoder,
        decoder_options=options,
        fit=args.fit,
        resample=args.resample,
        flip_horizontal=args.flip,
        threads=args.threads,
    )


def _detect(args: argparse.Namespace) -> int:
    from .image import find_images, load_image

    images = find_images(args.images)
    outputs = _check_outputs(args, images)
    estimator = _estimator(args)
    results, failed = [], 0
    for path in images:
        try:
            pixels = load_image(path)
        except PosenetError as exc:  # one bad file in a folder does not stop the rest
            print(f"posenet: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        result = estimator.estimate(pixels)
        results.append(result.to_dict(str(path)))
        if args.draw:
            from .render import draw_poses

            draw_poses(pixels, result.poses).save(outputs[path])
        if args.json != "-":
            scores = ", ".join(f"{p.score:.2f}" for p in result.poses) or "none"
            t = estimator.timings
            print(
                f"{path}: {len(result.poses)} pose(s) [{scores}]  "
                f"{t.total * 1000:.1f} ms (invoke {t.invoke * 1000:.1f} ms)"
            )
    if args.json and results:
        text = json.dumps(results, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
    return 2 if failed else 0


def _check_outputs(args: argparse.Namespace, images: list[Path]) -> dict[Path, Path]:
    """Where each drawn image goes; refuse to overwrite anything unless --force."""
    planned: dict[Path, Path] = {}
    if args.draw:
        target = Path(args.draw)
        if target.is_dir() or len(images) > 1 or args.draw.endswith(("/", "\\")):
            target.mkdir(parents=True, exist_ok=True)
            planned = {p: target / f"{p.stem}-poses{p.suffix.lower() or '.png'}" for p in images}
        else:
            planned = {images[0]: target}
        inputs = {p.resolve() for p in images}
        for out in planned.values():
            if out.resolve() in inputs:
                raise PosenetError(f"{out}: refusing to draw over an input image")
    existing = [str(p) for p in planned.values() if p.exists()]
    if args.json and args.json != "-" and Path(args.json).exists():
        existing.append(args.json)
    if existing and not args.force:
        raise PosenetError(f"{existing[0]}: exists; use --force to overwrite")
    return planned


def _models_list(args: argparse.Namespace) -> int:
    rows = [("name", "format", "input", "cached", "description")]
    for spec in store.REGISTRY:
        size = f"{spec.input_size[0]}x{spec.input_size[1]}" if spec.input_size else "any"
        name = spec.name + (" *" if spec.name == store.DEFAULT_MODEL else "")
        cached = "yes" if store.is_cached(spec) else "no"
        rows.append((name, spec.format, size, cached, spec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    print(f"\n* default model. Cache: {store.home() / 'models'}")
    return 0


def _models_pull(args: argparse.Namespace) -> int:
    names = [s.name for s in store.REGISTRY] if args.all else args.names or [store.DEFAULT_MODEL]
    specs = [store.spec(n) for n in names]
    for spec in specs:
        paths = store.pull(spec, _progress_bar(spec.name))
        print(f"{spec.name}: {paths[0]}")
    return 0


def _models_path(args: argparse.Namespace) -> int:
    print(store.path(args.name, _progress_bar(args.name)))
    return 0


def _progress_bar(label: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total:
            filled = int(30 * done / total)
            bar = "#" * filled + "." * (30 - filled)
            sys.stderr.write(f"\r{label} [{bar}] {done >> 10} / {total >> 10} KB")
        else:
            sys.stderr.write(f"\r{label} {done >> 10} KB")
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="posenet: %(message)s",
        )
        return args.run(args)
    except PosenetError as exc:
        print(f"posenet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("posenet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug or an environment problem: one line, exit 1
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        print(f"posenet: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
