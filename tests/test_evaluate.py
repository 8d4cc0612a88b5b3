"""COCO keypoint evaluation: the metric machinery against hand-computed OKS and pycocotools.

The machinery is checked without any decoder: ground truth turned into results
must score 1.0, and known perturbations must lower the scores by exactly what
the OKS formula (by hand) or a direct pycocotools call gives.
"""

from __future__ import annotations

import copy
import io
import json
import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posenet import evaluate
from posenet.cli import main
from posenet.errors import PosenetError
from posenet.image import Decoded, read_image
from posenet.poses import Pose

from .conftest import IMAGES

COCO_DIR = IMAGES / "coco"
COCO_JSON = COCO_DIR / "test_coco.json"

#: COCO's per-keypoint OKS constants (cocoapi, COCOeval.Params.kpt_oks_sigmas), written
#: out here so that the hand computation does not borrow anything from pycocotools.
SIGMAS = (
    np.array(
        [
            0.26,
            0.25,
            0.25,
            0.35,
            0.35,
            0.79,
            0.79,
            0.72,
            0.72,
            0.62,
            0.62,
            1.07,
            1.07,
            0.87,
            0.87,
            0.89,
            0.89,
        ]
    )
    / 10.0
)
OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)


@pytest.fixture(scope="module")
def coco_data() -> dict:
    return json.loads(COCO_JSON.read_text())


@pytest.fixture(scope="module")
def dataset(coco_data: dict) -> evaluate.KeypointSet:
    return evaluate.load_annotations(copy.deepcopy(coco_data))


def counted(data: dict) -> list[dict]:
    """The annotations COCO scores (people with labelled keypoints, not crowds)."""
    return [a for a in data["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"]]


def pose_of(annotation: dict, shift: tuple[float, float] = (0.0, 0.0), score: float = 1.0) -> Pose:
    """A Pose holding an annotation's keypoints, moved by `shift` (x, y) pixels."""
    kps = np.asarray(annotation["keypoints"], np.float32).reshape(17, 3)
    xy = kps[:, :2] + np.asarray(shift, np.float32)
    return Pose(xy, (kps[:, 2] > 0).astype(np.float32), score)


def results_of(data: dict, shift=(0.0, 0.0), skip: int | None = None) -> list[dict]:
    out = []
    for ann in counted(data):
        if ann["id"] != skip:
            out += evaluate.coco_results([pose_of(ann, shift)], ann["image_id"])
    return out


# --- loading ------------------------------------------------------------------------------


def test_load_counts_people_and_ignored(dataset: evaluate.KeypointSet) -> None:
    assert len(dataset.images) == 4
    assert dataset.people + dataset.ignored == 14
    assert (dataset.people, dataset.ignored) == (12, 2)  # two annotations have no keypoints
    assert dataset.category_id == 1


def test_load_from_path_equals_from_dict(dataset: evaluate.KeypointSet) -> None:
    from_path = evaluate.load_annotations(COCO_JSON)
    assert from_path.images == dataset.images
    assert from_path.source == str(COCO_JSON)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("annotations"), "not COCO format"),
        (lambda d: d["categories"][0].update(keypoints=["head", "neck"]), "COCO's 17 keypoints"),
        (lambda d: d["annotations"][0].pop("area"), "has no area"),
        (lambda d: d["annotations"][0].update(keypoints=[0, 0, 0]), "expected 51"),
        (lambda d: d["annotations"][0].update(image_id=-5), "unknown image -5"),
        (lambda d: d["images"][0].pop("file_name"), "needs id, file_name"),
        (lambda d: d["images"].append(dict(d["images"][0])), "not unique"),
    ],
)
def test_load_rejects_broken_files(coco_data: dict, change, message: str) -> None:
    data = copy.deepcopy(coco_data)
    change(data)
    with pytest.raises(PosenetError, match=message):
        evaluate.load_annotations(data)


