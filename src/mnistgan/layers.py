"""Small building blocks: name→layer lookups and (de)convolution/linear blocks.

Builders never construct a norm or activation layer themselves: they go through
:func:`get_act_layer` and :func:`get_norm_layer`, so every builder accepts the same
names (``"relu"``, ``"batch"``, ...) or a layer class, resolved in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from .errors import ConfigError, DataError

__all__ = [
    "ACTIVATIONS",
    "NORMS",
    "ActLike",
    "NormLike",
    "conv_block",
    "dcgan_init",
    "get_act_layer",
    "get_norm_layer",
    "linear_block",
    "resolve_norm",
]

ActLike: TypeAlias = "str | type[nn.Module] | None"
"""An activation: a name from :data:`ACTIVATIONS`, an ``nn.Module`` class, or ``None``."""

NormLike: TypeAlias = "str | type[nn.Module] | None"
"""A normalisation: a name from :data:`NORMS`, an ``nn.Module`` class taking the
number of features as its only argument, or ``None`` (same as ``"none"``)."""

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "none": nn.Identity,
}
"""Activation names and their factories (``leaky_relu`` has slope 0.2, as in DCGAN)."""

NORMS = ("batch", "layer", "spectral", "none")
"""Normalisation names. ``"spectral"`` wraps the block's weight (spectral
normalisation) instead of adding a layer; ``"layer"`` normalises over all features
of a sample (``GroupNorm(1, C)`` for feature maps)."""

_Dims = Literal[1, 2]


def get_act_layer(act: ActLike, *, argument: str = "act") -> nn.Module:
    """Build an activation layer from a name or a class.

    Args:
        act: A name from :data:`ACTIVATIONS`, an ``nn.Module`` subclass, or ``None``
            (identity).
        argument: The builder argument being resolved, used in error messages.

    Returns:
        A fresh activation module.

    Raises:
        ConfigError: If the name is unknown or the object is not a module class.

    Example:
        >>> get_act_layer("leaky_relu")
        LeakyReLU(negative_slope=0.2)
        >>> get_act_layer(nn.Tanh)
        Tanh()
    """
    if act is None:
        return nn.Identity()
    if isinstance(act, str):
        try:
            return ACTIVATIONS[act.lower()]()
        except KeyError:
            raise ConfigError(
                f"{argument} must be one of {sorted(ACTIVATIONS)} or an nn.Module class, "
                f"got {act!r}"
            ) from None
    if isinstance(act, type) and issubclass(act, nn.Module):
        return act()
    raise ConfigError(
        f"{argument} must be an activation name or an nn.Module class, got {act!r} "
        f"(pass the class, e.g. nn.ReLU, not an instance)"
    )


def resolve_norm(norm: NormLike, argument: str = "norm") -> str | type[nn.Module]:
    """Canonical form of a normalisation setting: a lower-case name or a module class.

    Raises:
        ConfigError: If the name is unknown or the object is not a module class.

    Example:
        >>> resolve_norm("Spectral"), resolve_norm(None)
        ('spectral', 'none')
    """
    if norm is None:
        return "none"
    if isinstance(norm, str):
        name = norm.lower()
        if name not in NORMS:
            raise ConfigError(
                f"{argument} must be one of {list(NORMS)} or an nn.Module class, got {norm!r}"
            )
        return name
    if isinstance(norm, type) and issubclass(norm, nn.Module):
        return norm
    raise ConfigError(
        f"{argument} must be a normalisation name or an nn.Module class, got {norm!r}"
    )


def get_norm_layer(
    norm: NormLike, num_features: int, *, dims: _Dims = 2, argument: str = "norm"
) -> nn.Module:
    """Build the normalisation layer that follows a linear (``dims=1``) or conv (``dims=2``) layer.

    ``"spectral"`` and ``"none"`` return ``nn.Identity`` here: spectral
    normalisation acts on the weight, see :func:`conv_block`.

    Args:
        norm: A name from :data:`NORMS`, an ``nn.Module`` class called with
            ``num_features``, or ``None``.
        num_features: Channels (``dims=2``) or features (``dims=1``).
        dims: 1 after a linear layer, 2 after a convolution.
        argument: The builder argument being resolved, used in error messages.

    Returns:
        A fresh normalisation module.

    Raises:
        ConfigError: If the name is unknown.

    Example:
        >>> get_norm_layer("batch", 64)
        BatchNorm2d(64, ...)
        >>> get_norm_layer("layer", 32)
        GroupNorm(1, 32, ...)
    """
    resolved = resolve_norm(norm, argument)
    if not isinstance(resolved, str):
        return resolved(num_features)
    if resolved == "batch":
        return nn.BatchNorm1d(num_features) if dims == 1 else nn.BatchNorm2d(num_features)
    if resolved == "layer":
        return nn.LayerNorm(num_features) if dims == 1 else nn.GroupNorm(1, num_features)
    return nn.Identity()


def _uses_bias(bias: bool | None, norm: NormLike) -> bool:
    """Default bias: off when a norm layer with its own shift follows, on otherwise."""
    if bias is not None:
        return bias
    return resolve_norm(norm, "norm") in ("none", "spectral")


def _finish_block(
    layer: nn.Module, norm: NormLike, act: ActLike, num_features: int, dims: _Dims
) -> nn.Sequential:
    if resolve_norm(norm, "norm") == "spectral":
        layer = spectral_norm(layer)
    activation = get_act_layer(act)
    if isinstance(activation, (nn.ReLU, nn.LeakyReLU)):
        # In place: its input is this block's own intermediate, which nothing else reads
        # (no layer here needs its output for backward), and both compute their gradient
        # from their output. Same values, one activation-sized buffer less per block.
        activation.inplace = True
    modules = [layer, get_norm_layer(norm, num_features, dims=dims), activation]
    return nn.Sequential(*(m for m in modules if not isinstance(m, nn.Identity)))


def linear_block(
    in_features: int,
    out_features: int,
    *,
    norm: NormLike = "none",
    act: ActLike = "relu",
    bias: bool | None = None,
) -> nn.Sequential:
    """``Linear`` → norm → activation, with identities left out.

    Args:
        in_features: Input features.
        out_features: Output features.
        norm: Normalisation after the linear layer (see :func:`get_norm_layer`).
        act: Activation at the end (see :func:`get_act_layer`); ReLU and
            LeakyReLU run in place, on the block's own intermediate.
        bias: Whether the linear layer has a bias; by default only when no norm
            layer with its own shift follows.

    Returns:
        An ``nn.Sequential`` block.

    Example:
        >>> block = linear_block(100, 256, norm="batch", act="relu")
        >>> [type(m).__name__ for m in block]
        ['Linear', 'BatchNorm1d', 'ReLU']
        >>> block[0].bias is None  # the norm layer's shift makes a bias redundant
        True
    """
    layer = nn.Linear(in_features, out_features, bias=_uses_bias(bias, norm))
    return _finish_block(layer, norm, act, out_features, dims=1)


def conv_block(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    *,
    transposed: bool = False,
    norm: NormLike = "batch",
    act: ActLike = "relu",
    bias: bool | None = None,
) -> nn.Sequential:
    """(Transposed) convolution → norm → activation, with identities left out.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size.
        stride: Stride.
        padding: Zero padding.
        transposed: ``ConvTranspose2d`` (upsampling) instead of ``Conv2d``.
        norm: Normalisation after the convolution (see :func:`get_norm_layer`);
            ``"spectral"`` wraps the convolution's weight instead.
        act: Activation at the end (see :func:`get_act_layer`); ReLU and
            LeakyReLU run in place, on the block's own intermediate.
        bias: Whether the convolution has a bias; by default only when no norm
            layer with its own shift follows.

    Returns:
        An ``nn.Sequential`` block.

    Example:
        >>> block = conv_block(64, 128, 4, 2, 1, norm="batch", act="leaky_relu")
        >>> import torch
        >>> block(torch.zeros(2, 64, 14, 14)).shape
        torch.Size([2, 128, 7, 7])
    """
    conv_cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    layer = conv_cls(
        in_channels, out_channels, kernel_size, stride, padding, bias=_uses_bias(bias, norm)
    )
    return _finish_block(layer, norm, act, out_channels, dims=2)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN weight initialisation, for ``module.apply(dcgan_init)``.

    Convolution and linear weights ~ N(0, 0.02); batch-norm weights ~ N(1, 0.02);
    biases 0 (Radford et al., 2016).

    Args:
        module: A module visited by ``nn.Module.apply``.

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Conv2d(1, 64, 4), nn.BatchNorm2d(64)).apply(dcgan_init)
        >>> round(net[0].weight.std().item(), 2)
        0.02
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        # Spectral norm keeps the trainable weight in ``parametrizations.weight.original``.
        weight: Tensor = (
            module.parametrizations.weight.original  # type: ignore[union-attr,assignment]
            if parametrize.is_parametrized(module, "weight")
            else module.weight
        )
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# --------------------------------------------------------------------------- latent input


def flat_latent(z: Tensor, latent_dim: int | None) -> Tensor:
    """``z`` as ``(N, latent_dim)``: also accepts the DCGAN convention ``(N, latent_dim, 1, 1)``.

    Raises:
        DataError: For any other shape; the message names the expected and the received one.

    Example:
        >>> import torch
        >>> flat_latent(torch.zeros(2, 8, 1, 1), 8).shape
        torch.Size([2, 8])
        >>> flat_latent(torch.zeros(2, 8, 2), 8)
        Traceback (most recent call last):
        ...
        mnistgan.errors.DataError: latent vectors must have shape (N, 8) or (N, 8, 1, 1), ...
    """
    if z.dim() == 4 and z.shape[2] == 1 and z.shape[3] == 1:
        z = z.flatten(1)  # (N, Z, 1, 1) -> (N, Z)
    if z.dim() != 2 or (latent_dim is not None and z.shape[1] != latent_dim):
        width = "latent_dim" if latent_dim is None else str(latent_dim)
        raise DataError(
            f"latent vectors must have shape (N, {width}) or (N, {width}, 1, 1), got "
            f"{tuple(z.shape)}; draw them with torch.randn(N, {width})"
        )
    return z


class LatentSequential(nn.Sequential):
    """A generator's layers, run on latent vectors ``(N, latent_dim)`` or ``(N, latent_dim,
    1, 1)`` (the DCGAN convention); any other shape raises an error naming both.

    It is an ``nn.Sequential`` in every other way (same children, same state-dict keys).

    Example:
        >>> import torch
        >>> g = LatentSequential(4, nn.Linear(4, 6))
        >>> g(torch.randn(3, 4)).shape, g(torch.randn(3, 4, 1, 1)).shape
        (torch.Size([3, 6]), torch.Size([3, 6]))
    """

    def __init__(self, latent_dim: int, *args: nn.Module | dict[str, nn.Module]) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.latent_dim = latent_dim

    def forward(self, z: Tensor) -> Tensor:
        """Images from latent vectors."""
        out: Tensor = super().forward(flat_latent(z, self.latent_dim))  # type: ignore[no-untyped-call]
        return out
