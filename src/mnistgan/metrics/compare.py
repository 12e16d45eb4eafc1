"""Score several inputs side by side: what ``mnistgan eval`` runs, as functions.

:func:`score_inputs` evaluates each :class:`~mnistgan.metrics.ImageInput` (from
:func:`~mnistgan.metrics.load_images`) against the shipped MNIST test statistics, and
optionally checks it for memorised training images; :func:`comparison_table`,
:func:`comparison_csv` and :func:`comparison_json` lay the results out next to the
real-data floor, and :func:`write_report` draws them as a standalone HTML page or a
PNG figure (sample grid, per-digit bars, the metrics table).

Example:
    >>> import torch
    >>> from mnistgan.metrics import ImageInput
    >>> images = torch.rand(300, 1, 28, 28)
    >>> scored = score_inputs([ImageInput("noise", "tensor", images)], kid_subsets=2,
    ...                       device="cpu")
    >>> print(comparison_table(scored).splitlines()[0])
    metric                       noise (n=300)  real floor
    >>> scored[0].metrics["recall"]  # uniform noise covers none of the real digits
    0.0

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import base64
import csv
import html
import io
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import torch

from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics.classifier import FEATURE_DIM
from mnistgan.metrics.copies import MemorisationResult, memorisation
from mnistgan.metrics.evaluate import (
    _LABELS,
    METRIC_KEYS,
    REAL_FLOOR,
    _cell,
    _label,
    evaluate,
    format_table,
)
from mnistgan.metrics.inputs import ImageInput

__all__ = [
    "MIN_IMAGES",
    "ScoredInput",
    "comparison_columns",
    "comparison_csv",
    "comparison_json",
    "comparison_table",
    "score_inputs",
    "write_report",
]

logger = logging.getLogger(__name__)

MIN_IMAGES: Final = FEATURE_DIM + 1
"""Fewest images :func:`score_inputs` scores: the Fréchet distance needs more images than
the classifier has features (129); KID needs 2, precision/recall 4, density/coverage 6."""

_ROWS: Final[tuple[str, ...]] = (
    "fd",
    "fd_train",
    *METRIC_KEYS[1:],
    "label_accuracy",
    *(f"class_{i}" for i in range(10)),
    *(f"fd_class_{i}" for i in range(10)),
    "copies",
    "nn_distance",
    "train_nn_distance",
    "copy_threshold",
)


@dataclass(frozen=True)
class ScoredInput:
    """One input's metrics.

    Attributes:
        input: What was scored.
        metrics: :func:`~mnistgan.metrics.evaluate`'s result, plus the memorisation
            keys (``copies``, ``nn_distance``, ``train_nn_distance``,
            ``copy_threshold``) when the check ran.
        memorisation: The memorisation result, or ``None``.
    """

    input: ImageInput
    metrics: dict[str, float]
    memorisation: MemorisationResult | None = None


def _check_count(inp: ImageInput) -> None:
    if len(inp) < MIN_IMAGES:
        raise DataError(
            f"{inp.name}: {len(inp)} images are too few: the Fréchet distance needs at least "
            f"{MIN_IMAGES} (more than the classifier's {FEATURE_DIM} features), precision and "
            "recall need 4, density and coverage 6; 10,000 is standard and what the real "
            "floor is measured with"
        )


def score_inputs(
    inputs: Sequence[ImageInput],
    *,
    memorise: bool = False,
    root: str | os.PathLike[str] | None = None,
    seed: int = 0,
    kid_subsets: int = 100,
    batch_size: int = 500,
    device: str | torch.device = "auto",
) -> list[ScoredInput]:
    """Evaluate each input against the shipped statistics of the MNIST test set.

    Args:
        inputs: What :func:`~mnistgan.metrics.load_images` read.
        memorise: Also run :func:`~mnistgan.metrics.memorisation` (needs the MNIST
            training images on disk).
        root: MNIST folder for the memorisation check.
        seed: Seed of KID's subsets.
        kid_subsets: KID subset pairs.
        batch_size: Images per forward pass of the classifier.
        device: Where the classifier runs.

    Returns:
        One :class:`ScoredInput` per input, in order.

    Raises:
        DataError: If an input has fewer than :data:`MIN_IMAGES` images.
    """
    if not inputs:
        raise ConfigError("inputs is empty: pass at least one ImageInput")
    for inp in inputs:
        _check_count(inp)
    train = None
    if memorise:
        from mnistgan.metrics.copies import _train_images

        train = _train_images(root)
    scored = []
    for inp in inputs:
        if len(inp) < 10000:
            logger.info(
                "%s: %d images; the real floor is for 10,000 (fewer images raise the "
                "Fréchet distance and lower recall and coverage)",
                inp.name,
                len(inp),
            )
        metrics = evaluate(
            inp.images,
            labels=inp.labels,
            seed=seed,
            kid_subsets=kid_subsets,
            batch_size=batch_size,
            device=device,
        )
        mem = None
        if train is not None:
            mem = memorisation(inp.images, train=train, device=device)
            metrics.update(mem.as_dict())
        scored.append(ScoredInput(inp, metrics, mem))
    return scored


def comparison_columns(scored: Sequence[ScoredInput]) -> dict[str, dict[str, float]]:
    """Column name → metrics, one column per input (names made unique) and the floor."""
    columns: dict[str, dict[str, float]] = {}
    for item in scored:
        base = f"{Path(item.input.name).name or item.input.name} (n={len(item.input)})"
        name, i = base, 2
        while name in columns:
            name, i = f"{base} #{i}", i + 1
        columns[name] = item.metrics
    columns["real floor"] = dict(REAL_FLOOR)
    return columns


def _rows(columns: dict[str, dict[str, float]]) -> list[str]:
    present = {k for c in columns.values() for k in c}
    return [k for k in _ROWS if k in present] + sorted(present - set(_ROWS))


def comparison_table(scored: Sequence[ScoredInput]) -> str:
    """The inputs side by side with the real floor, as :func:`format_table` prints them.

    Per-digit distances and memorisation rows appear when some input has them.
    """
    columns = comparison_columns(scored)
    # the floor has no per-digit FD or memorisation values: those rows show "-"
    return format_table(columns, _rows(columns))


def comparison_csv(scored: Sequence[ScoredInput]) -> str:
    """The same table as CSV: a ``metric`` column (the keys), one column per input."""
    columns = comparison_columns(scored)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", *columns])
    for key in _rows(columns):
        writer.writerow([key, *(_csv_cell(c.get(key)) for c in columns.values())])
    return out.getvalue()


def _csv_cell(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def comparison_json(scored: Sequence[ScoredInput]) -> dict[str, Any]:
    """A JSON-ready dict: per input its path, kind, count, value range, notes and metrics."""
    return {
        "inputs": [
            {
                "path": item.input.name,
                "kind": item.input.kind,
                "n": len(item.input),
                "value_range": item.input.value_range,
                "labels": item.input.labels is not None,
                "notes": list(item.input.notes),
                "metrics": item.metrics,
            }
            for item in scored
        ],
        "real_floor": dict(REAL_FLOOR),
    }


# --------------------------------------------------------------------------- reports


def _png_bytes(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _grid(images: torch.Tensor, k: int = 64) -> Any:
    from mnistgan.viz import grid_image

    return grid_image(images[:k], nrow=8, pad_value=0.5, scale=2)


def _bars(title: str, values: dict[int, float], fmt: str, floor: dict[int, float]) -> str:
    top = max([*values.values(), *floor.values(), 1e-12])
    rows = []
    for digit in range(10):
        if digit not in values:
            rows.append(f"<tr><th>{digit}</th><td colspan=2>-</td></tr>")
            continue
        width = 100 * values[digit] / top
        mark = 100 * floor[digit] / top if digit in floor else None
        tick = f'<span class="floor" style="left:{mark:.1f}%"></span>' if mark is not None else ""
        rows.append(
            f'<tr><th>{digit}</th><td class="bar"><span style="width:{width:.1f}%"></span>'
            f"{tick}</td><td>{format(values[digit], fmt)}</td></tr>"
        )
    return f"<table class='bars'><caption>{html.escape(title)}</caption>{''.join(rows)}</table>"


_CSS = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:2px 8px;text-align:left}
.metrics td,.metrics th{border-bottom:1px solid #ddd}.input{display:flex;gap:2em;flex-wrap:wrap}
.bars .bar{width:16em;position:relative}.bars .bar span{display:block;height:1em;background:#4a7}
.bars .floor{position:absolute;top:0;width:2px;height:1em;background:#c33}
.notes{color:#666;font-size:90%}"""


