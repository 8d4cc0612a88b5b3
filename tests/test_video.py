"""posenet video and posenet.video on clips made from the shared photos (tests/clips.py):
tracking through the real model, smoothing, round trips, bad input, Ctrl-C."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import posenet
from posenet.cli import main
from posenet.keypoints import LEFT_RIGHT_PAIRS, PART_IDS
from posenet.poses import Pose
from posenet.track import Tracker

from . import clips

#: Keypoint score from which a keypoint's position is compared (the tracker's default).
CONFIDENT = 0.3


@pytest.fixture(scope="module")
def estimator() -> posenet.Estimator:
    return posenet.Estimator()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video")


@pytest.fixture(scope="module")
def panned(estimator, folder):
    """The panning clip of test_couple through Estimator.video: 60 VideoFrames."""
    clip = clips.write_clip(folder / "pan.mp4", clips.panning(60))
    return list(estimator.video(clip))


def nose_x(tracked) -> float:
    return float(tracked.raw.xy[PART_IDS["nose"], 0])


def test_panning_couple_keeps_two_tracks_start_to_end_without_switches(panned):
    assert len(panned) == 60
    assert [f.index for f in panned] == list(range(60))
    np.testing.assert_allclose([f.time for f in panned], np.arange(60) / 30, atol=1e-6)
    for frame in panned:
        ids = [p.track_id for p in frame.poses]
        assert sorted(ids) == [1, 2], (frame.index, ids)
        # the man stands left of the woman in every frame: his ID never moves to her
        by_x = sorted(frame.poses, key=nose_x)
        assert [p.track_id for p in by_x] == [1, 2], frame.index


def _jitter(frames, field: str) -> float:
    """Mean frame-to-frame movement (px) of keypoints confident in both frames."""
    steps = []
    for before, after in itertools.pairwise(frames):
        old = {p.track_id: p for p in before.poses}
        for pose in after.poses:
            if pose.track_id in old:
                a, b = getattr(old[pose.track_id], field), getattr(pose, field)
                sure = (a.scores >= CONFIDENT) & (b.scores >= CONFIDENT)
                steps.extend(np.linalg.norm(b.xy[sure] - a.xy[sure], axis=1))
    return float(np.mean(steps))


def test_smoothing_a_still_noisy_clip_cuts_jitter_by_half(estimator, folder):
    clip = clips.write_clip(folder / "still.mp4", clips.still(30, noise=12.0))
    frames = list(estimator.video(clip))
    raw, smooth = _jitter(frames[5:], "raw"), _jitter(frames[5:], "pose")
    print(f"\njitter on a still clip with noise: raw {raw:.2f} px, smoothed {smooth:.2f} px")
    assert raw > 0.5  # the noise does move PoseNet's keypoints
    assert smooth <= 0.5 * raw


def test_lag_of_smoothing_on_the_panning_clip_is_under_a_frame(panned):
    """Lag: how far the smoothed keypoints trail the raw ones along the motion, in frames
    of that motion (the people drift ~4 px a frame)."""
    lags = []
    for track_id in (1, 2):
        mine = [next(p for p in f.poses if p.track_id == track_id) for f in panned]
        raw = np.array([p.raw.xy for p in mine])
        smooth = np.array([p.pose.xy for p in mine])
        step = np.diff(raw, axis=0).mean(axis=(0, 1))  # px per frame
        lags.append(float(((raw[10:] - smooth[10:]) @ step).mean() / (step @ step)))
    print(f"\nsmoothing lag on the panning clip: {lags[0]:.2f} and {lags[1]:.2f} frames")
    assert all(0 < lag < 1.0 for lag in lags)


def test_a_left_right_swap_injected_into_real_poses_is_corrected(panned):
    tracker = Tracker(smooth=False)
    for frame in panned[:30]:
        tracker.update([p.raw for p in frame.poses], frame.time)
    frame = panned[30]
    originals = [p.raw for p in frame.poses]
    order = np.arange(17)
    for left, right in LEFT_RIGHT_PAIRS[2:]:  # shoulders down: the whole body mirrored
        order[left], order[right] = right, left
    injected = [Pose(p.xy[order], p.scores[order], p.score) for p in originals]
    fixed = tracker.update(injected, frame.time)
    for pose, original in zip(fixed, originals, strict=True):
        sure = original.scores >= CONFIDENT
        np.testing.assert_array_equal(pose.pose.xy[sure], original.xy[sure])


def test_two_people_crossing_keep_their_ids(estimator, folder):
    """He walks right, she walks left in front of him. Measured: for frames 21-25 he is
    hidden and PoseNet finds no pose for him (at frame 20 a pose mixing his head with her
    legs); the tracker carries his track through those 6 frames on its velocity and
    gives him his ID back when he comes out on her right."""
    clip = clips.write_clip(folder / "crossing.mp4", clips.crossing(48))
    frames = list(estimator.video(clip))
    ids = {i for f in frames for i in (p.track_id for p in f.poses) if i is not None}
    assert ids == {1, 2}
    hidden = [f.index for f in frames if len(f.poses) < 2]
    print(f"\ncrossing: frames with fewer than two poses: {hidden}")
    assert len(hidden) <= 8
    for frame in frames[:18] + frames[28:]:
        by_x = sorted(frame.poses, key=nose_x)
        expected = [1, 2] if frame.index < 18 else [2, 1]
        assert [p.track_id for p in by_x] == expected, frame.index


def test_cli_round_trip(folder, capsys):
    clip = clips.write_clip(folder / "small.mp4", clips.still(20, size=(160, 106)), rate=25)
    out, jsonl = folder / "small-poses.mp4", folder / "small.jsonl"
    assert main(["video", str(clip), "--out", str(out), "--jsonl", str(jsonl)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    assert captured.out.startswith(f"{clip}: 20 frame(s)")
    with av.open(str(out)) as video:
        stream = video.streams.video[0]
        assert (stream.width, stream.height, stream.average_rate) == (160, 106, 25)
        assert sum(1 for _ in video.decode(stream)) == 20
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(20))
    assert lines[3]["time"] == pytest.approx(3 / 25)
    pose = lines[0]["poses"][0]
    assert set(pose) == {"score", "keypoints", "track_id"} and len(pose["keypoints"]) == 17
    assert {"name", "x", "y", "score"} == set(pose["keypoints"][0])
    # no temporary files left beside the outputs
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_cli_start_end_every_max_frames(folder, capsys):
    clip = folder / "pan.mp4"  # 60 frames at 30 fps, written by `panned`
    if not clip.exists():
        clips.write_clip(clip, clips.panning(60))
    jsonl = folder / "part.jsonl"
    argv = ["video", str(clip), "--jsonl", str(jsonl), "-q", "--start", "0.5", "--end", "1:00"]
    assert main([*argv, "--every", "3", "--max-frames", "5", "--no-track"]) == 0
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [line["frame"] for line in lines] == [15, 18, 21, 24, 27]
    assert all(p["track_id"] is None for line in lines for p in line["poses"])
    assert capsys.readouterr().out == ""


def test_cli_folder_of_frames_in_natural_order_odd_size(folder, capsys):
    frames = folder / "frames"
    frames.mkdir()
    pictures = list(clips.still(3, size=(161, 107)))
    for number, pixels in zip((2, 10, 1), pictures, strict=True):  # frame10 after frame2
        Image.fromarray(pixels).save(frames / f"frame{number}.png")
    out, jsonl = folder / "frames.mkv", folder / "frames.jsonl"
    argv = ["video", str(frames), "--fps", "10", "--out", str(out), "--jsonl", str(jsonl)]
    assert main([*argv, "-q"]) == 0
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [(line["frame"], line["time"]) for line in lines] == [(0, 0.0), (1, 0.1), (2, 0.2)]
    with av.open(str(out)) as video:
        stream = video.streams.video[0]
        assert (stream.width, stream.height) == (161, 107)  # odd sides kept (4:4:4)
        assert sum(1 for _ in video.decode(stream)) == 3
    assert capsys.readouterr().out == ""


def test_progress_bar_shows_frames_fps_and_eta_on_a_terminal(monkeypatch):
    from posenet.commands.video import _Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = _Progress(10, quiet=False)
    for _ in range(3):
        progress.step()
        time.sleep(0.11)
    progress.done()
    shown = terminal.getvalue()
    assert "3/10 frames" in shown and " fps ETA 0:0" in shown
    assert shown.endswith("\r")  # wiped when done
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    progress = _Progress(10, quiet=True)
    progress.step()
    progress.done()
    assert quiet.getvalue() == ""


def _write_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(np.zeros(8000, np.int16).tobytes())
    return path


@pytest.mark.parametrize(
    "case",
    [
        "truncated",
        "cut after its index",
        "not a video",
        "audio only",
        "no camera",
        "start beyond the end",
        "empty",
    ],
)
def test_bad_input_exits_2_with_one_line(case, folder, capsys):
    pan = folder / "pan.mp4"
    if not pan.exists():
        clips.write_clip(pan, clips.panning(60))
    if case == "truncated":
        source = folder / "truncated.mp4"
        source.write_bytes(pan.read_bytes()[: pan.stat().st_size // 2])
        argv, expected = [str(source)], "not a video FFmpeg can read, or damaged or truncated"
    elif case == "cut after its index":  # frames decode until the cut, then stop short
        whole = clips.write_clip(
            folder / "whole.mp4", clips.still(30, size=(160, 106)), faststart=True
        )
        source = folder / "cut.mp4"
        source.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
        argv, expected = [str(source)], "truncated: it ends after"
    elif case == "not a video":
        source = folder / "notes.mp4"
        source.write_text("these are not frames\n" * 50)
        argv, expected = [str(source)], "not a video FFmpeg can read"
    elif case == "audio only":
        argv, expected = [str(_write_wav(folder / "sound.wav"))], "has no video stream"
    elif case == "no camera":
        argv, expected = ["--camera", "99"], "camera 99: /dev/video99 does not exist"
    elif case == "start beyond the end":
        argv, expected = [str(pan), "--start", "10"], "start 10 s is beyond the end"
    else:
        (folder / "empty.mp4").write_bytes(b"")
        argv, expected = [str(folder / "empty.mp4")], "is empty"
    out = folder / f"{case}.jsonl"
    assert main(["video", *argv, "--jsonl", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--fps", "10"], "--fps is the frame rate of a folder of frames"),
        (["--out", "{folder}/x.avi"], "unknown video format '.avi'"),
        (["--out", "{folder}/same.mp4", "--jsonl", "{folder}/same.mp4"], "name the same file"),
        (["--out", "{clip}"], "is one of the inputs"),
        (["--tracker", "min_hits=0"], "min_hits must be a whole number >= 1"),
        (["--tracker", "speed=3"], "--tracker speed: unknown setting"),
        (["--no-track", "--no-smooth"], "--no-track leaves nothing"),
        (["--camera", "0"], "give a video, a folder or a device, or --camera N"),
        (["--start", "2", "--end", "1"], "do not make a time range"),
        (["--every", "0"], "'0' is not a whole number >= 1"),
    ],
)
def test_usage_errors_exit_2_with_one_line(extra, expected, folder, capsys):
    clip = folder / "pan.mp4"
    if not clip.exists():
        clips.write_clip(clip, clips.panning(60))
    argv = [a.format(folder=folder, clip=clip) for a in extra]
    assert main(["video", str(clip), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_missing_pyav_names_the_pip_command(folder, monkeypatch, capsys):
    clip = folder / "some.mp4"
    clip.write_bytes(b"\0" * 10)
    monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    assert main(["video", str(clip)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == "posenet: error: video needs PyAV: pip install 'posenet-toolkit[video]'"


def test_sigint_leaves_a_readable_video_and_whole_json_lines(folder):
    clip = clips.write_clip(
        folder / "long.mp4", (f for f in clips.still(400, size=(160, 106))), rate=30
    )
    out, jsonl = folder / "stopped.mp4", folder / "stopped.jsonl"
    command = [sys.executable, "-m", "posenet.cli", "video", str(clip)]
    process = subprocess.Popen(
        [*command, "--out", str(out), "--jsonl", str(jsonl)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            partial = list(folder.glob(".stopped.jsonl.*"))
            if partial and partial[0].read_bytes().count(b"\n") >= 5:
                break
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert err.count("\n") == 1 and "interrupted after" in err, err
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert 5 <= len(lines) < 400
    with av.open(str(out)) as video:
        assert sum(1 for _ in video.decode(video=0)) == len(lines)
    assert [line["frame"] for line in lines] == list(range(len(lines)))
