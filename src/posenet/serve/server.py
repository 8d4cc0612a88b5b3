"""Running the service: the listening socket, the models, then uvicorn until stopped."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from ..errors import PosenetError
from .config import ServeConfig

#: What to install when Starlette, uvicorn or their helpers are missing.
INSTALL = "pip install 'posenet-toolkit[serve]'"

log = logging.getLogger(__name__)


def run(config: ServeConfig, on_ready: Callable[[str], None] | None = None) -> bool:
    """Serve `config` until interrupted (Ctrl-C, SIGTERM); False if uvicorn could not start.

    The socket is bound and every model built before uvicorn starts, so a taken
    port, an unknown model or a bad size is a one-line PosenetError; then
    `on_ready` gets a line saying where the server listens (its real port with
    `port` 0)."""
    try:
        import uvicorn

        from .app import create_app
        from .service import Service
    except ImportError as exc:
        raise PosenetError(f"posenet serve needs {exc.name}: {INSTALL}") from None
    listener = _listen(config.host, config.port)
    try:
        service = Service(config)
        service.load()
    except BaseException:
        listener.close()
        raise
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if on_ready is not None:
        on_ready(
            f"serving {', '.join(service.models)} on http://{shown}:{port}/ "
            f"with {config.workers} worker(s); Ctrl-C stops"
        )
    verbose = logging.getLogger("posenet").isEnabledFor(logging.INFO)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, service),
            log_level="info" if verbose else "warning",
            access_log=verbose,
            ws_max_size=config.max_body,
            timeout_graceful_shutdown=5,
        )
    )
    server.run(sockets=[listener])
    return server.started


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port is a one-line error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        raise PosenetError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener
