"""`posenet serve` in process (Starlette's TestClient): every route, option and limit.

The real server (uvicorn, sockets, a browser) is tested in test_serve_live.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import pytest
from starlette.testclient import TestClient

from posenet.cli import main
from posenet.errors import PosenetError
from posenet.render import PALETTE
from posenet.serve import ServeConfig
from posenet.serve.app import create_app
from posenet.serve.errors import ServiceError
from posenet.serve.service import Service
from posenet.serve.workers import WorkerPool

from .conftest import IMAGES, MODELS
from .helpers import png_bomb

COUPLE = IMAGES / "test_couple.jpg"
CORAL_FILE = MODELS / "coral" / "posenet_mobilenet_v1_075_353_481_quant_decoder.tflite"
MAIN, SECOND = "coral-075-353x481", "coral-075-481x641"
CONFIG = ServeConfig(
    models=(MAIN, SECOND),
    sizes=("257x353",),
    workers=2,
    queue=4,
    max_body=1 << 20,
    max_pixels=4_000_000,  # test_couple (2.45 MP) passes
    timeout=20,
)


@pytest.fixture(scope="module")
def store_env(tmp_path_factory: pytest.TempPathFactory):
    """conftest's isolated store, for fixtures that outlive one test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POSENET_HOME", str(tmp_path_factory.getbasetemp() / "posenet-home"))
        patch.setenv("POSENET_MIRROR", str(MODELS))
        patch.setenv("POSENET_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def client(store_env) -> TestClient:
    with TestClient(create_app(CONFIG)) as client:
        yield client


def _post(client: TestClient, body: bytes, content_type: str = "image/jpeg", **params):
    return client.post("/v1/poses", content=body, headers={"content-type": content_type},
                       params=params)  # fmt: skip


def _cli_json(tmp_path, *flags: str) -> dict:
    out = tmp_path / "cli.json"
    assert main(["detect", str(COUPLE), "--json", str(out), *flags]) == 0
    return json.loads(out.read_text())[0]


# --- answers --------------------------------------------------------------------------------


def test_raw_body_answers_what_the_cli_writes(client, tmp_path, capsys):
    answer = _post(client, COUPLE.read_bytes())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    got = answer.json()
    cli = _cli_json(tmp_path)
    assert {k: got[k] for k in cli} == {**cli, "image": None}
    assert len(got["poses"]) == 2
    assert got["decoder"] == "coral" and got["size"] == "353x481"
    assert set(got["timings"]) == {"queue", "load", "preprocess", "invoke", "decode"}
    assert got["timings"]["invoke"] > 0


def test_multipart_upload_names_the_file(client, tmp_path, capsys):
    files = {"image": ("couple.jpg", COUPLE.read_bytes(), "image/jpeg")}
    got = client.post("/v1/poses", files=files).json()
    assert got["image"] == "couple.jpg"
    assert got["poses"] == _cli_json(tmp_path)["poses"]


@pytest.mark.parametrize(
    ("params", "flags"),
    [
        (
            {"decoder": "tfjs", "max_detections": "1", "refine_steps": "3"},
            ["--decoder", "tfjs", "--max-poses", "1", "-O", "refine_steps=3"],
        ),
        ({"decoder": "single"}, ["--decoder", "single"]),
        (
            {"score_threshold": "0.87", "nms_radius": "12.5"},
            ["--min-score", "0.87", "--nms-radius", "12.5"],
        ),
        ({"model": SECOND, "size": "257x353"}, ["--model", SECOND, "--size", "257x353"]),
    ],
    ids=["tfjs", "single", "thresholds", "model-size"],
)
def test_query_options_do_what_the_cli_flags_do(client, tmp_path, capsys, params, flags):
    answer = _post(client, COUPLE.read_bytes(), **params)
    assert answer.status_code == 200, answer.text
    got, cli = answer.json(), _cli_json(tmp_path, *flags)
    assert got["poses"] == cli["poses"] and got["model"] == cli["model"]
    assert got["decoder"] == params.get("decoder", "coral")
    assert 1 <= len(got["poses"]) <= 2


def test_models_lists_the_served_set(client):
    served = client.get("/v1/models").json()
    assert [m["name"] for m in served["models"]] == [MAIN, SECOND]
    assert [m["default"] for m in served["models"]] == [True, False]
    assert served["models"][0]["sizes"] == ["257x353", "353x481"]
    assert served["models"][1]["sizes"] == ["257x353", "481x641"]
    assert served["models"][1]["default_size"] == "481x641"
    assert set(served["decoders"]) == {"coral", "tfjs", "single"}
    assert served["decoders"]["tfjs"]["refine_steps"]["default"] == 2


def test_healthz(client):
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["models"] == [MAIN, SECOND]


def test_openapi_documents_every_route_and_option_the_server_takes(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    http_routes = {r.path for r in client.app.routes if hasattr(r, "methods")}
    assert set(doc["paths"]) == http_routes
    params = {p["name"]: p for p in doc["paths"]["/v1/poses"]["post"]["parameters"]}
    assert params["model"]["schema"]["enum"] == [MAIN, SECOND]
    assert set(params["size"]["schema"]["enum"]) == {"257x353", "353x481", "481x641"}
    # every documented option is taken (at its lowest value) by the decoders it names ...
    for name, param in params.items():
        if name in ("model", "size", "decoder"):
            continue
        for decoder in re.findall(r"(coral|tfjs|single): ", param["description"]):
            low = param["schema"]["minimum"]
            value = str(int(low)) if param["schema"]["type"] == "integer" else str(low)
            answer = _post(client, b"", decoder=decoder, **{name: value})
            assert answer.json()["error"] == "the image is empty (0 bytes)", (name, decoder)
    # ... and an option the document does not name is refused
    assert _post(client, b"x", refine_stepz="1").status_code == 400


def test_page_is_self_contained_and_carries_the_drawing_tables(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no CDN, no URL
    assert "@import" not in html and "url(http" not in html
    assert "/*POSENET_TABLES*/" not in html
    tables = json.loads(re.search(r"const TABLES = (\{.*?\});", html)[1])
    assert tables["palette"][:2] == ["#{:02x}{:02x}{:02x}".format(*c) for c in PALETTE[:2]]
    assert len(tables["parts"]) == 17 and len(tables["skeleton"]) == 12


# --- refusals: every one a JSON body with a clear message, the server unharmed ---------------


def _bad_requests(tmp_path) -> dict[str, tuple[dict, int, str]]:
    couple = COUPLE.read_bytes()
    bomb = png_bomb(tmp_path / "bomb.png", 5000, 5000).read_bytes()  # 25 MP from 40 kB
    jpeg = {"content": couple, "headers": {"content-type": "image/jpeg"}}

    def raw(body: bytes, content_type: str = "image/jpeg", **params):
        return {"content": body, "headers": {"content-type": content_type}, "params": params}

    return {
        "empty body": (raw(b""), 400, "the image is empty"),
        "not an image": (raw(b"hello, world\n" * 20), 400, "not an image file Pillow can read"),
        "truncated jpeg": (raw(couple[:20000]), 400, "damaged image"),
        "decompression bomb": (raw(bomb, "image/png"), 413, "5000x5000, over the 4,000,000-pix"),
        "body over the limit": (raw(bytes(2 << 20)), 413, "over the limit of 1,048,576 bytes"),
        "chunked body over the limit": (
            {"content": iter([bytes(1 << 19)] * 4), "headers": jpeg["headers"]},
            413,
            "over the limit of 1,048,576 bytes",
        ),
        "text/plain": (raw(couple, "text/plain"), 415, "Content-Type 'text/plain'"),
        "no content type": ({"content": couple}, 415, "Content-Type '(none)'"),
        "form without image": (
            {"files": {"photo": ("a.jpg", couple, "image/jpeg")}},
            400,
            "no file field named 'image'",
        ),
        "not a number": (raw(couple, max_detections="ten"), 400, "max_detections='ten'"),
        "out of range": (raw(couple, score_threshold="1.5"), 400, "score_threshold must be"),
        "not whole": (raw(couple, max_detections="2.5"), 400, "max_detections must be an int"),
        "nan": (raw(couple, nms_radius="nan"), 400, "nms_radius must be"),
        "unknown option": (raw(couple, fit="stretch"), 400, "unknown option fit"),
        "other decoder's option": (raw(couple, refine_steps="2"), 400, "option refine_steps"),
        "unknown decoder": (raw(couple, decoder="best"), 400, "unknown decoder 'best'"),
        "model not served": (raw(couple, model="tfjs-075"), 400, "'tfjs-075' is not served"),
        "model as a path": (raw(couple, model="/etc/passwd"), 400, "is not served here"),
        "model as a file": (raw(couple, model=str(CORAL_FILE)), 400, "is not served here"),
        "size not offered": (raw(couple, size="513x513"), 400, "size '513x513' is not offered"),
        "option twice": (
            {**jpeg, "params": [("size", "257x353"), ("size", "353x481")]},
            400,
            "'size' is given twice",
        ),
    }


def test_bad_requests_get_a_json_4xx_and_the_server_stays_up(client, tmp_path):
    for name, (request, status, message) in _bad_requests(tmp_path).items():
        answer = client.post("/v1/poses", **request)
        assert answer.status_code == status, (name, answer.text)
        assert answer.headers["content-type"] == "application/json", name
        body = answer.json()
        assert body["status"] == status and message in body["error"], (name, body)
    assert len(_post(client, COUPLE.read_bytes()).json()["poses"]) == 2


def test_unknown_routes_and_methods_answer_json(client):
    for method, path, status in (
        ("GET", "/nowhere", 404),
        ("GET", "/v1/poses", 405),
        ("DELETE", "/healthz", 405),
        ("GET", "/../etc/passwd", 404),
    ):
        answer = client.request(method, path)
        assert answer.status_code == status, path
        assert answer.json()["status"] == status  # fmt: skip


# --- the live socket ---------------------------------------------------------------------------


def test_live_socket_answers_each_frame_once_and_survives_bad_frames(client, tmp_path, capsys):
    couple = COUPLE.read_bytes()
    with client.websocket_connect(f"/v1/live?model={SECOND}&size=257x353") as socket:
        socket.send_bytes(couple)
        first = socket.receive_json()
        assert first["model"] == SECOND and first["size"] == "257x353"
        assert (
            first["poses"] == _cli_json(tmp_path, "--model", SECOND, "--size", "257x353")["poses"]
        )
        socket.send_text("hello")
        assert socket.receive_json() == {
            "error": "send each frame as a binary message (JPEG, PNG ...)",
            "status": 415,
        }
        socket.send_bytes(couple[:20000])
        assert socket.receive_json()["status"] == 400
        socket.send_bytes(b"")
        assert socket.receive_json()["status"] == 400
        socket.send_bytes(couple)
        assert socket.receive_json()["poses"] == first["poses"]


def test_live_socket_with_bad_options_says_why_and_closes(client):
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/v1/live?model=../../etc/passwd") as socket:
        assert "is not served here" in socket.receive_json()["error"]
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 1008


# --- the queue and the timeout ---------------------------------------------------------------


def test_full_queue_answers_503_with_retry_after_and_a_late_answer_504(store_env):
    config = ServeConfig(models=(MAIN,), sizes=(), workers=1, queue=1, timeout=0.5)
    service = Service(config)
    release = threading.Event()
    with TestClient(create_app(config, service)) as client:
        # the one worker and the one queue place taken by jobs that wait for `release`
        blocked = [
            client.portal.start_task_soon(
                service.pool.run, lambda: release.wait(20), time.monotonic() + 30, 30
            )
            for _ in range(2)
        ]
        while service.pool.admitted < 2:
            time.sleep(0.01)
        busy = _post(client, COUPLE.read_bytes())
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["retry-after"]) >= 1
        assert "busy" in busy.json()["error"]
        assert busy.json()["retry_after"] == int(busy.headers["retry-after"])
        with client.websocket_connect("/v1/live") as live:  # a frame: the same, in the answer
            live.send_bytes(COUPLE.read_bytes())
            answer = live.receive_json()
            assert answer["status"] == 503 and answer["retry_after"] >= 1
        release.set()
        assert [job.result(20)[0] for job in blocked] == [True, True]
        # a request waiting behind a job that outlasts its timeout gets 504 at the timeout
        release.clear()
        slow = client.portal.start_task_soon(
            service.pool.run, lambda: release.wait(20), time.monotonic() + 30, 30
        )
        started = time.monotonic()
        late = _post(client, COUPLE.read_bytes())
        assert late.status_code == 504 and "timeout of 0.5 s" in late.json()["error"]
        assert 0.5 <= time.monotonic() - started < 2
        release.set()
        slow.result(20)
        while service.pool.admitted:  # the 504's job, dropped unrun, has left the queue
            time.sleep(0.01)
        assert client.get("/healthz").json()["in_progress"] == 0


def test_worker_pool_drops_a_waiting_job_whose_request_timed_out():
    ran: list[str] = []

    async def scenario() -> None:
        pool = WorkerPool(workers=1, queue=1)
        gate = threading.Event()
        first = asyncio.ensure_future(pool.run(lambda: gate.wait(5), time.monotonic() + 5, 5))
        await asyncio.sleep(0.05)
        with pytest.raises(ServiceError) as late:
            await pool.run(lambda: ran.append("late"), time.monotonic() + 0.2, 0.2)
        assert late.value.status == 504
        gate.set()
        assert (await first)[0] is True
        while pool.admitted:
            await asyncio.sleep(0.01)
        pool.shutdown()

    asyncio.run(scenario())
    assert ran == []  # the job whose request had been answered 504 never ran


# --- settings: flags, POSENET_SERVE_* variables, the command line ------------------------------


def test_settings_come_from_flags_then_variables_then_defaults():
    environ = {
        "POSENET_SERVE_WORKERS": "3",
        "POSENET_SERVE_MODELS": "a, b",
        "POSENET_SERVE_MAX_BODY": "2M",
        "POSENET_SERVE_TIMEOUT": "2.5",
        "POSENET_SERVE_PORT": "9000",
    }
    config = ServeConfig.from_sources({"port": 9100, "sizes": ["257"]}, environ)
    assert config.workers == 3 and config.models == ("a", "b")
    assert config.max_body == 2 << 20 and config.timeout == 2.5
    assert config.port == 9100 and config.sizes == ("257",)
    assert config.queue == ServeConfig().queue and config.host == "127.0.0.1"
    for name, value, message in (
        ("POSENET_SERVE_WORKERS", "0", "must be from 1 to 64"),
        ("POSENET_SERVE_PORT", "http", "not a whole number"),
        ("POSENET_SERVE_MAX_BODY", "lots", "not a byte count"),
        ("POSENET_SERVE_TIMEOUT", "inf", "must be more than 0"),
    ):
        with pytest.raises(PosenetError, match=f"{name}='{value}': {message}"):
            ServeConfig.from_sources({}, {name: value})


def test_serve_command_refuses_bad_settings_in_one_line(capsys, monkeypatch):
    for argv, message in (
        (["serve", "--workers", "0"], "--workers: '0': must be from 1 to 64"),
        (["serve", "--model", "nosuch"], "nosuch"),
        (["serve", "--size", "17x9999999"], "size"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("posenet: error: ") and message in err, err
        assert len(err.strip().splitlines()) == 1


def test_serve_command_names_the_pip_command_when_the_extra_is_missing(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "uvicorn", None)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert (
        err == "posenet: error: posenet serve needs uvicorn: pip install 'posenet-toolkit[serve]'\n"
    )


def test_serve_command_says_when_the_port_is_taken(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"posenet: error: cannot listen on 127.0.0.1:{port}: ")
