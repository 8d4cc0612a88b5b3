"""Kendryte K210: the KPU's TFLite layout, and a kmodel compiled by nncase 1.x.

The K210's KPU runs 1x1 and 3x3 convolutions with symmetric padding only,
on inputs up to 320x240 (W x H) and in 2 MB of feature-map memory
(POSENET.md §7). What nncase 1.9 (the last release with the K210 target)
does with PoseNet, measured here:

- It halves a side on the KPU only when the side is even. At the usual
  PoseNet sizes (k * 16 + 1, odd) it pads every stride-2 layer's input on
  the CPU, in float, which cuts the network into one KPU region per stride-2
  layer (4 at stride 16) and needs megabytes of CPU buffers; that happens
  with SAME and with explicit padding alike. So K210 sizes are multiples of
  the output stride, where every stride-2 layer sees even sides.
- At even sides SAME would pad bottom/right only, which neither the KPU can
  do nor PoseNet wants (the grid would shift by up to stride - 1 pixels and
  poses by as much). The model is therefore built with the builder's
  explicit_pad layout: PAD [[0,0],[1,1],[1,1],[0,0]] + VALID before every
  stride-2 3x3 conv, which keeps cell i centred on pixel i * stride, exactly
  as SAME does at k * stride + 1 (where the two are the same numbers).
  nncase folds those pads into the KPU convs: all convs land in one region.
- Feature maps must fit the KPU memory: 192x256 (H x W) and 240x256 fit,
  208x288 and 224x304 do not (nncase: "Allocator has ran out of memory").
  DEFAULT_SIZE is 192x256, 4:3 like the QVGA camera.
- The KPU has no dilated convolution. nncase still compiles one, with CPU
  pads and copies around it, so output stride 8 (7 dilated layers) or a
  source dilated at its own stride (BodyPix quant1-100) leaves the KPU there;
  export notes it and the region report shows the split.

nncase 1.x wheels exist for CPython 3.6-3.10 only, so it runs in a separate
virtual environment, created on first use (POSENET_NNCASE_VENV, else
`store.home()/nncase-venv`) from a Python 3.10 found on this machine
(POSENET_NNCASE_PYTHON, python3.10 on PATH, or pyenv's versions), with
`_nncase_worker.py` run as a subprocess; arrays travel as .npy files. Nothing
is added to posenet's own environment.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import store
from ..errors import PosenetError
from ..heads import Heads
from ..network import HEAD_CHANNELS, HEAD_NAMES, Network, with_output_stride
from ..sizes import parse_size
from ..tflite.build import build_tflite

__all__ = [
    "DEFAULT_SIZE",
    "MAX_INPUT",
    "NNCASE_REQUIREMENT",
    "KModel",
    "KModelRunner",
    "KpuRegion",
    "compile_kmodel",
    "dilated_layers",
    "k210_size",
    "k210_tflite",
    "nncase_python",
    "simulate_kmodel",
]

log = logging.getLogger(__name__)

#: The largest input the KPU takes, (height, width): 320 x 240 as W x H.
MAX_INPUT: tuple[int, int] = (240, 320)
#: Default input (height, width): 4:3 and within the KPU's memory in one region.
DEFAULT_SIZE: tuple[int, int] = (192, 256)
#: nncase 1.9.0 is the last release with the K210 target (2.x targets the K230).
NNCASE_REQUIREMENT = "nncase==1.9.0.20230322"
#: CPython versions nncase 1.x publishes wheels for.
NNCASE_PYTHONS: tuple[tuple[int, int], ...] = ((3, 10), (3, 9), (3, 8), (3, 7), (3, 6))
#: nncase's calibration methods (PTQTensorOptions.calibrate_method).
CALIBRATE_METHODS: tuple[str, ...] = ("no_clip", "l2", "kld")

_WORKER = Path(__file__).with_name("_nncase_worker.py")
_MARKER = "posenet-nncase.txt"
_OUT_OF_MEMORY = "Allocator has ran out of memory"
_COMPILE_TIMEOUT = 3600
_INSTALL_TIMEOUT = 1800


# --- layout -------------------------------------------------------------------------------


def k210_size(spec: str | tuple[int, int] | None, output_stride: int) -> tuple[int, int]:
    """The (height, width) to export for the K210: each side a multiple of output_stride.

    spec: "HxW" / "N" text, an (h, w) tuple, or None / "auto" for DEFAULT_SIZE.
    Sides are rounded to the nearest multiple of the stride that the KPU
    still takes. A side beyond MAX_INPUT raises PosenetError naming the limit.
    """
    requested = parse_size(spec) if isinstance(spec, str) else spec
    if requested is None:
        requested = DEFAULT_SIZE
    height, width = (int(v) for v in requested)
    if height > MAX_INPUT[0] or width > MAX_INPUT[1]:
        raise PosenetError(
            f"K210: input {height}x{width} (H x W) is too large; the KPU takes at most "
            f"{MAX_INPUT[1]}x{MAX_INPUT[0]} (W x H), i.e. --size {MAX_INPUT[0]}x{MAX_INPUT[1]}"
        )
    return _round_down_to_fit(height, output_stride, MAX_INPUT[0]), _round_down_to_fit(
        width, output_stride, MAX_INPUT[1]
    )


def _round_down_to_fit(side: int, stride: int, limit: int) -> int:
    if side < stride:
        raise PosenetError(f"K210: side {side} is smaller than the output stride {stride}")
    k = max(1, round(side / stride))
    while k * stride > limit:
        k -= 1
    return k * stride


def k210_tflite(network: Network, input_size: tuple[int, int], output_stride: int) -> bytes:
    """Float32 TFLite of network in the layout the KPU takes (explicit symmetric pads).

    Raises PosenetError for sides that are not multiples of the stride (see
    the module docstring) or beyond MAX_INPUT. Dilated convolutions (see
    dilated_layers) are allowed: nncase runs them with CPU help, in more regions.
    """
    height, width = input_size
    if height % output_stride or width % output_stride:
        raise PosenetError(
            f"K210: input {height}x{width} is not a multiple of the output stride "
            f"{output_stride}; the KPU halves only even sides (see k210_size)"
        )
    if height > MAX_INPUT[0] or width > MAX_INPUT[1]:
        raise PosenetError(
            f"K210: input {height}x{width} exceeds the KPU's {MAX_INPUT[1]}x{MAX_INPUT[0]} (W x H)"
        )
    return build_tflite(network, input_size, output_stride, explicit_pad=True)


def dilated_layers(network: Network, output_stride: int) -> list[str]:
    """Names of the layers that are dilated at output_stride.

    The KPU has no dilated convolution; nncase 1.9 still compiles them, with
    CPU pads and transposes around each one, so the model leaves the KPU there
    (bodypix-quant1-100 at its native stride 16: 3 regions instead of 1).
    """
    body = with_output_stride(network, output_stride).body
    return [layer.name for layer in body if layer.dilation > 1]


# --- the kmodel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KpuRegion:
    """One KPU module of a kmodel: its ops as nncase names them ("KPUConv2D Conv2d_0/conv")."""

    name: str
    ops: tuple[str, ...]

    @property
    def convs(self) -> tuple[str, ...]:
        """Names of the convolutions the KPU runs in this region."""
        return tuple(op.split(" ", 1)[1] for op in self.ops if op.startswith("KPUConv2D "))


@dataclass(frozen=True)
class KModel:
    """A compiled kmodel and what nncase reported about it.

    data: the kmodel bytes (kmodel v5, for the K210 runtime in the Kendryte SDK / MaixPy).
    input_size: (height, width); the kmodel takes uint8[1, 3, H, W] planar RGB
        and returns float32 NHWC heads in HEAD_NAMES order.
    regions: KPU regions in call order. cpu_ops: the ops the RISC-V cores run
        ("Call k210_0" marks where a region runs). memory: bytes per pool.
    """

    data: bytes
    input_size: tuple[int, int]
    regions: tuple[KpuRegion, ...]
    cpu_ops: tuple[str, ...]
    memory: dict[str, int] = field(default_factory=dict)
    nncase: str = ""

    def summary(self) -> list[str]:
        """Lines describing the regions, the CPU's share and the memory."""
        lines = []
        for region in self.regions:
            convs = region.convs
            span = f"{convs[0]} .. {convs[-1]}" if convs else "no convs"
            lines.append(f"KPU region {region.name}: {len(convs)} convs ({span})")
        work = [op for op in self.cpu_ops if not op.startswith("Call ")]
        kinds: dict[str, int] = {}
        for op in work:
            kinds[op.split(" ", 1)[0]] = kinds.get(op.split(" ", 1)[0], 0) + 1
        cpu = ", ".join(f"{kind} x{count}" for kind, count in kinds.items()) or "none"
        lines.append(f"CPU ops: {cpu}")
        if self.memory:
            lines.append(
                "memory: "
                + ", ".join(f"{pool} {size / 1024:.0f} KB" for pool, size in self.memory.items())
            )
        return lines


