"""Export a PoseNet for the edge: TFLite (float32 / float16 / int8 / uint8) and the Kendryte K210.

`export()` reads any model the package understands into a Network (so a
TF.js graph, a checkpoint, a frozen graph or a quantized Coral file all
export alike), writes the requested file(s) and checks every file it wrote
beside a reference on one image (export.verify): the largest head error and
the mean keypoint distance of the people found. A file that no longer finds
the people is visible at once, not on the device.

- tflite (export.tflite): the builder's float32 or float16 model, or that
  model quantized to full integer by TFLite's calibrator (export.quantize).
- k210 (export.k210): a float TFLite in the KPU's layout next to a uint8
  kmodel compiled and quantized by nncase 1.x, which runs in its own Python
  3.10 venv; the kmodel is checked in nncase's simulator.

Calibration images (int8, uint8, k210) come from `calibration` or the
POSENET_CALIBRATION folder; there is no built-in set, because ranges measured
on images unlike the deployment's make a quietly worse model.

Outputs are checked before any work: a folder, a missing or unwritable folder,
anything but a regular file, and above all any input - the model's files (a
TF.js model's JSON and shards, through symlinks too), the check image, a
calibration image - are refused with one PosenetError. Files of an earlier
export are replaced, each through a temporary file renamed into place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..decode import DEFAULT_DECODER
from ..errors import PosenetError
from ..files import check_output, same_file, write_atomic
from ..formats import detect_format, read_network, source_files
from ..heads import Heads
from ..image import find_images, fit, load_image
from ..model import load_tflite, resolve
from ..runtime import Runtime
from ..sizes import parse_size, resolve_size, round_side
from ..tflite.build import build_tflite
from .k210 import (
    KModel,
    KModelRunner,
    compile_kmodel,
    dilated_layers,
    k210_size,
    k210_tflite,
)
from .tflite import QUANTIZATIONS, export_tflite, needs_calibration
from .verify import Check, check

__all__ = [
    "CALIBRATION_LIMIT",
    "FORMATS",
    "QUANTIZATIONS",
    "Check",
    "ExportResult",
    "KModel",
    "export",
    "output_files",
]

log = logging.getLogger(__name__)

#: --format values; the CLI's help and errors read this table.
FORMATS: dict[str, str] = {
    "tflite": "TFLite for LiteRT and integer accelerators (see --quantize)",
    "k210": "Kendryte K210: KPU-layout float TFLite + uint8 kmodel compiled by nncase 1.x",
}
#: At most this many calibration images are used (sorted by name).
CALIBRATION_LIMIT = 100
#: Input size of a TFLite export from a source without a fixed size: Coral's middle model.
DEFAULT_TFLITE_SIZE = (353, 481)


@dataclass(frozen=True)
class ExportResult:
    """What export() wrote and how its checks came out.

    files: paths written, the main one first (the kmodel for k210).
    checks: one per comparison made (see export.verify.Check).
    kmodel: the compiled kmodel with nncase's region report (k210 only).
    notes: adjustments made on the way (a rounded size, a synthetic check image).
    """

    model: str
    format: str
    quantize: str
    input_size: tuple[int, int]
    output_stride: int
    files: tuple[Path, ...]
    checks: tuple[Check, ...]
    kmodel: KModel | None = None
    notes: tuple[str, ...] = ()


def output_files(output: str | Path, format: str) -> tuple[Path, ...]:
    """The files export() writes for output and format, main file first.

    k210 writes two: FILE.kmodel and FILE.tflite (the float model in the KPU
    layout, which nncase compiled), whichever of the two suffixes output has.
    """
    output = Path(output)
    if format != "k210":
        return (output,)
    stem = output.with_suffix("") if output.suffix.lower() in (".kmodel", ".tflite") else output
    return Path(f"{stem}.kmodel"), Path(f"{stem}.tflite")


def export(
    model: str | Path,
    output: str | Path,
    *,
    format: str = "tflite",
    size: str | tuple[int, int] | None = None,
    output_stride: int | None = None,
    quantize: str = "none",
    calibration: str | Path | None = None,
    check_image: str | Path | None = None,
    decoder: str = DEFAULT_DECODER,
) -> ExportResult:
    """Export model (registry name or file) to output in format, then check it.

    size: "HxW" / "N" / (h, w); default the source's own size (Coral files),
        else 353x481, and for k210 the K210 default (export.k210.DEFAULT_SIZE).
        Sizes are rounded to what the format takes; notes say so.
    output_stride: default the source's native stride.
    quantize: a QUANTIZATIONS key (tflite only; nncase quantizes k210 itself).
    calibration: folder (or image) of calibration images, default
        $POSENET_CALIBRATION; needed for int8, uint8 and k210.
    check_image: image for the checks; default the first calibration image,
        else a synthetic one (heads only: it holds no people).
    decoder: decoder used to compare poses.
    Existing output files are replaced. Raises PosenetError for anything the
    user can fix: an output that is a folder, in a missing or unwritable
    folder, not a regular file or one of the inputs; an unknown format or quantization, an Edge TPU
    file, a size the target cannot take, missing calibration images, a missing
    Python 3.10 or nncase (the K210 float TFLite is written before nncase
    runs, and the message says where).
    """
    if format not in FORMATS:
        raise PosenetError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZATIONS:
        raise PosenetError(
            f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}"
        )
    if format == "k210" and quantize != "none":
        raise PosenetError("k210: nncase quantizes the kmodel to uint8 itself; drop --quantize")
    if Path(output).is_dir() or str(output).endswith(("/", os.sep)):
        raise PosenetError(f"{output}: is a folder; -o names the file to write")
    files = output_files(output, format)
    name, path = resolve(model)
    _refuse_inputs(files, _inputs(path, check_image, calibration))
    for file in files:
        check_output(file)
    network = read_network(path)
    stride = output_stride or network.native_output_stride
    notes: list[str] = []
    if format == "k210":
        input_size = k210_size(size, stride)
    else:
        input_size = resolve_size(size or _source_size(path), stride, network=network)
    requested = parse_size(size) if isinstance(size, str) else size
    if requested is not None and tuple(requested) != input_size:
        notes.append(
            f"size {requested[0]}x{requested[1]} rounded to {input_size[0]}x{input_size[1]}"
        )
    calibrated = format == "k210" or needs_calibration(quantize)
    calibration_images = _calibration(calibration, input_size) if calibrated else []
    if calibrated and not calibration_images:
        what = "k210 (nncase quantizes to uint8)" if format == "k210" else quantize
        raise PosenetError(
            f"{what} needs calibration images: --calibration DIR (up to {CALIBRATION_LIMIT} "
            "photos like the ones the model will see) or POSENET_CALIBRATION=DIR"
        )
    image_name, image = _check_image(check_image, calibration)
    if image is None:
        notes.append("no check image given: checked on a synthetic image (heads only)")
        image = _synthetic_image()
    context = _Context(image, image_name, decoder, stride)
    if format == "tflite":
        data = export_tflite(network, input_size, stride, quantize, calibration_images)
        write_atomic(files[0], data)
        label = f"{quantize if quantize != 'none' else 'float32'} TFLite"
        checks = [context.check(build_tflite(network, input_size, stride), data, label, "float32")]
        if detect_format(path) == "tflite":
            checks.extend(context.check_source(path, data, label))
        return ExportResult(
            name, format, quantize, input_size, stride, files, tuple(checks), notes=tuple(notes)
        )
    kmodel_path, tflite_path = files
    float_model = k210_tflite(network, input_size, stride)
    if dilated := dilated_layers(network, stride):
        notes.append(
            f"output stride {stride} dilates {', '.join(dilated)}; the KPU has no dilated "
            "convolution, so nncase runs them with CPU help and splits the KPU regions"
        )
    write_atomic(tflite_path, float_model)
    aligned = (round_side(input_size[0], stride), round_side(input_size[1], stride))
    checks = [
        context.check(
            build_tflite(network, aligned, stride),
            float_model,
            "K210 float TFLite",
            f"float32 SAME at {aligned[0]}x{aligned[1]}",
        )
    ]
    try:
        kmodel = compile_kmodel(float_model, calibration_images)
    except PosenetError as exc:
        raise PosenetError(f"{exc} (the float TFLite was written to {tflite_path})") from None
    write_atomic(kmodel_path, kmodel.data)
    reference = Runtime(float_model, threads=1)
    checks.append(
        context.compare(
            reference,
            KModelRunner(kmodel, stride),
            "kmodel (nncase simulator)",
            "K210 float TFLite",
        )
    )
    return ExportResult(
        name,
        format,
        quantize,
        input_size,
        stride,
        files,
        tuple(checks),
        kmodel=kmodel,
        notes=tuple(notes),
    )


class Runner(Protocol):
    """What the checks run: the Runtime, or a kmodel in nncase's simulator (KModelRunner)."""

    @property
    def input_size(self) -> tuple[int, int]: ...

    def run(self, image: np.ndarray) -> Heads: ...


