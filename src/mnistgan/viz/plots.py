"""Training curves as PNG files: losses and D's outputs against iterations, metrics per epoch.

Plotting needs matplotlib, the optional ``plot`` extra
(``pip install "mnistgan[plot]"``); it is imported only when a plot is drawn.
Figures are built as :class:`matplotlib.figure.Figure` objects with their own
Agg canvas, never through ``pyplot``: nothing changes matplotlib's global
state (backend, open figures), so plotting works offline, headless and in
threads, and returned figures still display in notebooks.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import ConfigError
from ..training.history import History
from ._common import _atomic_write, _positive_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "load_history",
    "metric_keys",
    "plot_d_outputs",
    "plot_history",
    "plot_losses",
    "plot_metrics",
]

PLOT_HINT = 'pip install "mnistgan[plot]"'
"""The command that installs what plotting needs."""

_EPOCH_BOOKKEEPING = frozenset({"epoch", "seconds", "images", "images_per_s"})
_LOSSES = (("loss_d", "discriminator"), ("loss_g", "generator"))
_D_OUTPUTS = (
    ("d_real", "D(x)"),
    ("d_fake_before", "D(G(z)) before D step"),
    ("d_fake_after", "D(G(z)) after D step"),
)


def _matplotlib() -> tuple[type[Figure], Any]:
    """The ``Figure`` class and the Agg canvas class, or an ImportError naming the extra."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            f"plotting needs matplotlib, which is not installed; install it with: {PLOT_HINT}"
        ) from err
    return Figure, FigureCanvasAgg


def load_history(source: History | str | os.PathLike[str]) -> History:
    """A :class:`~mnistgan.training.History` from itself, a ``history.json`` or a run folder.

    Args:
        source: A History, the JSON file :class:`~mnistgan.training.HistoryWriter`
            writes, or a run folder holding ``history.json``.

    Raises:
        ConfigError: If the file is missing or not a history.

    Example:
        >>> load_history(History()).epochs
        []
    """
    if isinstance(source, History):
        return source
    path = Path(source)
    if path.is_dir():
        path = path / "history.json"
    if not path.is_file():
        raise ConfigError(
            f"no history at {str(path)!r}; give a run folder holding history.json (written "
            f"by `mnistgan train` or the HistoryWriter callback) or the JSON file itself"
        )
    try:
        history = History.from_json(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError, TypeError) as err:
        raise ConfigError(f"{str(path)!r} is not a history written by to_json(): {err}") from err
    return history


def metric_keys(history: History) -> list[str]:
    """Extra numeric keys of the epoch rows (metrics), in order of first appearance.

    Epoch bookkeeping (``epoch``, ``seconds``, ``images``, ``images_per_s``) and
    the epoch means of step values (``loss_d``...) are not metrics.

    Example:
        >>> import torch
        >>> h = History()
        >>> h.record_step({"loss_d": 1.0, "loss_g": 2.0})
        >>> _ = h.end_epoch(epoch=0, seconds=1.0, images=64)
        >>> h.log_epoch_value("fid", 12.5)
        >>> metric_keys(h)
        ['fid']
    """
    step_keys = {key for row in history.steps for key in row}
    keys: list[str] = []
    for row in history.epochs:
        for key, value in row.items():
            if key in keys or key in _EPOCH_BOOKKEEPING or key in step_keys:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                keys.append(key)
    return keys


