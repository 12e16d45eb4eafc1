"""Tests of mnistgan.viz: grids, GIFs, plots, latent traversal and interpolation, their CLI."""

from __future__ import annotations

import builtins
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageSequence
from torch import Tensor, nn

from mnistgan import (
    GAN,
    Callback,
    ConfigError,
    History,
    HistoryWriter,
    ModelCheckpoint,
    get_preset,
)
from mnistgan.cli import main
from mnistgan.viz import (
    GifRecorder,
    gif_from_files,
    grid_image,
    interpolate,
    interpolate_latents,
    latent_traversal,
    lerp,
    load_history,
    metric_keys,
    plot_d_outputs,
    plot_history,
    plot_losses,
    plot_metrics,
    save_gif,
    save_grid,
    seed_latents,
    slerp,
    stack_images,
    traversal_labels,
)

# ---------------------------------------------------------------------------- helpers


def _batches(n: int = 2, size: int = 8) -> list[Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.rand(size, 1, 28, 28, generator=gen) for _ in range(n)]


def _vanilla(seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    return GAN.from_preset("vanilla")


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _frames(path: Path) -> list[np.ndarray[Any, Any]]:
    with Image.open(path) as gif:
        return [np.array(frame.convert("L")) for frame in ImageSequence.Iterator(gif)]


def _history(steps: int = 6, epochs: int = 2, metric: bool = True) -> History:
    history = History()
    for epoch in range(epochs):
        for i in range(steps // epochs):
            x = epoch * steps + i
            history.record_step(
                {
                    "loss_d": 1.0 + math.sin(x),
                    "loss_g": 2.0 - 0.1 * x,
                    "d_real": 0.8,
                    "d_fake_before": 0.3,
                    "d_fake_after": 0.35,
                }
            )
        history.end_epoch(epoch=epoch, seconds=1.0, images=64)
        if metric:
            history.log_epoch_value("fid", 30.0 - epoch)
    return history


class OneDimGenerator(nn.Module):
    """A generator whose images depend on latent coordinate ``dim`` only."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.weight = nn.Parameter(torch.linspace(-1, 1, 28 * 28))

    def forward(self, z: Tensor) -> Tensor:
        x = torch.tanh(z[:, self.dim : self.dim + 1] * self.weight)  # (N, 784)
        return x.view(-1, 1, 28, 28)


# ---------------------------------------------------------------------------- grids


@pytest.mark.parametrize(
    ("n", "nrow", "padding", "expected"),
    [(16, 4, 2, (122, 122)), (10, 4, 2, (122, 92)), (3, 8, 0, (84, 28)), (1, None, 2, (32, 32))],
)
def test_grid_size_matches_geometry(
    tmp_path: Path, n: int, nrow: int | None, padding: int, expected: tuple[int, int]
) -> None:
    """A saved grid is nrow*(W+padding)+padding wide and rows*(H+padding)+padding high."""
    path = save_grid(torch.rand(n, 1, 28, 28), tmp_path / "g.png", nrow=nrow, padding=padding)
    assert _size(path) == expected


def test_label_margins_grow_the_grid_by_exactly_the_margin(tmp_path: Path) -> None:
    """Row labels widen the grid by label_width, column labels heighten it by label_height."""
    images = torch.rand(16, 1, 28, 28)
    rows = ["epoch 1", "epoch 5", "epoch 20", "epoch 50"]
    path = save_grid(images, tmp_path / "r.png", nrow=4, row_labels=rows, label_width=37)
    assert _size(path) == (122 + 37, 122)
    both = grid_image(
        images, nrow=4, row_labels=rows, col_labels=list("abcd"), label_width=40, label_height=15
    )
    assert both.size == (162, 137)
    auto = grid_image(images, nrow=4, row_labels=rows)
    assert auto.height == 122 and auto.width > 122


def test_labels_are_drawn_in_the_margin_and_leave_the_grid_alone() -> None:
    """Label text shows up in the margin; the grid part equals the unlabelled grid."""
    images = torch.rand(8, 1, 28, 28)
    plain = np.array(grid_image(images, nrow=4))
    labelled = np.array(grid_image(images, nrow=4, row_labels=["-3", "3"], label_width=30))
    assert labelled[:, :30].max() > 200  # white (antialiased) text on the black margin
    np.testing.assert_array_equal(labelled[:, 30:], plain)


def test_grid_rejects_bad_input() -> None:
    """Wrong shapes and label counts raise ConfigError naming what was expected."""
    with pytest.raises(ConfigError, match=r"\(N, C, H, W\)"):
        grid_image(torch.rand(1, 28, 28))
    with pytest.raises(ConfigError, match="one label per grid row"):
        grid_image(torch.rand(16, 1, 28, 28), nrow=4, row_labels=["a", "b"])
    with pytest.raises(ConfigError, match="image format"):
        save_grid(torch.rand(4, 1, 28, 28), "grid.nope")


def test_uint8_and_float_images_give_the_same_grid() -> None:
    """uint8 images are read as value/255, like float images in [0, 1]."""
    images = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    a = np.array(grid_image(images))
    b = np.array(grid_image(images.float() / 255))
    np.testing.assert_array_equal(a, b)


def test_stack_images_adds_margin_and_gaps(tmp_path: Path) -> None:
    """Stacked pictures keep their sizes, plus the label margin and the gaps between them."""
    paths = [save_grid(torch.rand(4, 1, 28, 28), tmp_path / f"e{i}.png") for i in range(3)]
    out = stack_images(paths, tmp_path / "s.png", labels=["1", "5", "20"], label_width=25, gap=3)
    assert out.size == (25 + 62, 3 * 62 + 2 * 3)
    assert _size(tmp_path / "s.png") == out.size


# ---------------------------------------------------------------------------- GIFs


def test_save_gif_has_the_frames_and_size(tmp_path: Path) -> None:
    """A GIF holds one frame per (distinct) input frame, at the frames' size times scale."""
    frames = [torch.full((1, 10, 20), i / 5) for i in range(6)]
    path = save_gif(frames, tmp_path / "a.gif")
    with Image.open(path) as gif:
        assert gif.size == (20, 10)
        assert len(list(ImageSequence.Iterator(gif))) == 6
    assert _size(save_gif(frames, tmp_path / "b.gif", scale=2)) == (40, 20)
    with pytest.raises(ConfigError, match="one size"):
        save_gif([torch.zeros(1, 10, 20), torch.zeros(1, 10, 21)], tmp_path / "c.gif")


def test_gif_from_files_uses_natural_order(tmp_path: Path) -> None:
    """Saved grids become frames in epoch order (epoch_2 before epoch_10)."""
    for epoch, level in ((10, 200), (1, 0), (2, 100)):
        Image.new("L", (30, 30), level).save(tmp_path / f"epoch_{epoch}.png")
    path = gif_from_files(tmp_path, tmp_path / "progress.gif")
    assert [int(frame[0, 0]) for frame in _frames(path)] == [0, 100, 200]
    with pytest.raises(ConfigError, match="matches"):
        gif_from_files(tmp_path / "missing", tmp_path / "x.gif")


def test_gif_recorder_takes_one_frame_per_epoch(tmp_path: Path) -> None:
    """One frame per epoch, of the grid's geometry, written to the GIF."""
    gif = GifRecorder(tmp_path / "progress.gif", n=4)
    _vanilla().fit(_batches(), epochs=3, callbacks=[gif], progress=False)
    assert len(gif.frames) == 3 and gif.frame_steps == [2, 4, 6]
    assert tuple(gif.frames[0].shape) == (62, 62) and gif.frames[0].dtype == torch.uint8
    frames = _frames(gif.path)
    assert len(frames) == 3 and frames[0].shape == (62, 62)
    np.testing.assert_array_equal(frames[-1], gif.frames[-1].numpy())


def test_gif_recorder_every_n_steps(tmp_path: Path) -> None:
    """every_n_steps=N takes a frame after every N-th step; at_start adds the untrained one."""
    gif = GifRecorder(tmp_path / "p.gif", n=4, every_n_steps=2, at_start=True)
    _vanilla().fit(_batches(n=3), epochs=2, callbacks=[gif], progress=False)
    assert gif.frame_steps == [0, 2, 4, 6]
    assert len(_frames(gif.path)) == 4


def test_gif_recorder_writes_its_frames_when_training_fails(tmp_path: Path) -> None:
    """An error mid-epoch still leaves a GIF of the frames taken so far."""

    class Boom(Callback):
        def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
            if model.global_step == 3:
                raise RuntimeError("boom")

    gif = GifRecorder(tmp_path / "p.gif", n=4, every_n_steps=1)
    with pytest.raises(RuntimeError, match="boom"):
        _vanilla().fit(_batches(n=4), epochs=1, callbacks=[gif, Boom()], progress=False)
    assert len(_frames(gif.path)) == 3


def test_gif_recorder_leaves_the_global_rng_alone(tmp_path: Path) -> None:
    """Drawing the fixed noise does not consume the global random state."""
    gan = _vanilla()
    before = torch.get_rng_state()
    gif = GifRecorder(tmp_path / "p.gif", n=4, seed=3)
    gif.on_fit_start(gan, {})
    assert torch.equal(torch.get_rng_state(), before)
    expected = torch.randn(4, gan.latent_dim, generator=torch.Generator().manual_seed(3))
    assert gif.noise is not None and torch.equal(gif.noise, expected)


def test_gif_recorder_state_round_trip(tmp_path: Path) -> None:
    """state_dict carries noise, frames and steps through torch.save / weights-only load."""
    gif = GifRecorder(tmp_path / "p.gif", n=4)
    _vanilla().fit(_batches(), epochs=2, callbacks=[gif], progress=False)
    torch.save(gif.state_dict(), tmp_path / "state.pt")
    other = GifRecorder(tmp_path / "q.gif", n=4)
    other.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert other.noise is not None and gif.noise is not None
    assert torch.equal(other.noise, gif.noise) and other.frame_steps == gif.frame_steps
    assert all(torch.equal(a, b) for a, b in zip(other.frames, gif.frames, strict=True))


@pytest.mark.parametrize("gif_first", [True, False])
def test_gif_frames_survive_save_and_resume(tmp_path: Path, gif_first: bool) -> None:
    """A run resumed from a checkpoint continues the same GIF as the uninterrupted run."""

    def callbacks(run: Path) -> list[Any]:
        gif = GifRecorder(run / "progress.gif", n=4)
        ckpt = ModelCheckpoint(run / "checkpoints", keep_last=None)
        return [gif, ckpt] if gif_first else [ckpt, gif]

    full = callbacks(tmp_path / "full")
    _vanilla().fit(_batches(), epochs=3, callbacks=full, progress=False)
    _vanilla().fit(_batches(), epochs=2, callbacks=callbacks(tmp_path / "cut"), progress=False)
    resumed = callbacks(tmp_path / "cut")
    _vanilla(seed=99).fit(_batches(), epochs=3, callbacks=resumed, resume="auto", progress=False)
    (gif_full,) = [cb for cb in full if isinstance(cb, GifRecorder)]
    (gif_resumed,) = [cb for cb in resumed if isinstance(cb, GifRecorder)]
    assert gif_resumed.frame_steps == gif_full.frame_steps == [2, 4, 6]
    for a, b in zip(gif_resumed.frames, gif_full.frames, strict=True):
        assert torch.equal(a, b)
    assert len(_frames(gif_resumed.path)) == 3


def test_gif_recorder_validates_arguments(tmp_path: Path) -> None:
    """Bad paths and counts raise ConfigError at construction."""
    with pytest.raises(ConfigError, match=r"\.gif"):
        GifRecorder(tmp_path / "p.png")
    with pytest.raises(ConfigError, match="every_n_steps"):
        GifRecorder(tmp_path / "p.gif", every_n_steps=0)


# ---------------------------------------------------------------------------- latent space


def test_traversal_varies_only_along_the_row_of_the_dimension_that_matters() -> None:
    """With G depending on z[3] only, only z3's rows change across the values (per base)."""
    config = get_preset("vanilla", latent_dim=8)
    disc = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    gan = GAN(config, generator=OneDimGenerator(3), discriminator=disc)
    dims, values, seeds = [0, 3, 7], [-2.0, 0.0, 2.0], [0, 1]
    images = latent_traversal(gan, dims=dims, values=values, seed=seeds)
    assert images.shape == (len(seeds) * len(dims) * len(values), 1, 28, 28)
    # Check the picture itself: cut the saved grid back into its cells.
    grid = np.array(grid_image(images, nrow=len(values), padding=2))
    cells = [
        [grid[2 + r * 30 : r * 30 + 30, 2 + c * 30 : c * 30 + 30] for c in range(len(values))]
        for r in range(len(seeds) * len(dims))
    ]
    for row, d in enumerate(dims * len(seeds)):
        same = [np.array_equal(cells[row][0], cells[row][c]) for c in range(1, len(values))]
        if d == 3:
            assert not any(same), f"row {row} (z{d}) should change with the value"
        else:
            assert all(same), f"row {row} (z{d}) should not change"
    assert not np.array_equal(cells[0][0], cells[len(dims)][0])  # the bases differ


def test_traversal_rejects_bad_dims_and_bases() -> None:
    """Out-of-range dimensions and wrongly shaped bases raise ConfigError."""
    gan = _vanilla()
    with pytest.raises(ConfigError, match=r"\[0, 99\]"):
        latent_traversal(gan, dims=[100])
    with pytest.raises(ConfigError, match="base must have shape"):
        latent_traversal(gan, dims=[1], base=torch.zeros(5))
    assert traversal_labels([5, 25], blocks=2) == ["1:z5", "1:z25", "2:z5", "2:z25"]


_coord = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
_pair = st.integers(2, 12).flatmap(
    lambda d: st.tuples(
        st.lists(_coord, min_size=d, max_size=d), st.lists(_coord, min_size=d, max_size=d)
    )
)


@given(pair=_pair, t=st.floats(0, 1))
def test_slerp_keeps_the_norm_between_the_endpoints_norms(
    pair: tuple[list[float], list[float]], t: float
) -> None:
    """|slerp(z0, z1, t)| lies between |z0| and |z1| for any vectors, also opposite or zero."""
    z0, z1 = torch.tensor(pair[0], dtype=torch.float64), torch.tensor(pair[1], dtype=torch.float64)
    z = slerp(z0, z1, t)
    assert bool(torch.isfinite(z).all())
    low, high = sorted((float(z0.norm()), float(z1.norm())))
    assert low * (1 - 1e-9) - 1e-9 <= float(z.norm()) <= high * (1 + 1e-9) + 1e-9


@given(pair=_pair)
def test_interpolation_returns_the_endpoints_exactly(
    pair: tuple[list[float], list[float]],
) -> None:
    """t=0 gives z0 and t=1 gives z1 bit for bit, for slerp and lerp, float32 and float64."""
    for dtype in (torch.float32, torch.float64):
        z0, z1 = torch.tensor(pair[0], dtype=dtype), torch.tensor(pair[1], dtype=dtype)
        for fn in (slerp, lerp):
            path = fn(z0, z1, [0.0, 0.5, 1.0])
            assert path.dtype == dtype and path.shape == (3, *z0.shape)
            assert torch.equal(path[0], z0) and torch.equal(path[2], z1)
            assert torch.equal(fn(z0, z1, 0.0), z0) and torch.equal(fn(z0, z1, 1.0), z1)


@given(pair=_pair)
def test_lerp_midpoint_is_the_mean(pair: tuple[list[float], list[float]]) -> None:
    """lerp(z0, z1, 0.5) == (z0 + z1) / 2."""
    z0, z1 = torch.tensor(pair[0], dtype=torch.float64), torch.tensor(pair[1], dtype=torch.float64)
    torch.testing.assert_close(lerp(z0, z1, 0.5), (z0 + z1) / 2)


def test_slerp_follows_the_great_circle_and_handles_degenerate_pairs() -> None:
    """Orthogonal unit vectors trace the unit circle; parallel pairs lerp; opposite stay finite."""
    e0, e1 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0])
    for t in (0.25, 0.5, 0.9):
        angle = t * math.pi / 2
        expected = torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
        torch.testing.assert_close(slerp(e0, e1.double(), t), expected)
    z = torch.randn(16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(slerp(z, 3 * z, 0.5), lerp(z, 3 * z, 0.5))
    mid = slerp(z, -z, 0.5)
    assert bool(torch.isfinite(mid).all())
    torch.testing.assert_close(mid.norm(), z.norm())
    assert abs(float(mid @ z)) < 1e-9  # half way round: perpendicular
    batch = interpolate_latents(torch.randn(5, 4), torch.randn(5, 4), steps=7)
    assert batch.shape == (7, 5, 4)


def test_interpolate_between_seeds_starts_and_ends_at_their_digits() -> None:
    """Each row runs from the digit of one seed to that of the next, ends included."""
    gan = _vanilla()
    images = interpolate(gan, seeds=[1, 2, 3], steps=4, mode="slerp")
    assert images.shape == (8, 1, 28, 28)
    for row, (a, b) in enumerate(((1, 2), (2, 3))):
        torch.testing.assert_close(images[4 * row : 4 * row + 1], gan.sample(1, seed=a))
        torch.testing.assert_close(images[4 * row + 3 : 4 * row + 4], gan.sample(1, seed=b))
    z = seed_latents(gan.latent_dim, [1, 2])
    torch.testing.assert_close(interpolate(gan, z[0], z[1], steps=4), images[:4])
    with pytest.raises(ConfigError, match="not both"):
        interpolate(gan, z[0], z[1], seeds=[1, 2])
    with pytest.raises(ConfigError, match="at least 2"):
        interpolate(gan, seeds=[1, 2], steps=1)
    with pytest.raises(ConfigError, match='"lerp" or "slerp"'):
        interpolate(gan, seeds=[1, 2], mode="cubic")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- plots


@pytest.mark.parametrize("plot", [plot_losses, plot_d_outputs, plot_metrics])
def test_plots_are_pngs_of_the_stated_size(tmp_path: Path, plot: Any) -> None:
    """Each plot saves a PNG of figsize * dpi pixels."""
    path = tmp_path / "plot.png"
    plot(_history(), path, figsize=(4.0, 3.0), dpi=50)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (200, 150)


def test_plots_read_a_saved_history_json(tmp_path: Path) -> None:
    """A history.json written by HistoryWriter plots like the History it came from."""
    gan = _vanilla()
    gan.fit(
        _batches(), epochs=2, callbacks=[HistoryWriter(tmp_path / "history.json")], progress=False
    )
    history = load_history(tmp_path)
    assert len(history.steps) == 4 and history.steps == gan.history.steps
    figure = plot_losses(tmp_path / "history.json", smooth=1)
    assert len(figure.axes[0].lines) == 2
    written = plot_history(tmp_path)
    assert sorted(written) == ["d_outputs", "losses"]  # no metric was logged
    assert _size(written["losses"]) == (800, 400)


def test_metric_keys_are_the_extra_epoch_values() -> None:
    """Bookkeeping and step means are not metrics; logged epoch values are."""
    assert metric_keys(_history()) == ["fid"]
    assert metric_keys(_history(metric=False)) == []
    with pytest.raises(ConfigError, match="no metric"):
        plot_metrics(_history(metric=False))
    with pytest.raises(ConfigError, match="no training steps"):
        plot_losses(History())
    with pytest.raises(ConfigError, match="no history"):
        load_history("/nonexistent/run")


def _hide_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_missing_matplotlib_names_the_plot_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without matplotlib, plotting raises ImportError and the CLI says how to install it."""
    (tmp_path / "history.json").write_text(_history().to_json())
    _hide_matplotlib(monkeypatch)
    with pytest.raises(ImportError, match=r'pip install "mnistgan\[plot\]"'):
        plot_losses(_history())
    assert main(["plot", str(tmp_path)]) == 1
    assert 'pip install "mnistgan[plot]"' in capsys.readouterr().err
    assert not (tmp_path / "losses.png").exists()


def test_plotting_leaves_pyplot_and_the_backend_alone() -> None:
    """Importing mnistgan.viz loads no matplotlib; plotting never imports pyplot."""
    code = (
        "import sys\n"
        "import mnistgan.viz as viz\n"
        "assert 'matplotlib' not in sys.modules\n"
        "from mnistgan import History\n"
        "h = History(); h.record_step({'loss_d': 1.0, 'loss_g': 1.0})\n"
        "viz.plot_losses(h)\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained vanilla GAN's checkpoint."""
    return _vanilla().save(tmp_path_factory.mktemp("ckpt") / "g.pt")


def test_plot_cli_on_a_tiny_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`mnistgan plot RUN_DIR` writes losses.png, d_outputs.png and metrics.png there."""
    (tmp_path / "history.json").write_text(_history().to_json())
    assert main(["plot", str(tmp_path), "--dpi", "50"]) == 0
    for name in ("losses", "d_outputs", "metrics"):
        assert _size(tmp_path / f"{name}.png") == (400, 200)
    assert "losses.png" in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "nothing-here")]) == 1


def test_interpolate_cli_writes_a_grid_or_a_gif(tmp_path: Path, checkpoint: Path) -> None:
    """`mnistgan interpolate` writes one row of --steps images per seed pair, or GIF frames."""
    out = tmp_path / "interp.png"
    args = ["interpolate", str(checkpoint), "--steps", "10", "--seeds", "1", "2"]
    assert main([*args, "--mode", "slerp", "--out", str(out)]) == 0
    assert _size(out) == (10 * 30 + 2, 32)
    assert main([*args, "3", "--mode", "lerp", "--labels", "--out", str(out)]) == 0
    size = _size(out)
    assert size[0] > 302 and size[1] == 62
    gif = tmp_path / "interp.gif"
    assert main([*args, "--out", str(gif)]) == 0
    assert len(_frames(gif)) == 10


def test_traverse_cli_with_several_base_vectors(tmp_path: Path, checkpoint: Path) -> None:
    """`mnistgan traverse --seeds A B` stacks one block of rows per base vector."""
    out = tmp_path / "t.png"
    args = ["traverse", str(checkpoint), "--dims", "5", "25", "--values", "-3", "0", "3"]
    assert main([*args, "--seeds", "0", "1", "--out", str(out)]) == 0
    assert _size(out) == (92, 4 * 30 + 2)
    assert main([*args, "--labels", "--out", str(out)]) == 0
    width, height = _size(out)
    assert width > 92 and height > 62


def test_train_cli_gif(tmp_path: Path, mnist_root: Path) -> None:
    """`mnistgan train --gif` writes OUT/progress.gif with one frame per epoch."""
    argv = ["train", "--preset", "vanilla", "--epochs", "2", "--limit", "64", "--batch-size"]
    argv += ["32", "--gif", "--gif-size", "4", "--quiet", "--device", "cpu"]
    argv += ["--data-root", str(mnist_root), "--out", str(tmp_path)]
    assert main(argv) == 0
    frames = _frames(tmp_path / "progress.gif")
    assert len(frames) == 2 and frames[0].shape == (62, 62)
    assert json.loads((tmp_path / "history.json").read_text())["epochs"]
