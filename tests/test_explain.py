"""explain: the pictures say what the heads say, pixel for pixel, and the CLI writes them.

Hand-built Heads give cases where the answer is known exactly (one peak, one
non-zero offset, one displacement); test_couple through the default model checks
the same properties on a real network output.
"""

from __future__ import annotations

import collections
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from posenet.cli import main
from posenet.errors import PosenetError
from posenet.estimator import Estimator
from posenet.explain import (
    HEATMAP_PANELS,
    INFERNO,
    MAIN_PANELS,
    PANELS,
    PART_COLORS,
    displacements_panel,
    explain,
    heatmap_overlay,
    offsets_panel,
    sheet_layout,
    upsample_grid,
)
from posenet.heads import Heads
from posenet.image import load_image
from posenet.keypoints import NUM_EDGES, NUM_KEYPOINTS, PART_IDS, POSE_CHAIN
from posenet.poses import Pose

from .conftest import IMAGES

STRIDE = 8
ROWS, COLS = 9, 11
SIZE = ((ROWS - 1) * STRIDE + 1, (COLS - 1) * STRIDE + 1)  # 65 x 81: cells on pixels


def _heads() -> Heads:
    """All-quiet heads (scores ~0, no offsets, no displacements) for a 65x81 input."""
    return Heads(
        heatmap=np.full((ROWS, COLS, NUM_KEYPOINTS), -8.0, np.float32),
        offsets=np.zeros((ROWS, COLS, 2 * NUM_KEYPOINTS), np.float32),
        displacements_fwd=np.zeros((ROWS, COLS, 2 * NUM_EDGES), np.float32),
        displacements_bwd=np.zeros((ROWS, COLS, 2 * NUM_EDGES), np.float32),
        output_stride=STRIDE,
        input_size=SIZE,
    )


def _photo(seed: int = 0) -> np.ndarray:
    """A noisy colour image, so that no test passes because the photo is flat."""
    return np.random.default_rng(seed).integers(0, 256, (*SIZE, 3), dtype=np.uint8)


def _pose(**keypoints: tuple[float, float]) -> Pose:
    """A pose with the named keypoints at (x, y) and score 0.9; the others score 0."""
    xy = np.zeros((NUM_KEYPOINTS, 2), np.float32)
    scores = np.zeros(NUM_KEYPOINTS, np.float32)
    for name, (x, y) in keypoints.items():
        xy[PART_IDS[name]] = x, y
        scores[PART_IDS[name]] = 0.9
    return Pose(xy, scores, 0.9)


def _luma(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture).astype(np.int64) @ np.array([299, 587, 114])


def _is(picture: Image.Image, color: tuple[int, int, int]) -> np.ndarray:
    """bool[H, W]: the pixels of exactly that colour."""
    return np.all(np.asarray(picture) == np.array(color, np.uint8), axis=2)


def _segment_pixels(start, end, fractions) -> list[tuple[int, int]]:
    """(x, y) pixel positions at the given fractions of the way from start to end."""
    (x0, y0), (x1, y1) = start, end
    return [(round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t)) for t in fractions]


def _distance_to_segment(shape, start, end) -> np.ndarray:
    """float[H, W]: each pixel's distance to the segment start-end (x, y)."""
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    p = np.stack([xs, ys], axis=-1).astype(float)
    a, b = np.array(start, float), np.array(end, float)
    t = np.clip(((p - a) @ (b - a)) / ((b - a) @ (b - a)), 0, 1)
    return np.linalg.norm(p - (a + t[..., None] * (b - a)), axis=-1)


# -- colour map and upsampling ---------------------------------------------------------


def test_inferno_is_a_perceptual_ramp():
    assert INFERNO.shape == (256, 3) and INFERNO.dtype == np.uint8
    assert INFERNO[0].max() <= 5  # black
    assert (
        INFERNO[255][0] >= 245 and INFERNO[255][1] >= 245 and INFERNO[255][2] < 200
    )  # pale yellow
    luma = INFERNO.astype(np.int64) @ np.array([299, 587, 114])
    assert np.all(np.diff(luma) > 0), "a higher score must always look brighter"


def test_part_colors_are_distinct_and_saturated():
    assert len(set(PART_COLORS)) == NUM_KEYPOINTS
    assert all(max(c) - min(c) > 100 for c in PART_COLORS)  # never grey like the photo


