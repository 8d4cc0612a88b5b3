"""`posenet export`: a model as TFLite (float32, float16, int8, uint8) or for the Kendryte K210."""

from __future__ import annotations

import argparse

from .. import EstimatorSettings

SIZE_FORMS = EstimatorSettings.SIZE_FORMS


def register(commands: argparse._SubParsersAction) -> None:
    from ..export import FORMATS, QUANTIZATIONS

    export = commands.add_parser(
        "export",
        help="write a model for the edge (TFLite, K210 kmodel) and check it on an image",
        description="Formats: "
        + "; ".join(f"{name}: {text}" for name, text in FORMATS.items())
        + ". Quantizations: "
        + "; ".join(f"{name}: {text}" for name, text in QUANTIZATIONS.items())
        + ".",
    )
    export.add_argument("model", metavar="MODEL", help="model name or file (any format read)")
    export.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="file to write (replaced if it exists; never an input)",
    )
    export.add_argument(
        "--format", default="tflite", metavar="FORMAT", help=f"{' | '.join(FORMATS)} (tflite)"
    )
    export.add_argument(
        "--quantize",
        default="none",
        metavar="TYPE",
        help=f"{' | '.join(QUANTIZATIONS)} (none; tflite only)",
    )
    export.add_argument("--size", metavar="SIZE", help=f"input size: {SIZE_FORMS}")
    export.add_argument("--stride", type=int, metavar="N", help="output stride 8, 16 or 32")
    export.add_argument(
        "--calibration",
        metavar="DIR",
        help="calibration images for int8 / uint8 / k210 (default $POSENET_CALIBRATION)",
    )
    export.add_argument(
        "--check-image", metavar="IMAGE", help="image for the checks (default: first calibration)"
    )
    export.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export import export

    result = export(
        args.model,
        args.output,
        format=args.format,
        size=args.size,
        output_stride=args.stride,
        quantize=args.quantize,
        calibration=args.calibration,
        check_image=args.check_image,
    )
    height, width = result.input_size
    for note in result.notes:
        print(f"note: {note}")
    for path in result.files:
        size = path.stat().st_size / 1e6
        print(
            f"wrote {path} ({size:.2f} MB): {result.model} at {height}x{width}, "
            f"output stride {result.output_stride}"
        )
    if result.kmodel is not None:
        for line in result.kmodel.summary():
            print(f"kmodel: {line}")
    for check in result.checks:
        print(f"check: {check.line()}")
    return 0
