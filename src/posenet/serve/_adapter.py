"""Until issue #12 lands: the slice of its public API the service uses, over today's Estimator.

EstimatorSettings as plan/API.md names it, whose build() gives a thread-safe
estimator: a pool of today's (single-threaded) Estimators, one per concurrent
caller, and Results that carry their Timings. Deleted when posenet.EstimatorSettings
exists.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass, field, replace
from typing import Any

from ..estimator import Estimator


@dataclass(frozen=True)
class Timings:
    load: float
    preprocess: float
    invoke: float
    decode: float

    @property
    def total(self) -> float:
        return self.preprocess + self.invoke + self.decode


@dataclass(frozen=True)
class EstimatorSettings:
    model: str | None = None
    size: str | None = None
    stride: int | None = None
    decoder: str = "coral"
    decoder_options: tuple[tuple[str, int | float], ...] = ()
    fit: str = "pad"
    resample: str = "bilinear"
    flip_horizontal: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.decoder_options, dict):
            object.__setattr__(self, "decoder_options", tuple(sorted(self.decoder_options.items())))

    def replace(self, **changes: Any) -> EstimatorSettings:
        return replace(self, **changes)

    def build(self) -> _PooledEstimator:
        return _PooledEstimator(self)


@dataclass(frozen=True)
class _Result:
    result: Any
    timings: Timings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.result, name)

    def to_dict(self, image: str | None = None) -> dict:
        return self.result.to_dict(image)


@dataclass
class _PooledEstimator:
    settings: EstimatorSettings
    _idle: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    def __post_init__(self) -> None:
        self._idle.put(self._new())  # the first one checks the settings, here

    def _new(self) -> Estimator:
        s = self.settings
        return Estimator(
            s.model,
            size=s.size,
            stride=s.stride,
            decoder=s.decoder,
            decoder_options=dict(s.decoder_options),
            fit=s.fit,
            resample=s.resample,
            flip_horizontal=s.flip_horizontal,
            threads=s.threads,
        )

    def _any(self) -> Estimator:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._new()

    @property
    def model_name(self) -> str:
        return self._peek().model.name

    @property
    def input_size(self) -> tuple[int, int]:
        return self._peek().input_size

    @property
    def output_stride(self) -> int:
        return self._peek().runtime.output_stride

    def _peek(self) -> Estimator:
        estimator = self._any()
        self._idle.put(estimator)
        return estimator

    def estimate(self, image: Any) -> _Result:
        estimator = self._any()
        try:
            result = estimator.estimate(image)
            t = estimator.timings
            return _Result(result, Timings(0.0, t.preprocess, t.invoke, t.decode))
        finally:
            self._idle.put(estimator)
