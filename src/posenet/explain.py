"""The pictures of the PoseNet papers and blog posts, made for one image and its Heads.

PoseNet's result is easier to trust, and its failures easier to understand, when
one can see what the network actually produced: where each keypoint's heatmap
lights up, how the short-range offsets pull grid cells onto the keypoint, and how
the mid-range displacements hop from one keypoint to the next along the pose chain
(PersonLab, arXiv:1803.08225, figures 2-3; the TF.js PoseNet blog post).

Everything here is drawn in model-input pixels, on the fitted image the network
saw, so a grid cell's centre is exactly `cell * stride` and a vector is drawn
exactly as the decoders read it. The functions are pure — arrays in, PIL images
out, no files — so tests can check pixels; `posenet explain` does the I/O.
Drawing lives apart from the core: nothing in the estimation path imports it.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import PosenetError
from .heads import Heads
from .keypoints import EDGE_CHILDREN, EDGE_PARENTS, NUM_EDGES, NUM_KEYPOINTS, PART_NAMES
from .poses import Pose
from .render import draw_poses

#: The big panels, in the order the contact sheet shows them.
MAIN_PANELS: tuple[str, ...] = (
    "poses",
    "heatmap-all",
    "offsets",
    "displacements-fwd",
    "displacements-bwd",
)
#: One heatmap panel per keypoint, in model channel order.
HEATMAP_PANELS: tuple[str, ...] = tuple(f"heatmap-{name}" for name in PART_NAMES)
#: Every image `explain` returns, in order; the names are also the file names.
PANELS: tuple[str, ...] = (*MAIN_PANELS, *HEATMAP_PANELS, "sheet")

#: Matt Zucker's degree-6 polynomial fit of matplotlib's perceptually uniform
#: "inferno" map (shadertoy WlfXRN): rgb(t) = sum c_i t^i, rows c_0 ... c_6.
_INFERNO_POLYNOMIAL = np.array(
    [
        [0.0002189403691192265, 0.001651004631001012, -0.01948089843709184],
        [0.1065134194856116, 0.5639564367884091, 3.932712388889277],
        [11.60249308247187, -3.972853965665698, -15.9423941062914],
        [-41.70399613139459, 17.43639888205313, 44.35414519872813],
        [77.162935699427, -33.40235894210092, -81.80730925738993],
        [-71.31942824499214, 32.62606426397723, 73.20951985803202],
        [25.13112622477341, -12.24266895238567, -23.07032500287172],
    ]
)


def _inferno_table() -> np.ndarray:
    t = np.linspace(0.0, 1.0, 256)[:, None]
    rgb = np.zeros((256, 3))
    for coefficients in _INFERNO_POLYNOMIAL[::-1]:  # Horner's rule
        rgb = rgb * t + coefficients
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


#: uint8[256, 3] colour map for scores in [0, 1]: black -> purple -> orange ->
#: pale yellow, lightness rising steadily, so the brightest colour is the highest score.
INFERNO: np.ndarray = _inferno_table()


def _part_colors() -> tuple[tuple[int, int, int], ...]:
    """One saturated colour per keypoint; hues stepped by 7/17 of the wheel so that
    neighbours in the channel order (left/right eye, ...) get far-apart hues."""
    colors = []
    for k in range(NUM_KEYPOINTS):
        r, g, b = colorsys.hsv_to_rgb((k * 7 % NUM_KEYPOINTS) / NUM_KEYPOINTS, 0.75, 1.0)
        colors.append((round(r * 255), round(g * 255), round(b * 255)))
    return tuple(colors)


#: Arrow colour per keypoint: an arrow has the colour of the keypoint it points to.
PART_COLORS: tuple[tuple[int, int, int], ...] = _part_colors()

#: How much of the photo shows under the drawings (0 black, 1 unchanged): dim and
#: grey enough that heat colours and arrows stand out, bright enough to see the person.
_BASE_BRIGHTNESS = 0.5
#: Scores from this value up paint the heat colour opaque: then the photo cannot shift
#: a pixel's brightness, and a confident peak is exactly the brightest point.
_OPAQUE_FROM = 0.5
_GRID_DOT = (110, 110, 110)
_MARKER = (255, 255, 255)


def explain(
    image: np.ndarray,
    heads: Heads,
    poses: Sequence[Pose],
    *,
    min_keypoint_score: float = 0.2,
    offset_radius: float = 2.0,
    title: str = "",
) -> dict[str, Image.Image]:
    """All the pictures for one image, by name (see PANELS), the contact sheet last.

    image: [H, W, 3], the fitted model input (Result.input: uint8, or float32 pixel
        values for float models, rounded here to be drawn); (H, W) must be heads.input_size.
    heads: the network's outputs for that input.
    poses: decoded poses in input pixels (as the decoders return them, not mapped back).
    min_keypoint_score: keypoints below it get no vectors (the threshold render uses).
    offset_radius: offsets are drawn for the cells within this many cells of a keypoint.
    title: the contact sheet's heading (image, model, decoder ...).
    """
    if isinstance(image, np.ndarray) and image.dtype == np.float32:
        image = np.clip(np.floor(image + np.float32(0.5)), 0, 255).astype(np.uint8)
    _check(image, heads)
    stride = heads.output_stride
    grid_scores = heads.scores()
    per_pixel = upsample_grid(
        np.concatenate([grid_scores, grid_scores.max(axis=2, keepdims=True)], axis=2),
        stride,
        heads.input_size,
    )
    grey = _dimmed_grey(image)
    panels: dict[str, Image.Image] = {"poses": draw_poses(image, poses, min_keypoint_score)}
    panels["heatmap-all"] = _overlay(grey, per_pixel[NUM_KEYPOINTS])
    panels["offsets"] = offsets_panel(
        image, heads, poses, radius=offset_radius, min_keypoint_score=min_keypoint_score
    )
    for direction in ("fwd", "bwd"):
        panels[f"displacements-{direction}"] = displacements_panel(
            image, heads, poses, direction, min_keypoint_score=min_keypoint_score
        )
    for k, name in enumerate(HEATMAP_PANELS):
        panels[name] = _overlay(grey, per_pixel[k])

    peaks = grid_scores.reshape(-1, NUM_KEYPOINTS).max(axis=0)
    labels = {
        "poses": f"decoded poses ({len(poses)})",
        "heatmap-all": f"heatmaps, max over keypoints (peak {peaks.max():.2f})",
        "offsets": f"short-range offsets, cells within {offset_radius:g} of a keypoint",
        "displacements-fwd": "mid-range displacements, forward (parent -> child)",
        "displacements-bwd": "mid-range displacements, backward (child -> parent)",
    }
    for k, name in enumerate(PART_NAMES):
        labels[HEATMAP_PANELS[k]] = f"{name}  (peak {peaks[k]:.2f})"
    notes = [f"pose {i + 1}: score {pose.score:.2f}" for i, pose in enumerate(poses[:6])]
    if len(poses) > 6:
        notes.append(f"... and {len(poses) - 6} more")
    notes.append(f"grid {heads.grid_size[0]}x{heads.grid_size[1]}, stride {stride}")
    panels["sheet"] = contact_sheet(panels, labels, title=title, notes=notes)
    return {name: panels[name] for name in PANELS}


def _check(image: np.ndarray, heads: Heads) -> None:
    heads.validate()
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        raise PosenetError(
            "explain: image must be a uint8 or float32 [H, W, 3] array (the fitted input)"
        )
    if image.shape[2] != 3 or image.shape[:2] != tuple(heads.input_size):
        raise PosenetError(
            f"explain: image is {image.shape[0]}x{image.shape[1]}, but the heads are for a "
            f"{heads.input_size[0]}x{heads.input_size[1]} input; pass the fitted input image"
        )


# -- heatmaps -------------------------------------------------------------------------


def upsample_grid(grid: np.ndarray, stride: int, size: tuple[int, int]) -> np.ndarray:
    """Grid values float32[h, w, C] at every pixel of a (height, width) input: float32[C, H, W].

    Pixel (y, x) samples the grid bilinearly at (y / stride, x / stride), clamped
    to the last cell: the value at pixel `cell * stride` is that cell's own value,
    and between cell centres it is a blend, never higher than the cells around it.
    So the brightest pixel of a heatmap is exactly a grid cell's centre. Channels
    come first in the result because each becomes one picture.
    """
    values = np.asarray(grid, dtype=np.float32)
    if values.ndim == 2:
        values = values[:, :, None]
    rows = _lerp_last_axis(values.transpose(2, 1, 0), stride, size[0])  # [C, w, H]
    return _lerp_last_axis(rows.transpose(0, 2, 1), stride, size[1])  # [C, H, W]


def _lerp_last_axis(values: np.ndarray, stride: int, count: int) -> np.ndarray:
    """Linear interpolation along the last axis, from cells to `count` pixels.

    Pixel `j * stride + r` lies between cells j and j + 1 with weight r / stride, so
    the whole axis is one broadcast expression (no gathers); pixels past the last
    cell centre repeat the last cell.
    """
    cells = values.shape[-1]
    fraction = np.arange(stride, dtype=np.float32) / stride
    low, high = values[..., :-1, None], values[..., 1:, None]
    inner = (low + (high - low) * fraction).reshape(*values.shape[:-1], (cells - 1) * stride)
    out = np.empty((*values.shape[:-1], count), np.float32)
    covered = min(count, inner.shape[-1])
    out[..., :covered] = inner[..., :covered]
    out[..., covered:] = values[..., -1:]
    return out


def heatmap_overlay(image: np.ndarray, scores: np.ndarray, stride: int) -> Image.Image:
    """One heatmap over the image: grid scores float32[h, w] in [0, 1], upsampled.

    Each pixel shows the INFERNO colour of its score over a dimmed grey copy of the
    photo, fading in from score 0 and opaque from _OPAQUE_FROM up; so the peak of a
    confident keypoint is the brightest point, whatever the photo is like there.
    """
    per_pixel = upsample_grid(scores, stride, image.shape[:2])[0]
    return _overlay(_dimmed_grey(image), per_pixel)


def _dimmed_grey(image: np.ndarray) -> np.ndarray:
    """uint8[H, W]: the photo's luma, dimmed to _BASE_BRIGHTNESS."""
    grey = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.round(grey * _BASE_BRIGHTNESS).astype(np.uint8)


