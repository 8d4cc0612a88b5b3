"""LiteRT wrapper: runnable TFLite bytes + an image (uint8 or float pixels) -> Heads.

Maps the model's output tensors onto the Heads layout by their role
(`network.match_heads`: the names the real models use, from one table, else a
channel count only one output has) and dequantizes uint8/int8 outputs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import PosenetError
from .heads import Heads
from .keypoints import NUM_EDGES
from .network import OUTPUT_STRIDES, match_heads

log = logging.getLogger(__name__)

#: What a float model is fed: "float", the resampled pixels as they are (as TF.js
#: does), or "uint8", the pixels rounded first. Quantized models take what their
#: quantization can hold either way.
INPUT_TYPES: tuple[str, ...] = ("float", "uint8")

#: network.match_heads' roles -> the Heads fields they fill ("mid" fills both displacements).
_ROLES = {
    "heatmap": "heatmap",
    "offsets": "offsets",
    "displacement_fwd": "displacements_fwd",
    "displacement_bwd": "displacements_bwd",
    "mid": "mid",
}


@dataclass(frozen=True)
class _Output:
    index: int
    role: str  # a Heads field, or "mid" (both displacements in one tensor)
    scale: float
    zero_point: int


class Runtime:
    """One LiteRT interpreter for one model at one input size.

    model: TFLite bytes without custom ops (see tflite.flatbuffer.cut_posenet_decoder).
    input_size: (height, width) to resize the model's input to, or None to keep it.
    threads: CPU threads for LiteRT (None lets LiteRT choose).
    """

    def __init__(
        self,
        model: bytes,
        input_size: tuple[int, int] | None = None,
        threads: int | None = None,
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from .tflite.validate import check_runnable

        check_runnable(model)  # before LiteRT's C++ trusts a single index of it
        with _captured_stderr() as native_log:
            try:
                self._interpreter = Interpreter(model_content=model, num_threads=threads)
                inp = self._interpreter.get_input_details()
                if len(inp) != 1 or len(inp[0]["shape"]) != 4 or inp[0]["shape"][3] != 3:
                    raise PosenetError("model: expected one [1, H, W, 3] image input")
                self._interpreter.allocate_tensors()
            except PosenetError:
                raise
            except (RuntimeError, ValueError) as exc:
                raise PosenetError(
                    f"model: LiteRT cannot run it: {_reason(exc, native_log())}"
                ) from None
        detail = self._interpreter.get_input_details()[0]
        self._input_index = detail["index"]
        self._input_dtype = detail["dtype"]
        self._input_quant = detail["quantization"]
        self._scale_input = self._input_converter()
        self._outputs = _map_outputs(self._interpreter.get_output_details())
        self._read_geometry()
        if input_size is not None:
            self.resize(input_size)

    def resize(self, input_size: tuple[int, int]) -> None:
        """Change the input size (PoseNet is fully convolutional); a no-op if unchanged."""
        input_size = (int(input_size[0]), int(input_size[1]))
        if input_size == self.input_size:
            return
        if min(input_size) < 1:
            raise PosenetError(f"input size {input_size} is empty")
        with _captured_stderr() as native_log:
            try:
                self._interpreter.resize_tensor_input(
                    self._input_index, [1, *input_size, 3], strict=False
                )
                self._interpreter.allocate_tensors()
            except (RuntimeError, ValueError) as exc:
                raise PosenetError(
                    f"model cannot take input {input_size[0]}x{input_size[1]}: "
                    f"{_reason(exc, native_log())}"
                ) from None
        self._read_geometry()

    def _read_geometry(self) -> None:
        shape = self._interpreter.get_input_details()[0]["shape"]
        self.input_size: tuple[int, int] = (int(shape[1]), int(shape[2]))
        shape = self._interpreter.get_output_details()[0]["shape"]
        self.grid_size: tuple[int, int] = (int(shape[1]), int(shape[2]))
        self.output_stride: int = infer_stride(self.input_size, self.grid_size)

    def pixel_type(self, input_type: str = INPUT_TYPES[0]) -> np.dtype:
        """The pixels to fit images to for this model and an input type (INPUT_TYPES):
        float32, unless "uint8" is asked for or the model's input is the pixels
        themselves (Coral's uint8 models), where rounding first changes nothing."""
        if input_type not in INPUT_TYPES:
            raise PosenetError(
                f"input type must be one of {', '.join(INPUT_TYPES)}, got {input_type!r}"
            )
        float_input = input_type == "float" and not self._takes_pixels()
        return np.dtype(np.float32 if float_input else np.uint8)

    def _takes_pixels(self) -> bool:
        """True for an input quantized as scale 1/128 with zero point 128 in uint8 (the
        Coral models) or 0 in int8 (their int8 form, tflite.int8): its quantized values
        are the pixels themselves (minus 128 in int8)."""
        scale, zero = self._input_quant
        dtype = np.dtype(self._input_dtype)
        pixels = (dtype == np.uint8 and zero == 128) or (dtype == np.int8 and zero == 0)
        return pixels and math.isclose(scale, 1 / 128)

    def _input_converter(self):
        """How pixels (uint8, or float32 values in [0, 255]) become this model's input tensor.

        Float models take x / 127.5 - 1, computed as TF.js does (a float32 division,
        then a subtraction). Quantized models get the same real values quantized with
        the input's own scale and zero point; for the Coral models (scale 1/128, zero
        point 128) that is the pixels themselves, float pixels rounded half up, and for
        their int8 form (zero point 0) the same minus 128.
        """
        dtype = np.dtype(self._input_dtype)
        if dtype == np.float32:
            return lambda image: (
                image.astype(np.float32, copy=False) / np.float32(127.5) - np.float32(1)
            )
        if self._takes_pixels() and dtype == np.int8:
            return lambda image: (_rounded_pixels(image) ^ np.uint8(0x80)).view(np.int8)
        if self._takes_pixels():
            return _rounded_pixels
        scale, zero = self._input_quant
        if dtype not in (np.uint8, np.int8) or not scale:
            raise PosenetError(f"model: unsupported input type {dtype}")
        info = np.iinfo(dtype)

        def quantize(image: np.ndarray) -> np.ndarray:
            real = image.astype(np.float32) / 127.5 - 1.0
            return np.clip(np.round(real / scale + zero), info.min, info.max).astype(dtype)

        return quantize

    def invoke(self, image: np.ndarray) -> None:
        """Run the network on an [H, W, 3] image of exactly the input size (uint8, or
        float32 pixel values in [0, 255])."""
        if image.shape != (*self.input_size, 3):
            raise PosenetError(f"input image is {image.shape}, model wants {(*self.input_size, 3)}")
        self._interpreter.set_tensor(self._input_index, self._scale_input(image)[np.newaxis])
        try:
            self._interpreter.invoke()
        except RuntimeError as exc:  # e.g. a model whose weight buffers are missing
            raise PosenetError(f"model: LiteRT failed to run it: {_first_line(exc)}") from None

    def heads(self) -> Heads:
        """The outputs of the last invoke() as Heads."""
        return self._assemble([self._interpreter.get_tensor(o.index)[0] for o in self._outputs])

    def blank_heads(self) -> Heads:
        """Heads with no person in them, laid out in memory exactly like heads().

        For warming up compiled decoders, which specialise on array layout.
        """
        details = {d["index"]: d for d in self._interpreter.get_output_details()}
        raws = []
        for out in self._outputs:
            detail = details[out.index]
            raw = np.zeros(detail["shape"][1:], detail["dtype"])
            if out.role == "heatmap":
                raw[...] = np.iinfo(raw.dtype).min if out.scale else -30.0
            raws.append(raw)
        return self._assemble(raws)

    def _assemble(self, raws: list[np.ndarray]) -> Heads:
        found: dict[str, np.ndarray] = {}
        for out, array in zip(self._outputs, raws, strict=True):
            if out.scale:
                array = (array.astype(np.float32) - np.float32(out.zero_point)) * np.float32(
                    out.scale
                )
            else:
                array = array.astype(np.float32, copy=False)
            if out.role == "mid":
                found["displacements_fwd"] = array[..., : 2 * NUM_EDGES]
                found["displacements_bwd"] = array[..., 2 * NUM_EDGES :]
            else:
                found[out.role] = array
        return Heads(**found, output_stride=self.output_stride, input_size=self.input_size)

    def run(self, image: np.ndarray) -> Heads:
        """invoke() then heads()."""
        self.invoke(image)
        return self.heads()


class RuntimePool:
    """Interpreters of one model for callers on any number of threads, kept by input size.

    A LiteRT interpreter runs one invoke at a time and holds one input size, so a
    caller takes one for the size it needs (`with pool.runtime(size) as runtime:`)
    and gives it back. An idle interpreter of that size is reused; otherwise a new
    one is made while fewer than `keep` are idle, else the least recently used idle
    one is resized (a few ms, against ~15 ms for a new one; benchmarks/bench_pool.py).
    Callers never wait for each other: more interpreters are made when more run at
    once, and all but `keep` idle ones are dropped when they come back.

    model: TFLite bytes; threads: LiteRT threads per interpreter.
    """

    def __init__(self, model: bytes, *, threads: int | None = None, keep: int = 4) -> None:
        self._model = model
        self._threads = threads
        self._keep = keep
        self._idle: list[Runtime] = []  # least recently used first
        self._lock = threading.Lock()

    def give(self, runtime: Runtime) -> None:
        """Put `runtime` (of this pool's model) among the idle ones."""
        with self._lock:
            self._idle.append(runtime)
            if len(self._idle) > self._keep:
                del self._idle[0]

    def take(self, input_size: tuple[int, int] | None = None) -> Runtime:
        """An interpreter at `input_size` (None: any idle one, else the model's own size)
        that no other caller holds until it is given back."""
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if input_size is None or self._idle[i].input_size == input_size:
                    return self._idle.pop(i)
            spare = self._idle.pop(0) if len(self._idle) >= self._keep else None
        if spare is None:
            return Runtime(self._model, input_size, threads=self._threads)
        spare.resize(input_size)  # on failure the spare is dropped: its size is unknown
        return spare

    @contextlib.contextmanager
    def runtime(self, input_size: tuple[int, int] | None = None) -> Iterator[Runtime]:
        """take() for the duration of a `with` block."""
        runtime = self.take(input_size)
        try:
            yield runtime
        finally:
            self.give(runtime)


def _rounded_pixels(image: np.ndarray) -> np.ndarray:
    """uint8 pixels as they are; float pixels rounded half up, as the resize rounds them."""
    if image.dtype == np.uint8:
        return image
    return (image + np.float32(0.5)).astype(np.uint8)


def _map_outputs(details: list[dict]) -> list[_Output]:
    """Each head's output tensor (network.match_heads), with its dequantization."""
    channels = [int(d["shape"][-1]) if len(d["shape"]) == 4 else -1 for d in details]
    try:
        found = match_heads([(d["name"], c) for d, c in zip(details, channels, strict=True)])
    except PosenetError as exc:
        raise PosenetError(f"model: {exc}") from None
    missing = [r for r in ("heatmap", "offsets") if r not in found]
    if "mid" not in found and not {"displacement_fwd", "displacement_bwd"} <= found.keys():
        missing.append("displacements")
    if missing:
        names = ", ".join(f"{d['name']}{list(d['shape'])}" for d in details)
        raise PosenetError(
            f"model: not a PoseNet model (no {' / '.join(missing)} output among {names})"
        )
    outputs = []
    for role, position in found.items():
        d = details[position]
        scale, zero = d["quantization"]
        quantized = np.dtype(d["dtype"]) != np.float32
        outputs.append(
            _Output(d["index"], _ROLES[role], float(scale) if quantized else 0.0, int(zero))
        )
    for d, c in zip(details, channels, strict=True):
        if d["index"] not in {o.index for o in outputs}:
            log.debug("ignoring model output %s %s (%d channels)", d["name"], d["shape"], c)
    return outputs


def infer_stride(input_size: tuple[int, int], grid_size: tuple[int, int]) -> int:
    """The output stride whose SAME-padded grid matches the output shape; else PosenetError."""
    for stride in OUTPUT_STRIDES:
        if all(math.ceil(n / stride) == g for n, g in zip(input_size, grid_size, strict=True)):
            return stride
    raise PosenetError(
        f"model: output grid {grid_size} does not match input {input_size} at stride 8, 16 or 32"
    )


def _reason(exc: BaseException, native: str) -> str:
    """LiteRT's own words for a failure: the exception's first line (which holds the
    kernel's check, e.g. "conv.cc:357 filter->dims->size != 4 (5 != 4)"), else the
    last line its C++ printed; never its INFO banner."""
    reason = _first_line(exc)
    if reason == type(exc).__name__ and native:
        reason = native
    return reason.replace("Node number", "; node number").lstrip("; ")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def _captured_stderr():
    """Hold back what LiteRT's C++ code prints to fd 2 (its INFO banner, its errors).

    Yields a function returning the last captured line, so failures can quote it.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (embedded interpreters): nothing to capture
        yield lambda: ""
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: _last_line(sink)
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _last_line(sink) -> str:
    sink.flush()
    sink.seek(0)
    text = sink.read().decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("INFO:")]
    return lines[-1] if lines else ""
