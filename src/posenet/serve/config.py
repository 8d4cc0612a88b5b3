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
from types import MappingProxyType
from typing import Any, ClassVar

from ..errors import PosenetError
from ..store import DEFAULT_MODEL

__all__ = ["ServeConfig"]


def _whole(low: int, high: int) -> Callable[[str], int]:
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


def _bytes(text: str) -> int:
    """'1048576', '512k', '10M' or '10MiB' -> bytes (k, M, G are powers of 1024)."""
    match = _BYTES.match(text)
    if not match:
        raise ValueError("not a byte count (e.g. 10M, 512k, 1048576)")
    value = int(match[1]) << {"": 0, "k": 10, "m": 20, "g": 30}[match[2].lower()]
    if value < 1:
        raise ValueError("must be at least 1 byte")
    return value


def _seconds(text: str) -> float:
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


@dataclass(frozen=True)
class ServeConfig:
    """A server's settings.

    models: the models served, by registry name or path (the first is the default);
        requests choose among them by name and can name nothing else.
    sizes: network input sizes offered for every model, besides the model's own
        (its own is the default).
    decoder: the decoder when a request names none.
    workers: threads decoding images and running the network, sharing one
        estimator per model setting.
    queue: requests admitted beyond those running; more are answered 503 + Retry-After.
    max_body: bytes of one request body or WebSocket frame.
    max_pixels: pixels of one decoded image.
    timeout: seconds from a request's arrival to its answer (body upload included).
    threads: LiteRT threads per network call (None: LiteRT's choice).
    """

    #: Each setting's parser from text (flags and variables alike); lists parse commas.
    PARSERS: ClassVar[Mapping[str, Callable[[str], Any]]] = MappingProxyType(
        {
            "host": str,
            "port": _whole(0, 65535),
            "models": _list,
            "sizes": _list,
            "decoder": str,
            "workers": _whole(1, 64),
            "queue": _whole(0, 100_000),
            "max_body": _bytes,
            "max_pixels": _whole(1, 100_000_000),
            "timeout": _seconds,
            "threads": _whole(1, 64),
        }
    )
    ENV_PREFIX: ClassVar[str] = "POSENET_SERVE_"

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
    def env_name(cls, name: str) -> str:
        """The variable of setting `name`: POSENET_SERVE_<NAME>."""
        return cls.ENV_PREFIX + name.upper()

    @classmethod
    def from_sources(
        cls, given: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> ServeConfig:
        """Settings from flags (`given`: setting -> parsed value, None when not given),
        else POSENET_SERVE_* variables, else the defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            value = given.get(item.name)
            if value not in (None, [], ()):
                values[item.name] = tuple(value) if isinstance(value, list) else value
                continue
            text = environ.get(cls.env_name(item.name), "").strip()
            if text:
                try:
                    values[item.name] = cls.PARSERS[item.name](text)
                except ValueError as exc:
                    raise PosenetError(f"{cls.env_name(item.name)}={text!r}: {exc}") from None
        return cls(**values)