def compile_kmodel(
    tflite: bytes, calibration: Sequence[np.ndarray], *, calibrate_method: str = "no_clip"
) -> KModel:
    """Compile a K210-layout float TFLite into a uint8 kmodel with nncase 1.x.

    calibration: uint8[H, W, 3] images fitted to the model's input; nncase
    quantizes weights and activations to uint8 from their ranges (it cannot
    import a TFLite that is already quantized). The kmodel takes uint8 pixels
    and maps them to x / 127.5 - 1 itself. Raises PosenetError when no Python
    for nncase can be found or installed, or when nncase refuses the model
    (a size beyond the KPU memory among them).
    """
    if not calibration:
        raise PosenetError("K210: nncase quantizes the model and needs calibration images")
    if calibrate_method not in CALIBRATE_METHODS:
        raise PosenetError(
            f"K210: calibrate method {calibrate_method!r} is not one of {CALIBRATE_METHODS}"
        )
    planar = _planar(calibration)
    height, width = planar.shape[2:]
    with _workdir() as work:
        (work / "model.tflite").write_bytes(tflite)
        np.save(work / "calibration.npy", planar)
        (work / "request.json").write_text(json.dumps({"calibrate_method": calibrate_method}))
        try:
            result = _run_worker("compile", work)
        except PosenetError as exc:
            if _OUT_OF_MEMORY in str(exc):
                raise PosenetError(
                    f"K210: PoseNet at {height}x{width} does not fit the KPU's feature-map "
                    f"memory (nncase: {_OUT_OF_MEMORY}); {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]} "
                    "(the default) and 240x256 fit, 208x288 and 224x304 do not"
                ) from None
            raise
        data = (work / "model.kmodel").read_bytes()
    return KModel(
        data=data,
        input_size=(int(height), int(width)),
        regions=tuple(KpuRegion(r["name"], tuple(r["ops"])) for r in result["regions"]),
        cpu_ops=tuple(result["cpu_ops"]),
        memory={k: int(v) for k, v in result["memory"].items()},
        nncase=str(result.get("nncase", "")),
    )


