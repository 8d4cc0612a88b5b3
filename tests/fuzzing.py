"""Fuzzing the CLI with mutated models and images: the mutators, the runner, the long run.

Every case starts from a real file in ../shared/assets (the Coral .tflite, the
TF.js posenet-mobilenet-float-075 graph model, the frozen .pb, the photos),
mutated by a generator seeded with `seed:format:index`, so any case can be made
again alone (`scripts/fuzz --format tfjs --case 17`). Mutants are written to a
temporary folder; the assets are only read.

Each case runs `posenet detect` (and, for models, `posenet inspect`) in a child
process with a time limit and RLIMIT_AS, and the outcome is held to the
invariants of issue #13: no signal, no hang, exit 0 or 2, at most one line on
stderr (exactly one, "posenet: error: ...", on exit 2), inputs unchanged. The
child is forked from a process that has imported posenet (after warming numba's
disk cache with the real commands), then calls `posenet.cli.main` as the
`posenet` script would: a fraction of a second per case instead of a second of
start-up. `run_cli` starts
a real `python -m posenet.cli` instead, for the cases that need one.

`tests/test_fuzz.py` runs a small seeded sample in CI; `scripts/fuzz` runs
1,000 cases per format and prints the table:

    scripts/fuzz [--cases 1000] [--seed 13] [--format tflite|tfjs|pb|image] [--case N]
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import hashlib
import io
import json
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
MODELS = ASSETS / "models"
IMAGES = ASSETS / "images"
CORAL = MODELS / "coral" / "posenet_mobilenet_v1_075_353_481_quant_decoder.tflite"
TFJS = MODELS / "tfjs" / "posenet-mobilenet-float-075"
PB = MODELS / "pb" / "model-mobilenet_v1_050.pb"
PHOTOS = tuple(IMAGES / n for n in ("frisbee.jpg", "soccer.png", "tennis_in_crowd.jpg"))
#: The photo every model mutant is run on (small, one person).
PHOTO = IMAGES / "frisbee.jpg"

FORMATS = ("tflite", "tfjs", "pb", "image")
#: Seconds a case may take before it counts as a hang.
TIME_LIMIT = 60.0
#: Address space a case may use (issue #13: memory under 2 GB).
MEMORY_LIMIT = 2 << 30


# -- running one command ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How one CLI run ended."""

    argv: tuple[str, ...]
    returncode: int | None  # None when killed by a signal or the time limit
    signal: int | None
    hung: bool
    stderr: str
    seconds: float
    max_rss_mb: float

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def problems(self) -> list[str]:
        """Which invariants this run broke (empty when it held them all)."""
        found = []
        if self.hung:
            found.append("hang")
        elif self.signal is not None:
            found.append(f"signal {signal.Signals(self.signal).name}")
        elif self.returncode not in (0, 2):
            found.append(f"exit {self.returncode}")
        lines = self.stderr_lines
        one_error = len(lines) == 1 and lines[0].startswith("posenet: error:")
        quiet = not lines or (len(lines) == 1 and lines[0].startswith("posenet: "))
        if (self.returncode == 2 and not one_error) or (self.returncode == 0 and not quiet):
            found.append(f"{len(lines)} stderr lines")
        return found


#: Python's own default warning filters, which a forked child gets back (pytest changes them).
_DEFAULT_WARNING_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, None),
    ("ignore", PendingDeprecationWarning, None),
    ("ignore", ImportWarning, None),
    ("ignore", ResourceWarning, None),
)


def prepare_parent(env: dict[str, str]) -> None:
    """Make every case start warm: run the real commands once on the unmutated models in
    child processes, so that numba's disk cache holds every kernel a case can reach and
    no case compiles one (or prints the one-time notice that it is compiling); then
    import what every case needs, once, before forking (never a LiteRT interpreter:
    its threads must not be forked)."""
    for model in ("coral-075-353x481", "tfjs-075", "pb-050"):
        with tempfile.TemporaryDirectory() as out:
            for argv in (
                ["detect", str(PHOTO), "--model", model, "--json", "-"],
                ["explain", str(PHOTO), "--model", model, "--out", out],
            ):
                outcome = run_forked(argv, env)
                if outcome.returncode != 0:
                    raise RuntimeError(f"warming up failed: {' '.join(argv)}\n{outcome.stderr}")
    import posenet.cli
    import posenet.commands.detect
    import posenet.commands.inspect
    import posenet.estimator
    import posenet.inspection  # noqa: F401


def run_forked(
    argv: list[str], env: dict[str, str], time_limit: float = TIME_LIMIT, cwd: Path | None = None
) -> Outcome:
    """`posenet *argv` in a forked child: RLIMIT_AS, the time limit, stdout discarded."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                _child(argv, env, err.fileno(), cwd)
                from posenet.cli import main

                code = main(list(argv))
            except BaseException:  # anything escaping main: a crash the outcome shows
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code if isinstance(code, int) else 1)
        status, rusage, hung = _wait(pid, start + time_limit)
        seconds = time.monotonic() - start
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Outcome(
        argv=tuple(argv),
        returncode=os.WEXITSTATUS(status) if os.WIFEXITED(status) and not hung else None,
        signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) and not hung else None,
        hung=hung,
        stderr=stderr,
        seconds=seconds,
        max_rss_mb=rusage.ru_maxrss / 1024,
    )


def _child(argv: list[str], env: dict[str, str], stderr_fd: int, cwd: Path | None) -> None:
    os.setsid()  # Ctrl-C at the fuzzer's terminal stops the fuzzer, not each case
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(stderr_fd, 2)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    warnings.resetwarnings()
    for action, category, module in reversed(_DEFAULT_WARNING_FILTERS):
        warnings.filterwarnings(action, category=category, module=module or "")
    import logging

    root = logging.getLogger()
    for handler in root.handlers[:]:  # pytest's capturing handlers
        root.removeHandler(handler)


def _wait(pid: int, deadline: float) -> tuple[int, resource.struct_rusage, bool]:
    delay = 0.002
    while True:
        done, status, rusage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, rusage, False
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            _, status, rusage = os.wait4(pid, 0)
            return status, rusage, True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def run_cli(
    argv: list[str],
    env: dict[str, str],
    time_limit: float = TIME_LIMIT,
    interrupt_after: float | None = None,
) -> Outcome:
    """`python -m posenet.cli *argv` as a real subprocess (RLIMIT_AS, time limit).

    interrupt_after: send SIGINT that many seconds after the start, as Ctrl-C would.
    """

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "posenet.cli", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **env},
            preexec_fn=limit,
        )
        hung = False
        try:
            if interrupt_after is not None:
                try:
                    process.wait(interrupt_after)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGINT)
            process.wait(max(0.0, start + time_limit - time.monotonic()))
        except subprocess.TimeoutExpired:
            hung = True
            process.kill()
            process.wait()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    code = process.returncode
    return Outcome(
        argv=tuple(argv),
        returncode=None if hung or code < 0 else code,
        signal=-code if code < 0 and not hung else None,
        hung=hung,
        stderr=stderr,
        seconds=time.monotonic() - start,
        max_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


# -- cases -----------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One mutant: what was done, the commands to run on it, the files it must leave alone."""

    format: str
    index: int
    mutation: str
    commands: list[list[str]]
    inputs: list[Path]
    cwd: Path | None = None


