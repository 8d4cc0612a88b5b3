"""Check a TFLite model before LiteRT sees it, so that no file can crash the process.

LiteRT's C++ trusts much of a flatbuffer: an operator input of -1 where a kernel
needs a tensor, a stride of 0, a tensor index past the end or a negative shape
reach its kernels (or XNNPACK's) unchecked, and the process dies with SIGSEGV,
SIGFPE or an abort instead of an error. `problems(model)` lists, with the
schema's object API, every such fact a damaged file can get wrong:

- buffers: every tensor's buffer exists (and lies inside the file), and constant
  data has exactly the bytes its shape and type need;
- tensors: known type, shape dims >= 0 and a sane element count, quantization
  with finite scales in a sane range, zero points in the type's range and one
  per scale, per-axis dimension inside the shape; no sparse or external tensors;
- operators: opcode index in range; input and output indices in range (-1, an
  omitted optional input, is refused too: no PoseNet file omits one, and XNNPACK
  reads tensor -1 of a convolution missing its weights, a crash); nothing read
  before it is written, no output written twice or into a constant;
- subgraph inputs and outputs present, in range, listed once; signatures in range;
- for the ops in OPS (every op PoseNet files use): the number of inputs and
  outputs, the options table present (LiteRT reads a missing one as stride 0)
  with sane strides, dilations, padding and activation;
- weights: no NaN or Inf in float constants, no convolution whose weights are
  all zero (a wiped file runs, and finds nobody or ghosts).

`validate(model, source)` raises the first problem as a PosenetError; `posenet
inspect` lists them all. Ops outside OPS get the index checks but no option
checks, so a model holding one is also run once by `trial_run` in a child
process before this process makes an interpreter, and remembered by its sha256.
Measured (benchmarks/bench_validate.py): the checks take about 2 ms, parsing a
file 5-10 ms (bytes that passed are remembered by sha256, not parsed again), a
trial run 0.16 s, paid once per file and only by files with such ops.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from ..errors import PosenetError
from ..network import MAX_DILATION

__all__ = ["OPS", "check_runnable", "passed_checks", "problems", "trial_run", "validate"]

log = logging.getLogger(__name__)

_OP = schema.BuiltinOperator
_OPTIONS = schema.BuiltinOptions
_TYPE = schema.TensorType

#: Largest tensor, in elements: a 4097 x 4097 RGB input is 50 M, its first activations 100 M.
MAX_ELEMENTS = 1 << 28
#: Largest rank LiteRT's kernels handle.
MAX_RANK = 8
#: Largest stride, dilation, pool window and explicit pad: network.MAX_DILATION's reason
#: (past it, a kernel on the largest input's grid sees nothing but padding).
MAX_GEOMETRY = MAX_DILATION
#: Quantization scales outside this range overflow LiteRT's fixed-point multipliers.
SCALE_RANGE = (1e-12, 1e12)

#: numpy dtype of the constants whose values are checked (NaN, Inf, all zero).
_NUMPY: dict[int, str] = {
    _TYPE.FLOAT32: "<f4",
    _TYPE.FLOAT16: "<f2",
    _TYPE.UINT8: "u1",
    _TYPE.INT8: "i1",
    _TYPE.INT32: "<i4",
    _TYPE.INT64: "<i8",
}
#: Bytes per element of each type whose constant data can be checked.
_ITEM_BYTES: dict[int, int] = {
    _TYPE.FLOAT32: 4,
    _TYPE.FLOAT16: 2,
    _TYPE.INT32: 4,
    _TYPE.UINT8: 1,
    _TYPE.INT64: 8,
    _TYPE.BOOL: 1,
    _TYPE.INT16: 2,
    _TYPE.INT8: 1,
    _TYPE.FLOAT64: 8,
    _TYPE.UINT64: 8,
    _TYPE.UINT32: 4,
    _TYPE.UINT16: 2,
}
#: Value range of each integer type a quantization zero point is stored for.
_INT_RANGES: dict[int, tuple[int, int]] = {
    _TYPE.UINT8: (0, 255),
    _TYPE.INT8: (-128, 127),
    _TYPE.INT16: (-32768, 32767),
    _TYPE.INT32: (-(2**31), 2**31 - 1),
    _TYPE.INT64: (-(2**63), 2**63 - 1),
    _TYPE.UINT16: (0, 65535),
}
_TYPE_NAMES = {v: k for k, v in vars(_TYPE).items() if not k.startswith("_")}
_OP_NAMES = {v: k for k, v in vars(_OP).items() if not k.startswith("_")}
_ACTIVATIONS = {
    schema.ActivationFunctionType.NONE,
    schema.ActivationFunctionType.RELU,
    schema.ActivationFunctionType.RELU_N1_TO_1,
    schema.ActivationFunctionType.RELU6,
}
_PADDINGS = {schema.Padding.SAME, schema.Padding.VALID}


@dataclass(frozen=True)
class OpRule:
    """What an operator needs: input count range, output count, options.

    options: the BuiltinOptions type it must carry (LiteRT's parser falls back to
        zeros without one: a stride of 0), or None when it takes none.
    check: further checks of the options object, returning problems.
    """

    inputs: tuple[int, int]
    outputs: int
    options: int | None = None
    check: Callable[[Any], list[str]] | None = None


def _geometry(options: Any, *fields: str) -> list[str]:
    return [
        f"{name} {value} (expected 1..{MAX_GEOMETRY})"
        for name in fields
        for value in [getattr(options, name)]
        if not 1 <= value <= MAX_GEOMETRY
    ]


def _activation(options: Any) -> list[str]:
    fused = options.fusedActivationFunction
    return [] if fused in _ACTIVATIONS else [f"fused activation {fused} (not one LiteRT runs)"]


def _padding(options: Any) -> list[str]:
    return [] if options.padding in _PADDINGS else [f"padding {options.padding} (not SAME/VALID)"]


def _conv(options: Any) -> list[str]:
    found = _padding(options) + _activation(options)
    return found + _geometry(options, "strideH", "strideW", "dilationHFactor", "dilationWFactor")


def _depthwise(options: Any) -> list[str]:
    found = _conv(options)
    if not 0 <= options.depthMultiplier <= MAX_GEOMETRY:
        found.append(f"depth multiplier {options.depthMultiplier}")
    return found


def _pool(options: Any) -> list[str]:
    found = _padding(options) + _activation(options)
    return found + _geometry(options, "strideH", "strideW", "filterHeight", "filterWidth")


def _concatenation(options: Any) -> list[str]:
    found = _activation(options)
    if not -MAX_RANK <= options.axis < MAX_RANK:
        found.append(f"axis {options.axis}")
    return found


_ELEMENTWISE = OpRule((1, 1), 1)
_BINARY = OpRule((2, 2), 1)
#: Builtin operators checked in full, with what each needs (every op PoseNet files use).
OPS: dict[int, OpRule] = {
    _OP.CONV_2D: OpRule((3, 3), 1, options=_OPTIONS.Conv2DOptions, check=_conv),
    _OP.DEPTHWISE_CONV_2D: OpRule(
        (3, 3), 1, options=_OPTIONS.DepthwiseConv2DOptions, check=_depthwise
    ),
    _OP.CONCATENATION: OpRule(
        (1, 64), 1, options=_OPTIONS.ConcatenationOptions, check=_concatenation
    ),
    _OP.AVERAGE_POOL_2D: OpRule((1, 1), 1, options=_OPTIONS.Pool2DOptions, check=_pool),
    _OP.MAX_POOL_2D: OpRule((1, 1), 1, options=_OPTIONS.Pool2DOptions, check=_pool),
    _OP.ADD: OpRule((2, 2), 1, options=_OPTIONS.AddOptions, check=_activation),
    _OP.MUL: OpRule((2, 2), 1, options=_OPTIONS.MulOptions, check=_activation),
    _OP.SUB: OpRule((2, 2), 1, options=_OPTIONS.SubOptions, check=_activation),
    _OP.MAXIMUM: _BINARY,
    _OP.MINIMUM: _BINARY,
    _OP.PAD: OpRule((2, 2), 1),
    _OP.PADV2: OpRule((3, 3), 1),
    _OP.QUANTIZE: _ELEMENTWISE,
    _OP.DEQUANTIZE: _ELEMENTWISE,
    _OP.LOGISTIC: _ELEMENTWISE,
    _OP.RELU: _ELEMENTWISE,
    _OP.RELU6: _ELEMENTWISE,
    _OP.TANH: _ELEMENTWISE,
}


def validate(model: schema.ModelT, source: str = "model", file_size: int | None = None) -> None:
    """Raise PosenetError naming the first problem of model (see problems)."""
    found = problems(model, file_size)
    if found:
        more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
        raise PosenetError(f"{source}: damaged TFLite model: {found[0]}{more}")


#: sha256 of the bytes check_runnable passed in this process: a model read, cut and then
#: given to the Runtime is checked once, and its 25-50 ms parse is not paid twice.
_PASSED: set[str] = set()


def check_runnable(data: bytes, source: str = "model", parsed: schema.ModelT | None = None) -> None:
    """Check TFLite bytes about to be given to LiteRT (parsed: the same model already
    read, to skip parsing it again); for models with operators outside OPS, also the
    one-time trial run in a child process."""
    from .flatbuffer import read_model

    digest = hashlib.sha256(data).hexdigest()
    if digest in _PASSED:
        return
    model = parsed if parsed is not None else read_model(data, source)
    validate(model, source, len(data))
    if unchecked_ops(model):
        trial_run(data, source)
    passed_checks(digest)


def passed_checks(sha256: str) -> None:
    """Note that the bytes with this sha256 passed check_runnable (in this process or,
    for a cached build, in the one that wrote them), so they are not parsed again."""
    _PASSED.add(sha256)


def unchecked_ops(model: schema.ModelT) -> list[str]:
    """Names of the builtin operators of model that OPS does not cover."""
    names = set()
    for code in model.operatorCodes or []:
        builtin = _builtin(code)
        if builtin not in OPS and builtin != _OP.CUSTOM:
            names.add(_OP_NAMES.get(builtin, f"BUILTIN_{builtin}"))
    return sorted(names)


def problems(model: schema.ModelT, file_size: int | None = None) -> list[str]:
    """Every problem of model that could crash LiteRT or make it compute nonsense, one
    line each ([] if none). file_size: the file's length, for buffers stored after the
    flatbuffer (models over 2 GB)."""
    if not model.subgraphs:
        return ["it has no subgraph"]
    checker = _Checker(model, file_size)
    found = checker.buffer_problems()
    for g, graph in enumerate(model.subgraphs):
        where = "" if g == 0 else f"subgraph {g}: "
        found += [where + p for p in checker.graph_problems(graph)]
    found += checker.signature_problems()
    if not found:  # values are read only once every index is known to be good
        found += checker.weight_problems()
    return found


class _Checker:
    """The checks of one model; `constant` is what a tensor needs to count as data."""

    def __init__(self, model: schema.ModelT, file_size: int | None) -> None:
        self.model = model
        self.buffers = model.buffers or []
        self.codes = model.operatorCodes or []
        self.past_end = {
            b
            for b, buffer in enumerate(self.buffers)
            if file_size is not None
            and (buffer.offset or 0) > 1
            and buffer.offset + (buffer.size or 0) > file_size
        }
        self.file_size = file_size

    def buffer_problems(self) -> list[str]:
        found = []
        if not self.buffers:
            found.append("it has no buffers (LiteRT needs at least the empty buffer 0)")
        for b in sorted(self.past_end):
            buffer = self.buffers[b]
            found.append(
                f"buffer {b} (offset {buffer.offset}, {buffer.size} bytes) lies past the end "
                f"of the file ({self.file_size:,} bytes)"
            )
        return found

    def graph_problems(self, graph: schema.SubGraphT) -> Iterator[str]:
        tensors = graph.tensors or []
        count = len(tensors)
        constant = set()
        for t, tensor in enumerate(tensors):
            problem = self.tensor_problem(tensor)
            if problem:
                yield f"tensor {t} ({_name(tensor)}) {problem}"
            elif self.has_data(tensor):
                constant.add(t)
        for side in ("inputs", "outputs"):
            indices = _indices(getattr(graph, side))
            if not indices:
                yield f"the graph has no {side}"
            for i in indices:
                if not 0 <= i < count:
                    yield f"graph {side[:-1]} {i} is not a tensor (the graph has {count})"
            if len(set(indices)) != len(indices):
                yield f"graph {side} {indices} list a tensor twice"
        written = {i for i in _indices(graph.inputs) if 0 <= i < count}
        written |= {t for t, tensor in enumerate(tensors) if tensor.isVariable}
        produced = {i for op in graph.operators or [] for i in _indices(op.outputs)}
        for i in sorted(written & constant):
            yield f"graph input {i} is a constant"
        for k, op in enumerate(graph.operators or []):
            if not 0 <= op.opcodeIndex < len(self.codes):
                codes = len(self.codes)
                yield f"operator {k}: opcode index {op.opcodeIndex} (the model has {codes})"
                continue
            builtin = _builtin(self.codes[op.opcodeIndex])
            name = _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
            for problem in self.op_problems(op, builtin, tensors, written, constant, produced):
                yield f"operator {k} ({name}): {problem}"
            written.update(i for i in _indices(op.outputs) if 0 <= i < count)
        for i in _indices(graph.outputs):
            if 0 <= i < count and i not in written and i not in constant:
                yield f"graph output {i} is never written"

    def op_problems(
        self,
        op: schema.OperatorT,
        builtin: int,
        tensors: list[schema.TensorT],
        written: set[int],
        constant: set[int],
        produced: set[int],
    ) -> Iterator[str]:
        """written: tensors written so far; produced: by any operator of the graph."""
        rule = OPS.get(builtin)
        inputs, outputs, count = _indices(op.inputs), _indices(op.outputs), len(tensors)
        if rule is not None:
            low, high = rule.inputs
            if not low <= len(inputs) <= high:
                expected = f"{low}..{high}" if low != high else f"{low}"
                yield f"{len(inputs)} inputs (expected {expected})"
            if len(outputs) != rule.outputs:
                yield f"{len(outputs)} outputs (expected {rule.outputs})"
        for position, i in enumerate(inputs):
            if not 0 <= i < count:
                yield f"input {position} is tensor {i} (the graph has {count})"
            elif i in written or i in constant or tensors[i].buffer in self.past_end:
                continue
            elif i not in produced:
                yield (
                    f"input {position}: weight tensor {i} ({_name(tensors[i])}) has an empty "
                    f'buffer (LiteRT stops with "Input tensor {i} lacks data")'
                )
            else:
                yield f"input {position} (tensor {i}) is read before any operator writes it"
        if not outputs:
            yield "no outputs"
        for position, i in enumerate(outputs):
            if not 0 <= i < count:
                yield f"output {position} is tensor {i} (the graph has {count})"
            elif i in written:
                yield f"output {position} (tensor {i}) is already written before"
            elif i in constant:
                yield f"output {position} (tensor {i}) is a constant"
        if builtin in (_OP.PAD, _OP.PADV2) and len(inputs) > 1 and 0 <= inputs[1] < count:
            yield from self.padding_problems(tensors[inputs[1]], inputs[1])
        if rule is None or rule.options is None:
            return
        if op.builtinOptionsType != rule.options or op.builtinOptions is None:
            yield f"options of type {op.builtinOptionsType} (expected {rule.options})"
        elif rule.check is not None:
            yield from rule.check(op.builtinOptions)

    def padding_problems(self, tensor: schema.TensorT, index: int) -> Iterator[str]:
        """A PAD's amounts: a constant [rank, 2] of int32 / int64 within MAX_GEOMETRY (a
        huge pad would make LiteRT allocate gigabytes)."""
        values = self.values(tensor) if tensor.type in (_TYPE.INT32, _TYPE.INT64) else None
        shape = _indices(tensor.shape)
        if values is None or len(shape) != 2 or shape[1] != 2:
            yield f"paddings (tensor {index}) are not a constant [rank, 2] of integers"
        elif not ((values >= 0) & (values <= MAX_GEOMETRY)).all():
            yield f"paddings (tensor {index}) outside 0..{MAX_GEOMETRY}"

    def tensor_problem(self, tensor: schema.TensorT) -> str | None:
        if tensor.type not in _TYPE_NAMES:
            return f"has unknown type {tensor.type}"
        shape = _indices(tensor.shape)
        if len(shape) > MAX_RANK:
            return f"has rank {len(shape)} (at most {MAX_RANK})"
        if any(d < 0 for d in shape):
            return f"has shape {shape} with a negative size"
        elements = math.prod(shape)
        if elements > MAX_ELEMENTS:
            return f"has shape {shape} of {elements:,} elements (at most {MAX_ELEMENTS:,})"
        if not 0 <= tensor.buffer < max(len(self.buffers), 1):
            return f"-> buffer {tensor.buffer} points past the file's {len(self.buffers)} buffers"
        if tensor.sparsity is not None:
            return "is sparse (not supported)"
        if getattr(tensor, "externalBuffer", 0):
            return "has an external buffer (not supported)"
        if self.has_data(tensor):
            stored = _data_size(self.buffers[tensor.buffer])
            item = _ITEM_BYTES.get(tensor.type)
            if item is None:
                return f"is a constant of type {_TYPE_NAMES[tensor.type]}"
            if stored != elements * item:
                return (
                    f"has {stored} bytes of data, its shape {shape} of "
                    f"{_TYPE_NAMES[tensor.type]} needs {elements * item}"
                )
        return _quantization_problem(tensor, shape)

    def has_data(self, tensor: schema.TensorT) -> bool:
        """Whether tensor is a constant: a buffer with data inside the file."""
        b = tensor.buffer
        if not 0 < b < len(self.buffers) or b in self.past_end:
            return False
        return _data_size(self.buffers[b]) > 0

    def signature_problems(self) -> list[str]:
        found = []
        graphs = self.model.subgraphs
        for s, sig in enumerate(self.model.signatureDefs or []):
            if not 0 <= sig.subgraphIndex < len(graphs):
                found.append(f"signature {s}: subgraph {sig.subgraphIndex} does not exist")
                continue
            count = len(graphs[sig.subgraphIndex].tensors or [])
            for entry in [*(sig.inputs or []), *(sig.outputs or [])]:
                if not 0 <= entry.tensorIndex < count:
                    found.append(f"signature {s}: tensor {entry.tensorIndex} does not exist")
        return found

    def weight_problems(self) -> list[str]:
        """Constants holding NaN or Inf, and convolutions whose weights are all zero (a
        file whose weights were wiped still runs, and finds nobody or ghosts)."""
        found = []
        for graph in self.model.subgraphs:
            tensors = graph.tensors or []
            producer = {o: op for op in graph.operators or [] for o in _indices(op.outputs)}
            for t, tensor in enumerate(tensors):
                values = self.values(tensor)
                if (
                    values is not None
                    and values.dtype.kind == "f"
                    and not np.isfinite(values).all()
                ):
                    found.append(f"tensor {t} ({_name(tensor)}): weights hold NaN or Inf")
            for k, op in enumerate(graph.operators or []):
                if self.builtin(op) not in (_OP.CONV_2D, _OP.DEPTHWISE_CONV_2D):
                    continue
                weights = int(op.inputs[1])
                source = producer.get(weights)
                if source is not None and self.builtin(source) == _OP.DEQUANTIZE:
                    weights = int(source.inputs[0])  # float16 weights behind a DEQUANTIZE
                values = self.values(tensors[weights])
                if values is not None and _all_zero(values, tensors[weights]):
                    found.append(f"operator {k}: the weights of tensor {weights} are all zero")
        return found

    def builtin(self, op: schema.OperatorT) -> int:
        return _builtin(self.codes[op.opcodeIndex])

    def values(self, tensor: schema.TensorT) -> np.ndarray | None:
        """A constant's values in its stored type (inline data only), else None."""
        dtype = _NUMPY.get(tensor.type)
        if dtype is None or not self.has_data(tensor):
            return None
        data = self.buffers[tensor.buffer].data
        if data is None or len(data) == 0:
            return None
        return np.frombuffer(np.ascontiguousarray(data, dtype=np.uint8), dtype=dtype)