class _Context:
    """The check image and decoder, shared by the checks of one export."""

    def __init__(self, image: np.ndarray, image_name: str, decoder: str, stride: int) -> None:
        self.image, self.image_name, self.decoder, self.stride = image, image_name, decoder, stride

    def check(self, reference: bytes, candidate: bytes, label: str, against: str) -> Check:
        return self.compare(
            Runtime(reference, threads=1), Runtime(candidate, threads=1), label, against
        )

    def compare(self, reference: Runner, candidate: Runner, label: str, against: str) -> Check:
        """The heads and poses of candidate beside reference's, on the check image."""
        ref = reference.run(fit(self.image, reference.input_size, "stretch").pixels)
        got = candidate.run(fit(self.image, candidate.input_size, "stretch").pixels)
        return check(
            ref, got, label=f"{label} vs {against}", image=self.image_name, decoder=self.decoder
        )

    def check_source(self, path: Path, candidate: bytes, label: str) -> list[Check]:
        """The export beside the source .tflite itself (e.g. Coral's uint8 model), if it runs."""
        exported = Runtime(candidate, threads=1)
        try:
            source = Runtime(load_tflite(path).tflite, input_size=exported.input_size, threads=1)
        except PosenetError as exc:
            log.info("source model not checked: %s", exc)
            return []
        return [self.compare(source, exported, label, f"source {path.name}")]


