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
"""

from ._version import __version__
from .errors import PosenetError
from .estimator import Estimator, EstimatorSettings, estimate
from .fusion import ACCURACY
from .heads import Heads
from .image import Fit, load_image
from .poses import Keypoint, Pose
from .presets import PRESETS
from .result import Result, Timings

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