def simulate_kmodel(kmodel: bytes, images: Sequence[np.ndarray], output_stride: int) -> list[Heads]:
    """Run a PoseNet kmodel in nncase.Simulator on the host; Heads per image.

    images: uint8[H, W, 3] of the kmodel's input size. The outputs come back in
    the TFLite's output order (heatmap, offsets, displacement fwd, bwd), NHWC;
    their channel counts are checked before they become Heads.
    """
    if not images:
        return []
    planar = _planar(images)
    height, width = planar.shape[2:]
    with _workdir() as work:
        (work / "model.kmodel").write_bytes(kmodel)
        np.save(work / "inputs.npy", planar)
        result = _run_worker("simulate", work)
        outputs = [np.load(work / f"output_{i}.npy") for i in range(len(result["outputs"]))]
    channels = [int(out.shape[-1]) for out in outputs]
    expected = [HEAD_CHANNELS[name] for name in HEAD_NAMES]
    if channels != expected or any(out.ndim != 5 for out in outputs):
        raise PosenetError(
            f"K210: kmodel outputs have shapes {[list(o.shape[1:]) for o in outputs]}, "
            f"expected [1, H, W, C] with C = {expected}"
        )
    return [
        Heads(
            heatmap=outputs[0][i, 0],
            offsets=outputs[1][i, 0],
            displacements_fwd=outputs[2][i, 0],
            displacements_bwd=outputs[3][i, 0],
            output_stride=output_stride,
            input_size=(int(height), int(width)),
        ).validate()
        for i in range(len(images))
    ]


class KModelRunner:
    """A kmodel behind the Runtime's interface (input_size, run(image) -> Heads), for checks."""

    def __init__(self, kmodel: KModel, output_stride: int) -> None:
        self.kmodel = kmodel
        self.output_stride = output_stride
        self.input_size = kmodel.input_size

    def run(self, image: np.ndarray) -> Heads:
        return simulate_kmodel(self.kmodel.data, [image], self.output_stride)[0]


def _planar(images: Sequence[np.ndarray]) -> np.ndarray:
    """uint8[N, 3, H, W] from uint8[H, W, 3] images of one size."""
    shapes = {image.shape for image in images}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3:
        raise PosenetError(f"K210: images must be uint8[H, W, 3] of one size, got {shapes}")
    return np.ascontiguousarray(np.stack(images).astype(np.uint8).transpose(0, 3, 1, 2))


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="posenet-nncase-") as work:
        yield Path(work)


