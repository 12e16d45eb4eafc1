"""The latent space: traversals of single dimensions and interpolation between latents.

Latent vectors for seeds follow :meth:`mnistgan.GAN.sample`: the digit of seed
``s`` is ``gan.sample(1, seed=s)``, and :func:`seed_latents` returns its vector,
so "interpolate between the digits of seeds 1 and 2" and "between their latents"
are the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor

from ..errors import ConfigError
from ._common import _positive_int

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = [
    "interpolate",
    "interpolate_latents",
    "latent_traversal",
    "lerp",
    "seed_latents",
    "slerp",
    "traversal_labels",
]

Mode = Literal["lerp", "slerp"]

# Below this angle (radians) two directions count as parallel, and slerp is lerp.
_PARALLEL = 1e-6


def seed_latents(latent_dim: int, seeds: Sequence[int]) -> Tensor:
    """The latent vector of each seed, as :meth:`mnistgan.GAN.sample` draws it.

    ``gan.generate(seed_latents(gan.latent_dim, [s]))`` equals ``gan.sample(1, seed=s)``.

    Args:
        latent_dim: Size of each vector.
        seeds: One seed per vector.

    Returns:
        ``(len(seeds), latent_dim)`` standard normal vectors.

    Example:
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> z = seed_latents(gan.latent_dim, [1, 2])
        >>> z.shape, torch.equal(gan.generate(z[:1]), gan.sample(1, seed=1))
        (torch.Size([2, 100]), True)
    """
    latent_dim = _positive_int(latent_dim, "latent_dim")
    rows = []
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seeds must be ints, got {seed!r}")
        rows.append(torch.randn(1, latent_dim, generator=torch.Generator().manual_seed(seed))[0])
    if not rows:
        raise ConfigError("seeds must hold at least one seed")
    return torch.stack(rows)


def _check_pair(z0: Tensor, z1: Tensor) -> None:
    if not isinstance(z0, Tensor) or not isinstance(z1, Tensor):
        raise ConfigError(
            f"z0 and z1 must be tensors, got {type(z0).__name__} and {type(z1).__name__}"
        )
    if z0.shape != z1.shape or z0.dim() not in (1, 2) or z0.size(-1) < 1:
        raise ConfigError(
            f"z0 and z1 must have one shape, (D,) or (N, D), got {tuple(z0.shape)} and "
            f"{tuple(z1.shape)}"
        )
    if not (z0.is_floating_point() and z1.is_floating_point()):
        raise ConfigError(f"z0 and z1 must be float tensors, got {z0.dtype} and {z1.dtype}")


def _times(t: float | Sequence[float] | Tensor, dims: int) -> tuple[Tensor, bool]:
    """``t`` as a float64 tensor ``(T, 1, ...)`` broadcasting against ``dims`` dims."""
    scalar = isinstance(t, (int, float)) or (isinstance(t, Tensor) and t.dim() == 0)
    times = torch.as_tensor(t, dtype=torch.float64).reshape(-1)
    if not bool(torch.isfinite(times).all()):
        raise ConfigError(f"t must be finite, got {t!r}")
    return times.reshape(-1, *([1] * dims)), scalar


def _exact_ends(result: Tensor, z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Return ``z0`` exactly where ``t == 0`` and ``z1`` where ``t == 1``."""
    result = torch.where(t == 0, z0, result)
    return torch.where(t == 1, z1, result)


def lerp(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor) -> Tensor:
    """Linear interpolation ``(1 - t) * z0 + t * z1``.

    Args:
        z0: Start, ``(D,)`` or ``(N, D)``.
        z1: End, same shape.
        t: One fraction (result shaped like ``z0``) or a sequence of ``T``
            fractions (result ``(T, *z0.shape)``); 0 gives ``z0`` exactly and 1
            gives ``z1`` exactly.

    Returns:
        The interpolated vectors, in the dtype of ``z0``.

    Example:
        >>> lerp(torch.tensor([0.0, 2.0]), torch.tensor([2.0, 0.0]), 0.5)
        tensor([1., 1.])
        >>> lerp(torch.zeros(3), torch.ones(3), [0, 0.5, 1]).shape
        torch.Size([3, 3])
    """
    _check_pair(z0, z1)
    times, scalar = _times(t, z0.dim())
    a, b = z0.double(), z1.double()
    result = _exact_ends(a + times * (b - a), a, b, times).to(z0.dtype)
    return result[0] if scalar else result


