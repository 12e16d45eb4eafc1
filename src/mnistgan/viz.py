"""Looking at a GAN: image grids and latent-space traversals."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .errors import ConfigError

if TYPE_CHECKING:
    from .gan import GAN

__all__ = ["latent_traversal", "save_grid"]


def save_grid(
    images: Tensor, path: str | os.PathLike[str], *, nrow: int | None = None, padding: int = 2
) -> Path:
    """Save images ``(N, C, H, W)`` in [0, 1] as one PNG grid (torchvision ``save_image``).

    Args:
        images: The images.
        path: Output file; its folder is created.
        nrow: Images per row; by default about the square root of N.
        padding: Pixels between images.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = save_grid(torch.rand(16, 1, 28, 28), pathlib.Path(tmp) / "g.png", nrow=4)
        ...     Image.open(p).size
        (122, 122)
    """
    from torchvision.utils import save_image

    if not isinstance(images, Tensor) or images.dim() != 4:
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ConfigError(f"images must be a tensor of shape (N, C, H, W), got {got}")
    if nrow is None:
        nrow = max(1, math.ceil(math.sqrt(images.size(0))))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(images, path, nrow=nrow, padding=padding)
    return path


def latent_traversal(
    gan: GAN,
    *,
    dims: Sequence[int],
    values: Sequence[float] = (-3.0, 0.0, 3.0),
    base: Tensor | None = None,
    seed: int = 0,
) -> Tensor:
    """Sweep single latent dimensions to see what each one controls.

    Row ``i`` of the result varies dimension ``dims[i]`` over ``values`` while every
    other coordinate stays at ``base``.

    Args:
        gan: The model.
        dims: Latent dimensions to sweep (rows).
        values: Values each dimension takes (columns).
        base: The base latent vector ``(latent_dim,)``; by default drawn from a
            generator seeded with ``seed``.
        seed: Seed of the default base vector.

    Returns:
        Images ``(len(dims) * len(values), C, H, W)`` in [0, 1], row-major, ready
        for :func:`save_grid` with ``nrow=len(values)``.

    Raises:
        ConfigError: If a dimension is out of range or a sequence is empty.

    Example:
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> latent_traversal(gan, dims=[5, 25], values=[-3, 0, 3]).shape
        torch.Size([6, 1, 28, 28])
    """
    if not dims or not values:
        raise ConfigError(f"dims and values must not be empty, got dims={dims!r}, values={values!r}")
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < gan.latent_dim:
            raise ConfigError(
                f"dims must be ints in [0, {gan.latent_dim - 1}] for this model's "
                f"latent_dim={gan.latent_dim}, got {d!r}"
            )
    if base is None:
        base = torch.randn(gan.latent_dim, generator=torch.Generator().manual_seed(seed))
    elif base.shape != (gan.latent_dim,):
        raise ConfigError(f"base must have shape ({gan.latent_dim},), got {tuple(base.shape)}")
    z = base.repeat(len(dims) * len(values), 1)  # (rows * cols, latent_dim)
    for row, d in enumerate(dims):
        for col, v in enumerate(values):
            z[row * len(values) + col, d] = float(v)
    return gan.generate(z)