def _dimmed_rgb(image: np.ndarray) -> Image.Image:
    return Image.fromarray(np.repeat(_dimmed_grey(image)[:, :, None], 3, axis=2), "RGB")


@cache
def _blend_table() -> np.ndarray:
    """uint8[256 * 256, 3]: entry (level * 256 + grey) is INFERNO[level] laid over grey
    with opacity min(1, score / _OPAQUE_FROM) — one table lookup per pixel instead of
    float blending."""
    score = np.arange(256, dtype=np.float32)[:, None, None] / 255
    alpha = np.minimum(1.0, score / _OPAQUE_FROM)
    grey = np.arange(256, dtype=np.float32)[None, :, None]
    mixed = grey + (INFERNO.astype(np.float32)[:, None, :] - grey) * alpha
    return np.round(mixed).astype(np.uint8).reshape(256 * 256, 3)


def _overlay(grey: np.ndarray, scores: np.ndarray) -> Image.Image:
    """grey: uint8[H, W] dimmed photo; scores: float32[H, W] in [0, 1]."""
    levels = (np.clip(scores, 0.0, 1.0) * 255 + 0.5).astype(np.uint16)
    return Image.fromarray(np.take(_blend_table(), (levels << 8) | grey, axis=0), "RGB")


# -- vectors --------------------------------------------------------------------------


