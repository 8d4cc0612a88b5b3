"""Compare models and decoders in one run: speed on test_couple, COCO AP on the 4 test images.

Every (model, decoder) pair gets its own estimator; after a warm-up the
estimators take turns on the same image, round after round, so a noisy
neighbour on a shared machine slows them all alike and the ratios hold even
when the milliseconds drift. The result is a small Markdown table, dated and
naming the machine, printed and optionally written to --out for the README.
Models whose format this build cannot read yet are listed as skipped.

    .venv/bin/python benchmarks/compare.py [--runs N] [--threads N] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():  # offline machines: the shared assets are the store's mirror
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

from posenet import evaluate, store  # noqa: E402  (after the mirror is set)
from posenet.bench import STAGES, Spread, machine  # noqa: E402
from posenet.decode import DECODERS  # noqa: E402
from posenet.errors import PosenetError  # noqa: E402
from posenet.estimator import Estimator  # noqa: E402
from posenet.files import check_output, write_atomic  # noqa: E402
from posenet.image import load_image  # noqa: E402

MODELS: tuple[str, ...] = ("coral-075-353x481", "coral-075-481x641", "tfjs-075")
DEFAULT_IMAGE = ASSETS / "images" / "test_couple.jpg"
DEFAULT_COCO = ASSETS / "images" / "coco"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="image to time on")
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls each (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads (default 1)")
    parser.add_argument("--models", nargs="+", default=MODELS, metavar="NAME")
    parser.add_argument("--decoders", nargs="+", default=list(DECODERS), choices=list(DECODERS))
    parser.add_argument(
        "--coco", type=Path, default=DEFAULT_COCO, help="folder with test_coco.json and images"
    )
    parser.add_argument("--no-ap", action="store_true", help="skip the COCO AP column")
    parser.add_argument(
        "--out", type=Path, help="also write the Markdown table to this file (replaced)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.out:
        try:
            check_output(args.out, inputs=[args.image])
        except PosenetError as exc:
            parser.error(str(exc))

    image = load_image(args.image)
    estimators, skipped = _estimators(args.models, args.decoders, args.threads)
    if not estimators:
        print("nothing to measure: " + "; ".join(skipped), file=sys.stderr)
        return 1
    poses, timings = _interleaved(estimators, image, args.runs, args.warmup)
    ap, ap_note = ({}, "") if args.no_ap else _coco_ap(estimators, args.coco)

    text = _markdown(estimators, poses, timings, ap, ap_note, skipped, args, image.shape)
    print(text)
    if args.out:
        write_atomic(args.out, (text + "\n").encode())
    return 0


def _estimators(
    models: list[str], decoders: list[str], threads: int
) -> tuple[list[Estimator], list[str]]:
    """One estimator per (model, decoder); models this build cannot read are skipped."""
    estimators, skipped = [], []
    for name in models:
        try:
            estimators += [Estimator(name, decoder=d, threads=threads) for d in decoders]
        except PosenetError as exc:
            cache = str(store.home() / "models") + os.sep  # machine-specific: keep it out
            skipped.append(f"{name}: {str(exc).replace(cache, '')}")
    return estimators, skipped


def _interleaved(
    estimators: list[Estimator], image, runs: int, warmup: int
) -> tuple[list[int], list[dict[str, Spread]]]:
    """Per estimator, poses found and the spread of each stage over `runs` rounds in turns."""
    poses = [len(estimator.estimate(image).poses) for estimator in estimators]
    for estimator in estimators:
        for _ in range(warmup):  # the first call above paid compilation and weight packing
            estimator.estimate(image)
    samples = [{stage: [] for stage in STAGES} for _ in estimators]
    for _ in range(runs):
        for estimator, sample in zip(estimators, samples, strict=True):
            timings = estimator.estimate(image).timings
            for stage in STAGES:
                sample[stage].append(getattr(timings, stage))
    return poses, [{stage: Spread.of(values) for stage, values in s.items()} for s in samples]


def _coco_ap(estimators: list[Estimator], folder: Path) -> tuple[dict[int, float], str]:
    """COCO keypoint AP of each estimator on the small annotated set, if it can be scored."""
    try:
        evaluate.require_pycocotools()
        dataset = evaluate.load_annotations(folder / "test_coco.json")
    except PosenetError as exc:
        return {}, f"AP column left out: {exc}"
    ap = {}
    for i, estimator in enumerate(estimators):
        predictions = evaluate.predict(estimator, dataset, folder)
        ap[i] = evaluate.score(dataset, predictions.results).ap
    note = (
        f"AP: COCO keypoint AP (OKS 0.50:0.95) on the {len(dataset.images)} val2017 images of "
        f"`test_coco.json` ({dataset.people} people), fit pad: a smoke test, not a COCO result."
    )
    return ap, note


def _markdown(estimators, poses, timings, ap, ap_note, skipped, args, shape) -> str:
    """The dated table, machine line first, decoder options and notes after."""
    m = machine()
    today = datetime.date.today().isoformat()
    numba = f"numba {m.numba}" if m.numba else "no numba"
    header = ["model", "input", "decoder", "poses", "preprocess", "invoke", "decode", "total"]
    header += ["total p90", "fps"] + (["AP"] if ap else [])
    lines = [
        f"Measured {today} on {m.cpu} ({m.cores} cores), {m.system}; Python {m.python}, "
        f"LiteRT {m.litert}, numpy {m.numpy}, {numba}, posenet {m.posenet}.",
        "",
        f"Image `{args.image.name}` ({shape[1]}x{shape[0]}), {args.threads} LiteRT "
        f"thread(s), median of {args.runs} interleaved rounds after {args.warmup} warm-up "
        "calls, times in ms. Figures are for this machine; compare ratios.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|",
    ]
    for i, (estimator, spread) in enumerate(zip(estimators, timings, strict=True)):
        h, w = estimator.input_size
        row = [estimator.model_name, f"{h}x{w}", estimator.decoder, str(poses[i])]
        row += [f"{spread[s].median * 1000:.2f}" for s in STAGES]
        row += [f"{spread['total'].p90 * 1000:.2f}", f"{1 / spread['total'].median:.1f}"]
        row += [f"{ap[i]:.3f}"] if ap else []
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    options = []
    for decoder in dict.fromkeys(e.decoder for e in estimators):
        first = next(e for e in estimators if e.decoder == decoder)
        merged = {**DECODERS[decoder].defaults, **first.decoder_options}
        shown = ", ".join(f"{k} {_short(v)}" for k, v in merged.items()) or "none"
        embedded = DECODERS[decoder].takes_model_options and first.decoder_options
        source = " (from the Coral model)" if embedded else ""
        options.append(f"{decoder}: {shown}{source}")
    lines.append("Decoder options: " + "; ".join(options) + ".")
    if ap_note:
        lines.append(ap_note)
    for note in skipped:
        lines.append(f"Skipped {note}")
    return "\n".join(lines)


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
