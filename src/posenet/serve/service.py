"""The service without HTTP: the configured models, request options -> settings, image -> JSON.

Only models named in the configuration are served, each by its name, and only
the sizes configured; a request's options are checked against that set and the
decoder's own option table (`posenet.decode`) before any work is queued, so a
request can name neither a file nor a model outside the set. Estimators are built
once per settings and shared by every worker thread (the Estimator is
re-entrant); the few option combinations clients ask for beyond the defaults are
kept in a small LRU cache.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..decode import DECODERS
from ..errors import PosenetError
from ..estimator import Estimator, EstimatorSettings
from ..image import ImageTooLarge
from ..sizes import resolve_size
from .config import ServeConfig
from .errors import ServiceError
from .workers import WorkerPool

if TYPE_CHECKING:
    from ..decode._options import Range

#: Estimators kept beyond each model's default one (built for other options or sizes).
EXTRA_ESTIMATORS = 8

#: Query options besides the decoder's own (listed by decoder in posenet.decode).
BASE_OPTIONS = ("model", "size", "decoder")

_INTEGER = re.compile(r"^[+-]?\d+$")


@functools.cache
def decoder_options() -> dict[str, dict[str, tuple[Any, Range]]]:
    """decoder name -> its options -> (default, allowed values): the decoder registry's
    own tables (posenet.decode.DECODERS), for the checks, /v1/models and OpenAPI."""
    return {
        name: {option: (default, d.option_ranges[option]) for option, default in d.defaults.items()}
        for name, d in DECODERS.items()
    }


@dataclass(frozen=True)
class ServedModel:
    """One configured model: its name in requests, its settings, the sizes it is offered at."""

    name: str
    settings: EstimatorSettings  # size = the model's own
    sizes: tuple[str, ...]  # "HxW", smallest first
    default_size: str  # the model's own
    output_stride: int


class Service:
    """The configured models, their estimators and the worker threads that run them."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.models: dict[str, ServedModel] = {}
        self.pool = WorkerPool(config.workers, config.queue)
        self._estimators: OrderedDict[EstimatorSettings, Estimator] = OrderedDict()
        self._pinned: set[EstimatorSettings] = set()
        self._build_lock = threading.Lock()

    # --- the configured set -------------------------------------------------------------

    def load(self) -> None:
        """Build every configured model's default estimator: a bad model name, size or
        decoder stops the server at start, and the first request is not slowed."""
        for spec in self.config.models:
            base = EstimatorSettings(
                model=spec, decoder=self.config.decoder, threads=self.config.threads
            )
            estimator = base.build()
            own = _size_text(estimator.input_size)
            settings = base.replace(size=own)
            name = Path(spec).name  # a path's folders are the server's business
            if name in self.models:
                raise PosenetError(f"model {name!r} is configured twice")
            sizes = [own]
            for text in self.config.sizes:
                size = _size_text(resolve_size(text, estimator.output_stride))
                if size not in sizes:
                    sizes.append(size)
            sizes.sort(key=_area)
            self.models[name] = ServedModel(
                name, settings, tuple(sizes), own, estimator.output_stride
            )
            self._estimators[settings] = estimator
            self._pinned.add(settings)

    @property
    def default_model(self) -> ServedModel:
        return next(iter(self.models.values()))

    def describe(self) -> dict[str, Any]:
        """What GET /v1/models answers: the models, their sizes, the decoders and options."""
        return {
            "models": [
                {
                    "name": m.name,
                    "default": m is self.default_model,
                    "sizes": list(m.sizes),
                    "default_size": m.default_size,
                    "output_stride": m.output_stride,
                }
                for m in self.models.values()
            ],
            "decoders": {
                name: {
                    option: {"default": default, "allowed": str(allowed)}
                    for option, (default, allowed) in options.items()
                }
                for name, options in decoder_options().items()
            },
            "default_decoder": self.config.decoder,
        }

    # --- request options -> settings ----------------------------------------------------

    def settings_for(self, query: Iterable[tuple[str, str]]) -> EstimatorSettings:
        """The estimator settings a request's query options ask for, or ServiceError 400.

        query: the (name, value) pairs of the query string, repeats included."""
        options: dict[str, str] = {}
        for key, value in query:
            if key in options:
                raise ServiceError(400, f"option {key!r} is given twice")
            options[key] = value
        decoder = options.pop("decoder", None) or self.config.decoder
        if decoder not in decoder_options():
            raise ServiceError(
                400, f"unknown decoder {decoder!r}; choose one of {', '.join(decoder_options())}"
            )
        model_name = options.pop("model", None) or self.default_model.name
        model = self.models.get(model_name)
        if model is None:
            raise ServiceError(
                400,
                f"model {model_name!r} is not served here; served: {', '.join(self.models)}",
            )
        size = options.pop("size", None) or model.default_size
        if size not in model.sizes:
            raise ServiceError(
                400,
                f"size {size!r} is not offered for {model.name}; offered: {', '.join(model.sizes)}",
            )
        accepted = decoder_options()[decoder]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ServiceError(
                400,
                f"unknown option {', '.join(unknown)}; decoder {decoder} takes "
                f"{', '.join(accepted) or 'no options'}, and every request "
                f"{', '.join(BASE_OPTIONS)}",
            )
        given = {name: _number(name, text) for name, text in options.items()}
        try:  # the settings check the options' values (the decoder's own ranges)
            return model.settings.replace(size=size, decoder=decoder, decoder_options=given)
        except PosenetError as exc:
            raise ServiceError(400, str(exc)) from None

    # --- the work -----------------------------------------------------------------------

    async def estimate(
        self, settings: EstimatorSettings, data: bytes, deadline: float, image: str | None = None
    ) -> str:
        """The JSON answer for one encoded image, computed in a worker thread."""
        answer, waited = await self.pool.run(
            lambda: self._answer(settings, data, image), deadline, self.config.timeout
        )
        answer["timings"]["queue"] = round(waited * 1000, 2)
        return json.dumps(answer)

    def _answer(self, settings: EstimatorSettings, data: bytes, image: str | None) -> dict:
        estimator = self._estimator(settings)
        started = time.perf_counter()
        try:
            # as the CLI reads a file: a big JPEG decodes reduced (Estimator.read)
            pixels = estimator.read(data, max_pixels=self.config.max_pixels)
        except ImageTooLarge as exc:
            raise ServiceError(413, str(exc)) from None
        except PosenetError as exc:
            raise ServiceError(400, str(exc)) from None
        loaded = time.perf_counter() - started
        result = estimator.estimate(pixels)
        t = result.timings
        answer = result.to_dict(image)
        answer["decoder"] = settings.decoder
        answer["size"] = settings.size
        answer["timings"] = {
            name: round(seconds * 1000, 2)
            for name, seconds in (
                ("load", loaded),
                ("preprocess", t.preprocess),
                ("invoke", t.invoke),
                ("decode", t.decode),
            )
        }
        return answer

    def _estimator(self, settings: EstimatorSettings) -> Estimator:
        """The shared estimator for `settings`, built on first use (in a worker thread)."""
        with self._build_lock:
            estimator = self._estimators.get(settings)
            if estimator is None:
                estimator = settings.build()
                self._estimators[settings] = estimator
                extras = [s for s in self._estimators if s not in self._pinned]
                if len(extras) > EXTRA_ESTIMATORS:
                    del self._estimators[extras[0]]
            self._estimators.move_to_end(settings)
            return estimator

    def shutdown(self) -> None:
        self.pool.shutdown()


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def _area(size: str) -> int:
    height, width = size.split("x")
    return int(height) * int(width)


def _number(name: str, text: str) -> int | float:
    """A query value as the decoder option it names: whole numbers stay int."""
    try:
        return int(text) if _INTEGER.match(text.strip()) else float(text)
    except ValueError:
        raise ServiceError(400, f"option {name}={text!r} is not a number") from None


def query_options(service: Service) -> Mapping[str, str]:
    """Every query option a request may give, with a one-line description."""
    described = {
        "model": f"one of the served models (default {service.default_model.name})",
        "size": "network input size HxW, one of the model's sizes (default: the model's own)",
        "decoder": f"one of {', '.join(decoder_options())} (default {service.config.decoder})",
    }
    for decoder, options in decoder_options().items():
        for option, (default, allowed) in options.items():
            line = f"{decoder}: {allowed}, default {default}"
            described[option] = f"{described[option]}; {line}" if option in described else line
    return described