def _inputs(
    model: Path, check_image: str | Path | None, calibration: str | Path | None
) -> list[tuple[str, Path]]:
    """(what, path) of every file export may read: the model's, the check image, and the
    images of the calibration source (given or $POSENET_CALIBRATION) even when unused."""
    files = source_files(model)
    found = [("the model file", files[0])] if files else []
    found += [("a file of the model", f) for f in files[1:]]
    if check_image is not None:
        found.append(("the check image", Path(check_image)))
    source = calibration or os.environ.get("POSENET_CALIBRATION")
    if source and Path(source).exists():
        found += [("a calibration image", p) for p in find_images([source])]
    return found


def _refuse_inputs(files: Sequence[Path], inputs: Sequence[tuple[str, Path]]) -> None:
    """An output that is an input (the same file by any path) is refused."""
    for n, file in enumerate(files):
        for what, source in inputs:
            if same_file(file, source):
                role = "-o" if n == 0 else "the float TFLite a k210 export writes beside it"
                raise PosenetError(f"{file}: {role} is {what}; export never writes over its inputs")


def _source_size(path: Path) -> tuple[int, int]:
    """The input size a source file was made for, else DEFAULT_TFLITE_SIZE."""
    if detect_format(path) == "tflite":
        size = load_tflite(path).input_size
        if size is not None:
            return size
    return DEFAULT_TFLITE_SIZE


def _calibration_paths(calibration: str | Path | None) -> list[Path]:
    source = calibration or os.environ.get("POSENET_CALIBRATION")
    return find_images([source])[:CALIBRATION_LIMIT] if source else []


def _calibration(calibration: str | Path | None, size: tuple[int, int]) -> list[np.ndarray]:
    """Calibration images stretched to size (as the checks feed images), uint8[H, W, 3]."""
    return [fit(load_image(p), size, "stretch").pixels for p in _calibration_paths(calibration)]


def _check_image(
    check_image: str | Path | None, calibration: str | Path | None
) -> tuple[str, np.ndarray | None]:
    if check_image is not None:
        return Path(check_image).name, load_image(check_image)
    paths = _calibration_paths(calibration)
    if paths:
        return paths[0].name, load_image(paths[0])
    return "a synthetic image", None


def _synthetic_image(size: Sequence[int] = (480, 640)) -> np.ndarray:
    """Smooth colour gradients plus fixed noise: a deterministic input with varied activations."""
    y, x = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float32)
    rng = np.random.default_rng(0)
    base = np.stack([x / size[1], y / size[0], (x + y) / (size[0] + size[1])], axis=-1) * 255
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