def make_case(fmt: str, index: int, seed: int, folder: Path) -> Case:
    """Case `index` of format `fmt`, written under folder (which must be empty)."""
    rng = random.Random(f"{seed}:{fmt}:{index}")
    mutate = _MAKERS[fmt]
    mutation, target = mutate(rng, folder)
    out = folder / "out"
    if fmt == "image":
        commands = [["detect", str(target), "--json", "-"]]
        inputs = [target]
    else:
        report = rng.choice([["--json", "-"], [], ["--html", str(out / "report.html")]])
        commands = [
            ["detect", str(PHOTO), "--model", str(target), "--json", "-"],
            ["inspect", str(target), *report],
        ]
        other = rng.random()  # the other commands that read models, now and then
        if other < 0.2:
            commands.append(["explain", str(PHOTO), "--model", str(target), "--out", str(out)])
        elif other < 0.3:
            output = str(out / "exported.tflite")
            commands.append(["export", str(target), "-o", output, "--check-image", str(PHOTO)])
        inputs = [PHOTO, *sorted(folder.rglob("*"))]
    out.mkdir()
    return Case(fmt, index, mutation, commands, inputs)


def digest(paths: list[Path]) -> dict[str, str]:
    """sha256 of each regular file in paths (what 'inputs unchanged' compares)."""
    found = {}
    for path in paths:
        try:
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
    return found


# -- TFLite mutants ----------------------------------------------------------------------


def _tflite(rng: random.Random, folder: Path) -> tuple[str, Path]:
    data = CORAL.read_bytes()
    target = folder / "model.tflite"
    kind = rng.choice(
        [
            "op index",
            "op index",
            "graph io",
            "tensor buffer",
            "shape",
            "shape",
            "opcode index",
            "opcode code",
            "options",
            "options",
            "quantization",
            "buffer data",
            "tensor type",
            "decoder options",
            "truncate",
            "bit flips",
            "bit flips",
            "int overwrite",
            "tensor list",
        ]
    )
    if kind in ("truncate", "bit flips", "int overwrite"):
        target.write_bytes(_byte_mutation(rng, kind, data))
        return kind, target
    from posenet.tflite.flatbuffer import read_model, write_model

    for _ in range(20):  # an edit whose value does not fit its field is drawn again
        model = read_model(data)
        try:
            what = _TFLITE_EDITS[kind](rng, model)
            target.write_bytes(write_model(model))
            break
        except (TypeError, struct.error, OverflowError, RuntimeError):
            continue
    return f"{kind}: {what}", target


def _byte_mutation(rng: random.Random, kind: str, data: bytes) -> bytes:
    out = bytearray(data)
    if kind == "truncate":
        return bytes(out[: rng.randrange(len(out))])
    if kind == "bit flips":
        # the first few KB hold the tables and vectors in most files; flip there as well
        span = len(out) if rng.random() < 0.5 else min(len(out), 8192)
        for _ in range(rng.randint(1, 16)):
            at = rng.randrange(span)
            out[at] ^= 1 << rng.randrange(8)
        return bytes(out)
    if kind == "int overwrite":
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(0, len(out) - 4) & ~3
            value = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, rng.getrandbits(32)])
            out[at : at + 4] = struct.pack("<I", value)
        return bytes(out)
    raise ValueError(kind)


