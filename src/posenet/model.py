"""Resolve what the user named (a registry name or a file) into runnable TFLite bytes.

A `.tflite` that LiteRT can run is used minus Coral's decoder op, in the form
the precision asks for (a uint8 model as the same integer network in int8 by
default, see PRECISIONS); every other PoseNet format is read into a Network and
built as TFLite. What is cut, converted or built is cached by content hash, so
a model loads in milliseconds after its first use. Edge TPU files are refused
here, with the CPU model to use instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
from .tflite.flatbuffer import cut_posenet_decoder, is_edgetpu, read_model, write_model
from .tflite.int8 import as_int8, int8_problem
from .tflite.validate import check_runnable, passed_checks, validate

log = logging.getLogger(__name__)


#: What runs for a model: the --precision values and what each means. The default,
#: auto, is int8 for uint8 models because it is the fastest form whose poses stay
#: within Coral's reference bounds (README, Speed; benchmarks/vs_coral.py):
#: on XNNPACK it invokes in about 0.4-0.5x the time of the uint8 original. The
#: float32 rebuild (0.7x) and a calibrated per-channel int8 model (0.45x) both move a
#: low-scored keypoint of Coral's 481x641 reference by 15 px and its score by 0.19.
PRECISIONS: dict[str, str] = {
    "auto": "the fastest faithful form: int8 for uint8 models (Coral's), else the file as it is",
    "original": "the file's own arithmetic (Coral's uint8 as published)",
    "int8": "a uint8 model re-encoded for XNNPACK's signed int8 kernels: the same integer "
    "network (a layer whose weights do not fit int8 runs in float32)",
    "float": "float32, rebuilt from the dequantized weights",
}
_NOT_UINT8 = (
    "precision int8 applies to uint8 models (Coral's); {name}: {problem} "
    "(posenet export --quantize int8 --calibration DIR makes a calibrated int8 model)"
)
DEFAULT_PRECISION = "auto"
#: Bumped whenever the bytes load_tflite caches change for the same file and precision.
_FORM_VERSION = 3


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for the runtime.

    tflite: bytes LiteRT can run (no custom ops).
    name: registry name or file path, for reports.
    decoder_options: options embedded in the file (Coral's PosenetDecoderOp), else {}.
    input_size: the input size the bytes were made for (the runtime can resize).
    output_stride: input pixels per output cell.
    precision: the form that runs: "original", "int8" or "float" (see PRECISIONS).
    warning: one line for the user once the model runs, else "" (a registry model's
        structure with other bytes, formats.known); not logged here, so that a model
        that then fails to run is reported in one line, not two.
    """

    tflite: bytes
    name: str
    decoder_options: dict[str, Any] = field(default_factory=dict)
    input_size: tuple[int, int] | None = None
    output_stride: int = 16
    precision: str = "original"
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


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise PosenetError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def load_tflite(path: Path, name: str | None = None, precision: str = "original") -> LoadedModel:
    """A .tflite file as LiteRT can run it: Edge TPU code refused, PosenetDecoderOp cut off,
    in the form `precision` asks for ("original", "int8", or "auto": int8 when the file is
    uint8).

    The result is cached by the file's content hash, so loading the same file again
    skips parsing and re-serialising it (tens of ms for Coral's files).
    """
    check_precision(precision)
    if precision == "float":
        raise PosenetError("precision float: rebuilt by load(), not load_tflite()")
    data = _read_bytes(path)
    digest = hashlib.sha256(
        f"tflite:{_FORM_VERSION}:{precision}:".encode() + hashlib.sha256(data).digest()
    ).hexdigest()

    def build() -> tuple[bytes, dict[str, Any]]:
        return _runnable(data, path, precision)

    tflite, meta = _cached(digest, build)
    return LoadedModel(
        tflite=tflite,
        name=name or str(path),
        decoder_options=meta["decoder_options"],
        input_size=tuple(meta["input_size"]),
        output_stride=meta["output_stride"],
        precision=meta["precision"],
    )


def _runnable(data: bytes, path: Path, precision: str) -> tuple[bytes, dict[str, Any]]:
    """(runnable bytes, what LoadedModel needs to know) for a .tflite file's bytes."""
    flat = read_model(data, source=str(path))
    if is_edgetpu(flat):
        raise PosenetError(
            f"{path}: is compiled for the Edge TPU and cannot run on a CPU; {cpu_twin(path)}"
        )
    validate(flat, str(path), len(data))
    cut, options = cut_posenet_decoder(flat)
    graph = cut.subgraphs[0]
    shape = graph.tensors[graph.inputs[0]].shape
    grid = graph.tensors[graph.outputs[0]].shape
    if shape is None or len(shape) != 4 or grid is None or len(grid) != 4:
        raise PosenetError(f"{path}: not a PoseNet model (expected [1, H, W, C] input and outputs)")
    size = (int(shape[1]), int(shape[2]))
    stride = infer_stride(size, (int(grid[1]), int(grid[2])))
    form = "original"
    problem = int8_problem(cut) if precision in ("auto", "int8") else None
    if precision == "int8" and problem is not None:
        raise PosenetError(_NOT_UINT8.format(name=path, problem=problem))
    if precision in ("auto", "int8") and problem is None:
        cut, islands = as_int8(cut)
        form = "int8"
        log.debug("%s: int8 form, %d layer(s) in float32", path, islands)
    tflite = write_model(cut) if options or form != "original" else data
    meta = {
        "decoder_options": options,
        "input_size": list(size),
        "output_stride": stride,
        "precision": form,
    }
    return tflite, meta


def load(
    model: str | Path | None = None,
    *,
    output_stride: int | None = None,
    geometry: str = DEFAULT_GEOMETRY,
    precision: str = DEFAULT_PRECISION,
) -> LoadedModel:
    """Load a model by registry name or path into runnable TFLite bytes.

    A runnable .tflite is used as it is (in the form `precision` asks for) when no
    other output stride is asked for; any other format, another stride or precision
    "float" is read into a Network and built in float32 (the build is cached by
    content hash under the store's `built/` folder). `geometry` picks the dilations
    of a re-targeted stride (network.with_output_stride).
    """
    check_precision(precision)
    name, path = resolve(model)
    options: dict[str, Any] = {}
    size = (353, 481)  # Coral's: where a built model starts (the runtime resizes it)
    kind = detect_format(path)
    by_path = Path(name).expanduser() == path  # a registry name's files were checked by sha256
    if kind == "tflite":
        loaded = load_tflite(path, name, "original" if precision == "float" else precision)
        if output_stride in (None, loaded.output_stride) and precision != "float":
            return dataclasses.replace(loaded, warning=_changed(path, kind, by_path))
        if precision in ("original", "int8"):
            raise PosenetError(
                f"precision {precision}: output stride {output_stride} rebuilds the network "
                "in float32; use precision auto or float"
            )
        options, size = loaded.decoder_options, loaded.input_size or size
    elif precision == "int8":  # TF.js, checkpoints, GraphDefs: float is their own arithmetic
        raise PosenetError(_NOT_UINT8.format(name=name, problem="a float model"))
    network = read_network(path)
    warning = _changed(path, kind, by_path)
    stride = output_stride or network.native_output_stride
    network = with_output_stride(network, stride, geometry=geometry)
    size = (round_side(size[0], stride), round_side(size[1], stride))
    digest = network_digest(network, size, stride, False)
    data, _ = _cached(digest, lambda: (build_tflite(network, size, stride), {}))
    return LoadedModel(
        tflite=data,
        name=name,
        decoder_options=options,
        input_size=size,
        output_stride=stride,
        precision="float",
        warning=warning,
    )


def _changed(path: Path, kind: str, by_path: bool) -> str:
    """The warning for a file read without error that is a registry model with other
    bytes (formats.known): it runs, but its poses are not the published model's."""
    return (resemblance(path, kind) or "") if by_path else ""


def _cached(
    digest: str, build: Callable[[], tuple[bytes, dict[str, Any]]]
) -> tuple[bytes, dict[str, Any]]:
    """(TFLite bytes, metadata) from the store's `built/` folder, keyed by digest; built
    and stored when absent. A file whose checksum (kept in its metadata) no longer
    matches is built again; a read-only cache costs a rebuild, not a failure. What is
    built is checked (tflite.validate) before it is cached, so bytes that match their
    checksum are known to pass and the Runtime does not parse them again."""
    folder = store.home() / "built"
    model, record = folder / f"{digest}.tflite", folder / f"{digest}.json"
    try:  # another process may be replacing either file: a missing one means build
        data, meta = model.read_bytes(), json.loads(record.read_text())
        if isinstance(meta, dict) and meta.get("sha256") == hashlib.sha256(data).hexdigest():
            passed_checks(meta["sha256"])
            return data, meta
        log.warning("%s: damaged in the cache; building it again", model)
    except FileNotFoundError:
        pass
    except ValueError:
        log.warning("%s: damaged in the cache; building it again", record)
    except OSError as exc:
        log.warning("%s: cannot read it (%s); building it again", model, exc.strerror or exc)
    data, meta = build()
    check_runnable(data, "model")
    meta = {**meta, "sha256": hashlib.sha256(data).hexdigest()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(model, data)
        write_atomic(record, json.dumps(meta).encode())
    except (OSError, PosenetError) as exc:
        log.warning("not caching the built model: %s", exc)
    return data, meta


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
