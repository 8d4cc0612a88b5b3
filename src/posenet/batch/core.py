"""The batch job without Ray: sources, the row schema, the worker, the Parquet blocks.

Everything here runs the same in a Ray actor and in this process; `ray_pipeline`
wires it into Ray Data.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import PosenetError
from ..image import IMAGE_SUFFIXES, Decoded
from ..keypoints import PART_NAMES

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs

    from ..estimator import Estimator, EstimatorSettings
    from ..poses import Pose
    from ..result import Result
    from ..video import VideoFrame

#: Files a folder or glob contributes (videos join once frames are supported).
#: Video files a folder or glob contributes (read by PyAV, frames every --every).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"}
)
SOURCE_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
LIST_SUFFIXES = (".txt", ".parquet")
#: Columns a Parquet list may name its paths by, in order of preference.
LIST_COLUMNS = ("path", "source", "uri", "url")
BLOCK_PREFIX = "part-"
#: Parquet key-value metadata key holding the model and settings (JSON).
METADATA_KEY = b"posenet"
#: Images per map_batches call: about a second of network time per batch on one
#: core, long enough to hide the call's overhead, short enough that a retried batch
#: costs little and that small jobs still spread over every actor.
BATCH_SIZE = 16

MISSING_EXTRA = (
    "posenet batch writes Parquet with pyarrow: pip install pyarrow "
    "(or 'posenet-toolkit[batch]', which adds Ray)"
)


def _binary_files_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("path", pa.string()), ("bytes", pa.binary())])


def require_pyarrow() -> None:
    """PosenetError naming the install command when pyarrow is missing."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise PosenetError(MISSING_EXTRA) from None


# --- settings -------------------------------------------------------------------------


def portable(settings: EstimatorSettings) -> EstimatorSettings:
    """The settings with a model file named by its absolute path, so that every
    worker finds it whatever its folder (a registry name stays a name)."""
    if settings.model is not None and Path(settings.model).exists():
        return settings.replace(model=str(Path(settings.model).resolve()))
    return settings


def describe(estimator: Estimator, every: int = 1) -> dict[str, Any]:
    """What the output's metadata records: enough to tell how every row was made."""
    return {
        "posenet": __version__,
        "every": every,
        "model": estimator.model_name,
        "input_size": list(estimator.input_size) if estimator.input_size else "auto",
        "settings": portable(estimator.settings).to_dict(),
        # what the settings left to the preset and the model, as it ran
        "resolved": {
            **estimator.settings.resolved(),
            "model": estimator.model_name,
            "decoder_options": dict(estimator.decoder_options),
        },
    }


# --- sources --------------------------------------------------------------------------


def is_uri(source: str) -> bool:
    return "://" in source


def is_video(source: str) -> bool:
    """Videos are told by their suffix; anything else is read as an image."""
    return Path(source.split("?", 1)[0]).suffix.lower() in VIDEO_SUFFIXES


def find_sources(spec: str) -> list[str]:
    """Every input `spec` names, sorted as found: a folder (walked recursively for
    image files), an image file, a glob, or a list (.txt: one path or URI a line,
    blank lines and # comments skipped; .parquet: a `path` column). Local paths come
    back absolute (relative ones in a list are relative to the list's folder)."""
    if not spec.strip():
        raise PosenetError("INPUT is empty")
    path = Path(spec)
    if path.is_dir():
        found = [
            os.path.join(root, name)
            for root, dirs, files in os.walk(path)
            for name in files
            if Path(name).suffix.lower() in SOURCE_SUFFIXES
        ]
        if not found:
            raise PosenetError(f"{spec}: folder contains no images or videos")
        return sorted(os.path.abspath(p) for p in found)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in LIST_SUFFIXES:
            return _read_list(path)
        if suffix in SOURCE_SUFFIXES:
            return [os.path.abspath(path)]
        raise PosenetError(
            f"{spec}: not an image, a video, a folder, a glob or a list "
            f"({', '.join(LIST_SUFFIXES)})"
        )
    if glob.has_magic(spec):
        found = [p for p in glob.glob(spec, recursive=True) if Path(p).is_file()]
        if not found:
            raise PosenetError(f"{spec}: no file matches")
        return sorted(os.path.abspath(p) for p in found)
    raise PosenetError(f"{spec}: no such file or folder")


