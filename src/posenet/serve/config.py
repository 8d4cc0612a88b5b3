"""What a server is configured with: one table read by the flags, the environment and the docs.

Every setting has a flag (`--max-body`) and a variable (`POSENET_SERVE_MAX_BODY`);
a flag given wins over the variable, the variable over the default. Lists
(models, sizes) are repeated flags or comma-separated variables.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import PosenetError
from ..store import DEFAULT_MODEL

ENV_PREFIX = "POSENET_SERVE_"


@dataclass(frozen=True)
class ServeConfig:
    """A server's settings.

    models: the models served, by registry name or path (the first is the default);
        requests choose among them by name and can name nothing else.
    sizes: network input sizes offered for every model, besides the model's own
        (its own is the default).
    workers: threads running the network, all sharing one estimator per model setting.
    queue: requests admitted beyond those running; more are answered 503 + Retry-After.
    max_body: bytes of one request body or WebSocket frame.
    max_pixels: pixels of one decoded image.
    timeout: seconds from a request's arrival to its answer (body upload included).
    threads: LiteRT threads per network call (None: LiteRT's choice).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    sizes: tuple[str, ...] = ("257x353", "353x481", "481x641")
    decoder: str = "coral"
    workers: int = 2
    queue: int = 32
    max_body: int = 10 << 20
    max_pixels: int = 40_000_000
    timeout: float = 10.0
    threads: int | None = None

    @classmethod
    def from_sources(
        cls, given: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> ServeConfig:
        """Settings from flags (`given`: field name -> parsed value, None when not given),
        else POSENET_SERVE_* variables, else the defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            flag_value = given.get(item.name)
            if flag_value not in (None, [], ()):
                values[item.name] = (
                    tuple(flag_value) if isinstance(flag_value, list) else flag_value
                )
                continue
            text = environ.get(env_name(item.name), "").strip()
            if text:
                try:
                    values[item.name] = PARSERS[item.name](text)
                except ValueError as exc:
                    raise PosenetError(f"{env_name(item.name)}={text!r}: {exc}") from None
        return cls(**values)


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _positive_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"not a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value

    return parse


_BYTES = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)(i?[bB])?\s*$")


def parse_bytes(text: str) -> int:
    """'1048576', '512k', '10M' or '10MiB' -> bytes (k, M, G are powers of 1024)."""
    match = _BYTES.match(text)
    if not match:
        raise ValueError("not a byte count (e.g. 10M, 512k, 1048576)")
    value = int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]
    if value < 1:
        raise ValueError("must be at least 1 byte")
    return value


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number of seconds") from None
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise ValueError("must be more than 0 and at most 3600 seconds")
    return value


def _list(text: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise ValueError("an empty list")
    return items


#: Field -> parser of its text form (flags and variables alike).
PARSERS: dict[str, Callable[[str], Any]] = {
    "host": str,
    "port": _positive_int(0, 65535),
    "models": _list,
    "sizes": _list,
    "decoder": str,
    "workers": _positive_int(1, 64),
    "queue": _positive_int(0, 100_000),
    "max_body": parse_bytes,
    "max_pixels": _positive_int(1, 100_000_000),
    "timeout": parse_seconds,
    "threads": _positive_int(1, 64),
}
