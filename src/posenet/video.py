"""Poses in motion: frames from video files, cameras and folders; tracked poses out as
JSON lines and a drawn video; the stages overlapped in threads.

    reader thread   demux, decode, convert to RGB ──► queue ─┐
    caller's thread Estimator.stream (fit, invoke, pose decoding) ─► Tracker ─► VideoFrame
    writer thread   draw, encode, JSON lines ◄── queue ◄──────────────────────────┘ (VideoOutput)

LiteRT's invoke releases the GIL, so reading and writing run beside the network.
Every queue is bounded: memory stays flat however long the clip (a camera has no
end at all). PyAV (FFmpeg's libraries in a wheel, no system install) is the
`video` extra, imported when a video is first opened.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np

from .errors import PosenetError
from .files import atomic_writer
from .image import IMAGE_SUFFIXES, load_image
from .result import Result
from .track import TrackedPose, Tracker, TrackerSettings

__all__ = [
    "INSTALL_HINT",
    "VIDEO_FORMATS",
    "VideoFrame",
    "VideoOutput",
    "VideoSource",
    "estimate_video",
    "open_camera",
    "open_video",
]

INSTALL_HINT = "pip install 'posenet-toolkit[video]'"
#: Frames waiting between two stages. Four absorb the jitter of a shared CPU; more
#: would only hold memory.
QUEUE_FRAMES = 4
#: Video files --out writes, by suffix: FFmpeg's muxer. All get H.264 (libx264, preset
#: ultrafast: a drawn video is for looking at, and encoding must stay small next to
#: the network), yuv420p, or yuv444p when a side is odd (4:2:0 needs even sides).
VIDEO_FORMATS: dict[str, str] = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
#: Frame rate of a folder of frames unless told otherwise.
FOLDER_RATE = 30


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise PosenetError(f"video needs PyAV: {INSTALL_HINT}") from None
    return av


@dataclass(frozen=True)
class Frame:
    """A decoded frame: its index in the source, its time (s) from the start, RGB pixels."""

    index: int
    time: float
    pixels: np.ndarray


class VideoSource:
    """An opened source of frames: a video file, a camera or a folder of images.

    name: what error messages call it; width, height: frame size; rate: frames per
    second (nominal for cameras and folders); duration: seconds, None if unknown or
    endless; frame_count: frames in the source, None if unknown.
    """

    name: str
    width: int
    height: int
    rate: Fraction
    duration: float | None = None
    frame_count: int | None = None
    is_live = False

    def frames(self, start: float = 0.0, end: float | None = None) -> Iterator[Frame]:
        """Frames with start <= time < end, in order."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file or device."""

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ContainerSource(VideoSource):
    """A file or a device FFmpeg opens: frames decoded by PyAV."""

    def __init__(self, name: str, url: str, format: str | None = None, live: bool = False):
        av = _av()
        self.name, self.is_live = name, live
        try:
            self._container = av.open(url, format=format, timeout=10.0 if live else None)
        except av.error.FileNotFoundError:
            raise PosenetError(f"{name}: no such file") from None
        except (av.error.FFmpegError, OSError) as exc:
            raise PosenetError(
                f"{name}: not a video FFmpeg can read, or damaged or truncated ({_reason(exc)})"
            ) from None
        if not self._container.streams.video:
            self._container.close()
            raise PosenetError(f"{name}: has no video stream")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # FFmpeg's frame threads: decoding beside the network
        self._stream = stream
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        if not self.width or not self.height:
            self._container.close()
            raise PosenetError(f"{name}: its video stream has no frame size")
        rate = stream.average_rate or stream.guessed_rate
        self.rate = Fraction(rate) if rate else Fraction(FOLDER_RATE)
        if not live:
            if self._container.duration:
                self.duration = self._container.duration / 1_000_000
            elif stream.duration and stream.time_base:
                self.duration = float(stream.duration * stream.time_base)
            self.frame_count = stream.frames or (
                round(self.duration * self.rate) if self.duration else None
            )
        # what the video stream's own header promises (not the container's duration,
        # which a longer audio track stretches): a file that ends sooner was cut short
        promised = stream.frames or (
            round(stream.duration * stream.time_base * self.rate) if stream.duration else 0
        )
        self._promised = 0 if live else promised
        start = None if live else stream.start_time  # a camera's clock starts anywhere
        self._origin = float(start * stream.time_base) if start is not None else None

    def frames(self, start: float = 0.0, end: float | None = None) -> Iterator[Frame]:
        av = _av()
        stream, counter = self._stream, 0
        offset: int | None = None
        origin = self._origin
        if start > 0 and not self.is_live:
            target = (origin or 0.0) + start
            self._container.seek(round(target / stream.time_base), stream=stream)
        try:
            for decoded in self._container.decode(stream):
                if decoded.time is None:
                    time = counter / float(self.rate)
                else:
                    if origin is None:
                        origin = decoded.time
                    time = decoded.time - origin
                if offset is None:  # after a seek, count from where decoding resumed
                    offset = round(time * self.rate) if start > 0 else 0
                index = offset + counter
                counter += 1
                if time < start - 1e-6:
                    continue
                if end is not None and time >= end:
                    return
                yield Frame(index, time, decoded.to_ndarray(format="rgb24"))
        except av.error.FFmpegError as exc:
            raise PosenetError(
                f"{self.name}: damaged or truncated after frame {(offset or 0) + counter} "
                f"({_reason(exc)})"
            ) from None
        decoded = (offset or 0) + counter
        if decoded < self._promised - 2:  # a frame or two of slack for rounding
            raise PosenetError(
                f"{self.name}: truncated: it ends after {decoded} of its {self._promised} frames"
            )

    def close(self) -> None:
        self._container.close()  # PyAV closes once; again is a no-op


