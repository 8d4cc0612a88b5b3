"""Decoders: Heads -> Poses in model-input pixels, one registry of them.

`single` (TF.js decodeSinglePose), `tfjs` (TF.js decodeMultiplePoses) and
`coral` (Coral's PosenetDecoderOp). `DECODERS` holds one `Decoder` record per
decoder; everything that picks, describes or checks a decoder reads it, so
nothing compares decoder names. A decoder's options are its function's
keyword-only parameters (their defaults are read from the signature, so the
table the CLI and the errors show cannot drift from the code); their allowed
values are its module's `OPTION_RANGES` (see `_options`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import PosenetError
from ..heads import Heads
from ..poses import Pose
from . import coral, single, tfjs
from ._options import Range, check_ranges

__all__ = ["DECODERS", "DEFAULT_DECODER", "Decoder", "decode", "get_decoder"]


@dataclass(frozen=True)
class Decoder:
    """One decoder.

    name: what users call it (`--decoder NAME`).
    function: `function(heads, **options) -> list[Pose]`, poses in input pixels, in the
        order and at the positions the code it reproduces returns them (the estimator
        sorts and clips them: posenet.poses.to_image).
    option_ranges: the allowed values of each option (its keyword-only parameters).
    takes_model_options: the options a model file embeds for its own decoder op
        (Coral's PosenetDecoderOp) are this decoder's defaults for that model.
    summary: one line for help texts.
    """

    name: str
    function: Callable[..., list[Pose]]
    option_ranges: Mapping[str, Range]
    takes_model_options: bool
    summary: str

    @property
    def defaults(self) -> dict[str, Any]:
        """Each option and its default value, in signature order."""
        return {
            p.name: p.default
            for p in inspect.signature(self.function).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }

    def check(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """`options` as a dict, if this decoder accepts them all; else a PosenetError."""
        allowed = self.defaults
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            accepted = ", ".join(allowed) or "no options"
            raise PosenetError(
                f"decoder {self.name}: no option {', '.join(unknown)} (it takes: {accepted})"
            )
        check_ranges(self.name, self.option_ranges, options)
        return dict(options)

    def options_for(self, embedded: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
        """The options to run with: a model's `embedded` ones where this decoder takes
        them (only those it knows), overridden by the `given` ones; checked."""
        known = self.defaults if self.takes_model_options else {}
        return self.check({**{k: v for k, v in embedded.items() if k in known}, **given})


#: Every decoder by name; the first is the default.
DECODERS: Mapping[str, Decoder] = {
    d.name: d
    for d in (
        Decoder(
            "coral",
            coral.decode_coral,
            MappingProxyType(coral.OPTION_RANGES),
            takes_model_options=True,
            summary="Coral's PosenetDecoderOp (multi-pose)",
        ),
        Decoder(
            "tfjs",
            tfjs.decode_tfjs,
            MappingProxyType(tfjs.OPTION_RANGES),
            takes_model_options=False,
            summary="TF.js decodeMultiplePoses",
        ),
        Decoder(
            "single",
            single.decode_single,
            MappingProxyType(single.OPTION_RANGES),
            takes_model_options=False,
            summary="TF.js decodeSinglePose (one pose)",
        ),
    )
}
DEFAULT_DECODER: str = next(iter(DECODERS))


def get_decoder(name: str) -> Decoder:
    """The decoder called `name`; a PosenetError naming the choices if there is none."""
    try:
        return DECODERS[name]
    except (KeyError, TypeError):
        raise PosenetError(
            f"unknown decoder {name!r}; choose one of {', '.join(DECODERS)}"
        ) from None


def decode(heads: Heads, decoder: str = DEFAULT_DECODER, **options: Any) -> list[Pose]:
    """Decode `heads` with the named decoder and options; poses in input pixels."""
    chosen = get_decoder(decoder)
    return chosen.function(heads, **chosen.check(options))
