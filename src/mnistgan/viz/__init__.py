"""Seeing the GAN: image grids, training GIFs, loss and D-output plots, the latent space.

Everything writes plain files and works offline:

- :mod:`~mnistgan.viz.grids` — :func:`save_grid` / :func:`grid_image` (torchvision
  ``make_grid`` with optional row and column labels), :func:`stack_images`;
- :mod:`~mnistgan.viz.gif` — the :class:`GifRecorder` callback, :func:`save_gif`,
  :func:`gif_from_files`;
- :mod:`~mnistgan.viz.plots` — :func:`plot_losses`, :func:`plot_d_outputs`,
  :func:`plot_metrics`, :func:`plot_history` (need the ``plot`` extra,
  ``pip install "mnistgan[plot]"``, imported only when used);
- :mod:`~mnistgan.viz.latent` — :func:`latent_traversal`, :func:`interpolate`,
  :func:`slerp`, :func:`lerp`, :func:`seed_latents`.

Example:
    >>> import tempfile, pathlib, PIL.Image
    >>> from mnistgan import GAN
    >>> from mnistgan.viz import latent_traversal, save_grid, traversal_labels
    >>> gan = GAN.from_preset("vanilla")
    >>> images = latent_traversal(gan, dims=[5, 25, 45], values=[-3, 0, 3])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_grid(images, pathlib.Path(tmp) / "traverse.png", nrow=3,
    ...                      row_labels=traversal_labels([5, 25, 45]), label_width=40)
    ...     with PIL.Image.open(path) as im:
    ...         im.size
    (132, 92)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from .gif import GifRecorder, gif_from_files, save_gif
from .grids import grid_image, grid_shape, save_grid, stack_images
from .latent import (
    interpolate,
    interpolate_latents,
    latent_traversal,
    lerp,
    seed_latents,
    slerp,
    traversal_labels,
)
from .plots import (
    load_history,
    metric_keys,
    plot_d_outputs,
    plot_history,
    plot_losses,
    plot_metrics,
)

__all__ = [
    "GifRecorder",
    "gif_from_files",
    "grid_image",
    "grid_shape",
    "interpolate",
    "interpolate_latents",
    "latent_traversal",
    "lerp",
    "load_history",
    "metric_keys",
    "plot_d_outputs",
    "plot_history",
    "plot_losses",
    "plot_metrics",
    "save_gif",
    "save_grid",
    "seed_latents",
    "slerp",
    "stack_images",
    "traversal_labels",
]
