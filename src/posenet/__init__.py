"""PoseNet human pose estimation on an ordinary CPU.

>>> import posenet
>>> result = posenet.estimate("people.jpg")          # default model, Coral decoder
>>> estimator = posenet.Estimator("tfjs-075", decoder="tfjs")
>>> tfjs = posenet.Estimator(like="tfjs")              # TF.js PoseNet 2.x end to end
>>> for pose in estimator.estimate("people.jpg").poses: ...
>>> for result in estimator.stream(frames): ...       # any iterable of images, in order

`__all__` is the public API. Beside it, these modules are public, each with its own
`__all__`: posenet.batch, posenet.files, posenet.render, posenet.explain, posenet.bench,
posenet.evaluate, posenet.fusion, posenet.inspection, posenet.export and posenet.store.

The public names are imported on first use (PEP 562), so `import posenet.cli` costs
milliseconds, not the 0.4 s of numpy, Pillow and numba: the command answers Ctrl-C
with one line from its very start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import PosenetError

if TYPE_CHECKING:
    from .estimator import Estimator, EstimatorSettings, estimate
    from .fusion import ACCURACY
    from .heads import Heads
    from .image import Fit, load_image
    from .poses import Keypoint, Pose
    from .presets import PRESETS
    from .result import Result, Timings

#: Public name -> the module defining it.
_LAZY: dict[str, str] = {
    "ACCURACY": ".fusion",
    "Estimator": ".estimator",
    "EstimatorSettings": ".estimator",
    "estimate": ".estimator",
    "Heads": ".heads",
    "Fit": ".image",
    "load_image": ".image",
    "Keypoint": ".poses",
    "Pose": ".poses",
    "PRESETS": ".presets",
    "Result": ".result",
    "Timings": ".result",
}

__all__ = [
    "ACCURACY",
    "PRESETS",
    "Estimator",
    "EstimatorSettings",
    "Fit",
    "Heads",
    "Keypoint",
    "Pose",
    "PosenetError",
    "Result",
    "Timings",
    "__version__",
    "estimate",
    "load_image",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
