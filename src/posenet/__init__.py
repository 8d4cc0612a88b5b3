"""PoseNet human pose estimation on an ordinary CPU.

>>> import posenet
>>> result = posenet.estimate("people.jpg")          # default model, Coral decoder
>>> estimator = posenet.Estimator("tfjs-075", decoder="tfjs")
>>> for pose in estimator.estimate("people.jpg").poses: ...
"""

from ._version import __version__
from .errors import PosenetError
from .estimator import Estimator, Result, estimate
from .heads import Heads
from .poses import Keypoint, Pose

__all__ = [
    "Estimator",
    "Heads",
    "Keypoint",
    "Pose",
    "PosenetError",
    "Result",
    "__version__",
    "estimate",
]
