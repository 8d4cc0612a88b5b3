"""The `posenet` command: one sub-command per job, all through the public API.

Exit codes: 0 success, 2 usage or input error (one line on stderr), 1 anything else
(one line too, saying how to see the traceback: --debug or POSENET_DEBUG=1).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator

from . import __version__
from .errors import PosenetError

log = logging.getLogger("posenet")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as PosenetError (exit 2, one line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise PosenetError(message)


#: Sub-commands, each a module of posenet.commands with register(subparsers).
COMMANDS: tuple[str, ...] = (
    "detect",
    "video",
    "batch",
    "models",
    "eval",
    "bench",
    "inspect",
    "explain",
    "export",
    "serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="posenet",
        description="PoseNet human pose estimation on the CPU. "
        "`posenet COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"posenet {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", parser_class=_Parser
    )
    for name in COMMANDS:
        importlib.import_module(f"posenet.commands.{name}").register(commands)
    for each in walk(parser):  # before or after the sub-command: both work
        each.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="say more"
        )
        each.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="log everything, and show the traceback of an internal error (or set "
            "POSENET_DEBUG=1)",
        )
        if not each.get_default("run"):  # `posenet`, `posenet models`: what is there to run
            each.set_defaults(run=_usage(each))
    return parser


def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every sub-command's parser below it, depth first."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases appear twice
                yield from walk(sub)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """A run() for a command given without its sub-command: its help on stderr, exit 2
    (argparse's code for a missing argument)."""

    def run(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return run


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = os.environ.get("POSENET_DEBUG", "") not in ("", "0") or "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        debug = debug or getattr(args, "debug", False)
        logging.basicConfig(level=logging.WARNING, format="posenet: %(message)s")
        verbose = logging.INFO if getattr(args, "verbose", False) else logging.WARNING
        log.setLevel(logging.DEBUG if debug else verbose)
        # Python warnings of the libraries (numpy, Pillow) are diagnostics, not results:
        # logged, and shown only with -v or --debug
        logging.captureWarnings(True)
        shown = debug or verbose == logging.INFO
        logging.getLogger("py.warnings").setLevel(logging.INFO if shown else logging.ERROR)
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
        if debug:
            traceback.print_exc()
            how = ""
        else:
            how = " (--debug or POSENET_DEBUG=1 shows the traceback)"
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"posenet: internal error: {type(exc).__name__}: {first}{how}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
