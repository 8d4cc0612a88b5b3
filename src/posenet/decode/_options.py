"""Decoder options: the allowed values of each, and the one check that reads them.

Every decoder module declares `OPTION_RANGES`, option name -> `Range`, one
entry per keyword-only parameter of its decoding function. `check_ranges`
writes every error from that table and `Range.__str__` describes it for help
texts, so neither can drift from the other.

The upper bounds keep the worst case fast (well under a second on a 1025 x
1025 input at output stride 8): the candidate search costs cells times the
window area, soft NMS grows with the square of the pose count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import PosenetError

__all__ = ["MAX_DETECTIONS", "NMS_RADIUS", "SCORE_THRESHOLD", "Range", "check_ranges"]


@dataclass(frozen=True)
class Range:
    """The allowed values of one option: from `lowest` to `highest`, both included.

    whole: integers only (Python or numpy); otherwise any real number. bool is
    never accepted, NaN and infinities always fall outside.
    """

    lowest: float
    highest: float
    whole: bool = False

    def admits(self, value: object) -> bool:
        """True if `value` is of the right kind and within the range."""
        if isinstance(value, bool | np.bool_):
            return False
        kinds = (int, np.integer) if self.whole else (int, float, np.integer, np.floating)
        return isinstance(value, kinds) and bool(self.lowest <= value <= self.highest)

    def __str__(self) -> str:
        kind = "an integer" if self.whole else "a number"
        return f"{kind} in [{self.lowest:g}, {self.highest:g}]"


def check_ranges(decoder: str, ranges: Mapping[str, Range], options: Mapping[str, object]) -> None:
    """Raise a one-line PosenetError for the first of `options` outside its range.

    Names missing from `ranges` are not checked here (`Decoder.check`
    refuses unknown names). `options` is only read.
    """
    for name, value in options.items():
        allowed = ranges.get(name)
        if allowed is not None and not allowed.admits(value):
            raise PosenetError(f"decoder {decoder}: {name} must be {allowed}, got {value!r}")


#: Most poses a multi-pose decoder returns: far more people than a frame holds.
MAX_DETECTIONS = Range(0, 100, whole=True)
#: A probability.
SCORE_THRESHOLD = Range(0.0, 1.0)
#: In input pixels; 10000 exceeds the diagonal of the largest input (4097 x 4097),
#: so every radius that can make a difference is allowed.
NMS_RADIUS = Range(0.0, 10000.0)
