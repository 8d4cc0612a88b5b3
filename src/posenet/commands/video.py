"""`posenet video`: tracked poses of a video file, a camera or a folder of frames,
as JSON lines and a drawn video."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .. import EstimatorSettings, PosenetError
from ..files import Inputs, check_output, same_file
from ..track import TrackerSettings
from ..video import VIDEO_FORMATS, VideoOutput, estimate_video, open_camera, open_video
from .detect import add_model_options, estimator_from_args, positive_int


def register(commands: argparse._SubParsersAction) -> None:
    video = commands.add_parser(
        "video",
        help="find and track poses in a video file, a camera or a folder of frames",
        description="Poses of every frame, people tracked with stable IDs and smoothed. "
        "Reading, the network and writing run side by side; Ctrl-C stops and keeps "
        "what was done. Needs: pip install 'posenet-toolkit[video]'.",
    )
    video.add_argument(
        "source",
        nargs="?",
        metavar="VIDEO|DIR|DEVICE",
        help="video file, folder of frames, or camera device (/dev/video0)",
    )
    video.add_argument("--camera", type=int, metavar="N", help="read camera N (0 = the first)")
    video.add_argument("--fps", type=float, help="frame rate of a folder of frames (default 30)")
    video.add_argument(
        "--start",
        type=_seconds,
        default=0.0,
        metavar="TIME",
        help="start at TIME (seconds or [HH:]MM:SS)",
    )
    video.add_argument("--end", type=_seconds, metavar="TIME", help="stop before TIME")
    video.add_argument(
        "--every",
        type=positive_int,
        default=1,
        metavar="K",
        help="run on every Kth frame (the drawn video plays at fps / K)",
    )
    video.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N frames")
    video.add_argument("--jsonl", metavar="FILE|-", help="one JSON line per frame (- for stdout)")
    video.add_argument("--out", metavar="FILE", help="drawn video (.mp4, .m4v, .mov or .mkv)")
    video.add_argument("--no-track", action="store_true", help="no track IDs, no smoothing")
    video.add_argument("--no-smooth", action="store_true", help="track IDs without smoothing")
    video.add_argument(
        "-T",
        "--tracker",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a tracker setting, e.g. -T min_hits=5 -T max_tracks=4 -T keypoint_threshold=0.5 "
        "(17 comma-separated values for one per keypoint)",
    )
    video.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    add_model_options(video)
    video.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if (args.source is None) == (args.camera is None):
        raise PosenetError("give a video, a folder or a device, or --camera N (one of them)")
    if args.fps is not None and not (args.source and Path(args.source).is_dir()):
        raise PosenetError("--fps is the frame rate of a folder of frames; a video has its own")
    settings = _tracker_settings(args)
    source = (
        open_camera(args.camera)
        if args.camera is not None
        else open_video(args.source, rate=args.fps)
    )
    inputs = Inputs(
        ([] if args.source is None else [args.source])
        + EstimatorSettings(model=args.model).model_files()
    )
    with source:
        outputs = _check_outputs(args, inputs)
        estimator = estimator_from_args(args)
        frames = estimate_video(
            estimator,
            source,
            track=settings if settings is not None else False,
            start=args.start,
            end=args.end,
            every=args.every,
            max_frames=args.max_frames,
            keep_images=args.out is not None,
        )
        output = VideoOutput(
            video=outputs.get("out"),
            jsonl=outputs.get("jsonl"),
            width=source.width,
            height=source.height,
            rate=source.rate / args.every,
            thresholds=estimator.plan.keypoint_threshold
            or (settings or TrackerSettings()).keypoint_threshold,
        )
        progress = _Progress(_expected(source, args), quiet=args.quiet)
        interrupted, ok = False, False
        tracks: set[int] = set()
        invoke = 0.0  # summed, not listed: a camera may run for days
        try:
            for frame in frames:
                output.write(frame)
                tracks.update(p.track_id for p in frame.poses if p.track_id is not None)
                invoke += frame.result.timings.invoke
                progress.step()
            ok = True
        except KeyboardInterrupt:
            interrupted = True
        finally:
            frames.close()
            progress.done()
            output.close(keep=ok or interrupted)
    done = output.frames
    if interrupted:
        written = " and ".join(str(p) for p in outputs.values() if str(p) != "-")
        where = f"; {written} hold{'s' if len(outputs) == 1 else ''} them" if written else ""
        print(f"posenet: interrupted after {done} frame(s){where}", file=sys.stderr)
        return 130
    if done == 0:
        raise PosenetError(f"{source.name}: no frames between --start and --end")
    if not args.quiet and args.jsonl != "-":
        seconds = progress.elapsed
        print(
            f"{source.name}: {done} frame(s), {len(tracks)} track(s), "
            f"{done / seconds if seconds else 0:.1f} fps (invoke {invoke / done * 1000:.1f} ms)"
        )
    return 0


def _check_outputs(args: argparse.Namespace, inputs: Inputs) -> dict[str, Any]:
    """{"out": Path, "jsonl": Path or "-"} for the outputs asked for, each checked."""
    outputs: dict[str, Any] = {}
    for name in ("out", "jsonl"):
        value = getattr(args, name)
        if value is not None:
            stdout = name == "jsonl" and value == "-"
            outputs[name] = value if stdout else check_output(value, inputs=inputs)
    suffix = Path(args.out).suffix.lower() if args.out else ".mp4"
    if suffix not in VIDEO_FORMATS:
        raise PosenetError(
            f"--out {args.out}: unknown video format {suffix or '(none)'!r} "
            f"(one of {', '.join(VIDEO_FORMATS)})"
        )
    jsonl = outputs.get("jsonl", "-")
    if "out" in outputs and jsonl != "-" and same_file(outputs["out"], jsonl):
        raise PosenetError("--out and --jsonl name the same file")
    return outputs


def _tracker_settings(args: argparse.Namespace) -> TrackerSettings | None:
    """TrackerSettings from -T NAME=VALUE, --no-smooth; None with --no-track."""
    if args.no_track:
        if args.tracker or args.no_smooth:
            raise PosenetError("--no-track leaves nothing for --tracker or --no-smooth to set")
        return None
    names = TrackerSettings.names()
    changes: dict[str, Any] = {}
    for item in args.tracker:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise PosenetError(f"--tracker {item!r}: expected NAME=VALUE")
        if name not in names:
            raise PosenetError(f"--tracker {name}: unknown setting (one of {', '.join(names)})")
        changes[name] = _value(value)
    if args.no_smooth:
        changes["smooth"] = False
    try:
        return TrackerSettings(**changes)
    except (TypeError, ValueError) as exc:
        raise PosenetError(str(exc)) from None


def _value(text: str) -> Any:
    text = text.strip()
    if "," in text:
        return tuple(_value(part) for part in text.split(","))
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _expected(source: Any, args: argparse.Namespace) -> int | None:
    """How many frames the run will see, if the source says how long it is."""
    if source.duration is None:
        return args.max_frames
    end = source.duration if args.end is None else min(args.end, source.duration)
    frames = max(0, round((end - args.start) * float(source.rate)))
    frames = -(-frames // args.every)
    return frames if args.max_frames is None else min(frames, args.max_frames)


class _Progress:
    """`frames done/total, fps, ETA` on stderr, redrawn at most 10 times a second;
    silent when stderr is not a terminal or with --quiet."""

    def __init__(self, total: int | None, quiet: bool) -> None:
        self.total, self.count = total, 0
        self.started = time.perf_counter()
        self.elapsed = 0.0
        self._shown = 0.0
        self._on = not quiet and sys.stderr.isatty()
        self._width = 0

    def step(self) -> None:
        self.count += 1
        now = time.perf_counter()
        self.elapsed = now - self.started
        if self._on and now - self._shown >= 0.1:
            self._shown = now
            fps = self.count / self.elapsed if self.elapsed > 0 else 0.0
            if self.total:
                filled = min(30, 30 * self.count // self.total)
                eta = max(0.0, (self.total - self.count) / fps) if fps else 0.0
                line = (
                    f"[{'#' * filled}{'.' * (30 - filled)}] {self.count}/{self.total} frames "
                    f"{fps:.1f} fps ETA {_clock(eta)}"
                )
            else:
                line = f"{self.count} frames {fps:.1f} fps {_clock(self.elapsed)}"
            sys.stderr.write("\r" + line.ljust(self._width))
            sys.stderr.flush()
            self._width = len(line)

    def done(self) -> None:
        self.elapsed = time.perf_counter() - self.started
        if self._on and self._width:
            sys.stderr.write("\r" + " " * self._width + "\r")
            sys.stderr.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _seconds(text: str) -> float:
    """Seconds from `12.5`, `1:30` or `1:02:03.5`."""
    try:
        parts = [float(p) for p in text.strip().split(":")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (seconds or [HH:]MM:SS)")
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total