def _smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average (shorter windows at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def _window(smooth: int | None, count: int) -> int:
    if smooth is None:
        return max(1, count // 50)
    return _positive_int(smooth, "smooth")


def _new_figure(figsize: tuple[float, float], dpi: int) -> Figure:
    figure_cls, canvas_cls = _matplotlib()
    if len(figsize) != 2 or not all(isinstance(v, (int, float)) and v > 0 for v in figsize):
        raise ConfigError(f"figsize must be (width, height) in inches > 0, got {figsize!r}")
    dpi = _positive_int(dpi, "dpi")
    figure = figure_cls(figsize=figsize, dpi=dpi, layout="constrained")
    canvas_cls(figure)  # attaches itself as figure.canvas
    return figure


def _save(figure: Figure, path: str | os.PathLike[str] | None) -> None:
    if path is None:
        return

    def write(f: IO[bytes]) -> None:
        figure.savefig(f, format="png", dpi=figure.dpi)

    _atomic_write(path, write)


def _step_series(history: History, keys: Sequence[str], what: str) -> dict[str, list[float]]:
    steps = history.steps
    if not steps:
        raise ConfigError(f"the history holds no training steps to plot {what} of; train first")
    series = {key: history[key] for key in keys}
    if not any(series.values()):
        raise ConfigError(
            f"the history's steps hold none of {list(keys)} (they hold {sorted(steps[0])})"
        )
    return {key: values for key, values in series.items() if values}


def _curves(
    axes: Axes,
    series: dict[str, list[float]],
    names: dict[str, str],
    window: int,
) -> None:
    for index, (key, values) in enumerate(series.items()):
        color = f"C{index}"
        x = range(1, len(values) + 1)
        if window > 1:
            axes.plot(x, values, color=color, alpha=0.25, linewidth=0.8)
            axes.plot(x, _smooth(values, window), color=color, linewidth=1.5, label=names[key])
        else:
            axes.plot(x, values, color=color, linewidth=1.2, label=names[key])
    axes.set_xlabel("iteration")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")


def plot_losses(
    history: History | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
    smooth: int | None = None,
) -> Figure:
    """Generator and discriminator losses against iterations.

    Args:
        history: A History, a ``history.json`` or a run folder.
        path: Also save the figure here as PNG (atomically); it is
            ``figsize * dpi`` pixels.
        figsize: Width and height in inches.
        dpi: Pixels per inch.
        smooth: Moving-average window in steps, drawn over the faint raw curve;
            ``None`` picks about 1/50 of the run, 1 draws raw values only.

    Returns:
        The matplotlib figure (not registered with pyplot).

    Raises:
        ImportError: If matplotlib is missing (the message names ``mnistgan[plot]``).
        ConfigError: If the history holds no losses.

    Example:
        >>> h = History()
        >>> for i in range(20):
        ...     h.record_step({"loss_d": 1.0 / (i + 1), "loss_g": 2.0})
        >>> plot_losses(h).get_size_inches().tolist()
        [8.0, 4.0]
    """
    history = load_history(history)
    series = _step_series(history, [k for k, _ in _LOSSES], "losses")
    figure = _new_figure(figsize, dpi)
    axes = figure.add_subplot()
    _curves(axes, series, dict(_LOSSES), _window(smooth, len(history.steps)))
    axes.set_ylabel("loss")
    axes.set_title("Losses")
    _save(figure, path)
    return figure


def plot_d_outputs(
    history: History | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
    smooth: int | None = None,
) -> Figure:
    """D(x) on real images and D(G(z)) before and after the D step, against iterations.

    For the BCE losses these are probabilities (an equilibrium sits near 0.5,
    drawn dashed); for other losses they are mean critic outputs.

    Args:
        history: A History, a ``history.json`` or a run folder.
        path: Also save the figure here as PNG; it is ``figsize * dpi`` pixels.
        figsize: Width and height in inches.
        dpi: Pixels per inch.
        smooth: Moving-average window (see :func:`plot_losses`).

    Returns:
        The matplotlib figure.

    Raises:
        ImportError: If matplotlib is missing.
        ConfigError: If the history holds no D outputs.

    Example:
        >>> h = History()
        >>> h.record_step({"d_real": 0.9, "d_fake_before": 0.2, "d_fake_after": 0.3})
        >>> len(plot_d_outputs(h).axes[0].lines)
        4
    """
    history = load_history(history)
    series = _step_series(history, [k for k, _ in _D_OUTPUTS], "D outputs")
    figure = _new_figure(figsize, dpi)
    axes = figure.add_subplot()
    _curves(axes, series, dict(_D_OUTPUTS), _window(smooth, len(history.steps)))
    if all(0.0 <= v <= 1.0 for values in series.values() for v in values):
        axes.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
        axes.set_ylim(-0.02, 1.02)
        axes.set_ylabel("probability")
    else:
        axes.set_ylabel("critic output")
    axes.set_title("Discriminator outputs")
    _save(figure, path)
    return figure


def plot_metrics(
    history: History | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    keys: Sequence[str] | None = None,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
) -> Figure:
    """Per-epoch values (metrics such as a Fréchet distance), one panel each.

    Args:
        history: A History, a ``history.json`` or a run folder.
        path: Also save the figure here as PNG; it is ``figsize * dpi`` pixels.
        keys: Epoch-row keys to draw; by default every metric (see :func:`metric_keys`).
        figsize: Width and height in inches.
        dpi: Pixels per inch.

    Returns:
        The matplotlib figure.

    Raises:
        ImportError: If matplotlib is missing.
        ConfigError: If there is nothing to draw or a key is unknown.

    Example:
        >>> h = History()
        >>> for epoch, fid in enumerate([30.0, 20.0]):
        ...     h.record_step({"loss_d": 1.0})
        ...     _ = h.end_epoch(epoch=epoch, seconds=1.0, images=64)
        ...     h.log_epoch_value("fid", fid)
        >>> [ax.get_title() for ax in plot_metrics(h).axes]
        ['fid']
    """
    history = load_history(history)
    if keys is None:
        keys = metric_keys(history)
        if not keys:
            raise ConfigError(
                "the history's epoch rows hold no metric (only losses and timing); log one "
                "with history.log_epoch_value(name, value) or pass keys=[...]"
            )
    keys = list(keys)
    known = {key for row in history.epochs for key in row}
    unknown = [key for key in keys if key not in known]
    if unknown or not keys:
        raise ConfigError(
            f"keys {unknown or keys} are not in the epoch rows; they hold {sorted(known)}"
        )
    figure = _new_figure(figsize, dpi)
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    for index, key in enumerate(keys):
        axes = figure.add_subplot(rows, cols, index + 1)
        points = [(row["epoch"] + 1, row[key]) for row in history.epochs if key in row]
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=f"C{index}")
        axes.set_title(key)
        axes.set_xlabel("epoch")
        axes.grid(True, alpha=0.3)
    _save(figure, path)
    return figure


def plot_history(
    history: History | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
    smooth: int | None = None,
) -> dict[str, Path]:
    """Write ``losses.png``, ``d_outputs.png`` and, if any metric was logged, ``metrics.png``.

    This is what ``mnistgan plot RUN_DIR`` does.

    Args:
        history: A History, a ``history.json`` or a run folder.
        out_dir: Folder for the pictures; by default the run folder (or the
            folder of the JSON file). Required for a History object.
        figsize: Width and height of each figure in inches.
        dpi: Pixels per inch.
        smooth: Moving-average window for the step curves.

    Returns:
        The paths written, by name (``"losses"``, ``"d_outputs"``, ``"metrics"``).

    Raises:
        ImportError: If matplotlib is missing.
        ConfigError: If the history has nothing to plot.
    """
    _matplotlib()  # fail first, before any reading, if the extra is missing
    if out_dir is None:
        if isinstance(history, History):
            raise ConfigError("out_dir is required when plotting a History object")
        source = Path(history)
        out_dir = source if source.is_dir() else source.parent
    folder = Path(out_dir)
    history = load_history(history)
    written: dict[str, Path] = {}
    plot_losses(history, folder / "losses.png", figsize=figsize, dpi=dpi, smooth=smooth)
    written["losses"] = folder / "losses.png"
    if any(key in history.steps[0] for key, _ in _D_OUTPUTS):
        plot_d_outputs(history, folder / "d_outputs.png", figsize=figsize, dpi=dpi, smooth=smooth)
        written["d_outputs"] = folder / "d_outputs.png"
    if metric_keys(history):
        plot_metrics(history, folder / "metrics.png", figsize=figsize, dpi=dpi)
        written["metrics"] = folder / "metrics.png"
    return written
