"""The public API: picklable settings, one estimator on many threads, streams, other processes."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import posenet
from posenet import EstimatorSettings, PosenetError

from .conftest import IMAGES
from .helpers import poses_built_from

PHOTOS = sorted(p for p in IMAGES.rglob("*") if p.suffix in (".jpg", ".png"))


def same_poses(a: list[posenet.Pose], b: list[posenet.Pose]) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(p.xy, q.xy) and np.array_equal(p.scores, q.scores) and p.score == q.score
        for p, q in zip(a, b, strict=True)
    )


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [posenet.load_image(p) for p in PHOTOS]


# --- settings ---------------------------------------------------------------------------------


def test_package_all_is_the_api():
    assert sorted(posenet.__all__) == sorted(
        [
            "ACCURACY",
            "Estimator",
            "EstimatorSettings",
            "Fit",
            "Heads",
            "Keypoint",
            "PRESETS",
            "Pose",
            "PosenetError",
            "Result",
            "Timings",
            "__version__",
            "estimate",
            "load_image",
        ]
    )
    for name in posenet.__all__:
        assert getattr(posenet, name) is not None


def test_settings_normalise_pickle_hash_and_round_trip_json():
    settings = EstimatorSettings(
        model=Path("some/model.tflite"),
        size=(353, 481),
        decoder="tfjs",
        decoder_options={"refine_steps": np.int64(3), "max_detections": 4},
        threads=1,
    )
    assert settings.model == "some/model.tflite" and settings.size == "353x481"
    assert settings.decoder_options == (("max_detections", 4), ("refine_steps", 3))
    assert type(settings.decoder_options[1][1]) is int
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert hash(settings) == hash(settings.replace())
    again = EstimatorSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings
    assert settings.replace(size="auto").size == "auto"
    assert EstimatorSettings(size="257").size == "257x257"
    assert EstimatorSettings(size=" AUTO ").size == "auto"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fit": "crop"}, "fit must be one of pad, symmetric, stretch, got 'crop'"),
        ({"resample": "cubic"}, "resample must be one of bilinear, nearest, antialias"),
        ({"geometry": "odd"}, "geometry must be one of source, atrous"),
        ({"decoder": "bogus"}, "unknown decoder 'bogus'"),
        ({"decoder_options": {"bogus": 1}}, "decoder coral: no option bogus"),
        ({"decoder_options": {"max_detections": 1000}}, "max_detections must be an integer"),
        ({"stride": 12}, "stride must be one of 8, 16, 32, got 12"),
        ({"stride": "16"}, "stride must be one of 8, 16, 32, got '16'"),
        ({"size": "big"}, "size 'big': expected"),
        ({"size": (1, 2, 3)}, "size must be"),
        ({"threads": 0}, "threads must be 1 to 64"),
        ({"flip_horizontal": "yes"}, "flip_horizontal must be True or False"),
        ({"long_side": 0}, "long_side must be 1 to 4097"),
        ({"model": 3}, "model must be a name or a path"),
    ],
)
def test_settings_refuse_what_cannot_be_built(changes, message):
    with pytest.raises(PosenetError, match=message.replace("(", r"\(")):
        EstimatorSettings(**changes)


def test_settings_from_dict_refuses_unknown_fields():
    with pytest.raises(PosenetError, match="unknown field colour"):
        EstimatorSettings.from_dict({"colour": "red"})


def test_cli_flag_defaults_are_the_settings_defaults():
    from posenet.cli import build_parser
    from posenet.commands.detect import settings_from_args

    args = build_parser().parse_args(["detect", "x.jpg"])
    assert settings_from_args(args) == EstimatorSettings()


def test_estimator_keeps_its_settings_and_rebuilds_from_them(couple):
    estimator = posenet.Estimator(decoder="tfjs", decoder_options={"max_detections": 1})
    assert estimator.settings == EstimatorSettings(
        decoder="tfjs", decoder_options={"max_detections": 1}
    )
    rebuilt = estimator.settings.build()
    assert same_poses(rebuilt.estimate(couple).poses, estimator.estimate(couple).poses)
    assert rebuilt.model_name == estimator.model_name == "coral-075-353x481"


def test_settings_rebuild_the_estimator_in_a_spawned_process(couple_path):
    """What a batch framework does: ship the settings, build in the worker, same poses."""
    settings = EstimatorSettings(size="auto", decoder="tfjs", threads=1)
    here = poses_built_from(settings, couple_path)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.apply(poses_built_from, (settings, couple_path))
    assert len(here) == 2 and there == here


# --- results ----------------------------------------------------------------------------------


def test_result_carries_input_poses_fit_and_kept_arrays(couple):
    estimator = posenet.Estimator(flip_horizontal=True)
    plain = estimator.estimate(couple)
    assert plain.input is None and plain.heads is None and plain.image is None
    kept = estimator.estimate(couple, keep=True)
    assert kept.input.shape == (*kept.input_size, 3) and kept.input.dtype == np.uint8
    assert kept.heads.input_size == kept.input_size
    assert np.shares_memory(kept.image, couple) and np.array_equal(kept.image, couple)
    assert kept.fit == posenet.Fit("pad", "bilinear", kept.fit.scale, (0.0, 0.0))
    assert same_poses(kept.poses, plain.poses)
    assert [p.score for p in kept.input_poses] == [p.score for p in kept.poses]
    width = couple.shape[1]
    for mapped, seen in zip(kept.poses, kept.input_poses, strict=True):
        back = seen.mapped(kept.fit.scale, kept.fit.shift, (width, couple.shape[0]))
        np.testing.assert_array_equal(mapped.xy, back.flipped(width).xy)


# --- threads ----------------------------------------------------------------------------------


def test_four_threads_give_the_poses_of_one(photos):
    """One estimator, size auto (every photo its own input size), 4 threads x 50 images:
    each result is exactly the one-thread result for that image."""
    estimator = posenet.Estimator(size="auto", long_side=257, threads=1)
    alone = [estimator.estimate(photo) for photo in photos]
    assert len({r.input_size for r in alone}) >= 3  # the threads need interpreters of each

    def run(offset: int) -> list[tuple[int, posenet.Result]]:
        order = [(offset + i) % len(photos) for i in range(50)]
        return [(i, estimator.estimate(photos[i])) for i in order]

    with ThreadPoolExecutor(4) as threads:
        runs = list(threads.map(run, range(4)))
    assert sum(len(r) for r in runs) == 200
    for results in runs:
        for i, result in results:
            assert result.input_size == alone[i].input_size
            assert same_poses(result.poses, alone[i].poses), PHOTOS[i].name


# --- streams ----------------------------------------------------------------------------------


def test_stream_gives_estimate_s_results_in_order_for_any_iterable(photos):
    # draft off: a path then decodes to the same pixels as the arrays (tests/test_image.py
    # checks the reduced decoding)
    estimator = posenet.Estimator(size="auto", long_side=257, draft=False)
    mixed = [PHOTOS[0], str(PHOTOS[1]), Image.open(PHOTOS[2]), photos[3], *photos[4:]]
    expected = [estimator.estimate(photo) for photo in photos]
    streamed = list(estimator.stream(image for image in mixed))  # a generator: read lazily
    assert len(streamed) == len(photos)
    for got, want in zip(streamed, expected, strict=True):
        assert same_poses(got.poses, want.poses)
        assert (got.width, got.height, got.input_size) == (want.width, want.height, want.input_size)
    assert streamed[0].timings.load > 0 and streamed[3].timings.load == 0
    kept = next(estimator.stream([photos[0]], keep=True))
    assert kept.heads is not None and np.array_equal(kept.image, photos[0])


def test_stream_raises_a_bad_image_at_its_position_or_returns_it(tmp_path, photos):
    estimator = posenet.Estimator(size="auto", long_side=257)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a jpeg")
    images = [photos[0], bad, photos[1]]
    stream = estimator.stream(images)
    assert same_poses(next(stream).poses, estimator.estimate(photos[0]).poses)
    with pytest.raises(PosenetError, match=r"bad\.jpg: not an image file"):
        next(stream)
    outcomes = list(estimator.stream(images, return_errors=True))
    assert [type(o) for o in outcomes] == [posenet.Result, PosenetError, posenet.Result]
    assert same_poses(outcomes[2].poses, estimator.estimate(photos[1]).poses)


def test_on_one_cpu_a_stream_reads_in_place_with_the_same_results(monkeypatch, tmp_path, photos):
    import posenet.estimator

    estimator = posenet.Estimator(size="auto", long_side=257)
    expected = [estimator.estimate(photo).poses for photo in photos]
    monkeypatch.setattr(posenet.estimator, "_usable_cpus", lambda: 1)
    before = threading.active_count()
    streamed = list(estimator.stream(photos))
    assert threading.active_count() == before
    assert all(same_poses(r.poses, e) for r, e in zip(streamed, expected, strict=True))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    outcomes = list(estimator.stream([photos[0], bad, photos[1]], return_errors=True))
    assert [type(o) for o in outcomes] == [posenet.Result, PosenetError, posenet.Result]


def test_a_stream_left_early_stops_its_helper_thread(photos):
    estimator = posenet.Estimator()
    before = threading.active_count()
    stream = estimator.stream(photos * 10)
    next(stream)
    stream.close()
    assert threading.active_count() == before
    assert list(estimator.stream([])) == []
