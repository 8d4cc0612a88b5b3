"""`posenet explain`: the PoseNet papers' pictures (heatmaps, offsets, displacements), drawn."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._files import check_output, save_image
from ..errors import PosenetError
from ..heads import Heads
from ..poses import Pose
from .detect import add_model_options, estimator_from_args

if TYPE_CHECKING:  # imported when run, so that `posenet --help` stays fast
    from ..estimator import Estimator


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
    from ..image import load_image

    if args.flip:
        raise PosenetError("--flip does not apply to explain: it draws what the network saw")
    from ..model import given_files

    image = Path(args.image)
    pixels = load_image(image)
    folder = Path(args.out) if args.out else Path(f"explain-{image.stem}")
    outputs = _check_outputs(folder, PANELS, inputs=[image, *given_files(args.model)])
    estimator = estimator_from_args(args)
    fitted, heads, poses = network_view(estimator, pixels)
    title = (
        f"{image.name}  ·  {estimator.model.name}  ·  decoder {estimator.decoder}  ·  "
        f"input {heads.input_size[0]}x{heads.input_size[1]} ({estimator.fit_mode})"
    )
    pictures = explain(fitted, heads, poses, title=title)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PosenetError(f"{folder}: cannot create it ({exc.strerror or exc})") from None
    for name, picture in pictures.items():
        save_image(picture, outputs[name], compress_level=3)
        print(outputs[name])
    return 0


def network_view(estimator: Estimator, pixels: np.ndarray) -> tuple[np.ndarray, Heads, list[Pose]]:
    """The fitted input, its Heads and its poses in INPUT pixels, exactly as `estimator`
    computes them, but not mapped back: explain draws on what the network saw.

    The estimator runs the network itself, so its choice of input size (fixed, or
    `auto` per image) stays its own; the image is then fitted again the same way and
    the heads decoded again (a few milliseconds) for poses before mapping.
    """
    from ..decode import decode
    from ..image import fit

    heads = estimator.estimate(pixels, keep_heads=True).heads
    fitted = fit(pixels, estimator.input_size, estimator.fit_mode, estimator.resample)
    if fitted.pixels.shape[:2] != tuple(heads.input_size):
        raise PosenetError("explain: the estimator's input size changed while running")
    poses = decode(heads, estimator.decoder, **estimator.options)
    return fitted.pixels, heads, poses


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