def offsets_panel(
    image: np.ndarray,
    heads: Heads,
    poses: Sequence[Pose],
    *,
    radius: float = 2.0,
    min_keypoint_score: float = 0.2,
) -> Image.Image:
    """Short-range offsets around each decoded keypoint, as the decoders read them.

    For each keypoint of each pose (score >= min_keypoint_score), the cells within
    `radius` cells of its nearest cell each get an arrow from the cell centre
    `cell * stride` to `cell * stride + offset(cell, keypoint)`, in the keypoint's
    colour: where the network is right, the arrows converge on the keypoint.
    Faint dots mark every cell centre; white rings mark the decoded keypoints.
    """
    stride = heads.output_stride
    rows, cols = heads.grid_size
    canvas = _dimmed_rgb(image)
    pen = ImageDraw.Draw(canvas)
    for y in range(rows):
        for x in range(cols):
            pen.point((x * stride, y * stride), fill=_GRID_DOT)
    reach = int(np.floor(radius))
    window = [
        (dy, dx)
        for dy in range(-reach, reach + 1)
        for dx in range(-reach, reach + 1)
        if dy * dy + dx * dx <= radius * radius
    ]
    cells: set[tuple[int, int, int]] = set()
    for pose in poses:
        for k in _confident(pose, min_keypoint_score):
            cy, cx = _nearest_cell(pose.xy[k], stride, heads.grid_size)
            for dy, dx in window:
                if 0 <= cy + dy < rows and 0 <= cx + dx < cols:
                    cells.add((k, cy + dy, cx + dx))
    width = _line_width(image)
    for k, cy, cx in sorted(cells):
        start = (cx * stride, cy * stride)
        offset_y, offset_x = heads.offsets[cy, cx, k], heads.offsets[cy, cx, NUM_KEYPOINTS + k]
        end = (start[0] + float(offset_x), start[1] + float(offset_y))
        draw_arrow(pen, start, end, PART_COLORS[k], width)
    _rings(pen, poses, min_keypoint_score, width)
    return canvas


