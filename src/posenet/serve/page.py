"""The page at `/`: one HTML file in the package, with the drawing tables filled in.

The skeleton, part names and per-person colours are the package's own
(keypoints.py, render.py), written into the page when it is served, so the
page draws what `posenet detect --draw` draws and hard-codes none of it.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from ..keypoints import PART_NAMES, SKELETON
from ..render import PALETTE

_SLOT = "/*POSENET_TABLES*/null"


@functools.cache
def render_page() -> str:
    template = resources.files(__package__).joinpath("page.html").read_text("utf-8")
    tables = {
        "parts": list(PART_NAMES),
        "skeleton": [list(pair) for pair in SKELETON],
        "palette": ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in PALETTE],
    }
    assert _SLOT in template, "page.html lost its tables slot"
    return template.replace(_SLOT, json.dumps(tables))
