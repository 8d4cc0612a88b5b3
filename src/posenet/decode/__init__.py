"""Decoders: Heads -> Poses in model-input pixels.

`single` (TF.js decodeSinglePose), `tfjs` (TF.js decodeMultiplePoses) and
`coral` (Coral's PosenetDecoderOp). Each decoder's options are its keyword-only
parameters; this module reads them from the signatures, so the table the CLI
and the errors show cannot drift from the code. The allowed values of each are
in its module's `OPTION_RANGES` (see `_options`), read by the errors here, by
the decoder itself and by `option_ranges` for help texts.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import PosenetError
from ..heads import Heads
from ..poses import Pose
from ._options import Range, check_ranges

#: decoder name -> (module, function)
_DECODERS: dict[str, tuple[str, str]] = {
    "coral": ("coral", "decode_coral"),
    "tfjs": ("tfjs", "decode_tfjs"),
    "single": ("single", "decode_single"),
}
DECODERS: tuple[str, ...] = tuple(_DECODERS)
DEFAULT_DECODER = "coral"


def _module(name: str) -> Any:
    if name not in _DECODERS:
        raise PosenetError(f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}")
    return importlib.import_module(f"{__name__}.{_DECODERS[name][0]}")


def decoder_function(name: str) -> Callable[..., list[Pose]]:
    """The decoding function called `name`."""
    return getattr(_module(name), _DECODERS[name][1])


def decoder_defaults(name: str) -> dict[str, Any]:
    """The options of decoder `name` and their default values."""
    signature = inspect.signature(decoder_function(name))
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def option_ranges(name: str) -> dict[str, Range]:
    """The allowed values of each option of decoder `name`; str(range) describes them."""
    return dict(_module(name).OPTION_RANGES)


def check_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Return `options`, unchanged, if decoder `name` accepts them all; else a PosenetError."""
    allowed = decoder_defaults(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) or "no options"
        raise PosenetError(f"decoder {name}: no option {', '.join(unknown)} (it takes: {accepted})")
    check_ranges(name, option_ranges(name), options)
    return options


def decode(heads: Heads, decoder: str = DEFAULT_DECODER, **options: Any) -> list[Pose]:
    """Decode `heads` with the named decoder and options; poses in input pixels."""
    return decoder_function(decoder)(heads, **check_options(decoder, options))