def slerp(z0: Tensor, z1: Tensor, t: float | Sequence[float] | Tensor) -> Tensor:
    """Spherical interpolation: turn along the great circle, scale the norm linearly.

    The direction turns from ``z0``'s to ``z1``'s at constant angular speed and
    the norm goes linearly from ``|z0|`` to ``|z1|``, so it always stays between
    the endpoints' norms; for vectors of equal norm this is the classic slerp
    (Shoemake 1985; White, "Sampling generative networks", 2016), which keeps
    Gaussian latents at a typical norm where a straight line would cut through
    the low-density centre. Nearly parallel vectors (and zero vectors) fall back
    to :func:`lerp`; exactly opposite ones turn through a fixed perpendicular
    direction (in one dimension they fall back to lerp).

    Args:
        z0: Start, ``(D,)`` or ``(N, D)`` (one interpolation per row).
        z1: End, same shape.
        t: One fraction (result shaped like ``z0``) or a sequence of ``T``
            fractions (result ``(T, *z0.shape)``); 0 gives ``z0`` exactly and 1
            gives ``z1`` exactly.

    Returns:
        The interpolated vectors, in the dtype of ``z0``.

    Example:
        >>> z = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 0.5)
        >>> [round(v, 4) for v in z.tolist()]
        [0.7071, 0.7071]
    """
    _check_pair(z0, z1)
    times, scalar = _times(t, z0.dim())
    a, b = z0.double(), z1.double()  # (..., D)
    r0 = a.norm(dim=-1, keepdim=True)  # (..., 1)
    r1 = b.norm(dim=-1, keepdim=True)
    tiny = torch.finfo(torch.float64).tiny
    u0 = a / r0.clamp_min(tiny)
    u1 = b / r1.clamp_min(tiny)
    cos = (u0 * u1).sum(-1, keepdim=True).clamp(-1, 1)
    ortho = u1 - cos * u0  # the part of u1 perpendicular to u0
    sin = ortho.norm(dim=-1, keepdim=True)
    omega = torch.atan2(sin, cos)  # the angle between the directions, in [0, pi]
    w = ortho / sin.clamp_min(tiny)
    # Opposite directions: any perpendicular works; take the basis vector least aligned
    # with u0, minus its part along u0.
    axis = torch.nn.functional.one_hot(u0.abs().argmin(-1), u0.size(-1)).double()
    perp = axis - (axis * u0).sum(-1, keepdim=True) * u0
    perp = perp / perp.norm(dim=-1, keepdim=True).clamp_min(tiny)
    opposite = (omega > math.pi - _PARALLEL) & (u0.size(-1) > 1)
    w = torch.where(opposite, perp, w)
    direction = torch.cos(times * omega) * u0 + torch.sin(times * omega) * w  # (T, ..., D)
    spherical = ((1 - times) * r0 + times * r1) * direction
    linear = a + times * (b - a)
    degenerate = (omega < _PARALLEL) | (r0 <= tiny) | (r1 <= tiny)
    degenerate = degenerate | ((omega > math.pi - _PARALLEL) & (u0.size(-1) == 1))
    result = torch.where(degenerate, linear, spherical)
    result = _exact_ends(result, a, b, times).to(z0.dtype)
    return result[0] if scalar else result


