"""The model store: registry, mirror folder, HTTP mirror, checksums, atomic writes."""

from __future__ import annotations

import hashlib
import http.server
import logging
import multiprocessing
import os
import stat
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
    assert not list(paths[0].parent.glob(".*.partial"))


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
    path = store.path("coral-075-481x641")
    path.write_bytes(path.read_bytes()[:1000])  # truncated in the cache
    again = store.path("coral-075-481x641")
    assert again.read_bytes() == (MODELS / store.spec("coral-075-481x641").entry.path).read_bytes()


def test_unusable_cache_folder_is_a_clear_error(tmp_path, monkeypatch):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv("POSENET_HOME", str(not_a_folder))
    with pytest.raises(PosenetError, match="POSENET_HOME"):
        store.path("coral-075-481x641")


def test_damaged_built_model_is_rebuilt(tmp_path, monkeypatch):
    from posenet.model import load

    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    first = load("tfjs-075", output_stride=32).tflite
    (built,) = (tmp_path / "home" / "built").glob("*.tflite")
    built.write_bytes(first[: len(first) // 2])
    assert load("tfjs-075", output_stride=32).tflite == first
    assert built.read_bytes() == first


# --- the packaged default model ------------------------------------------------------------


def test_default_model_ships_in_the_package_with_its_licence(tmp_path, monkeypatch):
    """No cache, no mirror, no network: the default model is the package's own, verified."""
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("POSENET_MIRROR")
    default = store.spec(store.DEFAULT_MODEL)
    path = store.path(store.DEFAULT_MODEL)
    assert path == store.PACKAGED / default.entry.path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == default.entry.sha256
    assert store.is_packaged(default) and store.is_cached(default)
    assert (path.parent / "LICENSE").read_text().strip().startswith("Apache License")
    assert not (tmp_path / "home").exists()  # nothing fetched, nothing written
    assert [f for f in store.PACKAGED.rglob("*.tflite")] == [path]  # the only one shipped
    others = [spec for spec in store.REGISTRY if spec.name != store.DEFAULT_MODEL]
    assert not any(store.is_packaged(spec) for spec in others)


def test_a_damaged_packaged_model_is_not_used(tmp_path, monkeypatch, caplog):
    """Verified like any other file: a bad copy is passed over and the store fetches one."""
    entry = store.spec(store.DEFAULT_MODEL).entry
    packaged = tmp_path / "packaged"
    (packaged / entry.path).parent.mkdir(parents=True)
    (packaged / entry.path).write_bytes((store.PACKAGED / entry.path).read_bytes()[:5000])
    monkeypatch.setattr(store, "PACKAGED", packaged)
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    with caplog.at_level(logging.WARNING, logger="posenet.store"):
        path = store.path(store.DEFAULT_MODEL)
    assert path == tmp_path / "home" / "models" / entry.path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    assert "packaged copy is damaged" in caplog.text
    monkeypatch.delenv("POSENET_MIRROR")
    (tmp_path / "home" / "models" / entry.path).unlink()
    with pytest.raises(PosenetError, match="POSENET_MIRROR"):
        store.path(store.DEFAULT_MODEL)


# --- the cache: readable, atomic, repaired concurrently -----------------------------------


def test_cached_files_are_readable_like_any_file(tmp_path, monkeypatch):
    """0666 less the umask (0644 under the usual 022), not tempfile's private 0600."""
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    old = os.umask(0o022)
    try:
        paths = store.pull(store.spec("tfjs-075"))
    finally:
        os.umask(old)
    assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [0o644, 0o644]


def test_damaged_file_repaired_by_several_processes_at_once(tmp_path):
    """Processes that each damage the cached file and pull it again, all at the same time,
    never fail (no FileNotFoundError from a file another one is replacing) and leave a
    good file."""
    home = tmp_path / "home"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    workers = [
        context.Process(target=_damage_and_pull, args=(str(home), str(MODELS), barrier, results))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert outcomes == ["ok"] * 3
    entry = store.spec("coral-075-721x1281").entry
    cached = home / "models" / entry.path
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == entry.sha256
    assert not list(cached.parent.glob(".*.partial"))


def _damage_and_pull(home: str, mirror: str, barrier, results) -> None:
    results.put(_damage_and_pull_20_times(home, mirror, barrier))


def _damage_and_pull_20_times(home: str, mirror: str, barrier) -> str:
    os.environ.update(POSENET_HOME=home, POSENET_MIRROR=mirror, POSENET_OFFLINE="1")
    logging.disable(logging.WARNING)  # "damaged in the cache", 60 times
    spec = store.spec("coral-075-721x1281")
    target = store.cached_path(spec.entry)
    try:
        barrier.wait(timeout=120)
        for _ in range(20):
            try:
                with target.open("r+b") as f:  # damage it in place, as a bad disk would
                    f.write(b"damaged")
            except FileNotFoundError:
                pass
            path = store.path(spec.name)
            hashlib.sha256(path.read_bytes()).hexdigest()  # the path returned is there
    except Exception as exc:  # reported to the test, which names it
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def test_a_file_that_vanishes_while_checked_is_fetched(tmp_path, monkeypatch):
    """The moment between finding a cached file and reading it, another process may
    replace it: a missing file is fetched, never an error."""
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    spec = store.spec("coral-075-481x641")
    path = store.path(spec.name)
    real = store._sha256

    def vanishing(p):
        if p == path and p.exists():
            p.unlink()
        return real(p)

    monkeypatch.setattr(store, "_sha256", vanishing)
    assert store.path(spec.name) == path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.entry.sha256


def test_downloads_are_announced_on_stderr(tmp_path, monkeypatch, caplog):
    """A download is a wait: one line says what is fetched from where (a local mirror
    copy, instant, only under -v)."""
    handler = partial(_QuietHandler, directory=str(MODELS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
        url = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setenv("POSENET_MIRROR", url)
        with caplog.at_level(logging.INFO, logger="posenet.store"):
            store.pull(store.spec("tfjs-075"))
    finally:
        server.shutdown()
        server.server_close()
    lines = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert lines == [
        (logging.WARNING, f"model tfjs-075: fetching {name} from {url}/tfjs/{folder}/{name}")
        for folder, name in [
            ("posenet-mobilenet-float-075", n) for n in ("posenet.json", "posenet.bin")
        ]
    ]
