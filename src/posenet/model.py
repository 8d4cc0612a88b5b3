"""Resolve what the user named (a registry name or a file) into runnable TFLite bytes.

A `.tflite` that LiteRT can run is used as it is, minus Coral's decoder op;
every other PoseNet format is read into a Network and built as TFLite. Edge
TPU files are refused here, with the CPU model to use instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store
from .errors import PosenetError
from .tflite.flatbuffer import (
    EDGETPU_OP,
    custom_ops,
    cut_posenet_decoder,
    read_model,
    write_model,
)

log = logging.getLogger(__name__)

_MAX_MODEL_BYTES = 512 << 20


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the runtime.

    tflite: bytes LiteRT can run (no custom ops).
    name: registry name or file path, for reports.
    decoder_options: options embedded in the file (Coral's PosenetDecoderOp), else {}.
    input_size: the input size the bytes were made for (the runtime can resize).
    """

    tflite: bytes
    name: str
    decoder_options: dict[str, Any] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None


def resolve(model: str | Path | None) -> tuple[str, Path]:
    """(display name, local path) for a registry name or a file/folder path."""
    if model is None:
        model = store.DEFAULT_MODEL
    text = str(model)
    if isinstance(model, Path) or Path(text).exists() or "/" in text or text.endswith(".tflite"):
        path = Path(text).expanduser()
        if not path.exists():
            raise PosenetError(f"model file not found: {path}")
        return text, path
    return text, store.path(text)


def load_tflite(path: Path, name: str | None = None) -> LoadedModel:
    """Read a .tflite file, refuse Edge TPU code, cut off PosenetDecoderOp."""
    data = _read_bytes(path)
    flat = read_model(data, source=str(path))
    if any(op.code == EDGETPU_OP for op in custom_ops(flat)):
        raise PosenetError(
            f"{path}: is compiled for the Edge TPU and cannot run on a CPU; {_cpu_twin(path)}"
        )
    cut, options = cut_posenet_decoder(flat)
    shape = cut.subgraphs[0].tensors[cut.subgraphs[0].inputs[0]].shape
    size = (int(shape[1]), int(shape[2])) if shape is not None and len(shape) == 4 else None
    return LoadedModel(
        tflite=write_model(cut) if options else data,
        name=name or str(path),
        decoder_options=options,
        input_size=size,
    )


def load(model: str | Path | None = None) -> LoadedModel:
    """Load a model by registry name or path into runnable TFLite bytes."""
    name, path = resolve(model)
    if path.is_file() and path.suffix.lower() == ".tflite":
        return load_tflite(path, name)
    if path.is_file() and path.read_bytes()[4:8] == b"TFL3":
        return load_tflite(path, name)
    raise PosenetError(f"{path}: not a model format this build reads (expected a .tflite file)")


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise PosenetError(f"{path}: is a folder, expected a .tflite file")
    size = path.stat().st_size
    if size == 0:
        raise PosenetError(f"{path}: is empty (0 bytes)")
    if size > _MAX_MODEL_BYTES:
        raise PosenetError(f"{path}: {size >> 20} MB is too large for a PoseNet model")
    return path.read_bytes()


def _cpu_twin(path: Path) -> str:
    """Advice naming the CPU version of an Edge TPU file."""
    for spec in store.REGISTRY:
        if spec.format == "edgetpu" and Path(spec.entry.path).name == path.name:
            cpu = spec.name.removesuffix("-edgetpu")
            return f"use --model {cpu} (the same network for the CPU)"
    twin = path.name.replace("_edgetpu", "")
    return f"use the CPU version of this model ({twin})"