def _array(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype(np.int32)


def _pick_op(rng: random.Random, model):
    graph = model.subgraphs[0]
    index = rng.randrange(len(graph.operators))
    return index, graph.operators[index]


def _bad_index(rng: random.Random, count: int) -> int:
    return rng.choice(
        [-1, -1, -2, count, count + rng.randrange(1, 1000), 2**31 - 1, rng.randrange(count)]
    )


def _edit_op_index(rng, model) -> str:
    k, op = _pick_op(rng, model)
    side = rng.choice(["inputs", "outputs"])
    values = list(getattr(op, side))
    if not values:
        values = [0]
    slot = rng.randrange(len(values))
    values[slot] = _bad_index(rng, len(model.subgraphs[0].tensors))
    setattr(op, side, _array(values))
    return f"op {k} {side}[{slot}] = {values[slot]}"


def _edit_graph_io(rng, model) -> str:
    graph = model.subgraphs[0]
    side = rng.choice(["inputs", "outputs"])
    count = len(graph.tensors)
    choice = rng.choice(["empty", "bad", "twice", "other"])
    values = list(getattr(graph, side))
    if choice == "empty":
        values = []
    elif choice == "bad":
        values[rng.randrange(len(values))] = _bad_index(rng, count)
    elif choice == "twice":
        values = values + values
    else:
        values[rng.randrange(len(values))] = rng.randrange(count)
    setattr(graph, side, _array(values))
    return f"subgraph {side} = {values}"


def _edit_tensor_buffer(rng, model) -> str:
    graph = model.subgraphs[0]
    t = rng.randrange(len(graph.tensors))
    graph.tensors[t].buffer = rng.choice(
        [len(model.buffers), 2**31 - 1, 0, rng.randrange(len(model.buffers))]
    )
    return f"tensor {t} buffer = {graph.tensors[t].buffer}"


def _edit_shape(rng, model) -> str:
    graph = model.subgraphs[0]
    t = rng.randrange(len(graph.tensors))
    tensor = graph.tensors[t]
    shape = [int(d) for d in (tensor.shape if tensor.shape is not None else [])]
    choice = rng.choice(["dim", "dim", "rank+", "rank-", "swap", "empty"])
    if choice == "dim" and shape:
        shape[rng.randrange(len(shape))] = rng.choice(
            [0, -1, -7, 2**31 - 1, 2**20, 3, rng.randrange(1, 5000)]
        )
    elif choice == "rank+":
        shape.insert(rng.randrange(len(shape) + 1), rng.choice([1, 2, 1000]))
    elif choice == "rank-" and shape:
        shape.pop(rng.randrange(len(shape)))
    elif choice == "swap" and len(shape) > 1:
        i, j = rng.sample(range(len(shape)), 2)
        shape[i], shape[j] = shape[j], shape[i]
    else:
        shape = []
    tensor.shape = _array(shape)
    if rng.random() < 0.3:
        tensor.shapeSignature = _array(shape)
    return f"tensor {t} shape = {shape}"


def _edit_opcode_index(rng, model) -> str:
    k, op = _pick_op(rng, model)
    op.opcodeIndex = rng.choice([len(model.operatorCodes), 255, rng.randrange(4)])
    return f"op {k} opcodeIndex = {op.opcodeIndex}"


def _edit_opcode_code(rng, model) -> str:
    c = rng.randrange(len(model.operatorCodes))
    code = model.operatorCodes[c]
    value = rng.choice([rng.randrange(0, 210), 3, 4, 2, 32, 127, 1000])
    code.builtinCode = value
    code.deprecatedBuiltinCode = min(value, 127)
    if rng.random() < 0.3:
        code.customCode = rng.choice([b"PosenetDecoderOp", b"edgetpu-custom-op", b"x", None])
    if rng.random() < 0.3:
        code.version = rng.choice([0, 99, -1])
    return f"opcode {c} = {value}"


def _edit_options(rng, model) -> str:
    from ai_edge_litert import schema_py_generated as schema

    k, op = _pick_op(rng, model)
    options = op.builtinOptions
    if options is None or rng.random() < 0.15:
        op.builtinOptionsType = rng.randrange(0, 130)
        return f"op {k} options type = {op.builtinOptionsType}"
    fields = [f for f in vars(options) if isinstance(getattr(options, f), int)]
    if not fields:
        op.builtinOptions = schema.PadOptionsT()
        return f"op {k} options = PadOptions"
    field = rng.choice(fields)
    value = rng.choice([0, -1, 2, 3, 7, 1000, 2**30, 2**31 - 1, -(2**31)])
    setattr(options, field, value)
    return f"op {k} {field} = {value}"


def _edit_quantization(rng, model) -> str:
    graph = model.subgraphs[0]
    candidates = [i for i, t in enumerate(graph.tensors) if t.quantization is not None]
    t = rng.choice(candidates)
    q = graph.tensors[t].quantization
    choice = rng.choice(["scale", "scale", "zero", "axis", "lengths"])
    if choice == "scale":
        value = rng.choice([0.0, float("nan"), float("inf"), -1.0, 1e30, 1e-30])
        q.scale = np.full(max(1, len(q.scale if q.scale is not None else [])), value, np.float32)
        return f"tensor {t} scale = {value}"
    if choice == "zero":
        value = rng.choice([-1, 256, 2**31 - 1, -(2**31)])
        q.zeroPoint = np.full(max(1, len(q.zeroPoint if q.zeroPoint is not None else [])), value)
        return f"tensor {t} zero point = {value}"
    if choice == "axis":
        q.quantizedDimension = rng.choice([-1, 4, 7, 2**31 - 1])
        q.scale = np.ones(3, np.float32)
        q.zeroPoint = np.zeros(3, np.int64)
        return f"tensor {t} per-axis, dimension {q.quantizedDimension}"
    q.scale = np.ones(rng.randint(0, 5), np.float32)
    q.zeroPoint = np.zeros(rng.randint(0, 5), np.int64)
    return f"tensor {t} {len(q.scale)} scales, {len(q.zeroPoint)} zero points"


def _edit_buffer_data(rng, model) -> str:
    filled = [i for i, b in enumerate(model.buffers) if b.data is not None and len(b.data)]
    b = rng.choice(filled)
    data = np.array(model.buffers[b].data, dtype=np.uint8)
    choice = rng.choice(["cut", "grow", "zero", "ones", "none", "noise"])
    if choice == "cut":
        data = data[: rng.randrange(len(data))]
    elif choice == "grow":
        data = np.concatenate([data, np.zeros(rng.randint(1, 64), np.uint8)])
    elif choice == "zero":
        data[:] = 0
    elif choice == "ones":
        data[:] = 0xFF
    elif choice == "noise":
        data = np.frombuffer(rng.randbytes(len(data)), np.uint8).copy()
    model.buffers[b].data = None if choice == "none" else data
    return f"buffer {b} {choice}"


def _edit_tensor_type(rng, model) -> str:
    graph = model.subgraphs[0]
    t = rng.randrange(len(graph.tensors))
    graph.tensors[t].type = rng.choice([0, 1, 2, 3, 4, 7, 9, 10, 16, 17, 50, -1])
    return f"tensor {t} type = {graph.tensors[t].type}"


def _edit_decoder_options(rng, model) -> str:
    from flatbuffers import flexbuffers

    graph = model.subgraphs[0]
    ops = [op for op in graph.operators if op.customOptions is not None]
    op = ops[0]
    options = {
        "max_detections": 10,
        "score_threshold": 0.2,
        "stride": 16,
        "nms_radius": 10.0,
    }
    key = rng.choice([*options, "_extra"])
    options[key] = rng.choice([0, -1, 10**9, float("nan"), 1e308, "text", 2**62])
    if rng.random() < 0.3:
        op.customOptions = np.frombuffer(rng.randbytes(rng.randint(0, 64)), np.uint8)
        return "decoder options = random bytes"
    op.customOptions = np.frombuffer(bytes(flexbuffers.Dumps(options)), np.uint8)
    return f"decoder option {key} = {options[key]!r}"


def _edit_tensor_list(rng, model) -> str:
    graph = model.subgraphs[0]
    choice = rng.choice(["drop tensors", "drop buffers", "drop ops", "drop codes", "two graphs"])
    if choice == "drop tensors":
        graph.tensors = graph.tensors[: rng.randrange(len(graph.tensors))]
    elif choice == "drop buffers":
        model.buffers = model.buffers[: rng.randrange(len(model.buffers))]
    elif choice == "drop ops":
        del graph.operators[rng.randrange(len(graph.operators))]
    elif choice == "drop codes":
        model.operatorCodes = model.operatorCodes[: rng.randrange(len(model.operatorCodes))]
    else:
        model.subgraphs = [graph, copy.deepcopy(graph)] if rng.random() < 0.5 else []
    return choice


_TFLITE_EDITS: dict[str, Callable] = {
    "op index": _edit_op_index,
    "graph io": _edit_graph_io,
    "tensor buffer": _edit_tensor_buffer,
    "shape": _edit_shape,
    "opcode index": _edit_opcode_index,
    "opcode code": _edit_opcode_code,
    "options": _edit_options,
    "quantization": _edit_quantization,
    "buffer data": _edit_buffer_data,
    "tensor type": _edit_tensor_type,
    "decoder options": _edit_decoder_options,
    "tensor list": _edit_tensor_list,
}


# -- TF.js mutants -----------------------------------------------------------------------


def _tfjs(rng: random.Random, folder: Path) -> tuple[str, Path]:
    model = json.loads((TFJS / "posenet.json").read_text(encoding="utf-8"))
    weights = (TFJS / "posenet.bin").read_bytes()
    target = folder / "model"
    target.mkdir()
    kind = rng.choice(
        [
            "paths",
            "paths",
            "paths container",
            "weights list",
            "shape",
            "shape",
            "dtype",
            "quantization",
            "topology",
            "topology",
            "attr",
            "attr",
            "nesting",
            "json text",
            "bin",
            "bin",
            "signature",
        ]
    )
    group = model["weightsManifest"][0]
    what = kind
    text = None
    if kind == "paths":
        what = _tfjs_paths(rng, group, target, weights)
    elif kind == "paths container":
        group["paths"] = rng.choice([None, {}, "posenet.bin", [], [["posenet.bin"]], 7])
        what = f"paths = {group['paths']!r}"
    elif kind == "weights list":
        what = _tfjs_weights_list(rng, model)
    elif kind == "shape":
        spec = rng.choice(group["weights"])
        choice = rng.choice(["dim", "dim", "reverse", "scalar", "extra", "type"])
        if choice == "dim" or not spec["shape"]:
            spec["shape"][rng.randrange(len(spec["shape"]))] = rng.choice(
                [-1, 0, 2**31, 2**62, 10**30, 1.5, 2.0, "3", True, None, [3], 1000]
            )
        elif choice == "reverse":
            spec["shape"] = spec["shape"][::-1]
        elif choice == "scalar":
            spec["shape"] = []
        elif choice == "extra":
            spec["shape"] = [*spec["shape"], rng.choice([1, 2, 65536])]
        else:
            spec["shape"] = rng.choice([None, "1,1", 5, {"dim": 3}])
        what = f"{spec['name']} shape = {spec['shape']!r}"
    elif kind == "dtype":
        spec = rng.choice(group["weights"])
        spec["dtype"] = rng.choice(["float64", "int32", "bool", "string", "complex64", None, 5])
        what = f"{spec['name']} dtype = {spec['dtype']!r}"
    elif kind == "quantization":
        spec = rng.choice(group["weights"])
        spec["quantization"] = rng.choice(
            [
                {"dtype": "uint8", "scale": "x", "min": 0},
                {"dtype": "uint8", "scale": float("nan"), "min": 0},
                {"dtype": "uint8", "scale": 1e308, "min": -1e308},
                {"dtype": "uint8", "scale": 0.1},
                {"dtype": "uint16", "scale": 0.0, "min": 0.0},
                {"dtype": "int4", "scale": 0.1, "min": 0},
                {"dtype": "float16"},
                None,
                [],
                "uint8",
            ]
        )
        what = f"{spec['name']} quantization = {spec['quantization']!r}"
    elif kind == "topology":
        what = _tfjs_topology(rng, model)
    elif kind == "attr":
        what = _tfjs_attr(rng, model)
    elif kind == "nesting":  # written as text: json.dumps itself stops at ~1000 levels
        depth = rng.choice([50, 1000, 100_000])
        nested = "[" * depth + "1" + "]" * depth
        where = rng.choice(["top", "attr", "shape"])
        marker = '"__nested__"'
        if where == "top":
            model["extra"] = "__nested__"
        elif where == "attr":
            rng.choice(model["modelTopology"]["node"]).setdefault("attr", {})["x"] = {
                "list": {"i": "__nested__"}
            }
        else:
            rng.choice(group["weights"])["shape"] = "__nested__"
        text = json.dumps(model).replace(marker, nested)
        what = f"nesting {depth} in {where}"
    elif kind == "json text":
        text = json.dumps(model)
        choice = rng.choice(["truncate", "flip", "bom", "huge int", "huge float", "latin-1"])
        if choice == "truncate":
            text = text[: rng.randrange(len(text))]
        elif choice == "flip":
            raw = bytearray(text.encode())
            for _ in range(rng.randint(1, 8)):
                raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
            (target / "posenet.json").write_bytes(bytes(raw))
            text = None
        elif choice == "bom":
            text = "\ufeff" + text
        elif choice == "huge int":
            text = text.replace(
                '"shape": [1, 1, 384, 32]', '"shape": [1, 1, 384, 1' + "0" * 5000 + "]", 1
            )
        elif choice == "huge float":
            text = text.replace('"shape": [1, 1, 384, 32]', '"shape": [1, 1, 384, 1e999]', 1)
        else:
            (target / "posenet.json").write_bytes(
                text.replace("Const", "C\xe9nst").encode("latin-1")
            )
            text = None
        what = f"json text: {choice}"
        if text is None:
            (target / "posenet.bin").write_bytes(weights)
            return what, target / "posenet.json"
    elif kind == "bin":
        weights, what = _tfjs_bin(rng, weights, target)
    elif kind == "signature":
        model["signature"] = rng.choice(
            [
                None,
                [],
                {"inputs": []},
                {"inputs": {"x": 5}},
                {"inputs": {"x": {"tensorShape": 3}}},
                {"inputs": {"x": {"tensorShape": {"dim": [{"size": "-5"}, {"size": "x"}]}}}},
                {"outputs": 7},
            ]
        )
        what = f"signature = {model['signature']!r}"
    if text is None:
        text = json.dumps(model)
    (target / "posenet.json").write_text(text, encoding="utf-8")
    if not (target / "posenet.bin").exists() and not (target / "posenet.bin").is_symlink():
        (target / "posenet.bin").write_bytes(weights)
    return what, target / "posenet.json"


def _tfjs_paths(rng: random.Random, group: dict, target: Path, weights: bytes) -> str:
    outside = target.parent / "outside.bin"
    choice = rng.choice(
        [
            "/dev/urandom",
            "/dev/zero",
            "../outside.bin",
            "absolute",
            "symlink out",
            "symlink loop",
            "fifo",
            "folder",
            "missing",
            "empty name",
            "null",
            "number",
            "repeated",
            "many",
            "nul byte",
            "long name",
            "split",
        ]
    )
    paths: list = ["posenet.bin"]
    if choice in ("/dev/urandom", "/dev/zero"):
        paths = [choice]
    elif choice == "../outside.bin":
        outside.write_bytes(weights)
        paths = ["../outside.bin"]
    elif choice == "absolute":
        paths = [str(TFJS / "posenet.bin")]
    elif choice == "symlink out":
        (target / "link.bin").symlink_to(TFJS / "posenet.bin")
        paths = ["link.bin"]
    elif choice == "symlink loop":
        (target / "loop.bin").symlink_to(target / "loop.bin")
        paths = ["loop.bin"]
    elif choice == "fifo":
        os.mkfifo(target / "fifo.bin")
        paths = ["fifo.bin"]
    elif choice == "folder":
        (target / "dir.bin").mkdir()
        paths = ["dir.bin"]
    elif choice == "missing":
        paths = ["nothing.bin"]
    elif choice == "empty name":
        paths = [""]
    elif choice == "null":
        paths = [None]
    elif choice == "number":
        paths = [5]
    elif choice == "repeated":
        paths = ["posenet.bin", "posenet.bin"]
    elif choice == "many":
        paths = ["posenet.bin"] * 500
    elif choice == "nul byte":
        paths = ["posenet.bin\x00.txt"]
    elif choice == "long name":
        paths = ["x" * 5000]
    else:  # two shards that together are the file: legitimate, must still work
        cut = rng.randrange(1, len(weights))
        (target / "a.bin").write_bytes(weights[:cut])
        (target / "b.bin").write_bytes(weights[cut:])
        paths = ["a.bin", "b.bin"]
    group["paths"] = paths
    return f"paths: {choice}"


def _tfjs_weights_list(rng: random.Random, model: dict) -> str:
    group = model["weightsManifest"][0]
    specs = group["weights"]
    choice = rng.choice(["reverse", "shuffle", "drop", "duplicate", "empty", "null", "swap"])
    if choice == "reverse":
        specs.reverse()
    elif choice == "shuffle":
        rng.shuffle(specs)
    elif choice == "drop":
        del specs[rng.randrange(len(specs))]
    elif choice == "duplicate":
        specs.insert(rng.randrange(len(specs)), copy.deepcopy(rng.choice(specs)))
    elif choice == "empty":
        group["weights"] = []
    elif choice == "null":
        group["weights"] = None
    else:  # two weights of the same shape change names: only the values say so
        by_shape: dict[str, list[dict]] = {}
        for spec in specs:
            by_shape.setdefault(str(spec["shape"]), []).append(spec)
        pairs = [group for group in by_shape.values() if len(group) > 1]
        a, b = rng.sample(rng.choice(pairs), 2)
        a["name"], b["name"] = b["name"], a["name"]
    if rng.random() < 0.2:
        model["weightsManifest"] = rng.choice([None, {}, [None], [5], []])
        choice += f", manifest = {model['weightsManifest']!r}"
    return f"weights: {choice}"


def _tfjs_topology(rng: random.Random, model: dict) -> str:
    topology = model["modelTopology"]
    nodes = topology["node"]
    choice = rng.choice(
        [
            "node null",
            "nodes null",
            "no name",
            "input null",
            "attr null",
            "op renamed",
            "duplicate",
            "remove",
            "input cycle",
            "identity cycle",
            "self input",
            "dangling input",
            "topology list",
        ]
    )
    k = rng.randrange(len(nodes))
    convs = [i for i, n in enumerate(nodes) if "Conv" in n["op"]]
    if choice == "node null":
        nodes[k] = None
    elif choice == "nodes null":
        topology["node"] = rng.choice([None, {}, "x", 3])
    elif choice == "no name":
        nodes[k].pop(rng.choice(["name", "op"]))
    elif choice == "input null":
        nodes[k]["input"] = rng.choice([None, [None], [5], "x", [{}]])
    elif choice == "attr null":
        nodes[k]["attr"] = rng.choice([None, [], "x", {"strides": None}])
    elif choice == "op renamed":
        nodes[k]["op"] = rng.choice(["Conv3D", "", "MatMul", "Placeholder", "Relu6"])
    elif choice == "duplicate":
        nodes.append(copy.deepcopy(nodes[k]))
    elif choice == "remove":
        del nodes[k]
    elif choice == "input cycle":  # a later conv feeds an earlier one
        first, last = convs[1], convs[-1]
        nodes[first]["input"][0] = nodes[last]["name"]
    elif choice == "identity cycle":
        nodes.append({"name": "loop_a", "op": "Identity", "input": ["loop_b"]})
        nodes.append({"name": "loop_b", "op": "Identity", "input": ["loop_a"]})
        nodes[convs[3]]["input"][1] = "loop_a"
    elif choice == "self input":
        node = nodes[rng.choice(convs)]
        node["input"][0] = node["name"]
    elif choice == "dangling input":
        nodes[rng.choice(convs)]["input"][0] = "nowhere"
    else:
        model["modelTopology"] = rng.choice([[], None, "x", {"node": []}])
    return f"topology: {choice}"


def _tfjs_attr(rng: random.Random, model: dict) -> str:
    nodes = [n for n in model["modelTopology"]["node"] if "Conv" in n["op"]]
    node = rng.choice(nodes)
    attr = node.setdefault("attr", {})
    choice = rng.choice(["strides", "dilations", "padding", "data_format", "fused_ops", "T"])
    if choice in ("strides", "dilations"):
        value = rng.choice(
            [
                [1, 0, 0, 1],
                [1, 2**40, 2**40, 1],
                [1, -2, -2, 1],
                [1, 2],
                [1, 3, 3, 1],
                ["1", "x", "1", "1"],
                [1, 1.5, 1.5, 1],
                None,
                [1, 1000, 1000, 1],
            ]
        )
        attr[choice] = {"list": {"i": value}} if value is not None else None
    elif choice == "padding":
        value = rng.choice(["FOO", "VALID", "", "!!!notbase64", "EXPLICIT"])
        attr["padding"] = {
            "s": base64.b64encode(value.encode()).decode() if value != "!!!notbase64" else value
        }
    elif choice == "data_format":
        attr["data_format"] = {"s": base64.b64encode(b"NCHW").decode()}
    elif choice == "fused_ops":
        ops = rng.choice([[], ["Relu6"], ["BiasAdd", "Relu6", "Relu6"], ["BiasAdd", "Elu"]])
        attr["fused_ops"] = {"list": {"s": [base64.b64encode(o.encode()).decode() for o in ops]}}
    else:
        attr["T"] = rng.choice([{"type": "DT_HALF"}, {"type": 5}, {"list": None}, 7])
    return f"{node['name']} {choice} = {attr[choice]!r:.60}"


def _tfjs_bin(rng: random.Random, weights: bytes, target: Path) -> tuple[bytes, str]:
    choice = rng.choice(["zero", "nan", "truncate", "append", "flips", "empty", "dev zero", "inf"])
    if choice == "zero":
        return bytes(len(weights)), "bin all zero"
    if choice == "nan":
        return b"\xff" * len(weights), "bin all NaN"
    if choice == "inf":
        array = np.frombuffer(weights, "<f4").copy()
        array[rng.randrange(array.size)] = np.inf
        return array.tobytes(), "bin one Inf"
    if choice == "truncate":
        return weights[: rng.randrange(len(weights))], "bin truncated"
    if choice == "append":
        return weights + rng.randbytes(rng.randint(1, 4096)), "bin appended"
    if choice == "empty":
        return b"", "bin empty"
    if choice == "dev zero":
        (target / "posenet.bin").symlink_to("/dev/zero")
        return weights, "bin -> /dev/zero"
    out = bytearray(weights)
    for _ in range(rng.randint(1, 64)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out), "bin bit flips"


# -- frozen GraphDef mutants -------------------------------------------------------------


def _pb(rng: random.Random, folder: Path) -> tuple[str, Path]:
    data = PB.read_bytes()
    target = folder / "model.pb"
    kind = rng.choice(
        [
            "const shape",
            "const shape",
            "const content",
            "const dtype",
            "const values",
            "attr",
            "attr",
            "node",
            "truncate",
            "bit flips",
            "int overwrite",
        ]
    )
    if kind in ("truncate", "bit flips", "int overwrite"):
        target.write_bytes(_byte_mutation(rng, kind, data))
        return kind, target
    from tensorboardX.proto import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(data)
    consts = [n for n in graph.node if n.op == "Const"]
    convs = [n for n in graph.node if n.op in ("Conv2D", "DepthwiseConv2dNative")]
    node = rng.choice(consts)
    tensor = node.attr["value"].tensor
    what = kind
    if kind == "const shape":
        shape = rng.choice(
            [
                [2**20, 2**20],
                [1000, 1000, 1000],
                [-1, 3],
                [0],
                [2**62, 2**62],
                [1] * 40,
                [3, 3, 3, 2**40],
                [2**31, 2],
            ]
        )
        del tensor.tensor_shape.dim[:]
        for d in shape:
            tensor.tensor_shape.dim.add().size = d
        if rng.random() < 0.6:  # a splat: one value for the whole shape
            tensor.tensor_content = b""
            del tensor.float_val[:]
            tensor.float_val.append(0.5)
        what = f"{node.name} shape {shape}"
    elif kind == "const content":
        content = tensor.tensor_content
        tensor.tensor_content = rng.choice(
            [content[: len(content) // 2], content + b"\0" * 8, b"", content[:3]]
        )
        what = f"{node.name} content {len(tensor.tensor_content)} bytes"
    elif kind == "const dtype":
        tensor.dtype = rng.choice([2, 3, 7, 9, 10, 19, 99, 0])
        what = f"{node.name} dtype {tensor.dtype}"
    elif kind == "const values":
        array = np.frombuffer(tensor.tensor_content, "<f4").copy()
        choice = rng.choice(["zero", "nan", "inf", "huge"])
        array[:] = {"zero": 0.0, "nan": np.nan, "inf": np.inf, "huge": 3e38}[choice]
        tensor.tensor_content = array.tobytes()
        what = f"{node.name} values {choice}"
    elif kind == "attr":
        conv = rng.choice(convs)
        choice = rng.choice(["strides", "dilations", "padding", "data_format"])
        if choice in ("strides", "dilations"):
            values = rng.choice([[1, 0, 0, 1], [1, 2**40, 2**40, 1], [1, -2, -2, 1], [1, 2]])
            del conv.attr[choice].list.i[:]
            conv.attr[choice].list.i.extend(values)
        elif choice == "padding":
            conv.attr["padding"].s = rng.choice([b"FOO", b"VALID", b"", b"\xff\xfe"])
        else:
            conv.attr["data_format"].s = b"NCHW"
        what = f"{conv.name} {choice}"
    else:
        choice = rng.choice(["remove", "rename op", "cycle", "dangling", "duplicate name"])
        victim = rng.choice(list(graph.node))
        if choice == "remove":
            graph.node.remove(victim)
        elif choice == "rename op":
            victim.op = rng.choice(["Conv3D", "", "MatMul", "Identity", "Placeholder"])
        elif choice == "cycle":
            convs[1].input[0] = convs[-1].name
        elif choice == "dangling":
            rng.choice(convs).input[0] = "nowhere"
        else:
            graph.node.add().CopyFrom(victim)
        what = f"node {choice} {victim.name}"
    target.write_bytes(graph.SerializeToString())
    return what, target


# -- images ----------------------------------------------------------------------------------


def _image(rng: random.Random, folder: Path) -> tuple[str, Path]:
    source = rng.choice(PHOTOS)
    kind = rng.choice(
        [
            "truncate",
            "bit flips",
            "bit flips",
            "mode",
            "mode",
            "mode",
            "format",
            "geometry",
            "header",
            "exif",
            "file system",
            "garbage",
        ]
    )
    if kind in ("truncate", "bit flips"):
        data = source.read_bytes()
        target = folder / f"image{source.suffix}"
        target.write_bytes(_byte_mutation(rng, kind, data))
        return f"{kind} {source.name}", target
    with Image.open(source) as opened:
        photo = opened.convert("RGB")
    photo.thumbnail((rng.choice([64, 160, 320, 640]),) * 2)
    if kind == "mode":
        return _image_mode(rng, photo, folder)
    if kind == "format":
        fmt, suffix, options = rng.choice(
            [
                ("JPEG", ".jpg", {"progressive": True}),
                ("JPEG", ".jpg", {"quality": 1}),
                ("PNG", ".png", {"optimize": True}),
                ("GIF", ".gif", {}),
                ("WEBP", ".webp", {}),
                ("BMP", ".bmp", {}),
                ("TIFF", ".tif", {"compression": "tiff_deflate"}),
                ("PPM", ".ppm", {}),
                ("ICO", ".ico", {}),
                ("TGA", ".tga", {}),
            ]
        )
        target = folder / f"image{suffix}"
        if fmt == "GIF" and rng.random() < 0.5:
            frames = [photo.convert("P"), photo.rotate(90).convert("P")]
            frames[0].save(target, save_all=True, append_images=frames[1:])
        else:
            photo.save(target, fmt, **options)
        return f"format {fmt} {options}", target
    if kind == "geometry":
        size = rng.choice([(1, 1), (1, 5000), (5000, 1), (2, 3), (17, 17), (4000, 3)])
        target = folder / "image.png"
        photo.resize(size).save(target)
        return f"geometry {size}", target
    if kind == "header":
        return _image_header(rng, photo, folder)
    if kind == "exif":
        target = folder / "image.jpg"
        exif = Image.Exif()
        choice = rng.choice(["orientation", "garbage", "huge"])
        if choice == "orientation":
            exif[0x0112] = rng.choice([0, 1, 3, 5, 6, 8, 9, 65535])
            photo.save(target, exif=exif)
        elif choice == "garbage":
            photo.save(target, exif=b"Exif\x00\x00" + rng.randbytes(rng.randint(4, 200)))
        else:
            photo.save(target, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(64))
        return f"exif {choice}", target
    if kind == "file system":
        return _image_file_system(rng, photo, folder)
    target = folder / rng.choice(["image.jpg", "image.png", "image.tif", "image"])
    target.write_bytes(rng.randbytes(rng.randint(1, 5000)))
    return "random bytes", target


def _image_mode(rng: random.Random, photo: Image.Image, folder: Path) -> tuple[str, Path]:
    mode = rng.choice(
        [
            "L",
            "LA",
            "P",
            "PA",
            "1",
            "RGBA",
            "CMYK",
            "YCbCr",
            "LAB",
            "HSV",
            "I;16",
            "I",
            "I big",
            "F 0-1",
            "F 0-255",
            "F wide",
            "F nan",
        ]
    )
    grey = np.asarray(photo.convert("L"), dtype=np.float64)
    if mode.startswith("F"):
        values = {
            "F 0-1": grey / 255,
            "F 0-255": grey,
            "F wide": grey * 1e6 - 5e7,
            "F nan": np.where(grey > 128, np.nan, grey / 255),
        }[mode]
        image = Image.fromarray(values.astype(np.float32))
        target = folder / "image.tif"
    elif mode in ("I", "I big"):
        scale = 1 if mode == "I" else 2**23
        image = Image.fromarray((grey * scale).astype(np.int32))
        target = folder / "image.tif"
    elif mode == "I;16":
        image = Image.fromarray((grey * 257).astype(np.uint16))
        target = folder / "image.png"
    else:
        image = photo.convert(mode)
        suffix = {"CMYK": ".jpg", "YCbCr": ".jpg", "LAB": ".tif", "HSV": ".tif"}.get(mode, ".png")
        target = folder / f"image{suffix}"
        if mode in ("PA", "HSV") or (mode == "LAB" and rng.random() < 0.5):
            suffix = ".tif" if mode != "PA" else ".png"
            target = folder / f"image{suffix}"
    try:
        image.save(target)
    except (OSError, ValueError, KeyError):  # Pillow cannot write this mode there: plain PNG
        target = folder / "image.png"
        image.convert("RGB").save(target)
    return f"mode {mode}", target


def _image_header(rng: random.Random, photo: Image.Image, folder: Path) -> tuple[str, Path]:
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    width, height = rng.choice(
        [(65535, 65535), (0, 10), (2**31 - 1, 1), (100000, 100000), (1, 2**30)]
    )
    header = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    target = folder / "image.png"
    target.write_bytes(bytes(data))
    return f"png header {width}x{height}", target


def _image_file_system(rng: random.Random, photo: Image.Image, folder: Path) -> tuple[str, Path]:
    choice = rng.choice(
        ["fifo", "dev zero", "folder", "loop", "dangling", "empty", "no permission", "odd name"]
    )
    target = folder / "image.jpg"
    if choice == "fifo":
        os.mkfifo(target)
    elif choice == "dev zero":
        target.symlink_to("/dev/zero")
    elif choice == "folder":
        target.mkdir()
    elif choice == "loop":
        target.symlink_to(target)
    elif choice == "dangling":
        target.symlink_to(folder / "nowhere.jpg")
    elif choice == "empty":
        target.write_bytes(b"")
    elif choice == "no permission":
        photo.save(target)
        target.chmod(0)
    else:
        target = folder / "-x \udcff n\u00e4me.jpg"
        photo.save(target)
    return f"file system: {choice}", target


_MAKERS: dict[str, Callable[[random.Random, Path], tuple[str, Path]]] = {
    "tflite": _tflite,
    "tfjs": _tfjs,
    "pb": _pb,
    "image": _image,
}


# -- running cases ---------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    """A case's outcomes and the invariants they broke."""

    case: Case
    outcomes: list[Outcome]
    changed: list[str]

    def problems(self) -> list[str]:
        found = [f"{o.argv[0]}: {p}" for o in self.outcomes for p in o.problems()]
        return found + [f"changed input {name}" for name in self.changed]


def run_case(case: Case, env: dict[str, str], time_limit: float = TIME_LIMIT) -> Result:
    """Run every command of a case (forked) and compare its inputs before and after."""
    watched = [*case.inputs, *_asset_files()]
    before = digest(watched)
    outcomes = [run_forked(argv, env, time_limit, case.cwd) for argv in case.commands]
    after = digest(watched)
    changed = sorted(k for k in before if after.get(k) != before[k])
    return Result(case, outcomes, changed)


def _asset_files() -> list[Path]:
    return [CORAL, TFJS / "posenet.json", TFJS / "posenet.bin", PB, *PHOTOS]


def iterate_cases(
    fmt: str, indices: range | list[int], seed: int, env: dict[str, str], time_limit: float
) -> Iterator[Result | None]:
    """Make and run cases one after another, each in a fresh folder removed afterwards;
    None (and the traceback on stderr) for a case the mutator itself failed to make."""
    home = Path(env["POSENET_HOME"])
    for index in indices:
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{fmt}-") as tmp:
            folder = Path(tmp) / f"case{index}"
            folder.mkdir()
            try:
                case = make_case(fmt, index, seed, folder)
            except Exception:  # a bug of the fuzzer, not of posenet: reported, run goes on
                traceback.print_exc()
                print(f"MUTATOR ERROR {fmt} {index}", flush=True)
                yield None
                continue
            yield run_case(case, env, time_limit)
            _restore_permissions(folder)
        shutil.rmtree(home / "built", ignore_errors=True)  # one build per mutant adds up


def _restore_permissions(folder: Path) -> None:
    for path in folder.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700)


def fuzz_env(home: Path) -> dict[str, str]:
    """Environment of every case: its own store (the mirror is the shared assets), offline."""
    return {
        "POSENET_HOME": str(home),
        "POSENET_MIRROR": str(MODELS),
        "POSENET_OFFLINE": "1",
    }


# -- the long run ------------------------------------------------------------------------------


COLUMNS = (
    "cases",
    "runs",
    "exit 0",
    "exit 2",
    "signals",
    "hangs",
    "exit-1s",
    "stderr",
    "changed inputs",
    "max RSS MB",
    "s/run",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases per format")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--format", choices=FORMATS, action="append", help="default: all")
    parser.add_argument("--case", type=int, action="append", help="run only these indices")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT)
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    rows = []
    failures = []
    with tempfile.TemporaryDirectory(prefix="fuzz-home-") as home:
        env = fuzz_env(Path(home))
        prepare_parent(env)
        for fmt in args.format or FORMATS:
            counts = dict.fromkeys(COLUMNS, 0)
            counts["max RSS MB"] = 0.0
            seconds = 0.0
            indices = args.case or range(args.cases)
            for result in iterate_cases(fmt, indices, args.seed, env, args.time_limit):
                if result is None:
                    failures.append((None, ["mutator error"]))
                    continue
                counts["cases"] += 1
                for outcome in result.outcomes:
                    counts["runs"] += 1
                    seconds += outcome.seconds
                    counts["max RSS MB"] = max(counts["max RSS MB"], outcome.max_rss_mb)
                    counts["exit 0"] += outcome.returncode == 0
                    counts["exit 2"] += outcome.returncode == 2
                    counts["signals"] += outcome.signal is not None
                    counts["hangs"] += outcome.hung
                    counts["exit-1s"] += outcome.returncode not in (None, 0, 2)
                    counts["stderr"] += any("stderr" in p for p in outcome.problems())
                counts["changed inputs"] += bool(result.changed)
                problems = result.problems()
                line = f"{fmt} {result.case.index:4d} {result.case.mutation[:90]}"
                if problems:
                    failures.append((result, problems))
                    print(f"FAIL {line}: {'; '.join(problems)}", flush=True)
                    for outcome in result.outcomes:
                        if outcome.problems():
                            print("    " + outcome.stderr.strip().replace("\n", "\n    ")[-2000:])
                elif args.verbose:
                    codes = " ".join(str(o.returncode) for o in result.outcomes)
                    last = result.outcomes[0].stderr_lines[-1:] or [""]
                    print(f"ok   {line} -> {codes} {last[0][:100]}", flush=True)
            counts["s/run"] = seconds / max(counts["runs"], 1)
            rows.append((fmt, counts))
            print(_table(rows[-1:]), flush=True)
    print(
        f"\nseed {args.seed}, time limit {args.time_limit:g} s, RLIMIT_AS {MEMORY_LIMIT >> 20} MB"
    )
    print(_table(rows))
    return 1 if failures else 0


def _table(rows: list[tuple[str, dict]]) -> str:
    head = "| format | " + " | ".join(COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    lines = [head, rule]
    for fmt, counts in rows:
        cells = [
            f"{counts[c]:.1f}" if isinstance(counts[c], float) else str(counts[c]) for c in COLUMNS
        ]
        lines.append(f"| {fmt} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
