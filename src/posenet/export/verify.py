"""How far an exported model strays from its reference: heads error and pose distance.

An export is only worth shipping if it still finds the same people in the
same places, so `export` runs every file it writes beside a reference on one
image and reports two numbers: the largest absolute difference per head
(when both grids have the same size) and, after decoding both with the same
decoder, the mean keypoint distance from each person the reference finds to
the nearest pose of the export. Distances are in the export's input pixels;
a reference at another input size (the K210 float model is checked against
the k * stride + 1 size next to it) is scaled over, as both saw the same
image stretched to their input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..decode import DEFAULT_DECODER, decode
from ..heads import Heads
from ..poses import Pose

__all__ = ["PERSON_SCORE", "Check", "check", "head_errors", "person_distances"]

#: A reference pose with at least this score counts as a person to find.
PERSON_SCORE = 0.5

_HEADS = ("heatmap", "offsets", "displacements_fwd", "displacements_bwd")


@dataclass(frozen=True)
class Check:
    """One exported model beside one reference, on one image.

    label: what was compared ("int8 TFLite vs float32 TFLite").
    image: the image's name.
    head_errors: max |export - reference| per head (heatmap in logits, the
        others in pixels); empty when the grids differ.
    people: persons the reference found (poses scoring >= PERSON_SCORE).
    poses: poses the export found with that score.
    distances: per reference person, the mean distance (export input pixels)
        of its 17 keypoints to the nearest export pose; inf if it found none.
    """

    label: str
    image: str
    head_errors: dict[str, float]
    people: int
    poses: int
    distances: tuple[float, ...]

    @property
    def mean_distance(self) -> float:
        """Mean keypoint distance over the reference's people (nan when there were none)."""
        return float(np.mean(self.distances)) if self.distances else float("nan")

    def line(self) -> str:
        """One line for the CLI."""
        parts = [f"{self.label} on {self.image}:"]
        if self.head_errors:
            errors = ", ".join(f"{name} {value:.3g}" for name, value in self.head_errors.items())
            parts.append(f"heads max error {errors};")
        parts.append(f"people {self.poses}/{self.people}")
        if self.distances:
            parts.append(f"mean keypoint distance {self.mean_distance:.2f} px")
        return " ".join(parts)


def head_errors(reference: Heads, candidate: Heads) -> dict[str, float]:
    """Max absolute difference per head; {} when the grids have different sizes."""
    if reference.grid_size != candidate.grid_size:
        return {}
    return {
        name.removeprefix("displacements_"): float(
            np.abs(getattr(candidate, name) - getattr(reference, name)).max()
        )
        for name in _HEADS
    }


def person_distances(
    reference: Sequence[Pose], candidate: Sequence[Pose], min_score: float = PERSON_SCORE
) -> tuple[float, ...]:
    """Per reference pose scoring >= min_score, mean keypoint distance to the nearest candidate.

    Poses must be in the same pixels. Nearest means the smallest mean distance
    over the 17 keypoints; a candidate may serve two people (it would then be
    far from one of them, which the number shows). inf when there is no candidate.
    """
    distances = []
    for person in reference:
        if person.score < min_score:
            continue
        if not candidate:
            distances.append(float("inf"))
            continue
        distances.append(
            min(float(np.linalg.norm(person.xy - pose.xy, axis=1).mean()) for pose in candidate)
        )
    return tuple(distances)


def check(
    reference: Heads,
    candidate: Heads,
    *,
    label: str,
    image: str,
    decoder: str = DEFAULT_DECODER,
    min_score: float = PERSON_SCORE,
) -> Check:
    """Compare candidate heads with reference heads of the same image.

    Both are decoded with `decoder` (its default options); reference poses are
    scaled from the reference's input pixels to the candidate's.
    """
    scale = (
        candidate.input_size[1] / reference.input_size[1],
        candidate.input_size[0] / reference.input_size[0],
    )
    wanted = [pose.mapped(scale, (0.0, 0.0)) for pose in decode(reference, decoder)]
    found = decode(candidate, decoder)
    return Check(
        label=label,
        image=image,
        head_errors=head_errors(reference, candidate),
        people=sum(pose.score >= min_score for pose in wanted),
        poses=sum(pose.score >= min_score for pose in found),
        distances=person_distances(wanted, found, min_score),
    )