def _read_list(path: Path) -> list[str]:
    if path.suffix.lower() == ".parquet":
        entries = _read_parquet_list(path)
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise PosenetError(f"{path}: cannot read the list ({exc})") from None
        entries = [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]
    if not entries:
        raise PosenetError(f"{path}: the list names no input")
    base = path.resolve().parent
    return [e if is_uri(e) else os.path.abspath(base / e) for e in entries]


def _read_parquet_list(path: Path) -> list[str]:
    require_pyarrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise PosenetError(f"{path}: not a Parquet file ({exc})") from None
    strings = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    named = [c for c in LIST_COLUMNS if c in strings]
    if not named and len(strings) != 1:
        raise PosenetError(
            f"{path}: name the column of paths one of {', '.join(LIST_COLUMNS)} "
            f"(string columns: {', '.join(strings) or 'none'})"
        )
    column = (named or strings)[0]
    return [s for s in pq.read_table(path, columns=[column])[column].to_pylist() if s]


def split_missing(sources: list[str]) -> tuple[list[str], list[str]]:
    """(present, missing) local files; URIs are left to the reader, which says why
    it cannot open one. A stale list should cost a few error rows, not the job."""
    present, missing = [], []
    for source in sources:
        (present if is_uri(source) or os.path.isfile(source) else missing).append(source)
    return present, missing


# --- rows -----------------------------------------------------------------------------

#: Keypoint columns: `nose_x`, `nose_y`, `nose_score`, ... in PoseNet's part order.
KEYPOINT_COLUMNS: tuple[str, ...] = tuple(
    f"{part}_{what}" for part in PART_NAMES for what in ("x", "y", "score")
)


