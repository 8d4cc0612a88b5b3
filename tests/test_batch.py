"""`posenet batch` on a local Ray cluster and in-process: the rows `detect --json` gives,
error rows, a killed actor, --resume, flat actor memory.

Ray takes seconds to start, so the whole module shares one session (2 CPUs) and one
200-image dataset; each Ray job starts its own actor pool, so there are only three.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
import ray

from posenet import EstimatorSettings, batch
from posenet.cli import main
from posenet.keypoints import PART_NAMES

from . import clips
from .conftest import IMAGES, MODELS

ORIGINALS = [
    IMAGES / "test_couple.jpg",
    IMAGES / "frisbee.jpg",
    IMAGES / "tennis_in_crowd.jpg",
    IMAGES / "soccer.png",
    *sorted((IMAGES / "coco").glob("*.jpg")),
]
COPIES = 25  # 8 photos x 25 = 200 images
CORRUPT = {"truncated.jpg", "garbage.png", "empty.jpg"}
ACTOR_TITLE = b"MapBatches(PoseBatch)"


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One local Ray for the module. Its workers get the test environment (offline,
    models from the shared mirror, a private cache) at start: the per-test monkeypatch
    of conftest comes too late for processes Ray has already started."""
    home = tmp_path_factory.mktemp("ray-posenet-home")
    env = {"POSENET_HOME": str(home), "POSENET_MIRROR": str(MODELS), "POSENET_OFFLINE": "1"}
    ray.init(num_cpus=2, runtime_env={"env_vars": env}, logging_level="WARNING")
    yield
    ray.shutdown()


def make_dataset(root: Path, copies: int) -> Path:
    """`copies` copies of the shared photos, one subfolder each, and 3 corrupt files."""
    root.mkdir(exist_ok=True)
    for k in range(copies):
        folder = root / f"{k:02d}"
        folder.mkdir()
        for photo in ORIGINALS:
            (folder / photo.name).write_bytes(photo.read_bytes())
    (root / "truncated.jpg").write_bytes(ORIGINALS[0].read_bytes()[:3000])
    (root / "garbage.png").write_bytes(os.urandom(5000))
    (root / "empty.jpg").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """200 copies of the shared photos in 25 subfolders, and 3 corrupt files."""
    return make_dataset(tmp_path_factory.mktemp("photos"), COPIES)


@pytest.fixture(scope="module")
def detected(tmp_path_factory) -> dict[str, dict]:
    """`posenet detect --json` on the photos the copies are byte-identical to."""
    out = tmp_path_factory.mktemp("detect") / "poses.json"
    assert main(["detect", *map(str, ORIGINALS), "--json", str(out)]) == 0
    return {Path(r["image"]).name: r for r in json.loads(out.read_text())}


def read_rows(out: Path) -> list[dict]:
    table = pads.dataset(out, format="parquet").to_table()
    key = lambda r: (r["source"], r["frame"] or 0, r["pose_index"] or 0)  # noqa: E731
    return sorted(table.to_pylist(), key=key)


def as_detect_json(rows: list[dict]) -> dict[str, dict]:
    """Rows -> {source: detect's JSON for it}, rounded as detect rounds."""
    images: dict[str, dict] = {}
    for row in rows:
        if row["error"] is not None:
            continue
        image = images.setdefault(
            row["source"], {"width": row["width"], "height": row["height"], "poses": []}
        )
        if row["pose_index"] is None:
            continue
        assert row["pose_index"] == len(image["poses"])
        image["poses"].append(pose_json(row))
    return images


def pose_json(row: dict) -> dict:
    """A row's pose as Pose.to_dict gives it."""
    return {
        "score": round(row["score"], 4),
        "keypoints": [
            {
                "name": part,
                "x": round(row[f"{part}_x"], 2),
                "y": round(row[f"{part}_y"], 2),
                "score": round(row[f"{part}_score"], 4),
            }
            for part in PART_NAMES
        ],
    }


