"""The `posenet` command: one sub-command per job, all through the public API.

Exit codes: 0 success, 2 usage or input error (one line on stderr), 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import PosenetError

log = logging.getLogger("posenet")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as PosenetError (exit 2, one line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise PosenetError(message)


#: Sub-commands, each a module of posenet.commands with register(subparsers).
COMMANDS: tuple[str, ...] = ("detect", "models", "eval", "bench", "inspect", "explain", "export")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="posenet", description="PoseNet human pose estimation on the CPU.")
    parser.add_argument("--version", action="version", version=f"posenet {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"posenet.commands.{name}").register(commands)
    return parser


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