def _html(scored: Sequence[ScoredInput]) -> str:
    columns = comparison_columns(scored)
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ["metric", *columns])
    rows_html = []
    for key in _rows(columns):
        values = "".join(
            f"<td>{html.escape(_cell(key, c.get(key)))}</td>" for c in columns.values()
        )
        rows_html.append(f"<tr><th>{html.escape(_label(key, _LABELS))}</th>{values}</tr>")
    sections = []
    floor_shares = {i: REAL_FLOOR[f"class_{i}"] for i in range(10)}
    for item in scored:
        m = item.metrics
        grid = base64.b64encode(_png_bytes(_grid(item.input.images))).decode()
        shares = {i: m[f"class_{i}"] for i in range(10) if f"class_{i}" in m}
        fds = {i: m[f"fd_class_{i}"] for i in range(10) if f"fd_class_{i}" in m}
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in item.input.notes)
        sections.append(
            f"<h2>{html.escape(item.input.name)}</h2><p>{html.escape(item.input.kind)}, "
            f"{len(item.input)} images, values read as {item.input.value_range}</p>"
            f"<ul class='notes'>{notes}</ul><div class='input'>"
            f"<img alt='samples' src='data:image/png;base64,{grid}'>"
            f"{_bars('share per digit (red: real floor)', shares, '.1%', floor_shares)}"
            f"{_bars('Fréchet distance per digit', fds, '.3f', {})}</div>"
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mnistgan eval</title>"
        f"<style>{_CSS}</style></head><body><h1>mnistgan eval</h1>"
        f"<table class='metrics'><tr>{header}</tr>{''.join(rows_html)}</table>"
        f"{''.join(sections)}<p class='notes'>Features of mnistgan's shipped MNIST "
        "classifier; real set: the 10,000 MNIST test images (shipped statistics). The real "
        "floor is what 10,000 real training images score.</p></body></html>\n"
    )