def _run_worker(command: str, work: Path) -> dict:
    """Run _nncase_worker.py `command` on work; its result.json, or PosenetError quoting nncase."""
    python = nncase_python()
    try:
        proc = subprocess.run(
            [str(python), "-I", str(_WORKER), command, str(work)],
            capture_output=True,
            text=True,
            timeout=_COMPILE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise PosenetError(f"K210: nncase {command} took over {_COMPILE_TIMEOUT} s") from None
    log.debug("nncase %s output:\n%s%s", command, proc.stdout, proc.stderr)
    result_file = work / "result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    if proc.returncode == 0 and "error" not in result:
        return result
    detail = result.get("error") or _last_line(proc.stderr) or _last_line(proc.stdout)
    raise PosenetError(f"K210: nncase {command} failed (exit {proc.returncode}): {detail}")


# --- the nncase environment ---------------------------------------------------------------


def nncase_venv() -> Path:
    """Where nncase's virtual environment lives: $POSENET_NNCASE_VENV, else the store's cache."""
    if env := os.environ.get("POSENET_NNCASE_VENV"):
        return Path(env).expanduser()
    return store.home() / "nncase-venv"


def nncase_python() -> Path:
    """The Python of nncase's virtual environment, creating it on first use.

    Creating it needs a CPython 3.6-3.10 (see _base_python) and PyPI; it
    happens once per venv folder, under a file lock so that two exports do
    not build it at the same time. Raises PosenetError saying how to get what
    is missing.
    """
    venv = nncase_venv()
    python = _venv_python(venv)
    if _ready(venv):
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / f".{venv.name}.lock"):
        if _ready(venv):
            return python
        if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").is_file():
            raise PosenetError(f"K210: {venv} exists and is not a virtual environment")
        base = _base_python()
        log.warning("K210: installing %s into %s (once; needs PyPI)", NNCASE_REQUIREMENT, venv)
        how = (
            f"by hand: {base} -m venv {venv} && {_venv_python(venv)} -m pip install "
            f'"{NNCASE_REQUIREMENT}"'
        )
        _setup_step([base, "-m", "venv", "--clear", str(venv)], "create a venv", how)
        (venv / ".gitignore").write_text("*\n")  # a venv inside a clone stays out of git
        _setup_step(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                NNCASE_REQUIREMENT,
            ],
            f"install {NNCASE_REQUIREMENT} (is PyPI reachable?)",
            how,
        )
        _setup_step([str(python), "-I", "-c", "import nncase"], "import nncase", how)
        (venv / _MARKER).write_text(NNCASE_REQUIREMENT + "\n")
    return python


def _ready(venv: Path) -> bool:
    marker = venv / _MARKER
    return (
        _venv_python(venv).exists()
        and marker.is_file()
        and marker.read_text().strip() == NNCASE_REQUIREMENT
    )


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _base_python() -> str:
    """A CPython nncase 1.x has wheels for, with venv support.

    POSENET_NNCASE_PYTHON when set (and then only it); otherwise python3.10 on
    PATH, then pyenv's 3.10 versions ($PYENV_ROOT, `pyenv root`, ~/.pyenv).
    """
    if env := os.environ.get("POSENET_NNCASE_PYTHON"):
        if _python_version(env) in NNCASE_PYTHONS:
            return env
        raise PosenetError(
            f"K210: POSENET_NNCASE_PYTHON={env} is not a working CPython 3.6-3.10 with venv "
            "(nncase 1.x has wheels for those only)"
        )
    for candidate in _python_candidates():
        if _python_version(candidate) in NNCASE_PYTHONS:
            return candidate
    raise PosenetError(
        "K210: nncase 1.x (the last release for the K210) needs CPython 3.6-3.10 and none was "
        "found; install one (e.g. `pyenv install 3.10.13`) or point POSENET_NNCASE_PYTHON at it"
    )


def _python_candidates() -> Iterator[str]:
    if found := shutil.which("python3.10"):
        yield found
    roots = [os.environ.get("PYENV_ROOT")]
    if pyenv := shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            roots.append(
                subprocess.run(
                    [pyenv, "root"], capture_output=True, text=True, timeout=30
                ).stdout.strip()
            )
    roots.append(str(Path.home() / ".pyenv"))
    seen = set()
    for root in roots:
        if not root or root in seen:
            continue
        seen.add(root)
        versions = sorted(
            Path(root, "versions").glob("3.10*"),
            key=lambda p: [int(x) if x.isdigit() else 0 for x in p.name.split(".")],
            reverse=True,
        )
        for version in versions:
            python = version / "bin" / "python"
            if python.exists():
                yield str(python)


def _python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of a Python that can make venvs with pip, else None."""
    try:
        proc = subprocess.run(
            [python, "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = proc.stdout.split()
    if proc.returncode != 0 or len(parts) != 2:
        return None
    return int(parts[0]), int(parts[1])


def _setup_step(command: list[str], what: str, how: str) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PosenetError(f"K210: could not {what}: {exc}; {how}") from None
    if proc.returncode != 0:
        detail = _last_line(proc.stderr) or _last_line(proc.stdout)
        raise PosenetError(f"K210: could not {what}: {detail}; {how}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on path (POSIX flock; no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: a concurrent first use is the user's to avoid
        yield
        return
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
