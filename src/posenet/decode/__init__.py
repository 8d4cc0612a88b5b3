"""Decoders: Heads -> Poses in model-input pixels.

`single` (TF.js decodeSinglePose), `tfjs` (TF.js decodeMultiplePoses) and
`coral` (Coral's PosenetDecoderOp). Each decoder's options are its keyword-only
parameters; this module reads them from the signatures, so the table the CLI
and the errors show cannot drift from the code.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import PosenetError
from ..heads import Heads
from ..poses import Pose

#: decoder name -> (module, function)
_DECODERS: dict[str, tuple[str, str]] = {
    "coral": ("coral", "decode_coral"),
    "tfjs": ("tfjs", "decode_tfjs"),
    "single": ("single", "decode_single"),
}
DECODERS: tuple[str, ...] = tuple(_DECODERS)
DEFAULT_DECODER = "coral"


def decoder_function(name: str) -> Callable[..., list[Pose]]:
    """The decoding function called `name`."""
    if name not in _DECODERS:
        raise PosenetError(f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}")
    module, function = _DECODERS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)


def decoder_defaults(name: str) -> dict[str, Any]:
    """The options of decoder `name` and their default values."""
    signature = inspect.signature(decoder_function(name))
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Return `options` if decoder `name` accepts them all; else a PosenetError."""
    allowed = decoder_defaults(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) or "no options"
        raise PosenetError(
            f"decoder {name!r} has no option {', '.join(unknown)} (it takes: {accepted})"
        )
    return options


def decode(heads: Heads, decoder: str = DEFAULT_DECODER, **options: Any) -> list[Pose]:
    """Decode `heads` with the named decoder and options; poses in input pixels."""
    return decoder_function(decoder)(heads, **check_options(decoder, options))
