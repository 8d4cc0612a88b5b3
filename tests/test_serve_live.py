"""`posenet serve` for real: uvicorn on 127.0.0.1 in a subprocess, sockets, Debian's chromium.

Two servers: `server` as deployed (2 workers), used by the load test and the
browser; `strict` (1 worker, 1 queue place, 3 s timeout) for refusals, the slow
body and the full queue. The browser is /usr/bin/chromium driven by Playwright
(its own browser download is never used); the camera is chromium's fake capture
playing a clip written here from the shared photos.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np
import pytest
from PIL import Image

from posenet.render import PALETTE

from .conftest import IMAGES, MODELS
from .helpers import BROWSER_FLAGS, png_bomb
from .serving import Server, hammer

COUPLE = IMAGES / "test_couple.jpg"
MAIN, SECOND = "coral-075-353x481", "coral-075-481x641"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    env = {
        "POSENET_HOME": str(tmp_path_factory.getbasetemp() / "posenet-home"),
        "POSENET_MIRROR": str(MODELS),
        "POSENET_OFFLINE": "1",
    }
    flags = ["--model", MAIN, "--model", SECOND, "--size", "257x353"]
    started = [
        Server(*flags, "--workers", "2", "--timeout", "60", env=env, wait=False),
        Server("--workers", "1", "--queue", "1", "--timeout", "3", env=env, wait=False),
    ]
    try:
        yield [s.wait() for s in started]
    finally:
        for s in started:
            s.stop()


@pytest.fixture(scope="module")
def server(servers) -> Server:
    return servers[0]


@pytest.fixture(scope="module")
def strict(servers) -> Server:
    return servers[1]


def _healthy(server: Server) -> bool:
    return server.alive() and httpx2.get(f"{server.url}/healthz").json()["status"] == "ok"


# --- refusals over real sockets ----------------------------------------------------------------


def _stall_upload(server: Server) -> socket.socket:
    """A connection that sends headers and 1 kB of a 200 kB body, then nothing."""
    stalled = socket.create_connection(server.address, timeout=60)
    stalled.sendall(
        b"POST /v1/poses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 200000\r\n\r\n" + COUPLE.read_bytes()[:1000]
    )
    return stalled


def _read_answer(connection: socket.socket) -> tuple[bytes, dict]:
    answer = b""
    while not answer.rstrip().endswith(b"}"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, json.loads(body)


def test_malformed_requests_get_a_json_4xx_and_the_server_stays_up(strict, tmp_path):
    """Every kind of bad request, sent while another client's upload has stalled: each
    gets its 4xx JSON answer, the stalled one 408 once the timeout (3 s) has passed."""
    couple = COUPLE.read_bytes()
    bomb = png_bomb(tmp_path / "bomb.png", 15000, 15000).read_bytes()  # over PIL's own limit
    fifty_mb = bytes(50 << 20)
    cases = {
        "empty body": (b"", "image/jpeg", {}, 400),
        "not an image": (b"GIF89a but not really" * 10, "image/gif", {}, 400),
        "truncated jpeg": (couple[:30000], "image/jpeg", {}, 400),
        "decompression bomb": (bomb, "image/png", {}, 413),
        "50 MB body": (fifty_mb, "image/jpeg", {}, 413),
        "50 MB chunked body": (iter([fifty_mb[: 1 << 20]] * 50), "image/jpeg", {}, 413),
        "wrong content type": (couple, "application/json", {}, 415),
        "bad options": (couple, "image/jpeg", {"max_detections": "-1"}, 400),
        "model from disk": (couple, "image/jpeg", {"model": "/etc/hostname"}, 400),
    }
    started = time.monotonic()
    with _stall_upload(strict) as stalled, httpx2.Client(base_url=strict.url, timeout=30) as http:
        for name, (body, kind, params, status) in cases.items():
            answer = http.post(
                "/v1/poses", content=body, headers={"content-type": kind}, params=params
            )
            assert answer.status_code == status, (name, answer.text)
            assert answer.headers["content-type"] == "application/json", name
            assert answer.json()["status"] == status and answer.json()["error"], name
            assert _healthy(strict), name
        good = http.post("/v1/poses", content=couple, headers={"content-type": "image/jpeg"})
        assert good.status_code == 200 and len(good.json()["poses"]) == 2
        head, body = _read_answer(stalled)
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert body["error"] == "the request body did not arrive within the timeout of 3 s"
    assert 3 <= time.monotonic() - started < 30
    assert _healthy(strict)


def test_a_full_queue_answers_503_with_retry_after(strict):
    couple = COUPLE.read_bytes()

    def post(_: int) -> httpx2.Response:
        return httpx2.post(
            f"{strict.url}/v1/poses",
            content=couple,
            headers={"content-type": "image/jpeg"},
            timeout=30,
        )

    with ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(post, range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) == {200, 503}, statuses  # one running + one queued: the rest 503
    for answer in answers:
        if answer.status_code == 503:
            assert int(answer.headers["retry-after"]) >= 1
            assert "busy" in answer.json()["error"]
    assert _healthy(strict)


def test_live_socket_over_uvicorn_refuses_a_frame_over_the_body_limit(strict):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    host, port = strict.address
    with connect(f"ws://{host}:{port}/v1/live", max_size=None) as live:
        live.send(COUPLE.read_bytes())
        assert len(json.loads(live.recv(timeout=30))["poses"]) == 2
        live.send(bytes((10 << 20) + 1))  # the default --max-body, 10 MiB, plus one byte
        with pytest.raises(ConnectionClosed) as closed:
            live.recv(timeout=30)
    assert closed.value.rcvd.code == 1009  # message too big
    assert _healthy(strict)


# --- load ----------------------------------------------------------------------------------------


def test_sixteen_concurrent_clients_get_every_answer(server):
    """The bounded version of benchmarks/bench_serve.py's 16 x 200 load test."""
    load = hammer(server.url, COUPLE.read_bytes(), clients=16, requests=2, poses=2)
    print(f"\nloopback load, 16 clients x 2 requests of test_couple: {load.summary()}")
    assert load.errors == []
    assert len(load.latencies) == 32
    assert _healthy(server)


