"""`posenet serve`: poses over HTTP and WebSocket, and a page to try them with a webcam.

Built on Starlette, run by uvicorn (the optional extra `posenet-toolkit[serve]`).
Why Starlette rather than FastAPI on top of it: what this service needs is
streaming a bounded request body, a WebSocket, worker threads and a test
client, which is Starlette itself; FastAPI's addition is declaring requests as
typed Python parameters and deriving validation and OpenAPI from them, but the
body here is an image, not JSON, and the query options are each decoder's own
option table (`posenet.decode`), which would have to be copied into parameter
declarations. Here that table checks the requests and writes the OpenAPI
document, so the two cannot drift; and the install stays small (Starlette needs
only anyio, no pydantic).

Layout: `config` (settings from flags and POSENET_SERVE_* variables), `service`
(models, request options, the work, no HTTP), `workers` (threads behind a bounded
queue), `app` (routes, limits, JSON errors), `openapi`, `page` (+ page.html).
"""

from __future__ import annotations

from .config import ServeConfig

__all__ = ["ServeConfig", "create_app"]


def create_app(config: ServeConfig):
    """The ASGI application for `config` (needs the serve extra)."""
    from .app import create_app as create

    return create(config)
