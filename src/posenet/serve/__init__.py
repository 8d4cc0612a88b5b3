"""`posenet serve`: poses over HTTP and WebSocket, and a page to try them with a webcam.

>>> from posenet.serve import ServeConfig, run
>>> run(ServeConfig(models=("coral-075-353x481", "tfjs-075"), workers=2))

Built on Starlette, run by uvicorn (the optional extra `posenet-toolkit[serve]`,
imported only when a server is made). Why Starlette rather than FastAPI on top
of it: what this service needs is a request body read under a byte limit and a
timeout, a WebSocket, worker threads and a test client, which is Starlette
itself; FastAPI's addition is declaring requests as typed parameters and
deriving pydantic validation and OpenAPI from them, but the body here is an
image, not JSON, and the query options are each decoder's own option table
(`posenet.decode.DECODERS`), which would have to be copied into parameter
declarations. Here that table checks the requests and writes the OpenAPI
document, so the two cannot drift; and the install stays small (Starlette
needs only anyio, no pydantic).

Layout: `config` (settings from flags and POSENET_SERVE_* variables), `service`
(models, request options, the work; no HTTP), `workers` (threads behind a
bounded queue), `app` (routes, limits, JSON errors), `openapi`, `page` (+
page.html), `server` (socket and uvicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import ServeConfig
from .server import run

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["ServeConfig", "create_app", "run"]


def create_app(config: ServeConfig) -> Starlette:
    """The ASGI application for `config`, for any ASGI server (needs the serve extra);
    the models are built when it starts (its lifespan)."""
    from .app import create_app as create

    return create(config)
