"""The OpenAPI 3.1 document, built from the tables the service itself checks requests with.

Query options come from `service.query_options` (the decoders' own option
tables), models and sizes from the running configuration: the document cannot
promise an option the server refuses or hide one it takes.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..keypoints import PART_NAMES
from .service import Service, decoder_options, query_options


def openapi_document(service: Service) -> dict[str, Any]:
    sizes = sorted({size for model in service.models.values() for size in model.sizes})
    enums: dict[str, list[Any]] = {
        "model": list(service.models),
        "size": sizes,
        "decoder": list(decoder_options()),
    }
    parameters = []
    for name, description in query_options(service).items():
        schema: dict[str, Any] = {"type": "string"}
        if name in enums:
            schema["enum"] = enums[name]
        else:
            schema = _option_schema(name)
        parameters.append(
            {"name": name, "in": "query", "required": False, "description": description,
             "schema": schema}
        )  # fmt: skip
    image = {"type": "string", "format": "binary"}
    errors = {
        str(status): {"description": what, "content": _json("Error")}
        for status, what in (
            (400, "bad options, an empty body, a damaged or unreadable image"),
            (408, "the body did not arrive within the timeout"),
            (413, "body over the byte limit, or image over the pixel limit"),
            (415, "a Content-Type that is neither an image, octet-stream nor multipart"),
            (503, "the queue is full; Retry-After says when to try again"),
            (504, "no answer within the timeout"),
        )
    }
    limits = service.config
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "posenet",
            "version": __version__,
            "description": (
                "PoseNet human poses for an image. Limits: bodies up to "
                f"{limits.max_body:,} bytes, images up to {limits.max_pixels:,} pixels, "
                f"{limits.timeout:g} s per request. Live frames: WebSocket /v1/live with the "
                "same query options; send each frame as one binary message (JPEG, PNG ...), "
                "get one text message back: the poses answer, or an Error."
            ),
        },
        "paths": {
            "/v1/poses": {
                "post": {
                    "summary": "Poses in one image",
                    "parameters": parameters,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "image/*": {"schema": image},
                            "application/octet-stream": {"schema": image},
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"image": image},
                                    "required": ["image"],
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": {"description": "the poses", "content": _json("Poses")},
                        **errors,
                    },
                }
            },
            "/v1/models": {
                "get": {
                    "summary": "Served models, their sizes, the decoders and their options",
                    "responses": {"200": {"description": "the served set", "content": _json()}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness and load",
                    "responses": {"200": {"description": "serving", "content": _json()}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": _json()}},
                }
            },
            "/": {
                "get": {
                    "summary": "The page: try it with a picture or the webcam",
                    "responses": {
                        "200": {
                            "description": "HTML",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _schemas()},
    }


def _option_schema(name: str) -> dict[str, Any]:
    """The widest range `name` takes under any decoder; the description has each one."""
    ranges = [options[name][1] for options in decoder_options().values() if name in options]
    whole = all(r.whole for r in ranges)
    return {
        "type": "integer" if whole else "number",
        "minimum": min(r.lowest for r in ranges),
        "maximum": max(r.highest for r in ranges),
    }


def _json(schema: str | None = None) -> dict[str, Any]:
    body = {"$ref": f"#/components/schemas/{schema}"} if schema else {"type": "object"}
    return {"application/json": {"schema": body}}


def _schemas() -> dict[str, Any]:
    number = {"type": "number"}
    keypoint = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": list(PART_NAMES)},
            "x": number,
            "y": number,
            "score": number,
        },
        "required": ["name", "x", "y", "score"],
    }
    pose = {
        "type": "object",
        "properties": {
            "score": number,
            "keypoints": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Keypoint"},
                "minItems": len(PART_NAMES),
                "maxItems": len(PART_NAMES),
            },
        },
        "required": ["score", "keypoints"],
    }
    milliseconds = {"type": "object", "additionalProperties": number}
    poses = {
        "type": "object",
        "description": "the CLI's JSON for one image (`posenet detect --json`), plus "
        "decoder, size and timings (milliseconds)",
        "properties": {
            "image": {"type": ["string", "null"], "description": "the multipart file name"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "model": {"type": "string"},
            "poses": {"type": "array", "items": {"$ref": "#/components/schemas/Pose"}},
            "decoder": {"type": "string"},
            "size": {"type": "string"},
            "timings": milliseconds,
        },
        "required": ["image", "width", "height", "model", "poses"],
    }
    error = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
        "required": ["error", "status"],
    }
    return {"Keypoint": keypoint, "Pose": pose, "Poses": poses, "Error": error}
