"""COCO keypoint AP of settings side by side: input type, output stride and geometry.

The figures behind two defaults (README, "Accuracy"): what a float model is fed
(float pixels or pixels rounded to uint8) and the geometry of a re-targeted
output stride (keep the source's tap spacing, or POSENET.md's atrous rule). Each
row is one Estimator run over both image sets, scored by pycocotools as
`posenet eval` scores them:

- dev: ../shared/assets/dev/coco_train2017 (28 COCO train2017 images; the weights
  probably saw them, so absolute AP is optimistic: compare rows, not papers);
- coco: ../shared/assets/images/coco (4 val2017 images, 12 people: a smoke test).

    .venv/bin/python benchmarks/eval_settings.py [--only input|stride] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("POSENET_ASSETS", ROOT.parent / "shared" / "assets")).resolve()
if (ASSETS / "models").is_dir():  # offline machines: the shared assets are the store's mirror
    os.environ.setdefault("POSENET_MIRROR", str(ASSETS / "models"))

from posenet import evaluate  # noqa: E402  (after the mirror is set)
from posenet.estimator import Estimator  # noqa: E402

SETS: dict[str, tuple[Path, Path]] = {
    "dev": (
        ASSETS / "dev" / "coco_train2017" / "person_keypoints_train2017.json",
        ASSETS / "dev" / "coco_train2017" / "images",
    ),
    "coco": (ASSETS / "images" / "coco" / "test_coco.json", ASSETS / "images" / "coco"),
}

SIZE = "353x481"  # k * 32 + 1 both ways: the same input at strides 8, 16 and 32

#: experiment -> rows of Estimator keyword arguments
EXPERIMENTS: dict[str, list[dict[str, Any]]] = {
    "input": [
        {"like": like, "model": model, "decoder": decoder, "input_type": input_type, "size": SIZE}
        for like, model, decoder in (
            (None, "tfjs-075", "coral"),
            (None, "tfjs-075", "tfjs"),
            ("tfjs", "tfjs-075", "tfjs"),
            (None, "bodypix-float-050", "coral"),
            (None, "bodypix-float-050", "tfjs"),
        )
        for input_type in ("float", "uint8")
    ],
    "stride": [
        {"model": model, "stride": stride, "geometry": geometry, "decoder": decoder, "size": SIZE}
        for model in ("tfjs-075", "coral-075-353x481")
        for decoder in ("coral", "tfjs")
        for stride, geometry in (
            (16, "source"),
            (8, "source"),
            (8, "atrous"),
            (32, "source"),
            (32, "atrous"),
        )
    ],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=EXPERIMENTS, help="run one experiment")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads (default 1)")
    parser.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    evaluate.require_pycocotools()
    datasets = {name: evaluate.load_annotations(paths[0]) for name, paths in SETS.items()}
    text = [f"Measured {datetime.date.today().isoformat()}; COCO keypoint AP (OKS 0.50:0.95)."]
    for name, rows in EXPERIMENTS.items():
        if args.only and name != args.only:
            continue
        text += ["", f"### {name}", "", _header(rows[0])]
        for row in rows:
            aps = []
            estimator = Estimator(threads=args.threads, **row)
            for set_name, (_, images) in SETS.items():
                predictions = evaluate.predict(estimator, datasets[set_name], images)
                aps.append(evaluate.score(datasets[set_name], predictions.results).ap)
            line = _line(row, aps)
            print(line, flush=True)
            text.append(line)
    print("\n".join(text))
    if args.out:
        args.out.write_text("\n".join(text) + "\n")
    return 0


def _header(row: dict[str, Any]) -> str:
    keys = list(row)
    return "\n".join(
        [
            "| " + " | ".join(keys + [f"AP {name}" for name in SETS]) + " |",
            "|" + "---|" * (len(keys) + len(SETS)),
        ]
    )


def _line(row: dict[str, Any], aps: list[float]) -> str:
    return "| " + " | ".join([str(v) for v in row.values()] + [f"{ap:.3f}" for ap in aps]) + " |"


if __name__ == "__main__":
    sys.exit(main())