# --- the page in a real browser ---------------------------------------------------------------


def _write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """A YUV4MPEG2 clip (4:2:0, full-range BT.601, as JPEG's), what chromium's fake
    camera plays: a header line, then per frame 'FRAME' and the Y, U, V planes."""
    height, width = frames[0].shape[:2]
    out = [f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()]
    for rgb in frames:
        r, g, b = (rgb[:, :, i].astype(np.float32) for i in range(3))
        y = 0.299 * r + 0.587 * g + 0.114 * b
        u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
        v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
        planes = [y] + [c.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)) for c in (u, v)]
        out.append(b"FRAME\n")
        out.extend(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)
    path.write_bytes(b"".join(out))
    return path


def _camera_clip(path: Path) -> Path:
    """test_couple letterboxed into 640x480, a few frames drifting sideways (live, not still)."""
    photo = Image.open(COUPLE).convert("RGB")
    photo.thumbnail((600, 480))
    frames = []
    for shift in range(0, 40, 4):
        canvas = Image.new("RGB", (640, 480), (40, 40, 40))
        canvas.paste(photo, (shift, (480 - photo.height) // 2))
        frames.append(np.asarray(canvas))
    return _write_y4m(path, frames, fps=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Chromium is needed: apt-get install -y chromium (.ci/run installs it)"
    folder = tmp_path_factory.mktemp("browser")
    clip = _camera_clip(folder / "clip.y4m")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(folder / "profile"),  # a fresh --user-data-dir
            executable_path=chromium,
            headless=True,
            args=[
                *BROWSER_FLAGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={clip}",
            ],
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser, server):
    """The page, loaded and ready; console errors and page errors are collected and
    must be none when the test ends."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(server.url + "/")
    page.wait_for_function("document.body.dataset.ready === 'yes'", timeout=30_000)
    yield page
    page.close()
    assert problems == []


_COUNT_COLOURS = """
(palette) => {
  const canvas = document.getElementById("overlay");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const found = palette.map(() => ({count: 0, x0: 1e9, y0: 1e9, x1: -1, y1: -1}));
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] < 250) continue;
    palette.forEach(([r, g, b], k) => {
      if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) > 6) return;
      const x = (i / 4) % canvas.width, y = Math.floor(i / 4 / canvas.width), box = found[k];
      box.count++; box.x0 = Math.min(box.x0, x); box.y0 = Math.min(box.y0, y);
      box.x1 = Math.max(box.x1, x); box.y1 = Math.max(box.y1, y);
    });
  }
  return {width: canvas.width, height: canvas.height, found};
}
"""


def _skeletons(page) -> dict:
    """Per palette colour: how many overlay pixels have it, and their bounding box."""
    return page.evaluate(_COUNT_COLOURS, [list(c) for c in PALETTE])


def _answers(page) -> int:
    return int(page.get_attribute("#stats", "data-answers"))


def _wait_for_answer(page, after: int) -> None:
    page.wait_for_function(
        f"Number(document.getElementById('stats').dataset.answers) > {after}", timeout=30_000
    )


def test_page_upload_draws_two_skeletons_where_the_people_are(page, server):
    api = httpx2.post(
        f"{server.url}/v1/poses",
        content=COUPLE.read_bytes(),
        headers={"content-type": "image/jpeg"},
    ).json()
    page.set_input_files("#file", str(COUPLE))
    _wait_for_answer(page, 0)
    assert page.get_attribute("#stats", "data-poses") == "2"
    assert page.inner_text("#poses-text") == "2 pose(s)"
    assert "latency" in page.inner_text("#latency-text")
    drawn = _skeletons(page)
    assert (drawn["width"], drawn["height"]) == (1920, 1278)
    found = drawn["found"]
    assert found[0]["count"] > 2000 and found[1]["count"] > 2000
    assert all(box["count"] == 0 for box in found[2:])
    for pose, box in zip(api["poses"], found, strict=False):
        # each colour's pixels span that person's confident keypoints (within the pen width)
        seen = [(k["x"], k["y"]) for k in pose["keypoints"] if k["score"] >= 0.2]
        xs, ys = [x for x, _ in seen], [y for _, y in seen]
        assert abs(box["x0"] - min(xs)) < 15 and abs(box["x1"] - max(xs)) < 15, (box, xs)
        assert abs(box["y0"] - min(ys)) < 15 and abs(box["y1"] - max(ys)) < 15, (box, ys)

    # the threshold slider redraws without asking the server: 0.87 keeps the 0.88 pose only
    # (the upload is decoded at half size, as detect reads the file: scores 0.88 and 0.85)
    answers = _answers(page)
    page.eval_on_selector(
        "#threshold", "(s) => { s.value = '0.87'; s.dispatchEvent(new Event('input')); }"
    )
    assert page.get_attribute("#stats", "data-poses") == "1"
    found = _skeletons(page)["found"]
    assert found[0]["count"] > 2000 and found[1]["count"] == 0
    assert _answers(page) == answers

    # another model (and its own size) is asked for and answered
    page.select_option("#model", SECOND)
    _wait_for_answer(page, answers)
    assert page.get_attribute("#stats", "data-model") == SECOND
    assert page.get_attribute("#stats", "data-size") == "481x641"
    page.select_option("#size", "257x353")
    _wait_for_answer(page, answers + 1)
    assert page.get_attribute("#stats", "data-size") == "257x353"


def test_page_takes_a_dropped_image(page):
    frisbee = base64.b64encode((IMAGES / "frisbee.jpg").read_bytes()).decode()
    page.evaluate(
        """(data) => {
          const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], "frisbee.jpg", {type: "image/jpeg"}));
          document.getElementById("drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        frisbee,
    )
    _wait_for_answer(page, 0)
    assert page.get_attribute("#stats", "data-poses") == "1"
    found = _skeletons(page)["found"]
    assert found[0]["count"] > 500 and all(box["count"] == 0 for box in found[1:])


def test_page_camera_draws_skeletons_on_live_frames_and_shows_fps(page):
    page.click("#camera")
    page.wait_for_function(
        "Number(document.getElementById('stats').dataset.frames) >= 4", timeout=60_000
    )
    stats = page.eval_on_selector("#stats", "(s) => ({...s.dataset})")
    assert float(stats["fps"]) > 0 and page.inner_text("#fps-text").endswith(" fps")
    assert stats["poses"] == "2"
    drawn = _skeletons(page)
    assert (drawn["width"], drawn["height"]) == (640, 480)  # the camera's frame
    assert drawn["found"][0]["count"] > 300 and drawn["found"][1]["count"] > 300
    frame = page.evaluate(
        """() => { const c = document.getElementById("picture");
                   return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height)
                                      .data.filter((_, i) => i % 4 === 1 && i % 97 === 1)); }"""
    )
    assert np.std(frame) > 20  # a real picture under the skeletons, not a blank canvas
    page.click("#camera")  # stop
    assert page.inner_text("#camera") == "Camera"