def schema(metadata: dict[str, Any] | None = None) -> pa.Schema:
    """One row per pose. `pose_index` is null on an image's no-pose row and on error
    rows; `frame`, `timestamp` and `track_id` are for video frames; positions are in
    original-image pixels; metadata[b"posenet"] holds the model and settings."""
    import pyarrow as pa

    fields = [
        pa.field("source", pa.string(), nullable=False),
        pa.field("frame", pa.int64()),
        pa.field("timestamp", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("pose_index", pa.int32()),
        pa.field("score", pa.float32()),
        pa.field("track_id", pa.int64()),
        *(pa.field(name, pa.float32()) for name in KEYPOINT_COLUMNS),
        pa.field("error", pa.string()),
    ]
    meta = {METADATA_KEY: json.dumps(metadata, sort_keys=True)} if metadata else None
    return pa.schema(fields, metadata=meta)


class Rows:
    """Collects rows column by column and hands them over as one Arrow table."""

    _SCALARS = ("source", "frame", "timestamp", "width", "height", "pose_index", "score")

    def __init__(self) -> None:
        self._columns: dict[str, list[Any]] = {name: [] for name in (*self._SCALARS, "error")}
        self._track_ids: list[int | None] = []
        self._keypoints: list[np.ndarray | None] = []

    def add_result(self, source: str, result: Result) -> None:
        """One row per pose of an image's `result`, or one row without a pose."""
        self.add_poses(source, result.width, result.height, result.poses)

    def add_frame(self, source: str, frame: VideoFrame) -> None:
        """One row per tracked person of a video frame, or one row without a pose."""
        result = frame.result
        poses = [tracked.pose for tracked in frame.poses]
        track_ids = [tracked.track_id for tracked in frame.poses]
        self.add_poses(source, result.width, result.height, poses, frame, track_ids)

    def add_poses(
        self,
        source: str,
        width: int,
        height: int,
        poses: list[Pose],
        frame: VideoFrame | None = None,
        track_ids: list[int | None] | None = None,
    ) -> None:
        index_time = (frame.index, frame.time) if frame is not None else (None, None)
        for index, pose in enumerate(poses or [None]):
            values = (source, *index_time, width, height)
            if pose is None:
                values += (None, None)
                self._keypoints.append(None)
            else:
                values += (index, pose.score)
                self._keypoints.append(np.column_stack([pose.xy, pose.scores]).ravel())
            for name, value in zip(self._SCALARS, values, strict=True):
                self._columns[name].append(value)
            self._columns["error"].append(None)
            self._track_ids.append(track_ids[index] if track_ids and pose is not None else None)

    def add_error(
        self, source: str, reason: str, frame: int | None = None, timestamp: float | None = None
    ) -> None:
        values = (source, frame, timestamp, None, None, None, None)
        for name, value in zip(self._SCALARS, values, strict=True):
            self._columns[name].append(value)
        self._columns["error"].append(reason)
        self._track_ids.append(None)
        self._keypoints.append(None)

    def table(self) -> pa.Table:
        import pyarrow as pa

        target = schema()
        n = len(self._keypoints)
        keypoints = np.full((n, len(KEYPOINT_COLUMNS)), np.nan, np.float32)
        missing = np.ones(n, bool)
        for row, values in enumerate(self._keypoints):
            if values is not None:
                keypoints[row] = values
                missing[row] = False
        arrays = [pa.array(self._columns[name], target.field(name).type) for name in self._SCALARS]
        arrays.append(pa.array(self._track_ids, pa.int64()))
        arrays += [pa.array(keypoints[:, i], mask=missing) for i in range(keypoints.shape[1])]
        arrays.append(pa.array(self._columns["error"], pa.string()))
        return pa.Table.from_arrays(arrays, schema=target)


def _reason(exc: Exception, source: str) -> str:
    """The error column: our one-line message without the name it starts with (the
    path, or "image" for bytes: the row says which file), or the exception's type and
    text for anything unexpected (a batch job records it and goes on; one odd file
    must not cost a night's run)."""
    if isinstance(exc, PosenetError):
        return str(exc).removeprefix(f"{source}: ").removeprefix("image: ")
    return f"{type(exc).__name__}: {exc}"


# --- the worker -----------------------------------------------------------------------


class PoseBatch:
    """Batch of files -> pose rows. Ray Data runs it as an actor pool (`map_batches`
    with a class): each actor calls __init__ once, so it builds one estimator and
    keeps it for every batch it gets. The in-process path calls it the same way.

    settings: what to build; source_prefix: put back in front of the paths the
    reader reports (Ray reports `bucket/key` for `s3://bucket/key`); estimator: one
    already built from `settings` (in-process).
    """

    def __init__(
        self,
        settings: EstimatorSettings,
        source_prefix: str = "",
        estimator: Estimator | None = None,
    ) -> None:
        self.estimator = estimator or settings.build()
        self.source_prefix = source_prefix

    def __call__(self, batch: pa.Table) -> pa.Table:
        """batch: columns `path` (string) and `bytes` (binary), as Ray's
        read_binary_files gives them with include_paths=True. Files are decoded on
        the estimator's stream thread while the network runs on the one before."""
        sources = [self.source_prefix + p for p in batch.column("path").to_pylist()]
        failed: dict[int, str] = {}
        decoded: list[int] = []  # positions of the images handed to the stream, in order

        def images() -> Iterator[Decoded]:
            for i, (source, data) in enumerate(zip(sources, batch.column("bytes"), strict=True)):
                try:  # as detect reads a file: a big JPEG decodes reduced (Estimator.read)
                    pixels = self.estimator.read(data.as_py())
                except Exception as exc:
                    failed[i] = _reason(exc, source)
                    continue
                decoded.append(i)
                yield pixels

        results: dict[int, Result] = {}
        for k, outcome in enumerate(self.estimator.stream(images(), return_errors=True)):
            if isinstance(outcome, Exception):
                failed[decoded[k]] = _reason(outcome, sources[decoded[k]])
            else:
                results[decoded[k]] = outcome
        rows = Rows()
        for i, source in enumerate(sources):
            if i in results:
                rows.add_result(source, results[i])
            else:
                rows.add_error(source, failed[i])
        return rows.table()


class VideoBatch:
    """Videos -> pose rows, frames every `every`, people tracked (posenet.video).

    The unit of work is a whole video: tracking needs its frames in order, in one
    process. Ray runs it as an actor pool like PoseBatch; each video's rows go out
    as one block, so a video is either in the output whole or not at all (an error
    part-way keeps the frames before it and adds an error row for the frame after).
    Videos are opened by path (PyAV reads them as a stream): shipping hours of video
    through Ray's object store would cost memory for nothing.
    """

    def __init__(
        self, settings: EstimatorSettings, every: int = 1, estimator: Estimator | None = None
    ) -> None:
        self.estimator = estimator or settings.build()
        self.every = every

    def __call__(self, batch: pa.Table) -> pa.Table:
        """batch: a column `path`; one video per row."""
        rows = Rows()
        for source in batch.column("path").to_pylist():
            next_frame = None
            try:
                for frame in self.estimator.video(source, every=self.every):
                    rows.add_frame(source, frame)
                    next_frame = frame.index + self.every
                if next_frame is None:
                    rows.add_error(source, "no frames")
            except Exception as exc:
                rows.add_error(source, _reason(exc, source), frame=next_frame)
        return rows.table()


# --- output ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParquetBlocks:
    """A folder (local or a pyarrow filesystem URI) of Parquet files, one per block.

    Each block is written to a hidden `.name.partial` file and moved into place:
    readers (pyarrow, Ray, Spark, pandas) skip names starting with `.` or `_`, so a
    job killed mid-write leaves no half file that looks complete. The name is a hash
    of the block's sources: a retried block (a worker died after writing) replaces
    its first copy, and blocks of one job never collide.
    """

    uri: str
    metadata: dict[str, Any]

    def filesystem(self) -> tuple[pyarrow.fs.FileSystem, str]:
        import pyarrow.fs as pafs

        if is_uri(self.uri):
            return pafs.FileSystem.from_uri(self.uri)
        return pafs.LocalFileSystem(), os.path.abspath(self.uri)

    def write(self, table: pa.Table) -> str | None:
        """Write one block; returns its file name (None for an empty block)."""
        import pyarrow.parquet as pq

        if table.num_rows == 0:
            return None
        fs, root = self.filesystem()
        keys = sorted(set(table.column("source").to_pylist()))
        name = BLOCK_PREFIX + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24] + ".parquet"
        final, partial = f"{root}/{name}", f"{root}/.{name}.partial"
        pq.write_table(
            table.replace_schema_metadata(schema(self.metadata).metadata), partial, filesystem=fs
        )
        fs.move(partial, final)
        return name

    def prepare(self, resume: bool) -> set[str]:
        """Make the folder ready; returns the sources already written (--resume).

        Without --resume a dataset already there is replaced, as every posenet output
        is on a re-run: its blocks are deleted now, so that the folder never mixes two
        runs. With --resume it is continued, if it was written with the same settings.
        A folder holding anything else is refused: it is not ours to delete from.
        """
        import pyarrow.fs as pafs

        fs, root = self.filesystem()
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.File:
            raise PosenetError(f"{self.uri}: is a file; --output names a folder for the dataset")
        if info.type == pafs.FileType.NotFound:
            try:
                fs.create_dir(root, recursive=True)
            except OSError as exc:
                raise PosenetError(f"{self.uri}: cannot create it ({exc})") from None
            return set()
        entries = fs.get_file_info(pafs.FileSelector(root, recursive=False))
        ours = [e for e in entries if _is_block(e.base_name)]
        foreign = [e.base_name for e in entries if e not in ours and e.base_name[0] not in "._"]
        if foreign:
            raise PosenetError(
                f"{self.uri}: holds other files ({', '.join(sorted(foreign)[:3])}); "
                "--output needs a new folder or one a posenet batch wrote"
            )
        blocks = [e.path for e in ours if not e.base_name.startswith(".")]
        if not resume:
            for entry in ours:
                fs.delete_file(entry.path)
            return set()
        if not blocks:
            return set()
        self._check_same_job(fs, blocks[0])
        return self.done_sources()

    def _check_same_job(self, fs: pyarrow.fs.FileSystem, path: str) -> None:
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(path, filesystem=fs).metadata or {}
            written = json.loads(meta[METADATA_KEY])
        except (OSError, KeyError, ValueError) as exc:
            raise PosenetError(f"{path}: not a posenet batch output ({exc})") from None
        differs = [
            key
            for key in sorted(set(written["settings"]) | set(self.metadata["settings"]))
            if key != "threads"
            and written["settings"].get(key) != self.metadata["settings"].get(key)
        ]
        if written.get("model") != self.metadata["model"]:
            differs.insert(0, "model")
        if written.get("every", 1) != self.metadata.get("every", 1):
            differs.append("every")
        if differs:
            raise PosenetError(
                f"{self.uri}: was written with other settings ({', '.join(differs)}); "
                "--resume needs the same ones"
            )

    def done_sources(self) -> set[str]:
        """Sources with at least one row in the dataset (poses, no pose, or error)."""
        import pyarrow.dataset as pads

        fs, root = self.filesystem()
        dataset = pads.dataset(root, format="parquet", filesystem=fs)
        return set(dataset.to_table(columns=["source"]).column("source").unique().to_pylist())