def displacements_panel(
    image: np.ndarray,
    heads: Heads,
    poses: Sequence[Pose],
    direction: str,
    *,
    min_keypoint_score: float = 0.2,
) -> Image.Image:
    """Mid-range displacements along the pose chain, one arrow per edge and pose.

    direction `fwd`: from each parent keypoint to parent + displacement_fwd of the
    edge, sampled at the parent's nearest cell — where the network expects the
    child; `bwd`: from each child towards its parent. Arrows have the colour of the
    keypoint they point to and start from keypoints scoring >= min_keypoint_score;
    the decoded keypoints are dots of the same colours, so one sees how close each
    hop lands before the short-range offsets refine it.
    """
    if direction == "fwd":
        field, sources, targets = heads.displacements_fwd, EDGE_PARENTS, EDGE_CHILDREN
    elif direction == "bwd":
        field, sources, targets = heads.displacements_bwd, EDGE_CHILDREN, EDGE_PARENTS
    else:
        raise PosenetError(f"explain: direction must be fwd or bwd, got {direction!r}")
    stride = heads.output_stride
    canvas = _dimmed_rgb(image)
    pen = ImageDraw.Draw(canvas)
    width = _line_width(image) + 1
    dot = width + 2
    for pose in poses:
        for k in _confident(pose, min_keypoint_score):
            x, y = (float(v) for v in pose.xy[k])
            pen.ellipse((x - dot, y - dot, x + dot, y + dot), fill=PART_COLORS[k], outline=_MARKER)
    for pose in poses:
        for e in range(NUM_EDGES):
            source, target = int(sources[e]), int(targets[e])
            if pose.scores[source] < min_keypoint_score:
                continue
            x, y = (float(v) for v in pose.xy[source])
            cy, cx = _nearest_cell(pose.xy[source], stride, heads.grid_size)
            dy, dx = float(field[cy, cx, e]), float(field[cy, cx, NUM_EDGES + e])
            draw_arrow(pen, (x, y), (x + dx, y + dy), PART_COLORS[target], width)
    return canvas


def draw_arrow(
    pen: ImageDraw.ImageDraw,
    start: tuple[float, float],
    end: tuple[float, float],
    color: tuple[int, int, int],
    width: int = 1,
) -> None:
    """An arrow from start to end (x, y): a dot at the tail, a filled head at the tip.

    The head scales with the line but never takes more than 40% of a short arrow,
    so even one-cell offsets keep a visible shaft. Arrows under a pixel long are
    not drawn: there is no direction to show.
    """
    (x0, y0), (x1, y1) = start, end
    length = float(np.hypot(x1 - x0, y1 - y0))
    if length < 1.0:
        return
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    head = min(3.0 + 2.5 * width, 0.4 * length)
    half = 0.55 * head
    bx, by = x1 - ux * head, y1 - uy * head
    shaft_end = (x1 - ux * head * 0.5, y1 - uy * head * 0.5)
    pen.line([(x0, y0), shaft_end], fill=color, width=width)
    pen.polygon(
        [(x1, y1), (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)],
        fill=color,
    )
    tail = 0.5 + 0.5 * width
    pen.ellipse((x0 - tail, y0 - tail, x0 + tail, y0 + tail), fill=color)


