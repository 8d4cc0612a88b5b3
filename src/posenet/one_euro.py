"""The One Euro filter: less jitter when still, little lag when moving.

Casiez, Roussel and Vogel (CHI 2012): an exponential low-pass filter whose cutoff
frequency rises with the signal's speed, `cutoff = min_cutoff + beta * |speed|`.
A keypoint that stays put is smoothed hard (its jitter is what moves it); one
that moves fast is followed closely. As in MediaPipe's and TF.js pose-detection's
landmark smoothing, the speed is measured in person sizes per second, so the same
settings suit a person filling the frame and one far away.
"""

from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    """Filters a float[K, 2] array of points over time, one cutoff per point.

    min_cutoff: cutoff (Hz) of a still point; lower smooths more.
    beta: how fast the cutoff rises with speed (per person-size per second).
    d_cutoff: cutoff (Hz) of the low-pass filter on the speed itself.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 1.0, d_cutoff: float = 1.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("One Euro filter: cutoffs must be > 0 and beta >= 0")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def __call__(self, value: np.ndarray, time: float, scale: float = 1.0) -> np.ndarray:
        """The filtered value of `value` (float[K, 2]) observed at `time` seconds.

        scale: the person's size in the value's units (pixels); speeds are divided
        by it. A repeated or earlier timestamp returns the last output unchanged.
        """
        value = np.asarray(value, dtype=np.float64)
        if self._value is None:
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), time
            return value.copy()
        dt = time - self._time
        if dt <= 0:
            return self._value.copy()
        velocity = (value - self._value) / dt
        self._speed += _alpha(dt, self.d_cutoff) * (velocity - self._speed)
        speed = np.hypot(self._speed[..., 0], self._speed[..., 1])[..., None]
        cutoff = self.min_cutoff + self.beta * speed / max(scale, 1e-6)
        self._value += _alpha(dt, cutoff) * (value - self._value)
        self._time = time
        return self._value.copy()


def _alpha(dt: float, cutoff: float | np.ndarray) -> float | np.ndarray:
    """Smoothing factor of an exponential filter with `cutoff` Hz sampled every dt s."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)
