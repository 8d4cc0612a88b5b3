"""The model store: registry, mirror folder, HTTP mirror, checksums, atomic writes."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial

import pytest

from posenet import store
from posenet.errors import PosenetError

from .conftest import MODELS


def test_registry_files_match_the_shared_assets():
    """Every registry entry names files that exist in the mirror with that sha256."""
    for spec in store.REGISTRY:
        assert spec.files, spec.name
        for file in spec.files:
            data = (MODELS / file.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == file.sha256, file.path
            assert file.url.startswith("https://"), file.url
    assert store.spec(store.DEFAULT_MODEL).format == "tflite"


def test_registry_names_the_required_models():
    names = {s.name for s in store.REGISTRY}
    assert {"coral-075-353x481", "coral-075-481x641", "coral-075-721x1281", "tfjs-075"} <= names


def test_pull_from_mirror_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    spec = store.spec("tfjs-075")
    assert not store.is_cached(spec)
    paths = store.pull(spec)
    assert store.is_cached(spec)
    assert [p.name for p in paths] == ["posenet.json", "posenet.bin"]
    assert paths[0].read_bytes() == (MODELS / spec.entry.path).read_bytes()
    assert not list(paths[0].parent.glob(".partial-*"))


def test_pull_over_http(tmp_path, monkeypatch):
    handler = partial(_QuietHandler, directory=str(MODELS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("POSENET_MIRROR", f"http://127.0.0.1:{server.server_address[1]}/")
        path = store.path("coral-075-481x641")
        assert (
            path.read_bytes() == (MODELS / store.spec("coral-075-481x641").entry.path).read_bytes()
        )
    finally:
        server.shutdown()
        server.server_close()


def test_wrong_checksum_is_rejected_and_not_cached(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "x").mkdir(parents=True)
    (mirror / "x" / "model.tflite").write_bytes(b"not the model you are looking for")
    spec = store.ModelSpec(
        name="fake",
        files=(store.ModelFile("x/model.tflite", "0" * 64, str(tmp_path / "nowhere.tflite")),),
        format="tflite",
        input_size=None,
        output_stride=16,
        multiplier=0.75,
        description="a test model",
        license="none",
    )
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSENET_MIRROR", str(mirror))
    with pytest.raises(PosenetError, match="sha256 mismatch"):
        store.pull(spec)
    cache_dir = tmp_path / "home" / "models" / "x"
    assert not store.is_cached(spec)
    assert not any(cache_dir.iterdir())  # no partial file left behind


def test_no_mirror_no_network_says_how_to_get_the_model(tmp_path, monkeypatch):
    spec = store.ModelSpec(
        name="offline",
        files=(store.ModelFile("y/m.tflite", "0" * 64, str(tmp_path / "missing.tflite")),),
        format="tflite",
        input_size=None,
        output_stride=16,
        multiplier=0.75,
        description="",
        license="",
    )
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("POSENET_MIRROR")
    with pytest.raises(PosenetError) as info:
        store.pull(spec)
    message = str(info.value)
    assert "\n" not in message
    assert "posenet models pull offline" in message and "POSENET_MIRROR" in message


def test_unknown_model_name_lists_known_names():
    with pytest.raises(PosenetError, match="coral-075-353x481"):
        store.spec("no-such-model")


def test_home_defaults_to_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("POSENET_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert store.home() == tmp_path / "posenet"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_damaged_cached_file_is_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    path = store.path("coral-075-353x481")
    path.write_bytes(path.read_bytes()[:1000])  # truncated in the cache
    again = store.path("coral-075-353x481")
    assert again.read_bytes() == (MODELS / store.spec("coral-075-353x481").entry.path).read_bytes()


def test_unusable_cache_folder_is_a_clear_error(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("POSENET_HOME", str(not_a_folder))
    with pytest.raises(PosenetError, match="POSENET_HOME"):
        store.path("coral-075-353x481")


def test_damaged_built_model_is_rebuilt(tmp_path, monkeypatch):
    from posenet.model import load

    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    first = load("tfjs-075", output_stride=32).tflite
    (built,) = (tmp_path / "home" / "built").glob("*.tflite")
    built.write_bytes(first[: len(first) // 2])
    assert load("tfjs-075", output_stride=32).tflite == first
    assert built.read_bytes() == first
