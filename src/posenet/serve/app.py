"""The ASGI application: routes, limits, and every error as a JSON body.

    GET  /              the page (self-contained HTML, no CDN)
    POST /v1/poses      an image (raw body or multipart field `image`) -> poses as JSON
    GET  /v1/models     the served models, sizes, decoders and their options
    GET  /healthz       liveness and load
    GET  /openapi.json  the OpenAPI document
    WS   /v1/live       one binary frame (JPEG, PNG ...) in, one JSON text message out

The body limit is enforced while the body streams in (and at once from
Content-Length), the timeout covers the upload too, so neither a huge nor a
trickling body can hold the server.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from .config import ServeConfig
from .errors import ServiceError
from .openapi import openapi_document
from .page import render_page
from .service import Service


def create_app(config: ServeConfig, service: Service | None = None) -> Starlette:
    """The application serving `config`; models are built at startup (lifespan)."""
    service = service or Service(config)
    config = service.config

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not service.models:
            await anyio.to_thread.run_sync(service.load)
        try:
            yield
        finally:
            service.shutdown()

    app = Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/v1/poses", poses, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            WebSocketRoute("/v1/live", live),
        ],
        exception_handlers={
            ServiceError: _service_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodyLimit, max_bytes=config.max_body)
    return app


# --- routes ---------------------------------------------------------------------------------


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(render_page(), headers={"Cache-Control": "no-cache"})


async def poses(request: Request) -> Response:
    service: Service = request.app.state.service
    timeout = service.config.timeout
    deadline = time.monotonic() + timeout
    settings = service.settings_for(request.query_params.multi_items())
    try:
        with anyio.fail_after(timeout):
            data, name = await _read_image(request)
    except TimeoutError:
        raise ServiceError(
            408, f"the request body did not arrive within the timeout of {timeout:g} s"
        ) from None
    answer = await service.estimate(settings, data, deadline, image=name)
    return Response(answer, media_type="application/json")


async def _read_image(request: Request) -> tuple[bytes, str | None]:
    """The image bytes and the uploaded file's name (multipart only)."""
    content_type = request.headers.get("content-type", "")
    media = content_type.partition(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise ServiceError(400, "multipart body: no file field named 'image'")
            data = await upload.read()
            name = upload.filename
    elif media.startswith("image/") or media == "application/octet-stream":
        data, name = await request.body(), None
    else:
        raise ServiceError(
            415,
            f"Content-Type {content_type or '(none)'!r} is not accepted: send the image as "
            "the body (image/jpeg, image/png, ... or application/octet-stream) or as the "
            "multipart/form-data field 'image'",
        )
    if not data:
        raise ServiceError(400, "the image is empty (0 bytes)")
    return data, name


async def models(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.service.describe())


async def healthz(request: Request) -> JSONResponse:
    service: Service = request.app.state.service
    return JSONResponse(
        {
            "status": "ok",
            "models": list(service.models),
            "workers": service.pool.workers,
            "in_progress": service.pool.admitted,
            "capacity": service.pool.capacity,
            "answered": service.pool.completed,
        }
    )


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(request.app.state.service))


async def live(socket: WebSocket) -> None:
    """Live frames: options in the URL's query, then per binary frame one JSON answer,
    an error frame ({"error", "status"}) for a bad one; the socket stays open."""
    service: Service = socket.app.state.service
    await socket.accept()
    try:
        settings = service.settings_for(socket.query_params.multi_items())
    except ServiceError as exc:
        await socket.send_text(exc.to_json())
        await socket.close(code=1008, reason="bad options")
        return
    try:
        while True:
            message = await socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            try:
                if data is None:
                    raise ServiceError(415, "send each frame as a binary message (JPEG, PNG ...)")
                if not data:
                    raise ServiceError(400, "the image is empty (0 bytes)")
                deadline = time.monotonic() + service.config.timeout
                answer = await service.estimate(settings, data, deadline)
            except ServiceError as exc:
                answer = exc.to_json()
            await socket.send_text(answer)
    except WebSocketDisconnect:
        return


# --- errors ---------------------------------------------------------------------------------


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (404, 405, a malformed multipart body) as JSON."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no route {request.url.path}; see /openapi.json"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return JSONResponse(
        {"error": detail, "status": exc.status_code},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": f"internal error: {type(exc).__name__}", "status": 500}, status_code=500
    )


class BodyLimit:
    """Refuses request bodies over `max_bytes`: from Content-Length before reading, else
    as soon as the streamed bytes pass the limit (413 either way)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(int(declared))(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise ServiceError(413, self._message(None))
            return message

        await self.app(scope, limited, send)

    def _refuse(self, size: int) -> Response:
        error = ServiceError(413, self._message(size))
        return JSONResponse(error.to_dict(), status_code=413)

    def _message(self, size: int | None) -> str:
        declared = f" ({size:,} bytes)" if size is not None else ""
        return f"the request body{declared} is over the limit of {self.max_bytes:,} bytes"