class _FolderSource(VideoSource):
    """Image files in a folder, in natural order (frame2 before frame10)."""

    def __init__(self, folder: Path, rate: float | Fraction | None):
        self.name = str(folder)
        self._paths = sorted(
            (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=lambda p: [
                int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)
            ],
        )
        if not self._paths:
            raise PosenetError(f"{folder}: folder contains no images")
        self.rate = Fraction(rate or FOLDER_RATE).limit_denominator(1001)
        self.height, self.width = load_image(self._paths[0]).shape[:2]
        self.frame_count = len(self._paths)
        self.duration = len(self._paths) / float(self.rate)

    def frames(self, start: float = 0.0, end: float | None = None) -> Iterator[Frame]:
        first = max(0, int(np.ceil(start * self.rate - 1e-9)))
        for index in range(first, len(self._paths)):
            time = index / float(self.rate)
            if end is not None and time >= end:
                return
            pixels = load_image(self._paths[index])
            if pixels.shape[:2] != (self.height, self.width):
                h, w = pixels.shape[:2]
                raise PosenetError(
                    f"{self._paths[index]}: {w}x{h}, but the first frame is "
                    f"{self.width}x{self.height}; frames of a folder need one size"
                )
            yield Frame(index, time, pixels)


def _natural_order(path: Path) -> list[int | str]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def open_video(source: str | Path | int, *, rate: float | Fraction | None = None) -> VideoSource:
    """Open a video file, a folder of frames (`rate` frames per second, default 30),
    a camera by number (0, 1, ...) or a camera device path (/dev/video0)."""
    if isinstance(source, int):
        return open_camera(source)
    path = Path(source)
    if not str(source).strip():
        raise PosenetError("the video path is empty")
    if path.is_dir():
        return _FolderSource(path, rate)
    if path.is_char_device():
        return _ContainerSource(str(path), str(path), _camera_format(), live=True)
    if not path.exists():
        raise PosenetError(f"{path}: no such file or folder")
    if path.stat().st_size == 0:
        raise PosenetError(f"{path}: is empty (0 bytes)")
    return _ContainerSource(str(path), str(path))


def open_camera(number: int) -> VideoSource:
    """Camera `number` (0 is the first): /dev/videoN on Linux, AVFoundation's Nth on macOS."""
    if sys.platform == "darwin":
        return _ContainerSource(f"camera {number}", str(number), "avfoundation", live=True)
    if not sys.platform.startswith("linux"):
        raise PosenetError(f"camera {number}: cameras by number work on Linux and macOS")
    device = Path(f"/dev/video{number}")
    if not device.exists():
        raise PosenetError(f"camera {number}: {device} does not exist")
    return _ContainerSource(f"camera {number} ({device})", str(device), "v4l2", live=True)


def _camera_format() -> str:
    return "avfoundation" if sys.platform == "darwin" else "v4l2"


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).rstrip(".").split(":")[0].strip() or type(exc).__name__


class Streams(Protocol):
    """What estimate_video needs of an estimator: Estimator.stream."""

    def stream(self, images: Iterable[np.ndarray]) -> Iterator[Result]: ...


@dataclass(frozen=True)
class VideoFrame:
    """The poses of one frame.

    index: frame number in the source (0 = its first frame); time: seconds from its start.
    result: the estimator's Result for the frame.
    poses: the people, tracked (track_id, smoothed) when tracking is on; else
        result.poses with track_id None.
    image: the frame's RGB pixels, when asked for (keep_images=True).
    """

    index: int
    time: float
    result: Result
    poses: list[TrackedPose]
    image: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """One JSON line: frame, time, width, height, model, poses (each with track_id)."""
        return {
            "frame": self.index,
            "time": round(self.time, 6),
            "width": self.result.width,
            "height": self.result.height,
            "model": self.result.model,
            "poses": [
                pose.to_dict(min_scores=self.result.keypoint_threshold) for pose in self.poses
            ],
        }


