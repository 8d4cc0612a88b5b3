"""Helpers for tests: Coral heads of test_couple, reference CSV rows."""

from __future__ import annotations

import csv
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from posenet.heads import Heads
from posenet.keypoints import COCO_NAMES
from posenet.runtime import Runtime
from posenet.tflite.flatbuffer import cut_posenet_decoder, read_model, write_model

from .conftest import IMAGES, REFERENCE, coral_model


@cache
def coral_heads(size: str) -> tuple[Heads, dict]:
    """Heads of test_couple through a Coral model, fed as Coral's reference was
    (PIL NEAREST stretch to the input size), and the model's decoder options."""
    cut, options = cut_posenet_decoder(read_model(coral_model(size).read_bytes()))
    runtime = Runtime(write_model(cut), threads=1)
    h, w = runtime.input_size
    image = Image.open(IMAGES / "test_couple.jpg").convert("RGB").resize((w, h), Image.NEAREST)
    return runtime.run(np.asarray(image)), options


def coral_reference(size: str) -> list[dict]:
    """Coral's reference poses: [{score, xy[17,2], scores[17]}] in model-input pixels."""
    path = REFERENCE / "coral" / f"posenet_mobilenet_v1_075_{size}_quant_decoder_reference.csv"
    poses: dict[int, dict] = {}
    with Path(path).open() as f:
        for row in csv.DictReader(f):
            pose = poses.setdefault(
                int(row["pose_id"]),
                {
                    "score": float(row["pose_score"]),
                    "xy": np.zeros((17, 2)),
                    "scores": np.zeros(17),
                },
            )
            k = COCO_NAMES.index(row["keypoint_label"].lower())
            pose["xy"][k] = float(row["keypoint_x"]), float(row["keypoint_y"])
            pose["scores"][k] = float(row["keypoint_score"])
    return [poses[i] for i in sorted(poses)]


def poses_built_from(settings, image) -> list[tuple[list, list, float]]:
    """Poses of `image` by an estimator built from `settings`, as plain lists: for
    another process (multiprocessing spawn imports this module, not the tests)."""
    return [
        (p.xy.tolist(), p.scores.tolist(), p.score) for p in settings.build().estimate(image).poses
    ]


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A real, valid 1-bit PNG of width x height black pixels: a few hundred KB on disk,
    `width * height` pixels once decoded (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


#: Headless Debian chromium as root on a machine with a closed network: without the
#: background-networking flags it keeps trying (and failing) to reach Google's hosts.
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
