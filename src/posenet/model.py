"""Resolve what the user named (a registry name or a file) into runnable TFLite bytes.

A `.tflite` that LiteRT can run is used as it is, minus Coral's decoder op;
every other PoseNet format is read into a Network and built as TFLite. Edge
TPU files are refused here, with the CPU model to use instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store
from ._inputs import MAX_MODEL_BYTES, check_exists, read_input
from .errors import PosenetError
from .files import write_atomic
from .formats import detect_format, read_network, source_files
from .formats.known import resemblance
from .network import DEFAULT_GEOMETRY, with_output_stride
from .runtime import infer_stride
from .sizes import round_side
from .tflite.build import build_tflite, network_digest
from .tflite.flatbuffer import (
    cut_posenet_decoder,
    is_edgetpu,
    read_model,
    write_model,
)
from .tflite.validate import check_runnable, passed_checks, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the runtime.

    tflite: bytes LiteRT can run (no custom ops).
    name: registry name or file path, for reports.
    decoder_options: options embedded in the file (Coral's PosenetDecoderOp), else {}.
    input_size: the input size the bytes were made for (the runtime can resize).
    output_stride: input pixels per output cell.
    warning: one line for the user once the model runs, else "" (a registry model's
        structure with other bytes, formats.known); not logged here, so that a model
        that then fails to run is reported in one line, not two.
    """

    tflite: bytes
    name: str
    decoder_options: dict[str, Any] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None
    output_stride: int = 16
    warning: str = ""


def resolve(model: str | Path | None) -> tuple[str, Path]:
    """(display name, local path) for a registry name or a file/folder path."""
    if model is None:
        model = store.DEFAULT_MODEL
    text = str(model)
    if _names_a_path(model):
        path = Path(text).expanduser()
        check_exists(path, "model", missing=f"model file not found: {path}")
        return text, path
    return text, store.path(text)


def given_files(model: str | Path | None) -> list[Path]:
    """The files of a model the user named by path (a TF.js model's shards too); none for a
    registry name. Commands never write their outputs over these."""
    if model is None or not _names_a_path(model):
        return []
    return source_files(Path(str(model)).expanduser())


def _names_a_path(model: str | Path) -> bool:
    text = str(model)
    named = isinstance(model, Path) or "/" in text or text.endswith(".tflite")
    return named or os.path.lexists(text)


def load_tflite(path: Path, name: str | None = None) -> LoadedModel:
    """Read a .tflite file, refuse Edge TPU code, cut off PosenetDecoderOp."""
    data = _read_bytes(path)
    flat = read_model(data, source=str(path))
    if is_edgetpu(flat):
        raise PosenetError(
            f"{path}: is compiled for the Edge TPU and cannot run on a CPU; {cpu_twin(path)}"
        )
    validate(flat, str(path), len(data))
    cut, options = cut_posenet_decoder(flat)
    runnable = data if cut is flat else write_model(cut)
    check_runnable(runnable, str(path), parsed=cut)  # the cut graph; remembered by the Runtime
    graph = cut.subgraphs[0]
    shape = graph.tensors[graph.inputs[0]].shape
    grid = graph.tensors[graph.outputs[0]].shape
    if shape is None or len(shape) != 4 or grid is None or len(grid) != 4:
        raise PosenetError(f"{path}: not a PoseNet model (expected [1, H, W, C] input and outputs)")
    size = (int(shape[1]), int(shape[2]))
    return LoadedModel(
        tflite=runnable,
        name=name or str(path),
        decoder_options=options,
        input_size=size,
        output_stride=infer_stride(size, (int(grid[1]), int(grid[2]))),
    )


def load(
    model: str | Path | None = None,
    *,
    output_stride: int | None = None,
    geometry: str = DEFAULT_GEOMETRY,
    float16: bool = False,
) -> LoadedModel:
    """Load a model by registry name or path into runnable TFLite bytes.

    A runnable .tflite is used as it is when no other output stride is asked
    for; any other format, or another stride, is read into a Network and built
    (the build is cached by content hash under the store's `built/` folder).
    `geometry` picks the dilations of a re-targeted stride (network.with_output_stride).
    """
    name, path = resolve(model)
    options: dict[str, Any] = {}
    kind = detect_format(path)
    by_path = Path(name).expanduser() == path  # a registry name's files were checked by sha256
    if kind == "tflite":
        loaded = load_tflite(path, name)
        if output_stride in (None, loaded.output_stride) and not float16:
            return dataclasses.replace(loaded, warning=_changed(path, kind, by_path))
        options = loaded.decoder_options
    network = read_network(path)
    warning = _changed(path, kind, by_path)
    stride = output_stride or network.native_output_stride
    network = with_output_stride(network, stride, geometry=geometry)
    size = _default_size(stride)
    digest = network_digest(network, size, stride, float16)
    data = _cached_build(
        digest, lambda: build_tflite(network, size, stride, float16_weights=float16)
    )
    return LoadedModel(
        tflite=data,
        name=name,
        decoder_options=options,
        input_size=size,
        output_stride=stride,
        warning=warning,
    )


def _changed(path: Path, kind: str, by_path: bool) -> str:
    """The warning for a file read without error that is a registry model with other
    bytes (formats.known): it runs, but its poses are not the published model's."""
    return (resemblance(path, kind) or "") if by_path else ""


def _default_size(stride: int) -> tuple[int, int]:
    """Size a built model starts at (the runtime resizes it): Coral's 353x481 on the grid."""
    return round_side(353, stride), round_side(481, stride)


def _cached_build(digest: str, build: Callable[[], bytes]) -> bytes:
    """Built TFLite bytes from the store's `built/` folder, keyed by the Network's
    digest; a file whose own checksum no longer matches is rebuilt. A build is checked
    (tflite.validate) before it is cached, so bytes that match their checksum are
    known to pass and the Runtime does not parse them again."""
    folder = store.home() / "built"
    model, checksum = folder / f"{digest}.tflite", folder / f"{digest}.sha256"
    try:  # another process may be replacing either file: a missing one means build
        data = model.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 == checksum.read_text().strip():
            passed_checks(sha256)
            return data
        log.warning("%s: damaged in the cache; building it again", model)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("%s: cannot read it (%s); building it again", model, exc.strerror or exc)
    data = build()
    check_runnable(data, "built model")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(model, data)
        write_atomic(checksum, hashlib.sha256(data).hexdigest().encode())
    except (OSError, PosenetError) as exc:  # a read-only cache costs a rebuild, not a failure
        log.warning("not caching the built model: %s", exc)
    return data


def _read_bytes(path: Path) -> bytes:
    data = read_input(path, MAX_MODEL_BYTES, "model file")
    if not data:
        raise PosenetError(f"{path}: is empty (0 bytes)")
    return data


def cpu_twin(path: str | Path) -> str:
    """Advice naming the CPU version of an Edge TPU file (a registry name, else its file name).

    A file renamed so that its name no longer holds `_edgetpu` gets advice without a name:
    repeating its own name would send the user back to the same file.
    """
    path = Path(path)
    for spec in store.REGISTRY:
        if spec.format == "edgetpu" and Path(spec.entry.path).name == path.name:
            cpu = spec.name.removesuffix("-edgetpu")
            return f"use --model {cpu} (the same network for the CPU)"
    if "_edgetpu" not in path.name:
        return "use the CPU (non-Edge-TPU) version of this model"
    twin = path.name.replace("_edgetpu", "")
    return f"use the CPU version of this model ({twin})"