def test_load_rejects_missing_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(PosenetError, match="no such annotation file"):
        evaluate.load_annotations(tmp_path / "nope.json")
    with pytest.raises(PosenetError, match=r"is a folder, expected a COCO annotation \.json file"):
        evaluate.load_annotations(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(PosenetError, match="not a JSON file"):
        evaluate.load_annotations(bad)


def test_image_paths_reports_missing_images(dataset: evaluate.KeypointSet, tmp_path: Path) -> None:
    assert [p.name for p in evaluate.image_paths(dataset, COCO_DIR)] == [
        i.file_name for i in dataset.images
    ]
    with pytest.raises(PosenetError, match=r"4 of 4 annotated images .* cannot be used") as error:
        evaluate.image_paths(dataset, tmp_path)
    assert f"{dataset.images[0].file_name}: not found;" in str(error.value)
    assert str(error.value).endswith("; and 1 more")
    with pytest.raises(PosenetError, match="no such images folder"):
        evaluate.image_paths(dataset, tmp_path / "missing")


# --- results ------------------------------------------------------------------------------


def test_coco_results_layout() -> None:
    xy = np.arange(34, dtype=np.float32).reshape(17, 2)
    pose = Pose(xy, np.full(17, 0.5, np.float32), 0.75)
    (result,) = evaluate.coco_results([pose], image_id=7, category_id=3)
    assert result["image_id"] == 7 and result["category_id"] == 3 and result["score"] == 0.75
    flat = np.asarray(result["keypoints"]).reshape(17, 3)
    np.testing.assert_array_equal(flat[:, :2], xy)  # COCO order == PoseNet order
    np.testing.assert_array_equal(flat[:, 2], 0.5)


# --- scoring: exact values ----------------------------------------------------------------


def test_ground_truth_scores_one(dataset: evaluate.KeypointSet, coco_data: dict) -> None:
    metrics = evaluate.score(dataset, results_of(coco_data))
    assert metrics.values == (1.0,) * 10
    assert (metrics.images, metrics.people, metrics.detections) == (4, 12, 12)


def test_dropping_a_person_costs_what_coco_interpolation_gives(
    dataset: evaluate.KeypointSet, coco_data: dict
) -> None:
    # Drop one large person: recall tops out at 11/12 overall and 6/7 among large people,
    # with precision 1 up to there. COCO averages precision at the 101 recall points
    # 0, 0.01, ..., 1, so AP = (points <= max recall) / 101 at every OKS threshold.
    large = [a for a in counted(coco_data) if a["area"] > 96**2]
    assert len(large) == 7
    metrics = evaluate.score(dataset, results_of(coco_data, skip=large[0]["id"]))
    points = np.linspace(0, 1, 101)
    assert metrics["AP"] == pytest.approx(np.sum(points <= 11 / 12) / 101)  # 92 / 101
    assert metrics["AP50"] == metrics["AP75"] == metrics["AP"]
    assert metrics["APl"] == pytest.approx(np.sum(points <= 6 / 7) / 101)  # 86 / 101
    assert metrics["APm"] == 1.0
    assert metrics["AR"] == pytest.approx(11 / 12)
    assert metrics["ARl"] == pytest.approx(6 / 7)


def hand_oks(annotation: dict, shift: tuple[float, float]) -> float:
    """OKS of a pose moved by `shift` against its annotation, from the COCO definition:
    mean over labelled keypoints of exp(-d² / (2 s² k²)), s² = area, k = 2 sigma."""
    visible = np.asarray(annotation["keypoints"]).reshape(17, 3)[:, 2] > 0
    d2 = shift[0] ** 2 + shift[1] ** 2
    per_keypoint = np.exp(-d2 / (2 * annotation["area"] * (2 * SIGMAS) ** 2))
    return float(per_keypoint[visible].mean())


@pytest.mark.parametrize("shift", [(2.0, 0.0), (6.0, 0.0), (0.0, 10.0), (8.0, -8.0), (30.0, 0.0)])
def test_shifted_keypoints_score_what_hand_oks_gives(coco_data: dict, shift) -> None:
    # One image, one person, every keypoint moved by the same amount: the detection
    # is a true positive at exactly the OKS thresholds <= its OKS, so AP (precision 1
    # or 0 at each threshold) is the fraction of thresholds the OKS reaches.
    (person,) = [a for a in coco_data["annotations"] if a["image_id"] == 785]
    single = dict(coco_data, images=[coco_data["images"][0]], annotations=[person])
    assert single["images"][0]["id"] == 785
    oks = hand_oks(person, shift)
    assert np.min(np.abs(OKS_THRESHOLDS - oks)) > 0.005, "choose a shift away from thresholds"
    results = evaluate.coco_results([pose_of(person, shift)], 785)
    metrics = evaluate.score(evaluate.load_annotations(single), results)
    expected = float(np.mean(oks >= OKS_THRESHOLDS))
    assert metrics["AP"] == pytest.approx(expected)
    assert metrics["AR"] == pytest.approx(expected)
    assert metrics["AP50"] == pytest.approx(float(oks >= 0.5))
    assert metrics["AP75"] == pytest.approx(float(oks >= 0.75))
    assert metrics["APl"] == metrics["AP"]  # area 27789 > 96²
    assert metrics["APm"] == -1.0  # no medium person in this set


def test_shift_sweep_covers_partial_scores(coco_data: dict) -> None:
    """The shifts above really exercise partial AP (not only 0 and 1)."""
    (person,) = [a for a in coco_data["annotations"] if a["image_id"] == 785]
    aps = {float(np.mean(hand_oks(person, (d, 0.0)) >= OKS_THRESHOLDS)) for d in (2, 6, 30)}
    assert len(aps) == 3 and any(0 < ap < 1 for ap in aps)


def test_agrees_with_a_direct_pycocotools_call(
    dataset: evaluate.KeypointSet, coco_data: dict
) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    # Perturbed results over the whole set: shifted, scores varying, one person dropped,
    # one false positive in an image. Compared with pycocotools called directly.
    rng = np.random.default_rng(0)
    results = []
    for i, ann in enumerate(counted(coco_data)[1:]):
        shift = tuple(rng.normal(0, 4 + i, 2))
        pose = pose_of(ann, shift, score=float(rng.uniform(0.2, 1.0)))
        results += evaluate.coco_results([pose], ann["image_id"])
    stray = pose_of(counted(coco_data)[0], (150.0, 40.0), score=0.9)
    results += evaluate.coco_results([stray], counted(coco_data)[0]["image_id"])
    given = copy.deepcopy(results)

    metrics = evaluate.score(dataset, results)
    assert results == given, "score() must not modify the results"

    truth = COCO(str(COCO_JSON))
    direct = COCOeval(truth, truth.loadRes(copy.deepcopy(results)), "keypoints")
    direct.evaluate()
    direct.accumulate()
    direct.summarize()
    np.testing.assert_allclose(metrics.values, direct.stats, rtol=0, atol=1e-12)
    assert 0.0 < metrics.ap < 1.0


def test_empty_results_score_zero(dataset: evaluate.KeypointSet) -> None:
    metrics = evaluate.score(dataset, [])
    assert metrics.values == (0.0,) * 10
    assert metrics.detections == 0


def test_score_rejects_foreign_results(dataset: evaluate.KeypointSet, coco_data: dict) -> None:
    good = results_of(coco_data)[:1]
    with pytest.raises(PosenetError, match="not in the annotations"):
        evaluate.score(dataset, [dict(good[0], image_id=12345)])
    with pytest.raises(PosenetError, match="category 2"):
        evaluate.score(dataset, [dict(good[0], category_id=2)])
    with pytest.raises(PosenetError, match="51 keypoint numbers"):
        evaluate.score(dataset, [dict(good[0], keypoints=[1, 2, 3])])


def test_score_prints_nothing(
    dataset: evaluate.KeypointSet, coco_data: dict, capsys: pytest.CaptureFixture
) -> None:
    evaluate.score(dataset, results_of(coco_data))
    assert capsys.readouterr() == ("", "")


def test_missing_pycocotools_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import` raise ImportError
    with pytest.raises(PosenetError, match=r"pip install 'posenet-toolkit\[eval\]'") as info:
        evaluate.require_pycocotools()
    assert "\n" not in str(info.value)


# --- metrics presentation -----------------------------------------------------------------


def test_table_and_dict_show_missing_sizes_as_not_available() -> None:
    metrics = evaluate.Metrics((0.5, 0.8, 0.4, -1.0, 0.6, 0.55, 0.85, 0.45, -1.0, 0.65), 1, 1, 1)
    table = evaluate.format_table(metrics).splitlines()
    assert [line.split()[0] for line in table] == ["metric"] + [s[0] for s in evaluate.SUMMARY]
    assert table[4].split()[-1] == "n/a" and table[1].split()[-1] == "0.500"
    assert metrics.to_dict()["APm"] is None and metrics.to_dict()["AP"] == 0.5
    with pytest.raises(KeyError):
        metrics["AP90"]


# --- predict, with a stand-in estimator (no decoder needed) -------------------------------


@dataclass
class _Timings:
    total: float = 0.01


@dataclass
class _Result:
    poses: list[Pose]
    width: int
    height: int
    timings: _Timings = field(default_factory=_Timings)


@dataclass
class GroundTruthEstimator:
    """Answers each image with its annotated people: tells predict() apart from the model."""

    data: dict
    calls: int = 0

    def read(self, path: Path, exif: bool = True) -> Decoded:
        assert not exif  # COCO keypoints refer to the stored pixels
        return read_image(path, exif=False)

    def estimate(self, image: Decoded) -> _Result:
        self.calls += 1
        width, height = image.size
        (image,) = [i for i in self.data["images"] if (i["width"], i["height"]) == (width, height)]
        anns = [a for a in counted(self.data) if a["image_id"] == image["id"]]
        return _Result([pose_of(a) for a in anns], width, height)

    def stream(self, images):
        for pixels in images:
            yield self.estimate(pixels)


def test_predict_and_score_on_the_coco_images(
    dataset: evaluate.KeypointSet, coco_data: dict
) -> None:
    seen = []
    estimator = GroundTruthEstimator(coco_data)
    metrics, predictions = evaluate.evaluate(
        estimator, dataset, COCO_DIR, progress=lambda done, total: seen.append((done, total))
    )
    assert estimator.calls == 4 and seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(predictions.results) == 12 and predictions.seconds == (0.01,) * 4
    assert metrics.values == (1.0,) * 10


def test_predict_refuses_images_of_the_wrong_size(
    dataset: evaluate.KeypointSet, coco_data: dict
) -> None:
    data = copy.deepcopy(coco_data)
    data["images"][0]["width"] = 641
    estimator = GroundTruthEstimator(coco_data)
    with pytest.raises(PosenetError, match="is 640x425, the annotations say 641x425"):
        evaluate.predict(estimator, evaluate.load_annotations(data), COCO_DIR)
    assert estimator.calls == 0


def _copy_images(coco_data: dict, folder: Path) -> Path:
    folder.mkdir()
    for image in coco_data["images"]:
        shutil.copy(COCO_DIR / image["file_name"], folder / image["file_name"])
    return folder


def test_every_bad_image_is_reported_at_once_before_any_estimate(
    dataset: evaluate.KeypointSet, coco_data: dict, tmp_path: Path
) -> None:
    """COCO figures over part of a set are not comparable: nothing is skipped, and every
    problem is named in one error before the first image is estimated."""
    folder = _copy_images(coco_data, tmp_path / "images")
    names = [image["file_name"] for image in coco_data["images"]]
    (folder / names[1]).unlink()
    (folder / names[2]).write_bytes(b"not a jpeg at all")
    with Image.open(COCO_DIR / names[3]) as image:
        image.crop((0, 0, 100, 80)).save(folder / names[3])
    estimator = GroundTruthEstimator(coco_data)
    with pytest.raises(PosenetError) as error:
        evaluate.predict(estimator, dataset, folder)
    message = str(error.value)
    assert estimator.calls == 0 and "\n" not in message
    assert message.startswith(f"3 of 4 annotated images in {folder} cannot be used")
    assert f"{names[1]}: not found" in message
    assert f"{names[2]}: not an image file Pillow can read" in message
    assert f"{names[3]}: is 100x80, the annotations say" in message


def test_exif_orientation_is_not_applied(coco_data: dict, tmp_path: Path) -> None:
    """COCO keypoints refer to the stored pixels: an EXIF rotation tag must not turn the image
    (posenet.image.load_image would, for detect), or sizes and keypoints stop lining up."""
    folder = _copy_images(coco_data, tmp_path / "images")
    name = coco_data["images"][0]["file_name"]
    with Image.open(COCO_DIR / name) as image:
        exif = image.getexif()
        exif[0x0112] = 6  # "rotate 90 degrees to display"
        image.save(folder / name, exif=exif, quality=95)
    estimator = GroundTruthEstimator(coco_data)
    metrics, _ = evaluate.evaluate(estimator, evaluate.load_annotations(coco_data), folder)
    assert estimator.calls == 4 and metrics.values == (1.0,) * 10


def test_oks_formula_sanity() -> None:
    """The hand formula gives 1 at zero shift and falls with distance (guards the helper)."""
    person = {"keypoints": [1, 1, 2] * 17, "area": 10000.0}
    assert hand_oks(person, (0.0, 0.0)) == 1.0
    assert 0 < hand_oks(person, (20.0, 0.0)) < hand_oks(person, (5.0, 0.0)) < 1
    assert math.isclose(
        hand_oks(person, (3.0, 4.0)),
        float(np.mean(np.exp(-25 / (2 * 10000 * (2 * SIGMAS) ** 2)))),
    )


# --- the command, end to end (model, decoders, pycocotools) -------------------------------


def eval_argv(*extra: str) -> list[str]:
    return ["eval", "--annotations", str(COCO_JSON), "--images", str(COCO_DIR), *extra]


def printed_metrics(out: str) -> dict[str, float]:
    names = {s[0] for s in evaluate.SUMMARY}
    return {f[0]: float(f[-1]) for f in map(str.split, out.splitlines()) if f and f[0] in names}


@pytest.mark.parametrize("decoder", ["coral", "tfjs"])
def test_cli_eval_end_to_end(
    decoder: str, dataset: evaluate.KeypointSet, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out_file = tmp_path / "results.json"
    assert main(eval_argv("--decoder", decoder, "--results", str(out_file))) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar when stderr is not a terminal
    assert "4 images, 12 people (2 ignored)" in out and f"decoder {decoder}" in out
    printed = printed_metrics(out)
    assert list(printed) == [s[0] for s in evaluate.SUMMARY]
    # The written results rescore to the printed table (3 decimals shown).
    results = json.loads(out_file.read_text())
    assert results and {r["image_id"] for r in results} <= {i.id for i in dataset.images}
    rescored = evaluate.score(dataset, results)
    for name, value in printed.items():
        assert value == pytest.approx(rescored[name], abs=5e-4)
    # A floor, not a target: the default model finds most of these people (AP50 was
    # 0.91 for both decoders when written); a broken mapping back to image pixels or
    # a wrong keypoint order scores near 0.
    assert printed["AP50"] >= 0.6 and printed["AP"] >= 0.3


def test_cli_eval_replaces_results_but_never_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Copies in tmp_path: a check that failed must not cost the shared assets anything."""
    images = tmp_path / "images"
    shutil.copytree(COCO_DIR, images)
    annotations = images / COCO_JSON.name
    argv = ["eval", "--annotations", str(annotations), "--images", str(images)]
    out_file = tmp_path / "results.json"
    out_file.write_text("from an earlier run")
    assert main([*argv, "--results", str(out_file)]) == 0
    assert isinstance(json.loads(out_file.read_text()), list)
    capsys.readouterr()
    (tmp_path / "link.json").symlink_to(annotations)
    first_image = sorted(images.glob("*.jpg"))[0]
    before = {p: p.read_bytes() for p in images.iterdir()}
    for output in (annotations, tmp_path / "link.json", first_image):
        assert main([*argv, "--results", str(output)]) == 2
        err = capsys.readouterr().err
        assert err == f"posenet: error: {output}: is one of the inputs; refusing to write over it\n"
    assert {p: p.read_bytes() for p in images.iterdir()} == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--annotations", "/nonexistent.json", "--images", str(COCO_DIR)], "no such"),
        (["eval", "--annotations", str(COCO_DIR), "--images", str(COCO_DIR)], "is a folder"),
        (["eval", "--annotations", str(COCO_JSON), "--images", "/nonexistent"], "no such images"),
        (["eval", "--images", str(COCO_DIR)], "--annotations"),
    ],
)
def test_cli_eval_input_errors_are_one_line(argv, message: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_eval_without_pycocotools(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(eval_argv()) == 2
    assert capsys.readouterr().err == (
        "posenet: error: scoring needs pycocotools: pip install 'posenet-toolkit[eval]'\n"
    )


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from posenet.commands.progress import progress_bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_bar("eval", "images") is None  # pytest's captured stderr is no terminal
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = progress_bar("eval", "images")
    show(1, 4)
    assert "1/4 images" in terminal.getvalue()
    show(4, 4)
    assert terminal.getvalue().endswith("\r")  # the bar is wiped before the table prints


def test_cli_eval_checks_the_results_file_can_be_written_before_running(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def no_run(*_args, **_kwargs):
        raise AssertionError("the evaluation ran before the results path was checked")

    monkeypatch.setattr(evaluate, "predict", no_run)
    assert main(eval_argv("--results", "/sys/r.json")) == 2
    err = capsys.readouterr().err
    assert err == "posenet: error: /sys/r.json: cannot be written (Permission denied)\n"
    assert main(eval_argv("--results", "/dev/null")) == 2
    assert "is not a regular file" in capsys.readouterr().err


def test_cli_eval_auto_size_is_not_one_image_size(capsys: pytest.CaptureFixture) -> None:
    assert main(eval_argv("--size", "auto")) == 0
    out = capsys.readouterr().out
    assert "(input auto (long side 481))" in out


def test_cli_eval_reports_a_rounded_size(capsys: pytest.CaptureFixture) -> None:
    assert main(eval_argv("--size", "300")) == 0
    out, err = capsys.readouterr()
    assert "(input 305x305)" in out
    assert err == "posenet: size 300x300 rounded to 305x305 (k * 16 + 1)\n"
