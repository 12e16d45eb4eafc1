"""The speed features change how fit() computes, never what it computes.

Comparisons look at the gradients of the first step (Adam's first moment, which is
``(1 - beta1) * grad``) rather than at the updated weights: Adam's first update is about
``lr * sign(grad)``, so a weight whose gradient is zero up to rounding (a bias right
before a BatchNorm, for instance) moves by ``±lr`` on either side of a sign flip.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnistgan import GAN, get_preset

PRESETS = ["vanilla", "dcgan", "default"]


def _textbook_step(config_name: str, batch: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """One step of the tutorials' loop (BCE, two Adams), from the same init and noise."""
    config = get_preset(config_name, ema_decay=None)
    torch.manual_seed(seed)
    G, D = config.build_generator(), config.build_discriminator()
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    bce = nn.BCEWithLogitsLoss()
    x = batch * 2 - 1
    n = x.size(0)
    torch.manual_seed(seed + 1)
    fake = G(torch.randn(n, config.latent_dim))
    opt_d.zero_grad()
    (bce(D(x), torch.ones(n)) + bce(D(fake.detach()), torch.zeros(n))).backward()
    opt_d.step()
    opt_g.zero_grad()
    bce(D(fake), torch.ones(n)).backward()
    opt_g.step()
    return _first_moments(opt_g, opt_d)


def _mnistgan_step(
    config_name: str, batch: torch.Tensor, seed: int, **runtime: bool
) -> dict[str, torch.Tensor]:
    """One ``GAN.train_step`` from the same init and noise."""
    torch.manual_seed(seed)
    gan = GAN(get_preset(config_name, ema_decay=None), **runtime)
    torch.manual_seed(seed + 1)
    gan.train_step(batch)
    return _first_moments(gan.opt_g, gan.opt_d)


def _first_moments(
    opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer
) -> dict[str, torch.Tensor]:
    """Adam's exp_avg of every parameter, i.e. (1 - beta1) times its first gradient."""
    out = {}
    for name, opt in (("g", opt_g), ("d", opt_d)):
        params = [p for group in opt.param_groups for p in group["params"]]
        for i, p in enumerate(params):
            out[f"{name}.{i}"] = opt.state[p]["exp_avg"].contiguous()
    return out


def _assert_normwise_close(
    a: torch.Tensor, b: torch.Tensor, key: str, *, rtol: float = 1e-4
) -> None:
    """``||a - b|| <= rtol ||b|| + 1e-6``.

    Summation order may differ, so single elements that are sums of nearly cancelling
    terms can differ by more than rounding, but a whole tensor cannot; the absolute term
    covers gradients that are zero up to rounding (a bias right before a BatchNorm).
    """
    error = float((a.double() - b.double()).norm())
    scale = float(b.double().norm())
    assert error <= rtol * scale + 1e-6, f"{key}: error {error:.2e} for a norm of {scale:.2e}"


@pytest.mark.parametrize("preset", PRESETS)
def test_plain_kernels_match_the_textbook_step(preset: str) -> None:
    """With fused Adam and channels_last off, the first step's gradients equal the textbook's."""
    batch = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    ours = _mnistgan_step(preset, batch, 0, fused=False, channels_last=False)
    book = _textbook_step(preset, batch, 0)
    assert ours.keys() == book.keys()
    for key, value in book.items():
        _assert_normwise_close(ours[key], value, key)


@pytest.mark.parametrize("preset", PRESETS)
def test_fast_defaults_match_the_textbook_step(preset: str) -> None:
    """With the fast defaults (fused Adam) the first step's gradients agree to rounding."""
    batch = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    ours = _mnistgan_step(preset, batch, 1)
    book = _textbook_step(preset, batch, 1)
    for key, value in book.items():
        _assert_normwise_close(ours[key], value, key)


@pytest.mark.parametrize("preset", ["dcgan", "default"])
def test_channels_last_gradients_stay_close_to_the_textbook_step(preset: str) -> None:
    """Opt-in channels_last gives the textbook gradients to 1e-3 (its documented precision)."""
    batch = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    ours = _mnistgan_step(preset, batch, 1, channels_last=True)
    book = _textbook_step(preset, batch, 1)
    for key, value in book.items():
        _assert_normwise_close(ours[key], value, key, rtol=1e-3)


def test_channels_last_is_opt_in_and_batches_follow_it() -> None:
    """channels_last is off by default; when on, weights and batches use that layout."""
    assert not GAN.from_preset("dcgan").channels_last
    gan = GAN.from_preset("dcgan", channels_last=True)
    x, _ = gan.prepare_batch(torch.rand(4, 1, 28, 28))
    assert x.is_contiguous(memory_format=torch.channels_last)
    weight = gan.discriminator.block1[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)


def test_fast_and_plain_paths_train_to_the_same_place() -> None:
    """Five fit() steps on the fast path give the same losses as the plain path, to rounding."""
    batches = [
        torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(5)
    ]
    losses = []
    for runtime in ({}, {"fused": False}):
        torch.manual_seed(0)
        gan = GAN.from_preset("default", **runtime)
        history = gan.fit(batches, epochs=1, progress=False, device="cpu")
        losses.append(torch.tensor([[r["loss_d"], r["loss_g"]] for r in history.steps]))
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-3, atol=1e-4)
