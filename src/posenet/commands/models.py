"""`posenet models`: list, download and locate the named models of the store."""

from __future__ import annotations

import argparse

from .. import store
from .progress import progress_bar


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser(
        "models",
        help="list, download or locate named models",
        description="The named models posenet knows: their formats and whether they are at "
        "hand. The default ships with posenet; the others are fetched once, checked against "
        "their sha256, into the cache ($POSENET_HOME, else ~/.cache/posenet), from "
        "$POSENET_MIRROR (a folder or URL) or their public URLs.",
    )
    verbs = models.add_subparsers(
        dest="verb", metavar="VERB", title="verbs", parser_class=type(models)
    )
    verbs.add_parser(
        "list",
        help="the known models and whether they are cached",
        description="Every registry model: name, format, input size, where it is, what it is.",
    ).set_defaults(run=_models_list)
    pull = verbs.add_parser(
        "pull",
        help="download models into the cache (default: the default)",
        description="Fetch models into the cache now, e.g. before going offline.",
    )
    pull.add_argument("names", nargs="*", metavar="NAME", help="registry names (models list)")
    pull.add_argument("--all", action="store_true", help="every model in the registry")
    pull.set_defaults(run=_models_pull)
    where = verbs.add_parser(
        "path",
        help="print the local path of a model, fetching it if needed",
        description="Print the file a model is read from (fetching it first if needed).",
    )
    where.add_argument("name", metavar="NAME", help="a registry name (models list)")
    where.set_defaults(run=_models_path)


def _models_list(args: argparse.Namespace) -> int:
    rows = [("name", "format", "input", "cached", "description")]
    for spec in store.REGISTRY:
        size = f"{spec.input_size[0]}x{spec.input_size[1]}" if spec.input_size else "any"
        name = spec.name + (" *" if spec.name == store.DEFAULT_MODEL else "")
        cached = "built in" if store.is_packaged(spec) else "yes" if store.is_cached(spec) else "no"
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
        paths = store.pull(spec, progress_bar(spec.name, "KB", 1024))
        print(f"{spec.name}: {paths[0]}")
    return 0


def _models_path(args: argparse.Namespace) -> int:
    print(store.path(args.name, progress_bar(args.name, "KB", 1024)))
    return 0
