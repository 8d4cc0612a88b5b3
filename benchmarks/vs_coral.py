"""Ours against Coral's own C++ pipeline, in one process, on the same CPU and image.

Coral's pipeline is what its project-posenet `PoseEngine` does: the original
`_quant_decoder.tflite` in LiteRT with Coral's `posenet_decoder.so` running its
PosenetDecoderOp, the image resized with PIL NEAREST to the input size. Ours is
`posenet.Estimator` with its defaults (the int8 form of the same model, fit pad,
TF.js bilinear resize, our Coral decoder, poses mapped back to the photo).
Per input size, interleaved round after round (a noisy neighbour slows both
alike), medians of:

- image -> poses: Coral's pipeline from a decoded PIL image (what PoseEngine
  takes) against ours from the decoded uint8 array (what Estimator takes);
  target ours <= 0.70 x Coral's.
- file -> poses: PIL's full decode + Coral's pipeline against
  `Estimator.estimate(path)` (JPEGs decode reduced where they are at least twice
  the size they fill on the input); target <= 0.75.
- model load: `posenet.model.load()` (name -> runnable bytes; target <= 20 ms)
  and then a ready interpreter, against Coral's interpreter with its delegate.

Both run LiteRT with one thread. `posenet_decoder.so` (x86_64, Apache-2.0) is
Coral's, from ../shared/tools/coral; it is a benchmark tool, never shipped.

    .venv/bin/python benchmarks/vs_coral.py [--runs N] [--image PATH] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ASSETS = Path(os.environ.get("POSENET_ASSETS", SHARED / "assets")).resolve()
if (ASSETS / "models").is_dir():  # offline machines: the shared assets are the store's mirror
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

from ai_edge_litert.interpreter import Interpreter, load_delegate  # noqa: E402

from posenet import store  # noqa: E402
from posenet.bench import machine  # noqa: E402
from posenet.estimator import Estimator  # noqa: E402
from posenet.model import load  # noqa: E402
from posenet.runtime import Runtime  # noqa: E402

SIZES = ((353, 481), (481, 641), (721, 1281))
DEFAULT_IMAGE = ASSETS / "images" / "test_couple.jpg"
DEFAULT_DECODER = SHARED / "tools" / "coral" / "posenet_decoder.so"
TARGETS = {"image": 0.70, "file": 0.75}
LOAD_TARGET_MS = 20.0


class CoralPipeline:
    """Coral's PoseEngine, minus drawing: PIL NEAREST resize, invoke with the decoder op."""

    def __init__(self, model: Path, decoder: Path) -> None:
        self.model, self.decoder = model, decoder
        self.interpreter = self.load()
        detail = self.interpreter.get_input_details()[0]
        self.input_index = detail["index"]
        self.height, self.width = (int(n) for n in detail["shape"][1:3])
        self.outputs = [d["index"] for d in self.interpreter.get_output_details()]

    def load(self) -> Interpreter:
        """As PoseEngine.__init__: the decoder's delegate, then the interpreter from the file
        (LiteRT refuses this delegate on a model given as bytes)."""
        delegate = load_delegate(str(self.decoder))
        interpreter = Interpreter(
            model_path=str(self.model), experimental_delegates=[delegate], num_threads=1
        )
        interpreter.allocate_tensors()
        return interpreter

    def poses(self, image: Image.Image) -> int:
        resized = image.resize((self.width, self.height), Image.Resampling.NEAREST)
        self.interpreter.set_tensor(self.input_index, np.asarray(resized)[np.newaxis])
        self.interpreter.invoke()
        outputs = [self.interpreter.get_tensor(i) for i in self.outputs]
        return int(outputs[3][0])  # keypoints, keypoint scores, pose scores, pose count

    def file_poses(self, path: Path) -> int:
        with Image.open(path) as image:
            return self.poses(image)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="a JPEG photo")
    parser.add_argument("--runs", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--decoder", type=Path, default=DEFAULT_DECODER, help="posenet_decoder.so")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    if not args.decoder.is_file():
        parser.error(f"{args.decoder}: Coral's posenet_decoder.so not found")

    with Image.open(args.image) as opened:
        picture = opened.convert("RGB")
    pixels = np.asarray(picture)
    rows = []
    for size in SIZES:
        name = f"coral-075-{size[0]}x{size[1]}"
        coral = CoralPipeline(store.path(name), args.decoder)
        ours = Estimator(name, threads=1)
        cases: dict[str, Callable[[], object]] = {
            "coral image": lambda c=coral: c.poses(picture),
            "ours image": lambda o=ours: o.estimate(pixels),
            "coral file": lambda c=coral: c.file_poses(args.image),
            "ours file": lambda o=ours: o.estimate(args.image),
            "coral load": lambda c=coral: c.load(),
            "ours load": lambda n=name: load(n),
            "ours ready": lambda n=name: Runtime(load(n).tflite, threads=1),
        }
        found = (coral.poses(picture), len(ours.estimate(pixels).poses))
        times = _interleaved(cases, args.runs)
        rows.append((name, ours.precision, found, times))
        print(f"{name}: done", file=sys.stderr)
    text = _markdown(rows, args, pixels.shape)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


def _interleaved(cases: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median ms of each case, the cases taking turns; two untimed calls each first."""
    for call in cases.values():
        call(), call()
    samples: dict[str, list[float]] = {key: [] for key in cases}
    for _ in range(runs):
        for key, call in cases.items():
            start = time.perf_counter()
            call()
            samples[key].append((time.perf_counter() - start) * 1000)
    return {key: statistics.median(values) for key, values in samples.items()}


def _markdown(rows, args, shape) -> str:
    m = machine()
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {m.cpu} ({m.cores} cores), "
        f"{m.system}; Python {m.python}, LiteRT {m.litert}, posenet {m.posenet}.",
        "",
        f"Image `{args.image.name}` ({shape[1]}x{shape[0]}), 1 LiteRT thread each, median of "
        f"{args.runs} interleaved rounds, times in ms; ratio = ours / Coral's.",
        "",
        "| model | ours runs | poses (Coral, ours) | image -> poses: Coral | ours | ratio "
        "| file -> poses: Coral | ours | ratio | load: Coral | ours (bytes) | ours (ready) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, precision, found, t in rows:
        image = t["ours image"] / t["coral image"]
        file = t["ours file"] / t["coral file"]
        lines.append(
            f"| {name} | {precision} | {found[0]}, {found[1]} "
            f"| {t['coral image']:.1f} | {t['ours image']:.1f} | **{image:.2f}** "
            f"| {t['coral file']:.1f} | {t['ours file']:.1f} | **{file:.2f}** "
            f"| {t['coral load']:.1f} | {t['ours load']:.1f} | {t['ours ready']:.1f} |"
        )
    worst = {key: max(t[f"ours {key}"] / t[f"coral {key}"] for *_, t in rows) for key in TARGETS}
    load_ms = max(t["ours load"] for *_, t in rows)
    verdict = {True: "met", False: "MISSED"}
    lines += [
        "",
        f"Targets: image -> poses <= {TARGETS['image']} "
        f"({verdict[worst['image'] <= TARGETS['image']]}, worst {worst['image']:.2f}); "
        f"file -> poses <= {TARGETS['file']} "
        f"({verdict[worst['file'] <= TARGETS['file']]}, worst {worst['file']:.2f}); "
        f"model load <= {LOAD_TARGET_MS:.0f} ms "
        f"({verdict[load_ms <= LOAD_TARGET_MS]}, worst {load_ms:.1f} ms).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
