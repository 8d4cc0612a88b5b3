"""Shared fixtures: the read-only assets in ../shared/assets, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
MODELS = ASSETS / "models"
IMAGES = ASSETS / "images"
REFERENCE = ASSETS / "reference"
CORAL = MODELS / "coral"


def coral_model(size: str) -> Path:
    """Path of a Coral `_quant_decoder` model, size as 'HHH_WWW'."""
    return CORAL / f"posenet_mobilenet_v1_075_{size}_quant_decoder.tflite"


@pytest.fixture(scope="session")
def assets() -> Path:
    assert ASSETS.is_dir(), f"shared assets not found at {ASSETS}"
    return ASSETS


@pytest.fixture(scope="session")
def couple_path(assets: Path) -> Path:
    return IMAGES / "test_couple.jpg"


@pytest.fixture(scope="session")
def couple(couple_path: Path) -> np.ndarray:
    return np.asarray(Image.open(couple_path).convert("RGB"))


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test session gets its own model cache, with ../shared/assets/models as the
    mirror and no public downloads, so the suite behaves the same with or without network."""
    home = tmp_path_factory.getbasetemp() / "posenet-home"
    monkeypatch.setenv("POSENET_HOME", str(home))
    monkeypatch.setenv("POSENET_MIRROR", str(MODELS))
    monkeypatch.setenv("POSENET_OFFLINE", "1")  # tests never reach for the internet