def estimate_video(
    estimator: Streams,
    source: str | Path | int | VideoSource,
    *,
    track: bool | TrackerSettings | Tracker = True,
    start: float = 0.0,
    end: float | None = None,
    every: int = 1,
    max_frames: int | None = None,
    rate: float | Fraction | None = None,
    keep_images: bool = False,
) -> Iterator[VideoFrame]:
    """Poses for the frames of a video, a camera or a folder, in order.

    track: True (default settings), TrackerSettings, a Tracker, or False (no IDs).
    start, end: seconds; every: keep every Kth frame; max_frames: stop after N kept.
    The source is opened and the options checked at once (PosenetError); frames are
    decoded in a thread while the network runs. Closing the iterator (or breaking
    out of the loop) stops the reading and releases the source.
    """
    if not (isinstance(every, int) and every >= 1):
        raise PosenetError(f"every {every!r}: expected a whole number >= 1")
    if max_frames is not None and not (isinstance(max_frames, int) and max_frames >= 1):
        raise PosenetError(f"max_frames {max_frames!r}: expected a whole number >= 1")
    if not start >= 0 or (end is not None and not end > start):
        raise PosenetError(f"start {start:g} s and end {end:g} s do not make a time range")
    video = source if isinstance(source, VideoSource) else open_video(source, rate=rate)
    if video.duration is not None and start >= video.duration:
        video.close()
        raise PosenetError(
            f"start {start:g} s is beyond the end of {video.name} ({video.duration:g} s)"
        )
    tracker = track if isinstance(track, Tracker) else None
    if tracker is None and track is not False:
        tracker = Tracker(track if isinstance(track, TrackerSettings) else None)
    return _estimate(estimator, video, tracker, start, end, every, max_frames, keep_images)


def _estimate(
    estimator: Streams,
    video: VideoSource,
    tracker: Tracker | None,
    start: float,
    end: float | None,
    every: int,
    max_frames: int | None,
    keep_images: bool,
) -> Iterator[VideoFrame]:
    def chosen() -> Iterator[Frame]:
        try:
            for n, frame in enumerate(video.frames(start, end)):
                if max_frames is not None and n // every >= max_frames:
                    return
                if n % every == 0:
                    yield frame
        finally:
            video.close()

    frames = _Prefetch(chosen(), QUEUE_FRAMES)
    pending: deque[Frame] = deque()

    def pixels() -> Iterator[np.ndarray]:
        for frame in frames:
            pending.append(frame)
            yield frame.pixels

    count = 0
    results = estimator.stream(pixels())
    try:
        for result in results:
            frame = pending.popleft()
            count += 1
            if tracker is None:
                poses = [TrackedPose(p, p, None) for p in result.poses]
            else:
                poses = tracker.update(result.poses, frame.time)
            yield VideoFrame(
                frame.index, frame.time, result, poses, frame.pixels if keep_images else None
            )
    finally:
        frames.close()  # first: the stream's helper thread may be waiting for a frame
        close = getattr(results, "close", None)
        if close is not None:
            close()
    if count == 0 and start > 0:
        raise PosenetError(f"start {start:g} s is beyond the end of {video.name}")


