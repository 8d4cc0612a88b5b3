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
        """{"error", "status"}, and "retry_after" (seconds) when the server is busy: a
        WebSocket answer has no headers to carry Retry-After."""
        body: dict[str, object] = {"error": self.message, "status": self.status}
        if "Retry-After" in self.headers:
            body["retry_after"] = int(self.headers["Retry-After"])
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