def _quantization_problem(tensor: schema.TensorT, shape: list[int]) -> str | None:
    q = tensor.quantization
    if q is None:
        return None
    if q.scale is None or len(q.scale) == 0:
        zero_points = 0 if q.zeroPoint is None else len(q.zeroPoint)
        return f"has {zero_points} quantization zero points but no scale" if zero_points else None
    scale = np.asarray(q.scale, dtype=np.float64)
    zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else [], dtype=np.float64)
    low, high = SCALE_RANGE
    if not (np.isfinite(scale).all() and (scale >= low).all() and (scale <= high).all()):
        return f"has a quantization scale outside [{low:g}, {high:g}] ({scale[0]:g} ...)"
    if zero.size not in (0, scale.size):
        return f"has {scale.size} quantization scales but {zero.size} zero points"
    limits = _INT_RANGES.get(tensor.type)
    if limits and zero.size and not ((zero >= limits[0]) & (zero <= limits[1])).all():
        return f"has a zero point outside {_TYPE_NAMES[tensor.type]}'s range {limits}"
    if scale.size > 1:
        axis = q.quantizedDimension
        if not 0 <= axis < len(shape) or shape[axis] != scale.size:
            return f"has {scale.size} per-channel scales on dimension {axis} of shape {shape}"
    return None