def interpolate_latents(
    z0: Tensor, z1: Tensor, *, steps: int = 10, mode: Mode = "slerp"
) -> Tensor:
    """``steps`` latents from ``z0`` to ``z1``, both included, evenly spaced in ``t``.

    Args:
        z0: Start ``(D,)`` or ``(N, D)``.
        z1: End, same shape.
        steps: Number of vectors, at least 2.
        mode: ``"slerp"`` (:func:`slerp`) or ``"lerp"`` (:func:`lerp`).

    Returns:
        ``(steps, *z0.shape)``.

    Example:
        >>> interpolate_latents(torch.zeros(4), torch.ones(4), steps=5, mode="lerp")[:, 0]
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    steps = _positive_int(steps, "steps")
    if steps < 2:
        raise ConfigError(f"steps must be at least 2 (both ends), got {steps}")
    if mode not in ("lerp", "slerp"):
        raise ConfigError(f'mode must be "lerp" or "slerp", got {mode!r}')
    times = torch.linspace(0, 1, steps, dtype=torch.float64)
    return (slerp if mode == "slerp" else lerp)(z0, z1, times)


def interpolate(
    gan: GAN,
    z0: Tensor | None = None,
    z1: Tensor | None = None,
    *,
    seeds: Sequence[int] | None = None,
    steps: int = 10,
    mode: Mode = "slerp",
) -> Tensor:
    """Images along a path through latent space, between two latents or two seeds' digits.

    Give either the two latents ``z0`` and ``z1`` (``(latent_dim,)`` each) or
    ``seeds``: with seeds ``[s0, s1, ...]`` each consecutive pair gets one row,
    from the digit ``gan.sample(1, seed=s0)`` to that of ``s1``, and so on.

    Args:
        gan: The model.
        z0: Start latent.
        z1: End latent.
        seeds: Two or more seeds instead of ``z0`` and ``z1``.
        steps: Images per row, both ends included.
        mode: ``"slerp"`` or ``"lerp"``.

    Returns:
        Images ``(rows * steps, C, H, W)`` in [0, 1], row-major: ready for
        :func:`~mnistgan.viz.save_grid` with ``nrow=steps``.

    Raises:
        ConfigError: If both or neither of latents and seeds are given, or a
            shape does not fit the model.

    Example:
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> images = interpolate(gan, seeds=[1, 2], steps=5)
        >>> images.shape, torch.allclose(images[:1], gan.sample(1, seed=1), atol=1e-6)
        (torch.Size([5, 1, 28, 28]), True)
    """
    if seeds is not None:
        if z0 is not None or z1 is not None:
            raise ConfigError("give either z0 and z1 or seeds, not both")
        if isinstance(seeds, (str, bytes)) or len(seeds) < 2:
            raise ConfigError(f"seeds must hold at least two seeds, got {seeds!r}")
        z = seed_latents(gan.latent_dim, seeds)  # (S, latent_dim)
        starts, ends = z[:-1], z[1:]
    else:
        if z0 is None or z1 is None:
            raise ConfigError("give the latents z0 and z1, or seeds=[s0, s1]")
        for name, v in (("z0", z0), ("z1", z1)):
            if not isinstance(v, Tensor) or v.shape != (gan.latent_dim,):
                got = tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__
                raise ConfigError(f"{name} must have shape ({gan.latent_dim},), got {got}")
        starts, ends = z0.float().unsqueeze(0).cpu(), z1.float().unsqueeze(0).cpu()
    path = interpolate_latents(starts, ends, steps=steps, mode=mode)  # (steps, rows, D)
    return gan.generate(path.transpose(0, 1).reshape(-1, gan.latent_dim))


def latent_traversal(
    gan: GAN,
    *,
    dims: Sequence[int],
    values: Sequence[float] = (-3.0, 0.0, 3.0),
    base: Tensor | None = None,
    seed: int | Sequence[int] = 0,
) -> Tensor:
    """Sweep single latent dimensions to see what each one controls.

    Row ``i`` of a block varies dimension ``dims[i]`` over ``values`` while every
    other coordinate stays at the block's base vector. Several base vectors give
    several blocks, stacked top to bottom.

    Args:
        gan: The model.
        dims: Latent dimensions to sweep (rows).
        values: Values each dimension takes (columns).
        base: Base latent vector ``(latent_dim,)``, or several ``(B, latent_dim)``.
            By default one per seed, as :func:`seed_latents` draws them.
        seed: Seed, or seeds, of the default base vectors.

    Returns:
        Images ``(B * len(dims) * len(values), C, H, W)`` in [0, 1], row-major,
        ready for :func:`~mnistgan.viz.save_grid` with ``nrow=len(values)``.

    Raises:
        ConfigError: If a dimension is out of range, a sequence is empty or the
            base has the wrong shape.

    Example:
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> latent_traversal(gan, dims=[5, 25], values=[-3, 0, 3]).shape
        torch.Size([6, 1, 28, 28])
        >>> latent_traversal(gan, dims=[5, 25], values=[-3, 0, 3], seed=[0, 1]).shape
        torch.Size([12, 1, 28, 28])
    """
    if not dims or not values:
        raise ConfigError(
            f"dims and values must not be empty, got dims={dims!r}, values={values!r}"
        )
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d < gan.latent_dim:
            raise ConfigError(
                f"dims must be ints in [0, {gan.latent_dim - 1}] for this model's "
                f"latent_dim={gan.latent_dim}, got {d!r}"
            )
    if base is None:
        seeds = [seed] if isinstance(seed, int) else list(seed)
        bases = seed_latents(gan.latent_dim, seeds)  # (B, latent_dim)
    elif (
        not isinstance(base, Tensor) or base.dim() not in (1, 2) or base.size(-1) != gan.latent_dim
    ):
        got = tuple(base.shape) if isinstance(base, Tensor) else type(base).__name__
        raise ConfigError(
            f"base must have shape ({gan.latent_dim},) or (B, {gan.latent_dim}), got {got}"
        )
    else:
        bases = base.detach().float().cpu().reshape(-1, gan.latent_dim)
    cols = len(values)
    z = bases.repeat_interleave(len(dims) * cols, dim=0)  # (B * rows * cols, latent_dim)
    for b in range(bases.size(0)):
        for row, d in enumerate(dims):
            for col, v in enumerate(values):
                z[(b * len(dims) + row) * cols + col, d] = float(v)
    return gan.generate(z)


def traversal_labels(dims: Sequence[int], *, blocks: int = 1) -> list[str]:
    """Row labels for a traversal grid: ``"z5"`` per dimension, ``"1:z5"`` with several bases.

    Example:
        >>> traversal_labels([5, 25]), traversal_labels([5], blocks=2)
        (['z5', 'z25'], ['1:z5', '2:z5'])
    """
    blocks = _positive_int(blocks, "blocks")
    if blocks == 1:
        return [f"z{d}" for d in dims]
    return [f"{b + 1}:z{d}" for b in range(blocks) for d in dims]
