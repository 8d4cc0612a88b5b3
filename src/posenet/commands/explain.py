"""`posenet explain`: the PoseNet papers' pictures (heatmaps, offsets, displacements), drawn."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import PosenetError, load_image
from ..files import check_output, save_image
from .detect import add_model_options, estimator_from_args, settings_from_args


def register(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain",
        help="draw what the network saw: heatmaps, offset and displacement vectors, poses",
        description=(
            "Draw, on the fitted image the network saw, each keypoint's heatmap, the "
            "short-range offsets around each keypoint, the mid-range displacements along "
            "the pose chain, the decoded poses, and a contact sheet of them all (PNG files)."
        ),
    )
    explain.add_argument("image", metavar="IMAGE", help="an image file")
    add_model_options(explain)
    explain.add_argument(
        "--out",
        metavar="DIR",
        help="folder for the PNG files, created if missing; files of an earlier run are "
        "replaced (default ./explain-<image stem>)",
    )
    explain.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..explain import PANELS, explain

    if args.flip:
        raise PosenetError("--flip does not apply to explain: it draws what the network saw")
    image = Path(args.image)
    pixels = load_image(image)
    folder = Path(args.out) if args.out else Path(f"explain-{image.stem}")
    model_files = settings_from_args(args).model_files()
    outputs = _check_outputs(folder, PANELS, inputs=[image, *model_files])
    estimator = estimator_from_args(args)
    # One estimate: the fitted input, its heads and the poses before mapping back.
    result = estimator.estimate(pixels, keep=True)
    height, width = result.input_size
    title = (
        f"{image.name}  ·  {result.model}  ·  decoder {result.decoder}  ·  "
        f"input {height}x{width} ({result.fit.mode})"
    )
    pictures = explain(result.input, result.heads, result.input_poses, title=title)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PosenetError(f"{folder}: cannot create it ({exc.strerror or exc})") from None
    for name, picture in pictures.items():
        save_image(picture, outputs[name], compress_level=3)
        print(outputs[name])
    return 0


def _check_outputs(folder: Path, names: tuple[str, ...], *, inputs: list[Path]) -> dict[str, Path]:
    """Each picture's file, checked before any work is done: the folder is a folder,
    and no picture would replace an input or anything but a regular file."""
    if folder.exists() and not folder.is_dir():
        raise PosenetError(f"{folder}: exists and is not a folder")
    outputs = {name: folder / f"{name}.png" for name in names}
    if folder.is_dir():
        for path in outputs.values():
            check_output(path, inputs=inputs)
    return outputs