def test_upsample_copies_cells_onto_their_centres_and_blends_between():
    grid = np.random.default_rng(1).random((ROWS, COLS, 3)).astype(np.float32)
    pixels = upsample_grid(grid, STRIDE, SIZE)
    assert pixels.shape == (3, *SIZE)
    assert np.array_equal(pixels[:, ::STRIDE, ::STRIDE], grid.transpose(2, 0, 1))
    half = STRIDE // 2
    np.testing.assert_allclose(pixels[:, half, 0], (grid[0, 0] + grid[1, 0]) / 2, rtol=1e-6)
    np.testing.assert_allclose(
        pixels[:, half, half], grid[:2, :2].reshape(4, 3).mean(axis=0), rtol=1e-5
    )
    # Sizes that are not k * stride + 1: pixels past the last centre repeat it.
    wide = upsample_grid(grid[:, :, 0], STRIDE, (SIZE[0] + 5, SIZE[1] + 3))[0]
    assert wide.shape == (SIZE[0] + 5, SIZE[1] + 3)
    assert np.array_equal(wide[-1], wide[SIZE[0] - 1]) and np.array_equal(wide[:, -1], wide[:, -4])


# -- heatmaps ------------------------------------------------------------------------------


def test_brightest_point_of_a_hand_built_heatmap_is_its_peak_cell():
    heads = _heads()
    nose, ankle = PART_IDS["nose"], PART_IDS["leftAnkle"]
    heads.heatmap[4, 6, nose] = 5.0  # score 0.993: the peak
    heads.heatmap[4, 5, nose] = 3.0  # strong neighbours, to be beaten
    heads.heatmap[3, 6, nose] = 2.5
    heads.heatmap[7, 2, ankle] = 4.0
    pictures = explain(_photo(), heads, [])
    for name, cell in (("heatmap-nose", (4, 6)), ("heatmap-leftAnkle", (7, 2))):
        luma = _luma(pictures[name])
        brightest = np.argwhere(luma == luma.max())
        assert brightest.tolist() == [[cell[0] * STRIDE, cell[1] * STRIDE]], name
        assert pictures[name].size == (SIZE[1], SIZE[0])
    combined = _luma(pictures["heatmap-all"])
    assert np.argwhere(combined == combined.max()).tolist() == [[4 * STRIDE, 6 * STRIDE]]
    # The ankle peak also shows in the combined map, brighter than anything around it.
    ankle_at = (7 * STRIDE, 2 * STRIDE)
    assert combined[ankle_at] == combined[ankle_at[0] - 8 : ankle_at[0] + 9, :25].max()


def test_heatmap_overlay_is_the_panel_explain_draws():
    """The public one-heatmap function draws exactly the contact sheet's per-keypoint panel."""
    heads = _heads()
    wrist = PART_IDS["rightWrist"]
    heads.heatmap[2, 3, wrist] = 4.0
    heads.heatmap[6, 8, wrist] = 1.0
    photo = _photo(5)
    panel = explain(photo, heads, [])["heatmap-rightWrist"]
    overlay = heatmap_overlay(photo, heads.scores()[:, :, wrist], STRIDE)
    assert overlay.size == (SIZE[1], SIZE[0])
    assert np.array_equal(np.asarray(overlay), np.asarray(panel))
    luma = _luma(overlay)
    assert np.argwhere(luma == luma.max()).tolist() == [[2 * STRIDE, 3 * STRIDE]]


def test_quiet_heatmap_shows_the_dimmed_grey_photo():
    photo = _photo(3)
    pictures = explain(photo, _heads(), [])
    pixels = np.asarray(pictures["heatmap-rightEar"]).astype(int)
    assert np.all(pixels[:, :, 0] == pixels[:, :, 1]) and np.all(pixels[:, :, 1] == pixels[:, :, 2])
    grey = photo.astype(float) @ [0.299, 0.587, 0.114]
    assert np.abs(pixels[:, :, 0] - grey / 2).max() <= 1.5  # score 0.0003: nearly no colour


# -- vectors -------------------------------------------------------------------------------