def _is_block(name: str) -> bool:
    """A block of ours, or the partial file of one a killed writer left."""
    return name.removeprefix(".").startswith(BLOCK_PREFIX) and (
        name.endswith(".parquet") or name.endswith(".parquet.partial")
    )


# --- the job --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a run does: the images and videos still to do, the missing inputs, where
    rows go, how (settings, every Kth video frame)."""

    todo: list[str]
    videos: list[str]
    missing: list[str]
    skipped: int
    output: ParquetBlocks
    settings: EstimatorSettings
    every: int = 1


def plan(spec: str, output: str, estimator: Estimator, resume: bool, every: int = 1) -> Plan:
    """Find the inputs, make the output folder ready and drop what --resume finds
    done. `estimator`, built by the caller, has checked its settings before any
    worker starts and names the model in the metadata."""
    require_pyarrow()
    if not (isinstance(every, int) and every >= 1):
        raise PosenetError(f"every {every!r}: expected a whole number >= 1")
    sources = find_sources(spec)
    if any(map(is_video, sources)):
        require_pyav()
    blocks = ParquetBlocks(output, describe(estimator, every))
    done = blocks.prepare(resume)
    remaining = [s for s in sources if s not in done]
    present, missing = split_missing(remaining)
    return Plan(
        todo=[s for s in present if not is_video(s)],
        videos=[s for s in present if is_video(s)],
        missing=missing,
        skipped=len(sources) - len(remaining),
        output=blocks,
        settings=portable(estimator.settings),
        every=every,
    )


def require_pyav() -> None:
    try:
        import av  # noqa: F401
    except ImportError:
        raise PosenetError(
            "videos need PyAV: pip install 'posenet-toolkit[video]' "
            "(with Ray: 'posenet-toolkit[batch,video]')"
        ) from None


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def missing_rows(missing: Iterable[str]) -> pa.Table:
    rows = Rows()
    for source in missing:
        rows.add_error(source, "no such file")
    return rows.table()


def run_local(
    job: Plan,
    estimator: Estimator,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """The job in this process: the same batches, rows and files as on Ray."""
    import pyarrow as pa

    worker = PoseBatch(job.settings, estimator=estimator)
    job.output.write(missing_rows(job.missing))
    total = len(job.todo) + len(job.videos)
    for done, paths in enumerate(chunks(job.todo, BATCH_SIZE)):
        unreadable, readable, data = Rows(), [], []
        for path in paths:
            try:
                data.append(_read_bytes(path))
                readable.append(path)
            except OSError as exc:
                unreadable.add_error(path, f"cannot read it ({exc.strerror or exc})")
        rows = worker(pa.table({"path": readable, "bytes": data}, schema=_binary_files_schema()))
        job.output.write(pa.concat_tables([unreadable.table(), rows]))
        if progress:
            progress(min((done + 1) * BATCH_SIZE, len(job.todo)), total)
    videos = VideoBatch(job.settings, job.every, estimator=estimator)
    for done, video in enumerate(job.videos):
        job.output.write(videos(pa.table({"path": [video]})))
        if progress:
            progress(len(job.todo) + done + 1, total)


def _read_bytes(source: str) -> bytes:
    if is_uri(source):
        import pyarrow.fs as pafs

        fs, path = pafs.FileSystem.from_uri(source)
        with fs.open_input_stream(path) as stream:
            return stream.read()
    return Path(source).read_bytes()


@dataclass(frozen=True)
class Summary:
    """A dataset's inputs, pose rows and error rows."""

    inputs: int
    poses: int
    errors: int


def summarize(blocks: ParquetBlocks) -> Summary:
    """Counts over the whole dataset (three columns are read, not the rows)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    fs, root = blocks.filesystem()
    table = pads.dataset(root, format="parquet", filesystem=fs).to_table(
        columns=["source", "pose_index", "error"]
    )
    return Summary(
        inputs=len(pc.unique(table.column("source"))),
        poses=table.num_rows - table.column("pose_index").null_count,
        errors=table.num_rows - table.column("error").null_count,
    )
