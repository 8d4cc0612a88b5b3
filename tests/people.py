"""Finding the two people of test_couple: the Coral reference poses as ground truth."""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

from posenet.poses import Pose
from posenet.runtime import Runtime
from posenet.tflite.build import build_tflite

from .conftest import IMAGES
from .helpers import coral_reference

#: The reference CSV's input size (height, width): test_couple stretched with PIL NEAREST.
REFERENCE_SIZE = (353, 481)


@cache
def couple_stretched(height: int, width: int) -> np.ndarray:
    """test_couple resized to (height, width) without keeping the aspect ratio, as Coral's was."""
    image = Image.open(IMAGES / "test_couple.jpg").convert("RGB")
    return np.asarray(image.resize((width, height), Image.NEAREST))


def run_network(network, size: tuple[int, int], stride: int):
    """Heads of test_couple through network built at size and stride."""
    return Runtime(build_tflite(network, size, stride), threads=1).run(couple_stretched(*size))


def match_people(poses: list[Pose], size: tuple[int, int]) -> list[tuple[int, float]]:
    """For each reference person: (index of the nearest pose, median keypoint distance in px).

    Distances are in the input pixels of `size`; the reference is scaled to it.
    An index of -1 means no pose was decoded at all.
    """
    scale = np.array([size[1] / REFERENCE_SIZE[1], size[0] / REFERENCE_SIZE[0]])
    found = []
    for person in coral_reference("_".join(map(str, REFERENCE_SIZE))):
        target = person["xy"] * scale
        distances = [np.median(np.linalg.norm(p.xy - target, axis=1)) for p in poses]
        if not distances:
            found.append((-1, float("inf")))
            continue
        best = int(np.argmin(distances))
        found.append((best, float(distances[best])))
    return found


def assert_finds_both(poses: list[Pose], size: tuple[int, int], max_px: float) -> list[float]:
    """Both reference people matched by two different poses, each within max_px (median)."""
    found = match_people(poses, size)
    indices = [i for i, _ in found]
    assert -1 not in indices and len(set(indices)) == 2, found
    assert all(px <= max_px for _, px in found), found
    return [px for _, px in found]
