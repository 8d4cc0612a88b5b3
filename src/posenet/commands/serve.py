"""`posenet serve`: the HTTP service and its page (needs the `serve` extra)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import EstimatorSettings
from ..serve import ServeConfig
from ..serve import run as serve

DEFAULTS = ServeConfig()


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve poses over HTTP, with a page to try them with a webcam",
        description="Serve poses over HTTP and WebSocket, with a page at / that draws them "
        "on a picture or the webcam. Every setting can also come from its POSENET_SERVE_* "
        "variable (a flag given wins). Lists (--model, --size) repeat the flag, or separate "
        "the variable's items with commas. Needs pip install 'posenet-toolkit[serve]'.",
    )

    def flag(name: str, *names: str, shown: Any = None, **kwargs: Any) -> None:
        default = getattr(DEFAULTS, name) if shown is None else shown
        parse = ServeConfig.PARSERS[name]
        if kwargs.get("action") == "append":  # one item per flag
            kwargs["type"] = _checked(lambda text: parse(text)[0])
        else:
            kwargs.setdefault("type", _checked(parse))
        parser.add_argument(
            *names,
            dest=name,
            default=None,
            help=f"{kwargs.pop('help')} (default {default}; {ServeConfig.env_name(name)})",
            **kwargs,
        )

    flag("host", "--host", help="address to listen on")
    flag("port", "--port", help="port to listen on, 0 for any free one")
    flag(
        "models",
        "--model",
        action="append",
        metavar="NAME|PATH",
        shown=", ".join(DEFAULTS.models),
        help="a model to serve; repeat for several, the first is the default",
    )
    flag(
        "sizes",
        "--size",
        action="append",
        metavar="HxW|N",
        shown=", ".join(DEFAULTS.sizes),
        help="an input size offered besides each model's own; repeat for several",
    )
    flag(
        "decoder",
        "--decoder",
        choices=EstimatorSettings.CHOICES["decoder"],
        help="decoder when a request names none",
    )
    flag("workers", "--workers", metavar="N", help="threads running the network, sharing it")
    flag("queue", "--queue", metavar="N", help="requests waiting beyond those running")
    flag(
        "max_body",
        "--max-body",
        metavar="BYTES",
        shown=f"{DEFAULTS.max_body >> 20}M",
        help="largest request body or WebSocket frame",
    )
    flag("max_pixels", "--max-pixels", metavar="N", help="largest image in pixels")
    flag("timeout", "--timeout", metavar="SECONDS", help="per request, upload included")
    flag("threads", "--threads", metavar="N", shown="LiteRT's", help="LiteRT threads per call")
    parser.set_defaults(run=run)


def _checked(parse):
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    return convert


def run(args: argparse.Namespace) -> int:
    given = {name: getattr(args, name) for name in ServeConfig.PARSERS}
    config = ServeConfig.from_sources(given)
    started = serve(config, on_ready=lambda line: print(f"posenet: {line}", file=sys.stderr))
    return 0 if started else 1
