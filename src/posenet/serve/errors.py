"""The one error a request can get: an HTTP status, a one-line message, maybe headers."""

from __future__ import annotations

import json


class ServiceError(Exception):
    """A request the service refuses or cannot answer; rendered as JSON {"error": message}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def to_dict(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