def _all_zero(values: np.ndarray, tensor: schema.TensorT) -> bool:
    """Whether every value is zero in real terms (quantized: equal to its zero point)."""
    if values.dtype.kind == "f":
        return not values.any()
    q = tensor.quantization
    zero = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [0])
    if zero.size <= 1:
        return values.min() == values.max() == (zero[0] if zero.size else 0)
    shape = [1] * len(tensor.shape)
    shape[q.quantizedDimension] = zero.size
    return bool((values.reshape(tensor.shape) == zero.reshape(shape)).all())


def _builtin(code: schema.OperatorCodeT) -> int:
    return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))


def _indices(values: Any) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def _name(tensor: schema.TensorT) -> str:
    return (tensor.name or b"").decode("utf-8", "replace")[:60]


def _data_size(buffer: schema.BufferT) -> int:
    if buffer.data is not None and len(buffer.data):
        return len(buffer.data)
    return int(buffer.size or 0) if (buffer.offset or 0) > 1 else 0


# -- the trial run for operators outside OPS -------------------------------------------


#: Seconds a trial run may take (a PoseNet invokes in well under a second).
TRIAL_TIMEOUT = 120.0

_TRIAL_CODE = """
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
try:
    interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
    interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    interpreter.invoke()
except Exception as exc:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    print(reason.replace("Node number", "; node number"), file=sys.stderr)
    sys.exit(3)
"""