def check_dataset(
    out: Path, dataset: Path, detected: dict[str, dict], copies: int = COPIES
) -> list[dict]:
    """Every input once, the poses detect gives, one error row per corrupt file."""
    rows = read_rows(out)
    keys = [(r["source"], r["pose_index"]) for r in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"
    errors = {Path(r["source"]).name: r["error"] for r in rows if r["error"] is not None}
    assert set(errors) == CORRUPT
    assert "empty" in errors["empty.jpg"]
    assert "damaged" in errors["truncated.jpg"] or "truncated" in errors["truncated.jpg"]
    assert "not an image" in errors["garbage.png"]
    images = as_detect_json(rows)
    assert len(images) == copies * len(ORIGINALS)
    for source, image in images.items():
        assert Path(source).is_relative_to(dataset)
        expected = detected[Path(source).name]
        assert (image["width"], image["height"]) == (expected["width"], expected["height"])
        assert image["poses"] == expected["poses"], source
    assert sum(len(i["poses"]) for i in images.values()) > 2 * len(images)
    meta = json.loads(pq.read_schema(next(out.glob("*.parquet"))).metadata[b"posenet"])
    assert meta["model"] == "coral-075-353x481"
    assert meta["settings"] == EstimatorSettings().to_dict()
    assert meta["resolved"]["decoder"] == "coral"
    assert meta["resolved"]["decoder_options"]["max_detections"] == 10  # the model's
    assert meta["input_size"] == [353, 481]
    return rows


def test_in_process_rows_are_detects(dataset, detected, tmp_path, capsys):
    out = tmp_path / "poses"
    assert main(["batch", str(dataset), "--output", str(out), "--ray", "none"]) == 0
    assert f"{out}: 203 input(s)" in capsys.readouterr().out
    check_dataset(out, dataset, detected)


def _actor_pids() -> list[int]:
    """Our Ray's pose actors: processes titled MapWorker(MapBatches(PoseBatch)) whose
    parent (the raylet) this test process started."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if ACTOR_TITLE not in (entry / "cmdline").read_bytes():
                continue
            raylet = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            stat = Path(f"/proc/{raylet}/stat").read_text()
        except (OSError, ValueError, IndexError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
            pids.append(int(entry.name))
    return pids


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class ActorWatch(threading.Thread):
    """Samples the pose actors' memory while a job runs, and kills one of them once
    the first block is written."""

    def __init__(self, out: Path) -> None:
        super().__init__(daemon=True)
        self.out = out
        self.samples: dict[int, list[float]] = {}
        self.killed: int | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            pids = _actor_pids()
            for pid in pids:
                rss = _rss_mb(pid)
                if rss is not None and pid != self.killed:
                    self.samples.setdefault(pid, []).append(rss)
            if self.killed is None and pids and list(self.out.glob("*.parquet")):
                self.killed = pids[0]
                os.kill(self.killed, signal.SIGKILL)


def test_ray_rows_are_detects_despite_a_killed_actor(
    ray_session, dataset, detected, tmp_path, capsys
):
    out = tmp_path / "poses"
    watch = ActorWatch(out)
    watch.start()
    try:
        assert main(["batch", str(dataset), "-o", str(out), "--workers", "2"]) == 0
    finally:
        watch.stop.set()
        watch.join()
    assert f"{out}: 203 input(s)" in capsys.readouterr().out
    assert watch.killed is not None, "no actor was killed mid-job"
    assert not list(out.glob(".*")), "a partial block was left"
    check_dataset(out, dataset, detected)
    # One estimator per actor, blocks streamed: once built, an actor's own memory
    # (RssAnon: Ray's shared object store is not counted) goes up and down with each
    # image but does not climb: the median of the last third of the samples is that of
    # the middle third; keeping the images it saw would add ~7 MB each.
    long_lived = {pid: s for pid, s in watch.samples.items() if len(s) >= 30}
    assert long_lived, watch.samples
    for pid, samples in long_lived.items():
        third = len(samples) // 3
        middle = statistics.median(samples[third : 2 * third])
        last = statistics.median(samples[2 * third :])
        assert last - middle < 30, (pid, middle, last)


def test_resume_after_an_interruption(ray_session, detected, tmp_path, capsys):
    """A run stopped after its first block (and a block caught mid-write) is finished
    by --resume on Ray: the final dataset is the uninterrupted one, without duplicates."""
    dataset = make_dataset(tmp_path / "photos", copies=3)
    out = tmp_path / "poses"
    estimator = EstimatorSettings().build()  # the command's defaults
    job = batch.plan(str(dataset), str(out), estimator, resume=False)

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt  # as Ctrl-C after the first block

    with pytest.raises(KeyboardInterrupt):
        batch.run_local(job, estimator, interrupt)
    (out / ".part-0123.parquet.partial").write_bytes(b"PAR1 half a block")
    assert len(batch.ParquetBlocks(str(out), {}).done_sources()) == batch.BATCH_SIZE

    assert main(["batch", str(dataset), "-o", str(out), "--resume", "--workers", "2"]) == 0
    assert f"{batch.BATCH_SIZE} input(s) already in" in capsys.readouterr().err
    check_dataset(out, dataset, detected, copies=3)
    assert main(["batch", str(dataset), "-o", str(out), "--resume", "--ray", "none"]) == 0
    assert "27 input(s) already in" in capsys.readouterr().err


def test_videos_give_the_rows_of_posenet_video(ray_session, tmp_path, capsys):
    """Two clips read every 3rd frame and a damaged one, on Ray and in-process: per
    frame, the poses and track IDs `posenet video --jsonl --every 3` gives; the damaged
    clip an error row."""
    folder = tmp_path / "clips"
    folder.mkdir()
    clips.write_clip(folder / "pan.mp4", clips.panning(30))
    clips.write_clip(folder / "still.mp4", clips.still(12))
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    whole = clips.write_clip(
        tmp_path / "whole.mp4", clips.still(30, size=(160, 106)), faststart=True
    )
    (folder / "cut.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    expected = {}
    for name in ("pan.mp4", "still.mp4"):
        jsonl = tmp_path / f"{name}.jsonl"
        argv = ["video", str(folder / name), "--jsonl", str(jsonl), "--every", "3", "-q"]
        assert main(argv) == 0
        expected[name] = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["frame"] for line in expected["pan.mp4"]] == list(range(0, 30, 3))
    for where in ("none", "auto"):
        out = tmp_path / f"poses-{where}"
        argv = ["batch", str(folder), "-o", str(out), "--every", "3", "--ray", where]
        assert main([*argv, "--workers", "2"]) == 0
        assert f"{out}: 4 input(s)" in capsys.readouterr().out
        frames: dict[str, list[dict]] = {}
        for row in read_rows(out):
            name = Path(row["source"]).name
            if row["error"] is not None:
                frames.setdefault(name, []).append({"error": row["error"], "at": row["frame"]})
                continue
            if not frames.get(name) or frames[name][-1]["frame"] != row["frame"]:
                frames.setdefault(name, []).append(
                    {
                        "frame": row["frame"],
                        "time": round(row["timestamp"], 6),
                        "width": row["width"],
                        "height": row["height"],
                        "model": "coral-075-353x481",
                        "poses": [],
                    }
                )
            if row["pose_index"] is not None:
                assert row["pose_index"] == len(frames[name][-1]["poses"])
                pose = {**pose_json(row), "track_id": row["track_id"]}
                frames[name][-1]["poses"].append(pose)
        assert frames["pan.mp4"] == expected["pan.mp4"], where
        assert frames["still.mp4"] == expected["still.mp4"], where
        assert frames["broken.mp4"] == [{"error": frames["broken.mp4"][0]["error"], "at": None}]
        assert "not a video FFmpeg can read" in frames["broken.mp4"][0]["error"]
        # damaged part-way: the frames before the damage, then the error at the next one
        *decoded, cut = frames["cut.mp4"]
        assert decoded and [f["frame"] for f in decoded] == list(range(0, 3 * len(decoded), 3))
        assert "truncated" in cut["error"] and cut["at"] == 3 * len(decoded)
        assert any(p["track_id"] is not None for f in frames["pan.mp4"] for p in f["poses"])
    meta = json.loads(pq.read_schema(next(out.glob("*.parquet"))).metadata[b"posenet"])
    assert meta["every"] == 3


def test_uris_in_a_list(ray_session, dataset, detected, tmp_path, capsys):
    """file:// URIs go through pyarrow's filesystems (as s3:// and gs:// would): the
    rows keep the URI as their source, on Ray (whose reader drops the scheme) and here."""
    photos = [dataset / "00" / "frisbee.jpg", dataset / "01" / "soccer.png"]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{p.as_uri()}\n" for p in photos))
    for where in ("none", "auto"):
        out = tmp_path / f"poses-{where}"
        assert main(["batch", str(listing), "-o", str(out), "--ray", where]) == 0
        images = as_detect_json(read_rows(out))
        assert sorted(images) == sorted(p.as_uri() for p in photos)
        for photo in photos:
            assert images[photo.as_uri()]["poses"] == detected[photo.name]["poses"]
    capsys.readouterr()


def test_rerun_replaces_and_resume_needs_the_same_settings(dataset, tmp_path, capsys):
    out = tmp_path / "poses"
    photos = [str(dataset / "00" / name) for name in ("frisbee.jpg", "soccer.png")]
    assert main(["batch", photos[0], "-o", str(out), "--ray", "none"]) == 0
    resume = ["-o", str(out), "--resume", "--ray", "none"]
    assert main(["batch", photos[1], *resume, "--decoder", "tfjs"]) == 2
    assert "other settings (decoder)" in capsys.readouterr().err
    assert main(["batch", photos[1], *resume, "--threads", "2"]) == 0  # speed, not rows
    assert {Path(r["source"]).name for r in read_rows(out)} == {"frisbee.jpg", "soccer.png"}
    # A re-run without --resume replaces the dataset, as posenet replaces any output.
    (out / ".part-0123.parquet.partial").write_bytes(b"PAR1 half a block")
    assert main(["batch", photos[1], "-o", str(out), "--ray", "none", "--decoder", "tfjs"]) == 0
    assert {Path(r["source"]).name for r in read_rows(out)} == {"soccer.png"}
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    schema = pq.read_schema(next(out.glob("*.parquet")))
    assert json.loads(schema.metadata[b"posenet"])["resolved"]["decoder"] == "tfjs"
    # Nothing but our own blocks is ever deleted.
    (out / "notes.txt").write_text("mine")
    assert main(["batch", photos[1], "-o", str(out), "--ray", "none"]) == 2
    assert "holds other files (notes.txt)" in capsys.readouterr().err


def test_lists_globs_and_missing_files(dataset, tmp_path, capsys):
    """A .txt list (paths relative to its folder, comments, blank lines), a .parquet
    list, a glob; a listed file that is gone becomes an error row, not a failed job."""
    expected = [str(dataset / "00/frisbee.jpg"), str(dataset / "01/soccer.png")]
    listing = tmp_path / "list.txt"
    relative = [os.path.relpath(p, tmp_path) for p in expected]
    listing.write_text("\n".join([relative[0], "# a comment", "", relative[1]]) + "\n")
    assert batch.find_sources(str(listing)) == expected
    pq.write_table(pa.table({"n": [1, 2], "path": expected}), tmp_path / "list.parquet")
    assert batch.find_sources(str(tmp_path / "list.parquet")) == expected
    assert batch.find_sources(f"{dataset}/0[01]/*.png") == sorted(
        str(dataset / f"0{k}/soccer.png") for k in (0, 1)
    )
    listing.write_text(f"{tmp_path / 'nowhere.jpg'}\n{expected[0]}\n")
    out = tmp_path / "poses"
    assert main(["batch", str(listing), "-o", str(out), "--ray", "none"]) == 0
    assert f"{out}: 2 input(s), 1 pose(s), 1 error(s)" in capsys.readouterr().out
    rows = {Path(r["source"]).name: r for r in read_rows(out)}
    assert rows["nowhere.jpg"]["error"] == "no such file"
    assert rows["frisbee.jpg"]["pose_index"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{photo}", "-o", "{photo}"], "is a file"),
        (["{tmp}/nothing", "-o", "{tmp}/out"], "no such file or folder"),
        (["{tmp}/*.nothing", "-o", "{tmp}/out"], "no file matches"),
        (
            ["{tmp}/notes.md", "-o", "{tmp}/out"],
            "not an image, a video, a folder, a glob or a list",
        ),
        (["{photo}", "-o", "{tmp}/out", "--workers", "0"], "not a whole number >= 1"),
        (["{photo}", "-o", "{tmp}/out", "--model", "no-such-model"], "no-such-model"),
    ],
)
def test_usage_errors_are_one_line(dataset, tmp_path, capsys, args, message):
    (tmp_path / "notes.md").write_text("hello")
    photo = dataset / "00" / "frisbee.jpg"
    argv = [a.format(photo=photo, tmp=tmp_path) for a in args]
    assert main(["batch", *argv, "--ray", "none"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_a_ray_address_nobody_answers_is_one_line(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("ray.is_initialized", lambda: False)  # as a fresh process
    photo = str(dataset / "00" / "frisbee.jpg")
    for address, message in [
        ("127.0.0.1:1", "no Ray cluster answers there"),
        ("ray://127.0.0.1:1", "no Ray cluster answers there"),
        ("somewhere", "expected auto, local, none or HOST:PORT"),
    ]:
        assert main(["batch", photo, "-o", str(tmp_path / "out"), "--ray", address]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_missing_ray_or_pyarrow_is_one_line(dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray.data", None)
    photo = str(dataset / "00" / "frisbee.jpg")
    assert main(["batch", photo, "-o", str(tmp_path / "a"), "--ray", "local"]) == 2
    assert "pip install 'posenet-toolkit[batch]'" in capsys.readouterr().err
    assert main(["batch", photo, "-o", str(tmp_path / "b")]) == 0  # auto: runs here
    assert "running in this process" in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "pyarrow.parquet", None)
    assert main(["batch", photo, "-o", str(tmp_path / "c"), "--ray", "none"]) == 2
    assert "pip install pyarrow" in capsys.readouterr().err
