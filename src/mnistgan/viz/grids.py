"""Image grids: many images on one canvas, optionally labelled row by row.

Grids are laid out by torchvision's ``make_grid`` (so their geometry is the
familiar one: ``nrow * (W + padding) + padding`` pixels wide); labels are drawn
with Pillow's default font onto a margin added to the left (row labels) or top
(column labels), so a labelled grid is exactly the margin larger than a plain one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ..errors import ConfigError
from ._common import _atomic_write, _check_images, _non_negative_int, _positive_int, _to_uint8

__all__ = ["grid_image", "grid_shape", "save_grid", "stack_images"]

_TEXT_PAD = 4  # pixels of blank space on each side of a label


def grid_shape(n: int, *, nrow: int | None = None) -> tuple[int, int]:
    """Rows and columns of the grid of ``n`` images with ``nrow`` images per row.

    ``nrow=None`` picks ``ceil(sqrt(n))``, the most square layout.

    Example:
        >>> grid_shape(16), grid_shape(10, nrow=4), grid_shape(3, nrow=8)
        ((4, 4), (3, 4), (1, 3))
    """
    n = _positive_int(n, "n")
    nrow = _default_nrow(n) if nrow is None else _positive_int(nrow, "nrow")
    cols = min(nrow, n)
    return math.ceil(n / cols), cols


def _default_nrow(n: int) -> int:
    return max(1, math.ceil(math.sqrt(n)))


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default()


def _text_box(text: str) -> tuple[int, int, int, int]:
    box = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=_font())
    left, top, right, bottom = box
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def _label_width(labels: Sequence[str]) -> int:
    """Margin wide enough for the widest label, with a little space on both sides."""
    return max(_text_box(t)[2] for t in labels) + 2 * _TEXT_PAD


def _label_height(labels: Sequence[str]) -> int:
    return max(_text_box(t)[3] for t in labels) + 2 * _TEXT_PAD


def _check_labels(
    labels: Sequence[str] | None, count: int, what: str, unit: str
) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise ConfigError(f"{what} must be a sequence of strings, got {type(labels).__name__}")
    if len(labels) != count:
        raise ConfigError(f"{what} must hold one label per {unit} ({count}), got {len(labels)}")
    return [str(label) for label in labels]


def _ink(pad_value: float) -> int:
    """Text colour that reads on the margin: white on dark, black on light."""
    return 255 if pad_value < 0.5 else 0


def grid_image(
    images: Tensor,
    *,
    nrow: int | None = None,
    padding: int = 2,
    pad_value: float = 0.0,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    label_width: int | None = None,
    label_height: int | None = None,
    scale: int = 1,
) -> Image.Image:
    """Lay images out on one Pillow image, with optional row and column labels.

    Args:
        images: Float images in [0, 1] (or uint8) of shape ``(N, C, H, W)``, C 1 or 3.
        nrow: Images per row; by default ``ceil(sqrt(N))``.
        padding: Pixels between images and around the grid.
        pad_value: Grey level (0 black to 1 white) of the padding and the margins.
        row_labels: One label per row (e.g. ``"epoch 5"``, a class, a value), drawn
            in a left margin.
        col_labels: One label per column, drawn in a top margin.
        label_width: Width of the left margin in pixels; by default just wide enough
            for the longest row label.
        label_height: Height of the top margin; by default one line of text.
        scale: Enlarge the grid (not the margins) by this whole factor, nearest
            neighbour, so digits stay crisp.

    Returns:
        A mode ``"L"`` image for grey images, else ``"RGB"``; its size is the
        grid's ``(nrow * (W + padding) + padding) * scale`` plus ``label_width``
        wide, and likewise high.

    Raises:
        ConfigError: If the images are not ``(N, C, H, W)`` or a label count does
            not match the grid.

    Example:
        >>> import torch
        >>> grid_image(torch.rand(16, 1, 28, 28), nrow=4).size
        (122, 122)
        >>> grid_image(torch.rand(16, 1, 28, 28), nrow=4, row_labels=list("abcd"),
        ...            label_width=30).size
        (152, 122)
    """
    from torchvision.utils import make_grid  # type: ignore[import-untyped,unused-ignore]

    images = _check_images(images)
    padding = _non_negative_int(padding, "padding")
    scale = _positive_int(scale, "scale")
    rows, cols = grid_shape(images.size(0), nrow=nrow)
    row_texts = _check_labels(row_labels, rows, "row_labels", "grid row")
    col_texts = _check_labels(col_labels, cols, "col_labels", "grid column")
    # (N, C, H, W) float in [0, 1]
    images = images.detach().float() if images.is_floating_point() else images.float().div(255)
    grid = make_grid(images.cpu(), nrow=cols, padding=padding, pad_value=pad_value)
    if images.size(0) == 1 and padding:
        # make_grid returns a lone image unpadded; pad it so the geometry is the usual one.
        grid = torch.nn.functional.pad(grid, (padding,) * 4, value=pad_value)
    canvas = Image.fromarray(_to_uint8(grid).numpy())  # (3, gh, gw) -> "L" or "RGB"
    if scale > 1:
        canvas = canvas.resize(
            (canvas.width * scale, canvas.height * scale), Image.Resampling.NEAREST
        )
    left = 0
    if row_texts is not None:
        left = _label_width(row_texts) if label_width is None else label_width
        left = _non_negative_int(left, "label_width")
    top = 0
    if col_texts is not None:
        top = _label_height(col_texts) if label_height is None else label_height
        top = _non_negative_int(top, "label_height")
    if not left and not top:
        return canvas
    fill = round(pad_value * 255)
    background: int | tuple[int, int, int] = fill if canvas.mode == "L" else (fill,) * 3
    out = Image.new(canvas.mode, (canvas.width + left, canvas.height + top), background)
    out.paste(canvas, (left, top))
    draw = ImageDraw.Draw(out)
    grey = _ink(pad_value)
    ink: int | tuple[int, int, int] = grey if canvas.mode == "L" else (grey,) * 3
    cell_h, cell_w = images.size(2), images.size(3)
    for i, text in enumerate(row_texts or ()):
        centre = top + scale * (padding + i * (cell_h + padding) + cell_h / 2)
        _, t, _, b = _text_box(text)
        draw.text((_TEXT_PAD, centre - (t + b) / 2), text, fill=ink, font=_font())
    for j, text in enumerate(col_texts or ()):
        centre = left + scale * (padding + j * (cell_w + padding) + cell_w / 2)
        le, t, r, b = _text_box(text)
        draw.text((centre - (le + r) / 2, (top - (t + b)) / 2), text, fill=ink, font=_font())
    return out


def _save_image(image: Image.Image, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None:
        raise ConfigError(f"cannot tell the image format from {str(path)!r}; use a .png name")

    def write(f: IO[bytes]) -> None:
        image.save(f, format=fmt)

    return _atomic_write(path, write)


def save_grid(
    images: Tensor,
    path: str | os.PathLike[str],
    *,
    nrow: int | None = None,
    padding: int = 2,
    pad_value: float = 0.0,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    label_width: int | None = None,
    label_height: int | None = None,
    scale: int = 1,
) -> Path:
    """Save images ``(N, C, H, W)`` in [0, 1] as one grid picture (see :func:`grid_image`).

    The file is written atomically (a temporary file renamed into place), so a
    viewer never sees half a picture; its format follows the suffix (``.png``).

    Args:
        images: The images.
        path: Output file; its folder is created.
        nrow: Images per row; by default about the square root of N.
        padding: Pixels between images.
        pad_value: Grey level of padding and margins.
        row_labels: One label per row, drawn in a left margin.
        col_labels: One label per column, drawn in a top margin.
        label_width: Left margin in pixels (default: fits the labels).
        label_height: Top margin in pixels (default: one line of text).
        scale: Nearest-neighbour enlargement of the grid.

    Returns:
        The path written.

    Raises:
        ConfigError: On bad images, label counts or an unknown file suffix.

    Example:
        >>> import tempfile, pathlib, torch
        >>> from PIL import Image
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = save_grid(torch.rand(16, 1, 28, 28), pathlib.Path(tmp) / "g.png", nrow=4)
        ...     with Image.open(p) as im:
        ...         im.size
        (122, 122)
    """
    image = grid_image(
        images,
        nrow=nrow,
        padding=padding,
        pad_value=pad_value,
        row_labels=row_labels,
        col_labels=col_labels,
        label_width=label_width,
        label_height=label_height,
        scale=scale,
    )
    return _save_image(image, path)


def stack_images(
    images: Sequence[Image.Image | str | os.PathLike[str]],
    path: str | os.PathLike[str] | None = None,
    *,
    labels: Sequence[str] | None = None,
    label_width: int | None = None,
    gap: int = 4,
    background: int = 0,
) -> Image.Image:
    """Stack pictures (e.g. the sample grids of chosen epochs) top to bottom, labelled.

    Each picture gets its label in a left margin, centred on it — the reference
    figures "samples after epochs 1, 5, 20, 50" are
    ``stack_images([f"samples/epoch_{e:04d}.png" for e in (1, 5, 20, 50)],
    labels=[f"epoch {e}" for e in (1, 5, 20, 50)])``.

    Args:
        images: Pillow images or paths of image files.
        path: Also save the result here (atomically), if given.
        labels: One label per picture.
        label_width: Left margin in pixels (default: fits the labels; 0 without labels).
        gap: Pixels between pictures.
        background: Grey level 0–255 of margins and gaps.

    Returns:
        The stacked image, mode ``"L"`` if every picture is grey, else ``"RGB"``.

    Raises:
        ConfigError: If no pictures are given or the label count differs.

    Example:
        >>> from PIL import Image
        >>> parts = [Image.new("L", (122, 122)), Image.new("L", (62, 62))]
        >>> stack_images(parts, labels=["epoch 1", "epoch 5"], label_width=50).size
        (172, 188)
    """
    if not images:
        raise ConfigError("images must hold at least one picture or path")
    gap = _non_negative_int(gap, "gap")
    opened = [im if isinstance(im, Image.Image) else Image.open(im) for im in images]
    texts = _check_labels(labels, len(opened), "labels", "picture")
    mode = "L" if all(im.mode in ("L", "1") for im in opened) else "RGB"
    opened = [im.convert(mode) for im in opened]
    left = 0
    if texts is not None:
        left = _label_width(texts) if label_width is None else label_width
        left = _non_negative_int(left, "label_width")
    width = left + max(im.width for im in opened)
    height = sum(im.height for im in opened) + gap * (len(opened) - 1)
    fill: int | tuple[int, int, int] = background if mode == "L" else (background,) * 3
    out = Image.new(mode, (width, height), fill)
    draw = ImageDraw.Draw(out)
    grey = _ink(background / 255)
    ink: int | tuple[int, int, int] = grey if mode == "L" else (grey,) * 3
    y = 0
    for i, im in enumerate(opened):
        out.paste(im, (left, y))
        if texts is not None:
            _, t, _, b = _text_box(texts[i])
            xy = (_TEXT_PAD, y + im.height / 2 - (t + b) / 2)
            draw.text(xy, texts[i], fill=ink, font=_font())
        y += im.height + gap
    if path is not None:
        _save_image(out, path)
    return out