def trial_run(data: bytes, source: str = "model") -> None:
    """Build, allocate and invoke the model once in a child process (at most once per
    sha256, remembered in the store's `checked/` folder); PosenetError if the child
    is killed by a signal, times out or fails."""
    from .. import store

    digest = hashlib.sha256(data).hexdigest()
    marker = store.home() / "checked" / f"{digest}.ok"
    if marker.is_file():
        return
    with tempfile.TemporaryDirectory(prefix="posenet-trial-") as tmp:
        path = os.path.join(tmp, "model.tflite")
        with open(path, "wb") as f:
            f.write(data)
        try:
            child = subprocess.run(
                [sys.executable, "-c", _TRIAL_CODE, path],
                capture_output=True,
                timeout=TRIAL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PosenetError(
                f"{source}: LiteRT did not finish a trial run in {TRIAL_TIMEOUT:g} s"
            ) from None
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        raise PosenetError(f"{source}: LiteRT crashed ({name}) on a trial run of this model")
    if child.returncode != 0:
        lines = child.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {child.returncode}"
        raise PosenetError(f"{source}: LiteRT cannot run it: {reason}")
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_bytes(b"")
    except OSError as exc:  # unremembered, the next run pays the trial again
        log.debug("cannot remember the trial run in %s: %s", marker, exc)