def test_offset_arrow_runs_from_the_cell_centre_to_centre_plus_offset():
    heads = _heads()
    k = PART_IDS["leftWrist"]
    cell = (4, 5)
    heads.offsets[cell[0], cell[1], k] = -12.0  # y
    heads.offsets[cell[0], cell[1], NUM_KEYPOINTS + k] = 24.0  # x
    start = (cell[1] * STRIDE, cell[0] * STRIDE)  # (40, 32)
    end = (start[0] + 24, start[1] - 12)  # (64, 20)
    pose = _pose(leftWrist=start)  # the keypoint sits on that cell
    picture = offsets_panel(_photo(), heads, [pose])
    color = PART_COLORS[k]
    on = _is(picture, color)
    assert on[start[1], start[0]], "the arrow starts at cell * stride"
    for x, y in _segment_pixels(start, end, np.arange(1, 12) / 12):
        assert on[y, x], f"shaft or head missing at {(x, y)}"
    # Nothing of that colour beyond the tip, before the tail or anywhere else (the
    # head's wings reach 3 px from the line): the other cells near the wrist have
    # zero offsets and draw nothing.
    assert not on[19, 67] and not on[34, 36]
    assert not on[_distance_to_segment(on.shape, start, end) > 4.5].any()
    # The head is wider than the shaft, near the tip only.
    across = np.array([12, 24]) / np.hypot(12, 24)  # perpendicular to (24, -12)
    near_tip = np.array(end) - 2.5 * np.array([24, -12]) / np.hypot(24, -12)
    wing = np.round(near_tip + 1.5 * across).astype(int)
    assert on[wing[1], wing[0]]


def test_offsets_are_drawn_only_near_confident_keypoints():
    heads = _heads()
    k = PART_IDS["nose"]
    heads.offsets[:, :, k] = 5.0  # every cell points 5 px down...
    heads.offsets[:, :, NUM_KEYPOINTS + k] = 5.0  # ... and 5 px right
    color = PART_COLORS[k]
    near = offsets_panel(_photo(), heads, [_pose(nose=(40, 32))], radius=1.0)
    tails = {(y, x) for y in range(ROWS) for x in range(COLS) if _is(near, color)[y * 8, x * 8]}
    assert tails == {(4, 5), (3, 5), (5, 5), (4, 4), (4, 6)}  # the radius-1 disc
    weak = _pose(nose=(40, 32))
    weak.scores[k] = 0.1
    assert not _is(offsets_panel(_photo(), heads, [weak]), color).any()


@pytest.mark.parametrize("direction", ["fwd", "bwd"])
def test_displacement_arrow_starts_at_the_keypoint_and_samples_its_nearest_cell(direction):
    heads = _heads()
    source, target = (
        ("leftShoulder", "leftElbow") if direction == "fwd" else ("leftElbow", "leftShoulder")
    )
    edge = POSE_CHAIN.index((PART_IDS["leftShoulder"], PART_IDS["leftElbow"]))
    field = heads.displacements_fwd if direction == "fwd" else heads.displacements_bwd
    start = (27.0, 14.0)  # nearest cell (2, 3); (2, 4) and (1, 3) are close too
    field[2, 3, edge], field[2, 3, NUM_EDGES + edge] = 16.0, 8.0
    field[2, 4, edge], field[2, 4, NUM_EDGES + edge] = -10.0, -10.0  # decoys
    field[1, 3, edge], field[1, 3, NUM_EDGES + edge] = 0.0, 20.0
    end = (start[0] + 8, start[1] + 16)
    picture = displacements_panel(_photo(), heads, [_pose(**{source: start})], direction)
    color = PART_COLORS[PART_IDS[target]]
    on = _is(picture, color)
    for x, y in _segment_pixels(start, end, np.arange(3, 9) / 8):
        assert on[y, x], f"arrow missing at {(x, y)}"
    # Nothing else of that colour: the decoys were not sampled (head wings reach 4.4 px).
    assert not on[_distance_to_segment(on.shape, start, end) > 5.5].any()
    # The keypoint itself is a dot of its own colour under the arrow's tail.
    assert _is(picture, PART_COLORS[PART_IDS[source]])[int(start[1]) - 3, int(start[0])]


def test_displacements_need_a_confident_source():
    heads = _heads()
    heads.displacements_fwd[:] = 12.0
    weak = _pose(nose=(40, 32))
    weak.scores[PART_IDS["nose"]] = 0.05
    picture = displacements_panel(_photo(), heads, [weak], "fwd")
    assert not any(_is(picture, c).any() for c in PART_COLORS)
    with pytest.raises(PosenetError, match="fwd or bwd"):
        displacements_panel(_photo(), heads, [weak], "sideways")


