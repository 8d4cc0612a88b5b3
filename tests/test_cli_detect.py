"""`posenet detect` end to end: text, JSON and drawings, folders, and its outputs' safety."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from posenet.cli import main

from .conftest import IMAGES

COUPLE = IMAGES / "test_couple.jpg"


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
        "json over the input even with --force",
        "json and draw to one file",
        "draw name clash",
        "json into a missing folder",
        "json is a folder",
        "draw with an unknown suffix",
        "draw into a file for several images",
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
    argv = {
        "json over the input even with --force": [str(copy), "--json", str(copy), "--force"],
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
        "json is a folder": [str(copy), "--json", str(tmp_path), "--force"],
        "draw with an unknown suffix": [str(copy), "--draw", f"{tmp_path}/x.xyz"],
        "draw into a file for several images": [str(copy), str(copy), "--draw", str(existing)],
        "empty json path": [str(copy), "--json", ""],
        "empty image path": [""],
        "zero threads": [str(copy), "--threads", "0"],
    }[case]
    assert main(["detect", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("posenet: error: ") and err.count("\n") == 1, err
    assert copy.read_bytes() == COUPLE.read_bytes()
    assert existing.read_bytes() == b"keep"
