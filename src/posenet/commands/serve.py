"""`posenet serve`: the HTTP service and its page (needs the `serve` extra)."""

from __future__ import annotations

import argparse
import logging
import socket
import sys

from ..decode import DECODERS
from ..errors import PosenetError
from ..serve.config import PARSERS, ServeConfig, env_name

INSTALL = "pip install 'posenet-toolkit[serve]'"


def register(commands: argparse._SubParsersAction) -> None:
    defaults = ServeConfig()
    serve = commands.add_parser(
        "serve",
        help="serve poses over HTTP, with a page to try them with a webcam",
        description="Every setting can also come from its POSENET_SERVE_* variable "
        "(a flag given wins). Lists (--model, --size) repeat the flag or separate "
        "the variable's items with commas.",
    )

    def flag(name: str, *names: str, shown: object = None, **kwargs) -> None:
        default = getattr(defaults, name) if shown is None else shown
        kwargs.setdefault("type", _flag_type(name))
        serve.add_argument(
            *names,
            dest=name,
            default=None,
            help=f"{kwargs.pop('help')} (default {default}; {env_name(name)})",
            **kwargs,
        )

    flag("host", "--host", help="address to listen on")
    flag("port", "--port", help="port to listen on, 0 for any free one")
    flag(
        "models",
        "--model",
        action="append",
        metavar="NAME|PATH",
        shown=", ".join(defaults.models),
        help="a model to serve; repeat for several, the first is the default",
    )
    flag(
        "sizes",
        "--size",
        action="append",
        metavar="HxW|N",
        shown=", ".join(defaults.sizes),
        help="an input size offered besides each model's own; repeat for several",
    )
    flag("decoder", "--decoder", choices=DECODERS, help="decoder when a request names none")
    flag("workers", "--workers", metavar="N", help="threads running the network, sharing it")
    flag("queue", "--queue", metavar="N", help="requests waiting beyond those running")
    flag(
        "max_body",
        "--max-body",
        metavar="BYTES",
        shown=f"{defaults.max_body >> 20}M",
        help="largest body or frame",
    )
    flag("max_pixels", "--max-pixels", metavar="N", help="largest image in pixels")
    flag("timeout", "--timeout", metavar="SECONDS", help="per request, upload included")
    flag("threads", "--threads", metavar="N", shown="LiteRT's", help="LiteRT threads per call")
    serve.set_defaults(run=run)


def _flag_type(name: str):
    """argparse type from the config's parser table; a list flag takes one item each time."""
    if name in ("models", "sizes"):
        return _checked(lambda text: PARSERS[name](text)[0])
    return _checked(PARSERS[name])


def _checked(parse):
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None

    return convert


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..serve.app import create_app
        from ..serve.service import Service
    except ImportError as exc:
        raise PosenetError(f"posenet serve needs {exc.name}: {INSTALL}") from None
    given = {name: getattr(args, name) for name in PARSERS}
    config = ServeConfig.from_sources(given)
    listener = _listen(config.host, config.port)
    service = Service(config)
    service.load()  # a bad model, size or decoder stops here, in one line
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"posenet: serving {', '.join(service.models)} on http://{shown}:{port}/ "
        f"with {config.workers} worker(s); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    level = "info" if logging.getLogger().isEnabledFor(logging.INFO) else "warning"
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, service),
            log_level=level,
            access_log=level == "info",
            ws_max_size=config.max_body,
            timeout_graceful_shutdown=5,
        )
    )
    server.run(sockets=[listener])
    return 0 if server.started else 1


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is a one-line error (exit 2)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        raise PosenetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.set_inheritable(True)
    return listener