def test_explain_refuses_an_image_that_is_not_the_fitted_input():
    with pytest.raises(PosenetError, match="fitted input"):
        explain(np.zeros((SIZE[0] + 1, SIZE[1], 3), np.uint8), _heads(), [])
    with pytest.raises(PosenetError, match="uint8 or float32"):
        explain(np.zeros((*SIZE, 3), np.float64), _heads(), [])


# -- test_couple through the default model -------------------------------------------------


@pytest.fixture(scope="module")
def couple_explained():
    result = Estimator().estimate(load_image(IMAGES / "test_couple.jpg"), keep=True)
    fitted, heads, poses = result.input, result.heads, result.input_poses
    return fitted, heads, poses, explain(fitted, heads, poses, title="test_couple")


def test_couple_returns_every_panel_at_input_size(couple_explained):
    fitted, _, poses, pictures = couple_explained
    assert list(pictures) == list(PANELS)
    assert len(poses) == 2
    for name in PANELS[:-1]:
        assert pictures[name].size == (fitted.shape[1], fitted.shape[0]), name


def test_couple_heatmap_peaks_are_at_the_decoded_cells(couple_explained):
    """For each confident keypoint, the brightest point of its overlay is the centre
    of its best grid cell, and a decoded pose has that keypoint where that cell says."""
    _, heads, poses, pictures = couple_explained
    stride, scores = heads.output_stride, heads.scores()
    checked = 0
    for k, name in enumerate(HEATMAP_PANELS):
        if scores[:, :, k].max() < 0.9:
            continue
        cy, cx = np.unravel_index(np.argmax(heads.heatmap[:, :, k]), heads.grid_size)
        luma = _luma(pictures[name])
        assert luma[cy * stride, cx * stride] == luma.max(), name
        at = np.array([cx * stride, cy * stride]) + heads.offsets[cy, cx, [NUM_KEYPOINTS + k, k]]
        assert min(np.linalg.norm(pose.xy[k] - at) for pose in poses) < stride, name
        checked += 1
    assert checked >= 15


def test_couple_offsets_converge_on_the_keypoints(couple_explained):
    """Offsets drawn near a keypoint mostly end near it: the picture shows real vectors."""
    _, _, poses, pictures = couple_explained
    pose, k = poses[0], PART_IDS["nose"]
    on = _is(pictures["offsets"], PART_COLORS[k])
    x, y = np.round(pose.xy[k]).astype(int)
    assert on[y - 6 : y + 7, x - 6 : x + 7].sum() > 20  # arrow heads pile up at the nose
    assert not on[:, : int(pose.xy[:, 0].min()) - 60].any()  # nothing far left of the people


def test_sheet_holds_each_panel_in_its_labelled_tile(couple_explained):
    _, _, _, pictures = couple_explained
    sheet = pictures["sheet"]
    layout = sheet_layout(pictures["poses"].size)
    assert sheet.size == layout.size
    panels = [*MAIN_PANELS, *HEATMAP_PANELS]
    for name in panels:
        left, top, right, bottom = layout.boxes[name]
        region = np.asarray(sheet.crop((left, top, right, bottom))).astype(float)
        differences = {
            other: np.abs(
                np.asarray(pictures[other].resize((right - left, bottom - top))).astype(float)
                - region
            ).mean()
            for other in panels
        }
        assert min(differences, key=differences.get) == name
        assert differences[name] < 4.0, (name, differences[name])
        label = np.asarray(sheet.crop((left, top - 18, right, top - 2)))
        assert (label.max(axis=2) > 200).sum() > 30, f"no label above {name}"
    legend = np.asarray(sheet.crop(layout.boxes["legend"]))
    for color in PART_COLORS:
        assert np.all(legend == np.array(color, np.uint8), axis=2).sum() > 50


