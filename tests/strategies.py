"""Shared Hypothesis strategies: builder arguments per family, bad sizes, config overrides.

Networks drawn here are tiny (widths 1–16) so each example builds and runs in
milliseconds on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn

from mnistgan.builders import (
    conv_discriminator,
    conv_generator,
    conv_pool_discriminator,
    fc_conv_generator,
    mlp_discriminator,
    mlp_generator,
)
from mnistgan.layers import ACTIVATIONS, NORMS
from mnistgan.losses import list_losses

__all__ = [
    "CONV_SIDES",
    "DISCRIMINATORS",
    "FAMILIES",
    "GENERATORS",
    "OUT_ACTS",
    "GanCase",
    "bad_sizes",
    "builder_kwargs",
    "config_overrides",
    "output_range",
    "seeds",
]

FAMILIES = ("mlp", "conv", "fc_conv")
"""Builder families; ``fc_conv`` pairs ``fc_conv_generator`` with ``conv_pool_discriminator``."""

GENERATORS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp_generator,
    "conv": conv_generator,
    "fc_conv": fc_conv_generator,
}
DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp_discriminator,
    "conv": conv_discriminator,
    "fc_conv": conv_pool_discriminator,
}

OUT_ACTS = ("tanh", "sigmoid", "none")
"""Generator output activations a GAN config can name."""


CONV_SIDES = st.sampled_from((28, 32, 64)) | st.integers(4, 20).map(lambda k: 2 * k)
"""Square sides the derived conv geometry supports: 28, 32, 64 and other even sides >= 8."""

seeds = st.integers(0, 2**32 - 1)
"""Seeds for ``torch.manual_seed``, drawn so failures replay exactly."""

bad_sizes = st.integers(max_value=0) | st.booleans()
"""Values a positive-int size argument must refuse (bools are not ints here)."""


def output_range(out_act: str) -> tuple[float, float] | None:
    """The closed range an output activation guarantees, or ``None`` if unbounded."""
    return {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}.get(out_act)


@dataclass(frozen=True)
class GanCase:
    """One drawn generator/discriminator pair with the batch size to run it at."""

    family: str
    generator: dict[str, Any]
    discriminator: dict[str, Any]
    batch_size: int

    @property
    def latent_dim(self) -> int:
        """Size of the generator's latent vector."""
        return int(self.generator["latent_dim"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` shared by both networks."""
        return tuple(self.generator["image_shape"])  # type: ignore[return-value]

    def build_generator(self) -> nn.Module:
        """Build G from the drawn arguments."""
        return GENERATORS[self.family](**self.generator)

    def build_discriminator(self) -> nn.Module:
        """Build D from the drawn arguments."""
        return DISCRIMINATORS[self.family](**self.discriminator)

    def latents(self) -> torch.Tensor:
        """A batch of standard normal latent vectors."""
        return torch.randn(self.batch_size, self.latent_dim)

    def real_batch(self) -> torch.Tensor:
        """Random images in the generator's range (or [-1, 1] for ``out_act='none'``)."""
        lo, hi = output_range(self.generator["out_act"]) or (-1.0, 1.0)
        return torch.rand(self.batch_size, *self.image_shape) * (hi - lo) + lo


# For gradient tests (``trainable=True``): ReLU can switch a whole small layer off for a
# whole batch (exactly zero gradient), unless every layer before it is batch-normed, which
# centres each channel over the batch so some unit is always active.
def _hidden_act(draw: st.DrawFn, *, trainable: bool, relu_ok: bool) -> str:
    names = sorted(ACTIVATIONS)
    if trainable and not relu_ok:
        names.remove("relu")
    return draw(st.sampled_from(names))


def _widths(draw: st.DrawFn, lo: int, n: int | None = None) -> list[int]:
    size = st.integers(lo, 16)
    if n is None:
        return draw(st.lists(size, min_size=1, max_size=3))
    return draw(st.lists(size, min_size=n, max_size=n))


def _depth(side: int) -> int:
    """Upsampling steps of the derived geometry: side = start * 2**n, start >= 4."""
    n = 0
    while side % 2 ** (n + 1) == 0 and side // 2 ** (n + 1) >= 4:
        n += 1
    return n


def _transposed_geometry(draw: st.DrawFn, layers: int) -> tuple[list[int], ...]:
    """Kernels/strides/paddings of a valid transposed stack from 1x1; stride <= kernel
    so every output pixel sees an input and every weight a gradient."""
    kernels, strides, paddings = [], [], []
    side = 1
    for _ in range(layers):
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, min(k, 3)))
        full = (side - 1) * s + k
        p = draw(st.integers(0, min(k - 1, (full - 1) // 2)))
        side = full - 2 * p
        kernels.append(k)
        strides.append(s)
        paddings.append(p)
    return kernels, strides, paddings


def _conv_geometry(draw: st.DrawFn, side: int, layers: int) -> tuple[list[int], ...]:
    """Kernels/strides/paddings of a valid conv stack; padding < kernel so the first
    window of every layer overlaps real data."""
    kernels, strides, paddings = [], [], []
    for _ in range(layers):
        k = draw(st.integers(1, 5))
        p = draw(st.integers(max(0, -(-(k - side) // 2)), k - 1))
        s = draw(st.integers(1, 3))
        side = (side + 2 * p - k) // s + 1
        kernels.append(k)
        strides.append(s)
        paddings.append(p)
    return kernels, strides, paddings


def _pool_stages_fit(side: int, stages: int, kernel: int) -> bool:
    for _ in range(stages):
        side = (side - kernel + 1) // 2
        if side < 1:
            return False
    return True


@st.composite
def builder_kwargs(
    draw: st.DrawFn, family: str, *, trainable: bool = False, explicit: bool | None = None
) -> GanCase:
    """Valid keyword arguments for one family's generator and discriminator.

    Args:
        family: One of :data:`FAMILIES`.
        explicit: For the conv family, draw explicit kernels/strides/paddings (True),
            the geometry derived from the image side (False), or either (None).
        trainable: Draw only networks where every parameter must get a non-zero
            gradient: batch >= 3 and widths >= 3 (batch/layer norm over two values
            is constant ±1, and a spectral-normed 1x1 weight is constant ±1), ReLU
            only behind batch norm, and with batch norm a bounded output activation
            (D's batch-normed first layer cancels any constant shift of its batch,
            so G's output bias behind ``out_act="none"`` gets exactly zero gradient).
    """
    lo = 3 if trainable else 1
    norm = draw(st.sampled_from(NORMS))
    batch_size = draw(st.integers(3 if trainable else 2, 4))
    latent_dim = draw(st.integers(2 if trainable else 1, 16))
    channels = draw(st.integers(1, 3))
    bounded = trainable and norm == "batch"
    out_act = draw(st.sampled_from(("tanh", "sigmoid") if bounded else OUT_ACTS))
    g_act = _hidden_act(draw, trainable=trainable, relu_ok=norm == "batch")
    g_init = draw(st.sampled_from(("default", "dcgan")))
    d_init = draw(st.sampled_from(("default", "dcgan")))
    g: dict[str, Any] = {
        "latent_dim": latent_dim,
        "norm": norm,
        "act": g_act,
        "out_act": out_act,
        "init": g_init,
    }
    d: dict[str, Any] = {"norm": norm, "init": d_init}

    if family == "mlp":
        if draw(st.booleans()):
            side = draw(st.sampled_from((28, 32, 64)))
            shape = (channels, side, side)
        else:
            shape = (channels, draw(st.integers(1, 32)), draw(st.integers(1, 32)))
        g.update(image_shape=shape, hidden=_widths(draw, lo))
        d.update(
            image_shape=shape,
            hidden=_widths(draw, lo),
            act=_hidden_act(draw, trainable=trainable, relu_ok=norm == "batch"),
            dropout=0.0 if trainable else draw(st.sampled_from((0.0, 0.3))),
        )
    elif family == "conv":
        norm_first, norm_last = draw(st.booleans()), draw(st.booleans())
        all_normed = norm == "batch" and norm_first and norm_last
        d_act = _hidden_act(draw, trainable=trainable, relu_ok=all_normed)
        d.update(
            norm_first=norm_first,
            norm_last=norm_last,
            act=d_act,
            dropout=0.0 if trainable else draw(st.sampled_from((0.0, 0.3))),
        )
        if explicit is None:
            explicit = draw(st.booleans())
        if not explicit:  # derived geometry: depth from the image side
            side = draw(CONV_SIDES)
            n = _depth(side)
            if draw(st.booleans()):
                g["widths"] = _widths(draw, lo, n)
                d["widths"] = _widths(draw, lo, n)
            else:  # widths double per layer from base_width: keep them small
                g["base_width"] = draw(st.integers(lo, 4))
                d["base_width"] = draw(st.integers(lo, 4))
        else:  # explicit geometry, any side it produces (odd ones included)
            g_layers = draw(st.integers(2, 3))
            kernels, strides, paddings = _transposed_geometry(draw, g_layers)
            side = 1
            for k, s, p in zip(kernels, strides, paddings, strict=True):
                side = (side - 1) * s - 2 * p + k
            g.update(
                widths=_widths(draw, lo, g_layers - 1),
                kernels=kernels,
                strides=strides,
                paddings=paddings,
            )
            d_layers = draw(st.integers(1, 3))
            kernels, strides, paddings = _conv_geometry(draw, side, d_layers)
            d.update(
                widths=_widths(draw, lo, d_layers),
                kernels=kernels,
                strides=strides,
                paddings=paddings,
            )
        shape = (channels, side, side)
        g["image_shape"] = d["image_shape"] = shape
    elif family == "fc_conv":
        if draw(st.booleans()):
            side = draw(CONV_SIDES)
            g["base_width"] = draw(st.integers(lo, 4))
        else:
            widths = _widths(draw, lo)
            side = draw(st.integers(1, 7)) * 2 ** len(widths)
            g["widths"] = widths
        shape = (channels, side, side)
        stages = draw(st.integers(1, 2))
        if not _pool_stages_fit(side, stages, 1):
            stages = 1
        kernel = draw(
            st.sampled_from([k for k in range(1, 6) if _pool_stages_fit(side, stages, k)])
        )
        g.update(image_shape=shape, fc_width=draw(st.integers(lo, 16)))
        d.update(
            image_shape=shape,
            widths=_widths(draw, lo, stages),
            kernel_size=kernel,
            fc_width=draw(st.integers(lo, 16)),
            act=_hidden_act(draw, trainable=trainable, relu_ok=norm == "batch"),
        )
    else:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return GanCase(family, g, d, batch_size)


def config_overrides() -> st.SearchStrategy[dict[str, Any]]:
    """Valid :class:`~mnistgan.presets.GANConfig` field overrides (a few at a time)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "latent_dim": st.integers(1, 256),
            "lr_g": st.floats(1e-6, 1e-1),
            "lr_d": st.floats(1e-6, 1e-1),
            "betas": st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.999)),
            "batch_size": st.integers(1, 512),
            "epochs": st.integers(1, 100),
            "d_steps": st.integers(1, 5),
            "r1_gamma": st.floats(0.0, 10.0),
            "ema_decay": st.none() | st.floats(0.5, 0.9999),
            "loss": st.sampled_from(list_losses()),
            "output": st.sampled_from(OUT_ACTS),
        },
    )