def _png(scored: Sequence[ScoredInput], path: Path, dpi: int) -> None:
    from mnistgan.viz.plots import _matplotlib

    figure_cls, canvas_cls = _matplotlib()
    columns = comparison_columns(scored)
    text = format_table(columns, _rows(columns))
    rows = len(scored)
    table_h = 0.18 * (text.count("\n") + 2)
    fig = figure_cls(figsize=(13, 3.4 * rows + table_h))
    canvas_cls(fig)
    grid = fig.add_gridspec(rows + 1, 3, height_ratios=[3.4] * rows + [table_h])
    digits = list(range(10))
    for r, item in enumerate(scored):
        m = item.metrics
        ax = fig.add_subplot(grid[r, 0])
        ax.imshow(_grid(item.input.images), cmap="gray")
        ax.set_axis_off()
        ax.set_title(f"{Path(item.input.name).name} (n={len(item.input)})", fontsize=9)
        ax = fig.add_subplot(grid[r, 1])
        shares = [100 * m.get(f"class_{i}", math.nan) for i in digits]
        ax.bar(digits, shares, color="#4a7", label="samples")
        ax.plot(
            digits, [100 * REAL_FLOOR[f"class_{i}"] for i in digits], "r_", ms=14, label="real"
        )
        ax.set_xticks(digits)
        ax.set_ylabel("share (%)")
        ax.set_title("share per digit", fontsize=9)
        ax.legend(fontsize=7)
        ax = fig.add_subplot(grid[r, 2])
        ax.bar(digits, [m.get(f"fd_class_{i}", math.nan) for i in digits], color="#47a")
        ax.set_xticks(digits)
        ax.set_title("Fréchet distance per digit", fontsize=9)
    ax = fig.add_subplot(grid[rows, :])
    ax.set_axis_off()
    ax.text(0, 1, text, family="monospace", fontsize=7, va="top")
    fig.tight_layout()
    from mnistgan._io import atomic_write

    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=dpi))


def write_report(
    scored: Sequence[ScoredInput], path: str | os.PathLike[str], *, dpi: int = 100
) -> Path:
    """Write the comparison as a standalone ``.html`` page or a ``.png`` figure.

    Both show, per input, a grid of its first 64 images, its share of each digit next
    to the real share, and its Fréchet distance per digit, then the metrics table. The
    HTML page embeds its images and needs nothing beyond the standard library and
    Pillow; the PNG figure needs matplotlib (``pip install "mnistgan[plot]"``).

    Args:
        scored: :func:`score_inputs`' result.
        path: A ``.html`` or ``.png`` file.
        dpi: Resolution of a PNG figure.

    Returns:
        The path written.

    Raises:
        ConfigError: On another suffix.
        ImportError: For a PNG without matplotlib.
    """
    from mnistgan._io import atomic_write_text

    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in (".html", ".htm"):
        return atomic_write_text(file, _html(scored))
    if suffix == ".png":
        file.parent.mkdir(parents=True, exist_ok=True)
        _png(scored, file, dpi)
        return file
    raise ConfigError(f"the report must be a .html or .png file, got {str(path)!r}")