def _confident(pose: Pose, min_score: float) -> list[int]:
    return [k for k in range(NUM_KEYPOINTS) if pose.scores[k] >= min_score]


def _nearest_cell(xy: np.ndarray, stride: int, grid: tuple[int, int]) -> tuple[int, int]:
    """(row, col) of the cell whose centre is nearest to (x, y), clamped to the grid."""
    x, y = float(xy[0]), float(xy[1])
    row = min(max(round(y / stride), 0), grid[0] - 1)
    col = min(max(round(x / stride), 0), grid[1] - 1)
    return row, col


def _rings(pen: ImageDraw.ImageDraw, poses: Sequence[Pose], min_score: float, width: int) -> None:
    r = 3 + width
    for pose in poses:
        for k in _confident(pose, min_score):
            x, y = (float(v) for v in pose.xy[k])
            pen.ellipse((x - r, y - r, x + r, y + r), outline=_MARKER, width=1)


def _line_width(image: np.ndarray) -> int:
    """1 px on PoseNet's usual inputs (up to ~600 px), thicker on big ones."""
    return max(1, round(max(image.shape[:2]) / 600))


# -- contact sheet --------------------------------------------------------------------

_SHEET_BACKGROUND = (22, 22, 26)
_TEXT = (235, 235, 235)
_DIM_TEXT = (160, 160, 170)
_MARGIN, _GAP, _LABEL, _HEADER = 16, 12, 20, 34
_BIG_COLUMNS, _SMALL_COLUMNS, _BIG_WIDTH = 3, 6, 512
_INNER_WIDTH = _BIG_COLUMNS * _BIG_WIDTH + (_BIG_COLUMNS - 1) * _GAP
_SMALL_WIDTH = (_INNER_WIDTH - (_SMALL_COLUMNS - 1) * _GAP) // _SMALL_COLUMNS


@dataclass(frozen=True)
class SheetLayout:
    """Where everything goes on the contact sheet.

    size: (width, height) of the sheet.
    boxes: (left, top, right, bottom) of each tile's picture, by panel name, plus
        `legend` (part colours and notes) and `colorbar` (the heatmap scale).
    """

    size: tuple[int, int]
    boxes: dict[str, tuple[int, int, int, int]]


