"""Known models stay known: a registry model with other bytes runs with one warning naming
it, scrambled or wiped weights are refused; the digest tables match the real files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from posenet import store
from posenet.formats import detect_format
from posenet.formats.known import LAYOUTS, STRUCTURES, layout_digest, structure_digest
from posenet.inspection import inspect_model

from .conftest import IMAGES, MODELS, coral_model
from .fuzzing import fuzz_env, run_cli

PHOTO = str(IMAGES / "frisbee.jpg")
TFJS = MODELS / "tfjs" / "posenet-mobilenet-float-075"


@pytest.mark.parametrize("spec", store.REGISTRY, ids=lambda s: s.name)
def test_tables_match_the_published_files(spec: store.ModelSpec):
    path = MODELS / spec.entry.path
    assert STRUCTURES[spec.name] == structure_digest(path, detect_format(path))
    if spec.name in LAYOUTS:
        assert LAYOUTS[spec.name] == layout_digest(path)


def test_tables_cover_the_registry():
    assert set(STRUCTURES) == {spec.name for spec in store.REGISTRY}
    assert set(LAYOUTS) == {s.name for s in store.REGISTRY if s.entry.path.endswith(".json")}


@pytest.fixture(scope="module")
def detect(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], tuple]:
    """Exit code and stderr lines of `posenet detect --model M` in its own process (where
    its log lines reach stderr, as a user sees them)."""
    env = fuzz_env(tmp_path_factory.mktemp("posenet-home"))

    def run(model: Path) -> tuple[int | None, list[str]]:
        outcome = run_cli(["detect", PHOTO, "--model", str(model), "--json", "-"], env)
        return outcome.returncode, outcome.stderr_lines

    return run


def test_an_exact_copy_is_the_model_itself(tmp_path: Path, detect):
    copy = tmp_path / "copy.tflite"
    shutil.copy(coral_model("353_481"), copy)
    assert detect(copy) == (0, [])


def test_changed_weights_run_with_one_warning(tmp_path: Path, detect):
    """Bit flips in a Coral weight load and move keypoints; nothing used to say so."""
    data = bytearray(coral_model("353_481").read_bytes())
    data[len(data) // 2] ^= 0x10  # inside a weight buffer
    changed = tmp_path / "changed.tflite"
    changed.write_bytes(bytes(data))
    code, err = detect(changed)
    assert code == 0 and len(err) == 1
    assert err[0] == (
        f"posenet: warning: {changed}: has the structure of registry model coral-075-353x481 "
        "but not its sha256: its weights or options were changed, and so may its poses"
    )
    assert any("coral-075-353x481" in note for note in inspect_model(changed).notes)


def _tfjs_copy(folder: Path, change) -> Path:
    model = json.loads((TFJS / "posenet.json").read_text())
    weights = (TFJS / "posenet.bin").read_bytes()
    weights = change(model, weights) or weights
    (folder / "posenet.json").write_text(json.dumps(model))
    (folder / "posenet.bin").write_bytes(weights)
    return folder / "posenet.json"


def test_a_reversed_manifest_is_refused(tmp_path: Path, detect):
    """It read every weight from another's bytes and found 8 ghosts in test_couple."""
    path = _tfjs_copy(tmp_path, lambda m, w: m["weightsManifest"][0]["weights"].reverse())
    code, err = detect(path)
    assert code == 2 and len(err) == 1
    assert "reads the weight shards of registry model tfjs-075 in another layout" in err[0]
    assert any("another layout" in p for p in inspect_model(path).problems)


def test_wiped_or_broken_weights_are_refused(tmp_path: Path, detect):
    """An all-zero .bin found 10 poses."""
    path = _tfjs_copy(tmp_path, lambda m, w: bytes(len(w)))
    code, err = detect(path)
    assert code == 2 and len(err) == 1 and "weights are all zero" in err[0]

    def one_nan(model: dict, weights: bytes) -> bytes:
        values = np.frombuffer(weights, "<f4").copy()
        values[1000] = np.nan
        return values.tobytes()

    path = _tfjs_copy(tmp_path, one_nan)
    code, err = detect(path)
    assert code == 2 and len(err) == 1 and "NaN or Inf" in err[0]


def test_a_changed_tfjs_topology_is_named(tmp_path: Path, detect):
    def rename(model: dict, weights: bytes) -> None:
        model["convertedBy"] = "someone else"

    path = _tfjs_copy(tmp_path, rename)
    code, err = detect(path)
    assert code == 0 and len(err) == 1 and "registry model tfjs-075" in err[0]
