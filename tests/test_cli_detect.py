"""`posenet detect` end to end: text, JSON and drawings, folders, and its outputs' safety."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from posenet import store
from posenet.cli import main

from .conftest import IMAGES, MODELS, ROOT

COUPLE = IMAGES / "test_couple.jpg"
SAMPLE = ROOT / "samples" / "test_couple.jpg"


def test_json_and_drawing_of_one_image(tmp_path, capsys):
    out_json, out_png = tmp_path / "poses.json", tmp_path / "drawn.png"
    assert main(["detect", str(COUPLE), "--json", str(out_json), "--draw", str(out_png)]) == 0
    results = json.loads(out_json.read_text())
    assert len(results) == 1 and results[0]["image"] == str(COUPLE)
    assert (results[0]["width"], results[0]["height"]) == (1920, 1278)
    assert len(results[0]["poses"]) == 2
    names = [k["name"] for k in results[0]["poses"][0]["keypoints"]]
    assert names[:3] == ["nose", "leftEye", "rightEye"] and len(names) == 17
    drawn = np.asarray(Image.open(out_png).convert("RGB")).astype(int)
    original = np.asarray(Image.open(COUPLE).convert("RGB")).astype(int)
    changed = np.abs(drawn - original).sum(axis=2) > 60
    # the drawing changed pixels at the first person's nose, not in the empty sky corner
    nose = results[0]["poses"][0]["keypoints"][0]
    x, y = round(nose["x"]), round(nose["y"])
    assert changed[y - 3 : y + 4, x - 3 : x + 4].any()
    assert not changed[:100, :100].any()
    assert "2 pose(s)" in capsys.readouterr().out


def test_folder_to_json_on_stdout(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("test_couple.jpg", "frisbee.jpg"):
        shutil.copy(IMAGES / name, folder / name)
    assert main(["detect", str(folder), "--json", "-"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["image"].rsplit("/", 1)[-1] for r in results] == ["frisbee.jpg", "test_couple.jpg"]


def test_a_bad_image_in_a_folder_does_not_stop_the_rest(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(COUPLE, folder / "a.jpg")
    (folder / "b.jpg").write_bytes(b"not a jpeg")
    Image.new("RGB", (2, 20000)).save(folder / "c.png")  # too narrow for --size auto
    shutil.copy(COUPLE, folder / "d.jpg")
    out = tmp_path / "poses.json"
    assert main(["detect", str(folder), "--size", "auto", "--json", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "b.jpg" in err[0] and "c.png" in err[1]
    assert [r["image"][-5:] for r in json.loads(out.read_text())] == ["a.jpg", "d.jpg"]


@pytest.mark.parametrize(
    "case",
    [
        "json over the input",
        "json over the input through a symlink",
        "draw over the input through a hard link",
        "draw over the input in a folder",
        "json over the model file",
        "json over a TF.js model's shard",
        "json over a symlink",
        "json over a fifo",
        "json and draw to one file",
        "draw name clash",
        "json into a missing folder",
        "json is a folder",
        "draw with an unknown suffix",
        "draw into a file for several images",
        "draw into a new file name for several images",
        "empty json path",
        "empty image path",
        "zero threads",
    ],
)
def test_outputs_are_checked_before_any_work(case, tmp_path, capsys):
    copy = tmp_path / "in.jpg"
    shutil.copy(COUPLE, copy)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    shutil.copy(COUPLE, tmp_path / "one" / "p.jpg")
    shutil.copy(COUPLE, tmp_path / "two" / "p.jpg")
    existing = tmp_path / "existing.png"
    existing.write_bytes(b"keep")
    (tmp_path / "link.jpg").symlink_to(copy)
    os.link(copy, tmp_path / "in-poses.jpg")
    (tmp_path / "link.json").symlink_to(existing)
    os.mkfifo(tmp_path / "fifo.json")
    model = tmp_path / "model"
    model.mkdir()
    for file in store.spec("tfjs-075").files:  # the JSON and its shard, linked
        (model / Path(file.path).name).symlink_to(MODELS / file.path)
    argv = {
        "json over the input": [str(copy), "--json", str(copy)],
        "json over the input through a symlink": [str(copy), "--json", f"{tmp_path}/link.jpg"],
        "draw over the input through a hard link": [str(copy), "--draw", f"{tmp_path}/"],
        "draw over the input in a folder": [f"{tmp_path}/one", "--draw", f"{tmp_path}/one/p.jpg"],
        "json over the model file": [
            str(copy),
            "--model",
            f"{model}/posenet.json",
            "--json",
            f"{model}/posenet.json",
        ],
        "json over a TF.js model's shard": [
            str(copy),
            "--model",
            str(model),
            "--json",
            f"{model}/posenet.bin",
        ],
        "json over a symlink": [str(copy), "--json", f"{tmp_path}/link.json"],
        "json over a fifo": [str(copy), "--json", f"{tmp_path}/fifo.json"],
        "json and draw to one file": [
            str(copy),
            "--json",
            f"{tmp_path}/x.png",
            "--draw",
            f"{tmp_path}/x.png",
        ],
        "draw name clash": [
            f"{tmp_path}/one/p.jpg",
            f"{tmp_path}/two/p.jpg",
            "--draw",
            f"{tmp_path}/out/",
        ],
        "json into a missing folder": [str(copy), "--json", f"{tmp_path}/no/such/x.json"],
        "json is a folder": [str(copy), "--json", str(tmp_path)],
        "draw with an unknown suffix": [str(copy), "--draw", f"{tmp_path}/x.xyz"],
        "draw into a file for several images": [str(copy), str(copy), "--draw", str(existing)],
        "draw into a new file name for several images": [
            str(copy),
            f"{tmp_path}/one",
            "--draw",
            f"{tmp_path}/drawn.jpg",
        ],
        "empty json path": [str(copy), "--json", ""],
        "empty image path": [""],
        "zero threads": [str(copy), "--threads", "0"],
    }[case]
    assert main(["detect", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posenet: error: ") and err.count("\n") == 1, err
    assert copy.read_bytes() == COUPLE.read_bytes()
    assert existing.read_bytes() == b"keep"
    assert (tmp_path / "link.jpg").is_symlink() and (tmp_path / "link.json").is_symlink()
    assert all((model / Path(f.path).name).is_symlink() for f in store.spec("tfjs-075").files)
    assert stat.S_ISFIFO((tmp_path / "fifo.json").stat().st_mode)
    assert not (tmp_path / "drawn.jpg").exists()  # a file name never becomes a folder
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_rerunning_replaces_the_outputs(tmp_path, capsys):
    """Running the same command again is normal: its outputs are replaced, each through a
    temporary file renamed into place, readable like any file (0644 under umask 022)."""
    out_json, folder = tmp_path / "poses.json", tmp_path / "drawn"
    argv = ["detect", str(COUPLE), "--json", str(out_json), "--draw", f"{folder}/"]
    out_json.write_text("from an earlier run")
    old = os.umask(0o022)
    try:
        assert main(argv) == 0
        first = (folder / "test_couple-poses.jpg").read_bytes()
        assert main(argv) == 0
    finally:
        os.umask(old)
    assert len(json.loads(out_json.read_text())[0]["poses"]) == 2
    drawn = folder / "test_couple-poses.jpg"
    assert drawn.read_bytes() == first
    assert stat.S_IMODE(drawn.stat().st_mode) == stat.S_IMODE(out_json.stat().st_mode) == 0o644
    assert sorted(p.name for p in [*tmp_path.iterdir(), *folder.iterdir()]) == [
        "drawn",
        "poses.json",
        "test_couple-poses.jpg",
    ]
    assert capsys.readouterr().err == ""


def test_draw_file_for_one_image_and_a_folder_for_several(tmp_path):
    one, several = tmp_path / "one.png", tmp_path / "several"
    assert main(["detect", str(COUPLE), "--draw", str(one)]) == 0
    assert Image.open(one).format == "PNG"
    assert main(["detect", str(COUPLE), str(IMAGES / "frisbee.jpg"), "--draw", f"{several}/"]) == 0
    assert sorted(p.name for p in several.iterdir()) == [
        "frisbee-poses.jpg",
        "test_couple-poses.jpg",
    ]


def test_the_readme_command_works_offline_twice(tmp_path, monkeypatch, capsys):
    """`./posenet detect samples/test_couple.jpg --draw out/`, as on a fresh clone: no
    mirror, no network, an empty cache; run twice, both people found and drawn."""
    assert SAMPLE.read_bytes() == COUPLE.read_bytes()  # Coral's photo, shipped in samples/
    assert "Apache" in (ROOT / "samples" / "README.md").read_text()
    monkeypatch.delenv("POSENET_MIRROR")
    monkeypatch.setenv("POSENET_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["detect", str(SAMPLE), "--draw", "out/"]) == 0
        captured = capsys.readouterr()
        assert captured.out.startswith(f"{SAMPLE}: 2 pose(s) [0.89, 0.85]")
        assert captured.err == ""
    drawn = np.asarray(Image.open(tmp_path / "out" / "test_couple-poses.jpg")).astype(int)
    changed = np.abs(drawn - np.asarray(Image.open(SAMPLE)).astype(int)).sum(axis=2) > 60
    halves = changed[:, :960].sum(), changed[:, 960:].sum()  # one person on each side
    assert min(halves) > 2000, halves
    # nothing fetched: the cache holds only the default's int8 form, made from the package's
    # own file (model.load caches what it converts, so the next run loads in milliseconds)
    assert [p.name for p in (tmp_path / "empty-cache").iterdir()] == ["built"]


def test_full_decode_reads_the_whole_photo(capsys):
    """By default a big JPEG decodes reduced; --full-decode decodes it in full: the same
    poses as the Python API's draft=False."""
    import posenet

    def poses(*flags: str) -> list[list[float]]:
        assert main(["detect", str(COUPLE), "--json", "-", *flags]) == 0
        found = json.loads(capsys.readouterr().out)[0]["poses"]
        return [[k["x"] for k in pose["keypoints"]] for pose in found]

    full = posenet.Estimator(draft=False).estimate(COUPLE).poses
    expected = [[round(float(x), 2) for x in pose.xy[:, 0]] for pose in full]
    assert poses("--full-decode") == expected
    assert poses() != expected and len(poses()) == 2