class _Prefetch(Iterator[Any]):
    """Iterates `items` in a daemon thread, `size` ahead, through a bounded queue.

    The producer's exceptions are raised to the consumer in order. close() (from any
    thread) stops the producer, closes `items` there and waits for it.
    """

    _DONE = object()

    def __init__(self, items: Iterator[Any], size: int) -> None:
        self._channel: queue.Queue = queue.Queue(size)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="posenet-video-reader", daemon=True
        )
        self._thread.start()

    def _produce(self, items: Iterator[Any]) -> None:
        final: tuple = (self._DONE, None)
        try:
            for item in items:
                if not self._put((item, None)):
                    break
        except BaseException as exc:  # handed over to the consumer
            final = (self._DONE, exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        self._put(final)

    def _put(self, entry: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._channel.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __next__(self) -> Any:
        while not self._finished:
            try:
                item, error = self._channel.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    break
                continue
            if item is self._DONE:
                self._finished = True
                if error is not None:
                    raise error
                break
            return item
        raise StopIteration

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # a producer blocked on a full queue sees the stop
            self._thread.join(0.1)
        self._finished = True


class VideoOutput:
    """Writes VideoFrames as a drawn video and/or JSON lines, in a thread of its own.

    video: a .mp4/.m4v/.mov/.mkv path (frames need `image`: estimate with
    keep_images=True), drawn in the source's size and at `rate` frames per second.
    jsonl: a path, or "-" for stdout; flushed per frame. Files are written under
    temporary names beside their targets and renamed into place by close(), so a
    run stopped by Ctrl-C leaves complete files holding every frame handed over, and
    a failed run (close(keep=False)) leaves whatever was there before.
    thresholds: keypoint score from which a keypoint is drawn, one or 17 values.
    """

    def __init__(
        self,
        *,
        video: str | Path | None = None,
        jsonl: str | Path | None = None,
        width: int,
        height: int,
        rate: Fraction,
        thresholds: float | Iterable[float] = 0.3,
    ) -> None:
        self._thresholds = np.asarray(
            thresholds if isinstance(thresholds, float | int) else list(thresholds), np.float32
        )
        self._files = contextlib.ExitStack()  # the temporary files, renamed on close
        self._encoder: _Encoder | None = None
        self._lines: BinaryIO | None = None
        self._error: BaseException | None = None
        self.frames = 0
        try:
            if video is not None:
                target = Path(video)
                muxer = VIDEO_FORMATS.get(target.suffix.lower())
                if muxer is None:
                    raise PosenetError(
                        f"{target}: unknown video format {target.suffix or '(none)'!r} "
                        f"(one of {', '.join(VIDEO_FORMATS)})"
                    )
                out = self._files.enter_context(atomic_writer(target))
                self._encoder = _Encoder(out, muxer, width, height, rate)
            if jsonl is not None:
                self._lines = (
                    sys.stdout.buffer
                    if str(jsonl) == "-"
                    else self._files.enter_context(atomic_writer(jsonl))
                )
        except BaseException:
            self._discard()
            raise
        self._queue: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name="posenet-video-writer", daemon=True)
        self._thread.start()

    def write(self, frame: VideoFrame) -> None:
        """Queue one frame (blocks while the writer is QUEUE_FRAMES behind)."""
        if self._error is not None:
            raise self._error
        if self._encoder is not None and frame.image is None:
            raise ValueError("a drawn video needs the frames' images (keep_images=True)")
        self._queue.put(frame)

    def _run(self) -> None:
        while (frame := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the producer must never block on a dead writer
            try:
                if self._encoder is not None:
                    self._encoder.encode(self._draw(frame))
                if self._lines is not None:
                    line = json.dumps(frame.to_dict(), separators=(",", ":")) + "\n"
                    self._lines.write(line.encode())
                    self._lines.flush()  # a reader (or a pipe) sees whole lines as they come
                self.frames += 1
            except BaseException as exc:
                self._error = exc

    def _draw(self, frame: VideoFrame) -> np.ndarray:
        from .render import draw_poses, track_color

        image = draw_poses(
            frame.image,
            [p.pose for p in frame.poses],
            self._thresholds,
            colors=[track_color(p.track_id) for p in frame.poses],
            labels=[None if p.track_id is None else str(p.track_id) for p in frame.poses],
        )
        return np.asarray(image)

    def close(self, *, keep: bool = True) -> None:
        """Finish the queued frames and put the files in place (keep), or delete them."""
        self._queue.put(None)
        self._thread.join()
        error, self._error = self._error, None
        try:
            if self._encoder is not None:
                self._encoder.close()
        except BaseException as exc:
            error = error or exc
        if keep and error is None:
            self._files.close()  # renames every temporary file into place
        else:
            self._discard()
        if isinstance(error, OSError):
            raise PosenetError(f"cannot write the output ({error.strerror or error})") from None
        if error is not None:
            raise error

    def _discard(self) -> None:
        self._files.__exit__(_Discarded, _Discarded(), None)


class _Discarded(Exception):
    """Unwinds the temporary files without renaming them."""


class _Encoder:
    """Frames (uint8[H, W, 3]) -> an H.264 video written to `out` through PyAV."""

    def __init__(self, out: BinaryIO, muxer: str, width: int, height: int, rate: Fraction):
        av = _av()
        self._container = av.open(out, "w", format=muxer)
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self._stream = self._container.add_stream(codec, rate=rate)
        self._stream.width, self._stream.height = width, height
        odd = width % 2 or height % 2
        self._stream.pix_fmt = "yuv444p" if odd and codec == "libx264" else "yuv420p"
        if codec == "libx264":
            self._stream.options = {"preset": "ultrafast"}
        self._count = 0
        self._av = av

    def encode(self, pixels: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        frame.pts = self._count
        self._count += 1
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
