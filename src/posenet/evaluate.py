"""COCO keypoint accuracy: run an estimator over an annotated set, score it with pycocotools.

The numbers people compare pose estimators by are COCO's keypoint AP and AR
(object keypoint similarity, OKS, in place of box IoU). Rather than
re-implementing that protocol and drifting from it, scoring is delegated to
pycocotools, the reference implementation, installed with the `eval` extra and
imported only when scoring. This module prepares its inputs: it checks the
annotation file once with one-line errors (pycocotools asserts or raises
KeyError deep inside), turns poses into COCO results, and silences the
summary pycocotools prints so that callers can present the figures themselves.

Every image the annotation file lists is estimated, including images without
people: COCO counts any pose found there as a false positive, and leaving such
images out would flatter the model. For the same reason an image that cannot
be used is not skipped: figures over part of a set are not comparable with
anyone else's. Before the first estimate every image is checked (present,
a header Pillow can read, the size the annotations give) and all problems are
reported in one error, so that a broken set fails in seconds, not hours in.
(A file damaged past its header still stops the run when it is decoded.)

Images are read as stored, without applying an EXIF orientation: COCO's
keypoints refer to the stored pixels (`posenet detect` does turn phone photos
upright; COCO's own images carry no orientation, so results there agree).
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from ._inputs import check_exists, read_json
from .errors import PosenetError
from .image import check_size
from .keypoints import COCO_NAMES, NUM_KEYPOINTS
from .poses import Pose

if TYPE_CHECKING:  # the estimator is only passed in; evaluate never builds one
    from .estimator import Estimator

#: COCO's ten keypoint summary figures in `COCOeval.stats` order: (name, OKS threshold(s), area).
#: Area ranges are COCO's: medium 32²-96² px², large above 96² (keypoint eval has no "small").
SUMMARY: tuple[tuple[str, str, str], ...] = (
    ("AP", "0.50:0.95", "all"),
    ("AP50", "0.50", "all"),
    ("AP75", "0.75", "all"),
    ("APm", "0.50:0.95", "medium"),
    ("APl", "0.50:0.95", "large"),
    ("AR", "0.50:0.95", "all"),
    ("AR50", "0.50", "all"),
    ("AR75", "0.75", "all"),
    ("ARm", "0.50:0.95", "medium"),
    ("ARl", "0.50:0.95", "large"),
)
#: Detections per image COCO's keypoint evaluation keeps (the highest scored).
MAX_DETECTIONS = 20

#: Largest annotation file read (COCO's train2017 keypoints file is 238 MB).
MAX_ANNOTATION_BYTES = 512 << 20
_ANNOTATION_KEYS = ("id", "image_id", "category_id", "keypoints", "num_keypoints", "area", "bbox")
_INSTALL_HINT = "pip install 'posenet-toolkit[eval]'"

#: Progress callback: (images done, images total).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CocoImage:
    """One image of the annotation file: its id, file name (relative to the images folder), size."""

    id: int
    file_name: str
    width: int
    height: int


@dataclass(frozen=True)
class KeypointSet:
    """A checked COCO keypoint annotation file.

    data: the file's JSON, as read (never modified; scoring works on a copy).
    category_id: the id of the category carrying the 17 COCO keypoints (person).
    images: every image the file lists, in file order.
    people: annotated people that count (not crowd, at least one labelled keypoint).
    ignored: annotations COCO ignores (crowd regions, people without labelled keypoints).
    """

    data: dict[str, Any]
    category_id: int
    images: tuple[CocoImage, ...]
    people: int
    ignored: int
    source: str = "annotations"


@dataclass(frozen=True)
class Metrics:
    """COCO keypoint summary: values in SUMMARY order, -1.0 where no ground truth falls."""

    values: tuple[float, ...]
    images: int
    people: int
    detections: int

    def __getitem__(self, name: str) -> float:
        for (key, _, _), value in zip(SUMMARY, self.values, strict=True):
            if key == name:
                return value
        raise KeyError(name)

    @property
    def ap(self) -> float:
        """The headline figure: AP over OKS 0.50:0.95, all sizes."""
        return self.values[0]

    def to_dict(self) -> dict[str, float | None]:
        """Name -> value, None where the set has no ground truth of that size."""
        return {
            key: (round(value, 4) if value >= 0 else None)
            for (key, _, _), value in zip(SUMMARY, self.values, strict=True)
        }


@dataclass(frozen=True)
class Predictions:
    """What the estimator found over a set: COCO results and the time it took per image."""

    results: list[dict[str, Any]]
    seconds: tuple[float, ...]  # estimator time (preprocess + invoke + decode) per image


def load_annotations(source: str | Path | dict[str, Any]) -> KeypointSet:
    """Read and check a COCO keypoint annotation file (or its already-parsed JSON).

    Fails with one PosenetError naming the first problem, so that a wrong file
    is reported before hours of estimation rather than inside pycocotools.
    """
    name = "annotations" if isinstance(source, dict) else str(source)
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        if path.is_dir():
            raise PosenetError(f"{path}: is a folder, expected a COCO annotation .json file")
        check_exists(path, "annotation file", missing=f"{path}: no such annotation file")
        data = read_json(path, "JSON file", limit=MAX_ANNOTATION_BYTES)
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise PosenetError(f"{name}: not COCO format (needs images, annotations, categories lists)")
    category_id = _keypoint_category(data["categories"], name)
    images = tuple(_image(entry, name) for entry in data["images"])
    ids = {image.id for image in images}
    if len(ids) != len(images):
        raise PosenetError(f"{name}: image ids are not unique")
    people = ignored = 0
    for ann in data["annotations"]:
        if not isinstance(ann, dict) or ann.get("category_id") != category_id:
            continue
        missing = [k for k in _ANNOTATION_KEYS if k not in ann]
        if missing:
            raise PosenetError(
                f"{name}: annotation {ann.get('id', '?')} has no {', '.join(missing)}"
            )
        if len(ann["keypoints"]) != 3 * NUM_KEYPOINTS:
            raise PosenetError(
                f"{name}: annotation {ann['id']} has {len(ann['keypoints'])} keypoint numbers, "
                f"expected {3 * NUM_KEYPOINTS} (x, y, v for 17 keypoints)"
            )
        if ann["image_id"] not in ids:
            raise PosenetError(
                f"{name}: annotation {ann['id']} names unknown image {ann['image_id']}"
            )
        if ann.get("iscrowd", 0) or ann["num_keypoints"] == 0:
            ignored += 1
        else:
            people += 1
    if not images:
        raise PosenetError(f"{name}: lists no images")
    return KeypointSet(data, category_id, images, people, ignored, name)


def _keypoint_category(categories: list[Any], name: str) -> int:
    """The id of the category whose keypoints are COCO's 17, in COCO's order."""
    for category in categories:
        if isinstance(category, dict) and tuple(category.get("keypoints", ())) == COCO_NAMES:
            return int(category["id"])
    found = [
        f"{c.get('name')} ({len(c.get('keypoints', ()))} keypoints)"
        for c in categories
        if isinstance(c, dict)
    ]
    raise PosenetError(
        f"{name}: no category with COCO's 17 keypoints in COCO order "
        f"(found: {', '.join(found) or 'no categories'}); PoseNet predicts exactly those"
    )


def _image(entry: Any, name: str) -> CocoImage:
    try:
        return CocoImage(
            int(entry["id"]), str(entry["file_name"]), int(entry["width"]), int(entry["height"])
        )
    except (KeyError, TypeError, ValueError):
        raise PosenetError(
            f"{name}: image entry {entry!r:.80} needs id, file_name, width and height"
        ) from None


def coco_results(
    poses: Iterable[Pose], image_id: int, category_id: int = 1
) -> list[dict[str, Any]]:
    """COCO keypoint results for the poses of one image (positions in that image's pixels).

    The pose score ranks detections, as COCO expects; keypoint scores fill the
    visibility slots, which the OKS ignores for detections.
    """
    results = []
    for pose in poses:
        result = pose.to_coco(image_id)
        result["category_id"] = category_id
        result["keypoints"] = [round(v, 3) for v in result["keypoints"]]
        result["score"] = round(float(result["score"]), 6)
        results.append(result)
    return results


def image_paths(dataset: KeypointSet, images_dir: str | Path) -> list[Path]:
    """The file of every image of the set under `images_dir`, each checked.

    Every image must be present, have a header Pillow can read and be the size
    the annotations give (read from the header: cheap). All problems are
    collected and raised as one PosenetError (how many, the first few).
    """
    folder = Path(images_dir)
    if not folder.is_dir():
        raise PosenetError(f"{folder}: no such images folder")
    paths = [folder / image.file_name for image in dataset.images]
    problems = [
        problem
        for image, path in zip(dataset.images, paths, strict=True)
        if (problem := _image_problem(image, path))
    ]
    if problems:
        shown = "; ".join(problems[:3])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise PosenetError(
            f"{len(problems)} of {len(paths)} annotated images in {folder} cannot be used "
            f"(COCO figures need the whole set): {shown}{more}"
        )
    return paths


def _image_problem(image: CocoImage, path: Path) -> str | None:
    """Why an annotated image cannot be used, from its header alone; None if it can."""
    if not path.is_file():
        return f"{path.name}: not found"
    try:
        with Image.open(path) as opened:
            width, height = opened.size
            check_size((width, height), path.name)
    except PosenetError as exc:
        return str(exc)
    except (UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError):
        return f"{path.name}: not an image file Pillow can read"
    except OSError as exc:
        return f"{path.name}: cannot read it ({exc.strerror or exc})"
    if (width, height) != (image.width, image.height):
        return f"{path.name}: is {width}x{height}, the annotations say {image.width}x{image.height}"
    return None


def predict(
    estimator: Estimator,
    dataset: KeypointSet,
    images_dir: str | Path,
    progress: Progress | None = None,
) -> Predictions:
    """Run `estimator` on every image of the set; COCO results in stored-image pixels.

    All image files are checked (image_paths) before the first estimate, so a
    missing, unreadable or wrongly sized file fails in seconds rather than
    after the rest of the set ran. Images are read as stored, without EXIF orientation.
    """
    paths = image_paths(dataset, images_dir)
    results: list[dict[str, Any]] = []
    seconds: list[float] = []
    # read as stored (COCO's keypoints refer to the stored pixels, not the EXIF-rotated
    # ones), ahead on the stream's helper thread, reduced where the estimator would
    found = estimator.stream(estimator.read(path, exif=False) for path in paths)
    for done, (image, result) in enumerate(zip(dataset.images, found, strict=True), start=1):
        results += coco_results(result.poses, image.id, dataset.category_id)
        seconds.append(result.timings.total)
        if progress:
            progress(done, len(paths))
    return Predictions(results, tuple(seconds))


def require_pycocotools() -> None:
    """Fail early, with the install command, when the `eval` extra is missing."""
    _cocoeval()


def _cocoeval():
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise PosenetError(f"scoring needs pycocotools: {_INSTALL_HINT}") from None
    return COCO, COCOeval


def score(dataset: KeypointSet, results: Sequence[dict[str, Any]]) -> Metrics:
    """COCO keypoint AP/AR of `results` against the set, computed by pycocotools.

    Neither the annotations nor the results are modified (pycocotools adds
    fields to what it is given, so it gets copies). What it prints goes nowhere;
    the figures come back as Metrics.
    """
    coco_cls, cocoeval_cls = _cocoeval()
    ids = {image.id for image in dataset.images}
    for result in results:
        if result.get("image_id") not in ids:
            raise PosenetError(
                f"result for image {result.get('image_id')!r}: not in the annotations"
            )
        if result.get("category_id") != dataset.category_id:
            raise PosenetError(
                f"result for image {result['image_id']}: category {result.get('category_id')!r}, "
                f"the annotations' keypoint category is {dataset.category_id}"
            )
        if len(result.get("keypoints", ())) != 3 * NUM_KEYPOINTS:
            raise PosenetError(f"result for image {result['image_id']}: needs 51 keypoint numbers")
    with contextlib.redirect_stdout(io.StringIO()):
        truth = coco_cls()
        truth.dataset = copy.deepcopy(dataset.data)
        truth.createIndex()
        if results:
            found = truth.loadRes(copy.deepcopy(list(results)))
        else:  # loadRes cannot take an empty list; an empty result set scores 0
            found = coco_cls()
            found.dataset = {
                "images": truth.dataset["images"],
                "categories": truth.dataset["categories"],
                "annotations": [],
            }
            found.createIndex()
        evaluation = cocoeval_cls(truth, found, "keypoints")
        evaluation.params.catIds = [dataset.category_id]
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return Metrics(
        values=tuple(float(v) for v in evaluation.stats),
        images=len(dataset.images),
        people=dataset.people,
        detections=len(results),
    )


def evaluate(
    estimator: Estimator,
    dataset: KeypointSet,
    images_dir: str | Path,
    progress: Progress | None = None,
) -> tuple[Metrics, Predictions]:
    """predict() then score(): the whole measurement in one call."""
    require_pycocotools()
    predictions = predict(estimator, dataset, images_dir, progress)
    return score(dataset, predictions.results), predictions


def format_table(metrics: Metrics) -> str:
    """The ten COCO figures as an aligned text table (n/a where the set has no such people)."""
    lines = [f"{'metric':<7} {'OKS':<10} {'area':<7} {'maxDets':>7}  {'value':>6}"]
    for (key, oks, area), value in zip(SUMMARY, metrics.values, strict=True):
        shown = f"{value:6.3f}" if value >= 0 else f"{'n/a':>6}"
        lines.append(f"{key:<7} {oks:<10} {area:<7} {MAX_DETECTIONS:>7}  {shown}")
    return "\n".join(lines)


__all__ = [
    "MAX_DETECTIONS",
    "SUMMARY",
    "CocoImage",
    "KeypointSet",
    "Metrics",
    "Predictions",
    "coco_results",
    "evaluate",
    "format_table",
    "image_paths",
    "load_annotations",
    "predict",
    "require_pycocotools",
    "score",
]