def test_estimator_does_not_import_explain():
    code = (
        "import sys, posenet; posenet.Estimator; import posenet.decode; "
        "print('posenet.explain' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the command ---------------------------------------------------------------------------


def test_cli_writes_prints_and_replaces_only_its_own_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    couple = str(IMAGES / "test_couple.jpg")
    assert main(["explain", couple]) == 0
    folder = tmp_path / "explain-test_couple"
    written = capsys.readouterr().out.splitlines()
    assert written == [str(folder.relative_to(tmp_path) / f"{name}.png") for name in PANELS]
    for name in PANELS:
        with Image.open(folder / f"{name}.png") as picture:
            assert picture.format == "PNG"
            if name != "sheet":
                assert picture.size == (481, 353)
    with Image.open(folder / "heatmap-leftWrist.png") as picture:
        luma = _luma(picture)
    assert luma.max() > 600  # a confident peak, painted pale yellow

    (folder / "sheet.png").write_bytes(b"from an earlier run")  # replaced by a re-run
    (folder / "poses.png").unlink()
    (folder / "poses.png").symlink_to(IMAGES / "test_couple.jpg")  # the input: never replaced
    assert main(["explain", couple]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "poses.png: is one of the inputs" in captured.err
    assert (folder / "sheet.png").read_bytes() == b"from an earlier run", "refused before work"
    (folder / "poses.png").unlink()

    out = tmp_path / "elsewhere"
    argv = ["explain", couple, "--out", str(out), "--decoder", "single", "--size", "auto"]
    assert main(argv) == 0  # the estimator picks the input size for this image
    assert capsys.readouterr().out.splitlines()[0] == str(out / "poses.png")
    with Image.open(out / "poses.png") as poses, Image.open(out / "offsets.png") as offsets:
        assert poses.size == offsets.size
    assert main(["explain", couple]) == 0  # the same command again replaces its pictures
    assert len(capsys.readouterr().out.splitlines()) == len(PANELS)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.png" for name in PANELS)
    with Image.open(folder / "sheet.png") as sheet:
        assert sheet.size == sheet_layout((481, 353)).size


@pytest.mark.parametrize("case", ["missing", "text", "folder", "out is a file", "flip"])
def test_cli_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    couple = str(IMAGES / "test_couple.jpg")
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    argv = {
        "missing": ["explain", str(tmp_path / "nope.jpg")],
        "text": ["explain", str(text)],
        "folder": ["explain", str(IMAGES)],
        "out is a file": ["explain", couple, "--out", str(text)],
        "flip": ["explain", couple, "--flip", "--out", str(tmp_path / "x")],
    }[case]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("posenet: error: ") and captured.err.count("\n") == 1
    assert captured.out == ""
    assert not (tmp_path / "x").exists()


def test_cli_fits_runs_and_decodes_test_couple_once(tmp_path, monkeypatch, capsys):
    """explain draws the one estimate's input, heads and input-space poses: after the
    estimator is built (its warm-up runs every stage once), one fit, one invoke, one decode."""
    import dataclasses
    import functools

    import posenet.decode
    import posenet.estimator
    import posenet.image
    import posenet.runtime

    calls = collections.Counter()

    def counted(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    fit = counted("fit", posenet.image.fit)
    for module in (posenet.image, posenet.estimator):
        monkeypatch.setattr(module, "fit", fit)
    monkeypatch.setattr(
        posenet.runtime.Runtime, "invoke", counted("invoke", posenet.runtime.Runtime.invoke)
    )
    for name, decoder in list(posenet.decode.DECODERS.items()):
        replaced = dataclasses.replace(decoder, function=counted("decode", decoder.function))
        monkeypatch.setitem(posenet.decode.DECODERS, name, replaced)
    built = posenet.estimator.Estimator.__init__

    def init(self, *args, **kwargs):
        built(self, *args, **kwargs)
        calls.clear()  # the warm-up is not the image's work

    monkeypatch.setattr(posenet.estimator.Estimator, "__init__", init)
    couple = str(IMAGES / "test_couple.jpg")
    assert main(["explain", couple, "--out", str(tmp_path / "why")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(PANELS)
    assert calls == {"fit": 1, "invoke": 1, "decode": 1}


def test_cli_explains_a_float_model(tmp_path, capsys):
    """A float model's fitted input is float32 pixel values (Result.input): drawn rounded."""
    out = tmp_path / "why"
    assert (
        main(["explain", str(IMAGES / "frisbee.jpg"), "--model", "tfjs-075", "--out", str(out)])
        == 0
    )
    assert (out / "sheet.png").is_file() and capsys.readouterr().err == ""
