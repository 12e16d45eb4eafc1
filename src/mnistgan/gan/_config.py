"""How a :class:`~mnistgan.gan.GAN` is put together from its config and arguments."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from torch import nn

from ..conditioning import ConditionalDiscriminator
from ..errors import ConfigError
from ..presets import GANConfig, NetworkSpec

_FLOAT_FIELDS = ("lr_g", "lr_d", "gp_weight", "r1_gamma", "aux_weight", "ema_decay")


def apply_overrides(config: GANConfig, overrides: Mapping[str, Any]) -> GANConfig:
    """``config.replace(**overrides)``, with every failure a ConfigError naming the fields."""
    try:
        config = config.replace(**overrides) if overrides else config
    except (TypeError, AttributeError) as err:  # e.g. image_shape=3: tuple(3) fails
        raise ConfigError(
            f"config overrides {dict(overrides)!r} do not make a valid config "
            f"({type(err).__name__}: {err}); see mnistgan.GANConfig for each field's type"
        ) from err
    for name in ("generator", "discriminator"):
        spec = getattr(config, name)
        if not isinstance(spec, NetworkSpec):
            raise ConfigError(
                f"{name} must be a NetworkSpec or a mapping of builder arguments such as "
                f"{{'hidden': (128,)}}, got {type(spec).__name__} {spec!r}"
            )
    numbers = [(name, getattr(config, name)) for name in _FLOAT_FIELDS]
    numbers += [(f"betas[{i}]", beta) for i, beta in enumerate(config.betas)]
    for name, value in numbers:
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return config


def build_network(config: GANConfig, name: str) -> nn.Module:
    """Build the config's generator or discriminator; a builder's TypeError is a ConfigError."""
    spec: NetworkSpec = getattr(config, name)
    try:
        net: nn.Module = getattr(config, f"build_{name}")()
    except (TypeError, AttributeError) as err:  # e.g. an argument the builder does not take
        raise ConfigError(
            f"could not build the {name} with {spec.builder}(**{dict(spec.kwargs)!r}) "
            f"({type(err).__name__}: {err}); check the {name} override against "
            f"mnistgan.builders.{spec.builder}"
        ) from err
    return net


def architecture(config: GANConfig) -> tuple[Any, ...]:
    """The config fields that decide the networks' shapes (what a checkpoint must match)."""
    return (
        config.generator,
        config.discriminator,
        config.latent_dim,
        config.image_shape,
        config.output,
        config.num_classes,
        config.conditioning,
    )


def has_conv2d(*nets: nn.Module) -> bool:
    """Whether any of ``nets`` holds a 2-D (transposed) convolution."""
    kinds = (nn.Conv2d, nn.ConvTranspose2d)
    return any(isinstance(m, kinds) for net in nets for m in net.modules())


def resolve_channels_last(choice: object, custom_networks: bool, *nets: nn.Module) -> bool:
    """Resolve ``GAN(channels_last=...)``: ``"auto"`` means built networks with 2-D convs."""
    if choice == "auto":
        return not custom_networks and has_conv2d(*nets)
    if not isinstance(choice, bool):
        raise ConfigError(f'channels_last must be True, False or "auto", got {choice!r}')
    return choice


# Layers whose training-mode output for a sample depends on that sample alone, with no
# random draws and no state that changes per call: a joint D pass computes what two do.
_PER_SAMPLE_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.Identity, nn.Flatten, nn.Unflatten,
    nn.Linear, nn.Bilinear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
    nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.ZeroPad2d,
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Softplus,
    nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.PReLU,
    nn.LayerNorm, nn.GroupNorm, nn.Embedding, ConditionalDiscriminator,
)  # fmt: skip


def per_sample(net: nn.Module) -> bool:
    """Whether every module of ``net`` is exactly one of :data:`_PER_SAMPLE_LAYERS`,
    with no hooks (the old ``spectral_norm`` is a hook that steps a power iteration)."""
    return all(
        type(m) in _PER_SAMPLE_LAYERS and not (m._forward_hooks or m._forward_pre_hooks)
        for m in net.modules()
    )


def resolve_joint_d_pass(choice: object, discriminator: nn.Module) -> bool:
    """Resolve ``GAN(joint_d_pass=...)`` for ``discriminator``."""
    if choice == "auto":
        return per_sample(discriminator)
    if not isinstance(choice, bool):
        raise ConfigError(f'joint_d_pass must be True, False or "auto", got {choice!r}')
    if choice and any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules()
    ):
        raise ConfigError(
            "joint_d_pass=True needs a discriminator without BatchNorm, which would "
            'normalise real and fake images together; use joint_d_pass="auto" or False'
        )
    return choice