def sheet_layout(panel_size: tuple[int, int]) -> SheetLayout:
    """The contact sheet's layout for panels of (width, height) pixels.

    Two rows of three big tiles (the five main panels and a legend), then the 17
    keypoint heatmaps and the colour bar six to a row; each tile has a label strip
    above it and keeps the panels' aspect ratio.
    """
    width, height = panel_size
    big = [*MAIN_PANELS, "legend"]
    small = [*HEATMAP_PANELS, "colorbar"]
    boxes: dict[str, tuple[int, int, int, int]] = {}
    top = _MARGIN + _HEADER
    for names, columns, tile_width in (
        (big, _BIG_COLUMNS, _BIG_WIDTH),
        (small, _SMALL_COLUMNS, _SMALL_WIDTH),
    ):
        tile_height = max(1, round(tile_width * height / width))
        for i, name in enumerate(names):
            row, column = divmod(i, columns)
            left = _MARGIN + column * (tile_width + _GAP)
            y = top + row * (_LABEL + tile_height + _GAP) + _LABEL
            boxes[name] = (left, y, left + tile_width, y + tile_height)
        rows = -(-len(names) // columns)
        top += rows * (_LABEL + tile_height + _GAP)
    return SheetLayout((_INNER_WIDTH + 2 * _MARGIN, top - _GAP + _MARGIN), boxes)


def contact_sheet(
    panels: Mapping[str, Image.Image],
    labels: Mapping[str, str],
    *,
    title: str = "",
    notes: Sequence[str] = (),
) -> Image.Image:
    """Every panel on one page, each scaled into its tile of sheet_layout with its
    label above it, plus a legend of the part colours (with `notes`) and the
    heatmap colour bar — so one file tells the whole story."""
    size = next(iter(panels.values())).size
    layout = sheet_layout(size)
    sheet = Image.new("RGB", layout.size, _SHEET_BACKGROUND)
    pen = ImageDraw.Draw(sheet)
    pen.text((_MARGIN, _MARGIN), title or "posenet explain", fill=_TEXT, font=_font(18))
    label_font = _font(13)
    for name, (left, top, right, bottom) in layout.boxes.items():
        if name in panels:
            tile = panels[name].resize(
                (right - left, bottom - top), Image.Resampling.BICUBIC, reducing_gap=2.0
            )
            sheet.paste(tile, (left, top))
        label = labels.get(name, name)
        if name == "legend":
            label = "colour = keypoint an arrow points to"
            _legend(pen, (left, top, right, bottom), notes)
        elif name == "colorbar":
            label = "heatmap colour = keypoint score"
            _colorbar(sheet, pen, (left, top, right, bottom))
        text = _fit_text(label, label_font, right - left)
        pen.text((left, top - _LABEL + 3), text, fill=_TEXT, font=label_font)
    return sheet


def _legend(pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int], notes: Sequence[str]) -> None:
    left, top, right, bottom = box
    pen.rectangle(box, outline=(60, 60, 68))
    font = _font(13)
    columns = 2
    per_column = -(-NUM_KEYPOINTS // columns)
    line = min(20, max(12, (bottom - top - 16) // (per_column + 1)))
    column_width = (right - left - 16) // columns
    for k, name in enumerate(PART_NAMES):
        column, row = divmod(k, per_column)
        x = left + 10 + column * column_width
        y = top + 8 + row * line
        if y + line > bottom:
            break
        pen.rectangle((x, y + 2, x + 22, y + line - 6), fill=PART_COLORS[k])
        pen.text((x + 30, y), name, fill=_TEXT, font=font)
    y = top + 8 + per_column * line + 6
    for note in notes:
        if y + line > bottom:
            break
        pen.text((left + 10, y), note, fill=_DIM_TEXT, font=font)
        y += line


def _colorbar(sheet: Image.Image, pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    pen.rectangle(box, outline=(60, 60, 68))
    bar_left, bar_right = left + 14, right - 14
    bar_top = top + (bottom - top) // 3
    bar_bottom = bar_top + max(10, (bottom - top) // 4)
    ramp = INFERNO[np.linspace(0, 255, bar_right - bar_left).round().astype(np.intp)]
    bar = np.repeat(ramp[None], bar_bottom - bar_top, axis=0)
    sheet.paste(Image.fromarray(bar, "RGB"), (bar_left, bar_top))
    font = _font(12)
    for value in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = bar_left + value * (bar_right - bar_left - 1)
        pen.line([(x, bar_bottom), (x, bar_bottom + 4)], fill=_TEXT)
        text = f"{value:g}"
        w = pen.textlength(text, font=font)
        x_text = min(max(x - w / 2, left + 2), right - 2 - w)
        pen.text((x_text, bar_bottom + 6), text, fill=_TEXT, font=font)
    captions = ("sigmoid of the heatmap logit", f"see-through below {_OPAQUE_FROM:g}")
    for i, caption in enumerate(captions):
        text = _fit_text(caption, font, right - bar_left - 4)
        pen.text((bar_left, bar_bottom + 24 + 16 * i), text, fill=_DIM_TEXT, font=font)


def _fit_text(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    """The text, cut with '...' if it would not fit in `width` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "...") > width:
        text = text[:-1]
    return text + "..."


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


__all__ = [
    "HEATMAP_PANELS",
    "INFERNO",
    "MAIN_PANELS",
    "PANELS",
    "PART_COLORS",
    "SheetLayout",
    "contact_sheet",
    "displacements_panel",
    "draw_arrow",
    "explain",
    "heatmap_overlay",
    "offsets_panel",
    "sheet_layout",
    "upsample_grid",
]
