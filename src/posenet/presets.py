"""Presets: the whole pipeline set up as a named reference does it, one row each.

`Estimator(like="tfjs")` (`posenet detect --like tfjs`) fits, feeds, decodes and
maps back exactly as TF.js PoseNet 2.x does, `like="coral"` as Coral's
project-posenet; the default row, `posenet`, is this project's own choice. A
setting given explicitly (a model, a decoder, a fit ...) wins over its preset's,
so `like="tfjs", decoder="single"` is TF.js's estimateSinglePose. Decoder
options are the decoder's own defaults (the `tfjs` decoder's are TF.js's, the
`coral` decoder's come from the model file).

The reference outputs these reproduce are in `../shared/assets/reference/`; the
tests compare against them (tests/test_presets.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .decode import DEFAULT_DECODER
from .errors import PosenetError

__all__ = ["DEFAULT_PRESET", "PRESETS", "SETTINGS", "Preset", "preset", "resolve"]


@dataclass(frozen=True)
class Preset:
    """How one reference runs PoseNet, from image to poses.

    model: the model when none is named (None: the store's default).
    fit, resample: see posenet.image.FITS and RESAMPLES.
    input_type: "float" feeds a float model the resampled pixels as they are;
        "uint8" rounds them first (see posenet.runtime.INPUT_TYPES).
    decoder: a name from posenet.decode.DECODERS, with its default options.
    precision: what runs (posenet.model.PRECISIONS): the references run a model's
        own arithmetic; this project's default runs Coral's uint8 models in int8.
    draft: big JPEG files decoded reduced (posenet.image.read_image); the references
        decode them in full.
    sort: poses sorted by score (else in the decoder's own order).
    clip: positions clipped into the image (else where the decoder put them).
    """

    name: str
    reproduces: str
    model: str | None
    fit: str
    resample: str
    input_type: str
    decoder: str
    precision: str
    draft: bool
    sort: bool
    clip: bool


#: Every preset, by name; the first is the default. The settings a preset fills in
#: are SETTINGS, fields of both Preset and EstimatorSettings.
PRESETS: dict[str, Preset] = {
    row.name: row
    for row in (
        Preset(
            name="posenet",
            reproduces="this project's defaults: the Coral decoder, sorted and clipped poses",
            model=None,
            fit="pad",
            resample="bilinear",
            input_type="float",
            decoder=DEFAULT_DECODER,
            precision="auto",
            draft=True,
            sort=True,
            clip=True,
        ),
        Preset(
            name="tfjs",
            reproduces="TF.js PoseNet 2.x: padAndResizeTo (symmetric pad, resizeBilinear of "
            "float pixels), decodeMultiplePoses with its defaults, scaleAndFlipPoses; poses "
            "in TF.js's order and unclipped",
            model="tfjs-075",
            fit="symmetric",
            resample="bilinear",
            input_type="float",
            decoder="tfjs",
            precision="original",
            draft=False,
            sort=False,
            clip=False,
        ),
        Preset(
            name="coral",
            reproduces="Coral's project-posenet: the image stretched with PIL's nearest "
            "resize, uint8 pixels, the file's uint8 arithmetic, PosenetDecoderOp with the "
            "model's options",
            model=None,
            fit="stretch",
            resample="nearest",
            input_type="uint8",
            decoder="coral",
            precision="original",
            draft=False,
            sort=False,
            clip=False,
        ),
    )
}
DEFAULT_PRESET: str = next(iter(PRESETS))

#: The settings a preset fills in, each an EstimatorSettings field of the same name.
SETTINGS: tuple[str, ...] = (
    "model",
    "fit",
    "resample",
    "input_type",
    "decoder",
    "precision",
    "draft",
)


def preset(name: str | None) -> Preset:
    """The preset called `name` (None: the default); PosenetError naming the choices."""
    name = DEFAULT_PRESET if name is None else name
    if name not in PRESETS:
        raise PosenetError(f"unknown preset like={name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def resolve(like: str | None, **given: Any) -> dict[str, Any]:
    """The settings `given` (SETTINGS: model, fit, resample, input_type, decoder,
    precision, draft), each None replaced by the value of preset `like`."""
    row = preset(like)
    unknown = set(given) - set(SETTINGS)
    if unknown:
        raise TypeError(f"presets set {SETTINGS}, not {sorted(unknown)}")
    return {key: getattr(row, key) if value is None else value for key, value in given.items()}
