"""`posenet models list | pull | path` through the command itself."""

from __future__ import annotations

import http.server
import threading
from functools import partial
from pathlib import Path

from posenet import store
from posenet.cli import main

from .conftest import MODELS


def test_list_marks_default_and_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POSENET_HOME", str(tmp_path))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{store.DEFAULT_MODEL} *" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "built in" in rows[store.DEFAULT_MODEL] and " no " in rows["tfjs-075"]
    assert all(spec.name in out for spec in store.REGISTRY)


def test_pull_from_a_mirror_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POSENET_HOME", str(tmp_path))
    assert main(["models", "pull", "coral-075-481x641", "tfjs-075"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["coral-075-481x641", "tfjs-075"]
    assert store.is_cached(store.spec("tfjs-075"))


def test_pull_over_http_from_localhost(tmp_path, monkeypatch, capsys):
    handler = partial(_Quiet, directory=str(MODELS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("POSENET_HOME", str(tmp_path))
        monkeypatch.setenv("POSENET_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
        assert main(["models", "path", "coral-075-481x641"]) == 0
        path = Path(capsys.readouterr().out.strip())
        assert path == tmp_path / "models" / store.spec("coral-075-481x641").entry.path
        assert (
            path.read_bytes() == (MODELS / store.spec("coral-075-481x641").entry.path).read_bytes()
        )
    finally:
        server.shutdown()
        server.server_close()


def test_pull_refuses_a_file_with_the_wrong_checksum(tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    entry = store.spec("coral-075-481x641").entry
    (mirror / entry.path).parent.mkdir(parents=True)
    (mirror / entry.path).write_bytes(b"tampered" * 1000)
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSENET_MIRROR", str(mirror))
    assert main(["models", "pull", "coral-075-481x641"]) == 2
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err and err.count("\n") == 1
    assert not store.is_cached(store.spec("coral-075-481x641"))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass
