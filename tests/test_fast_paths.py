"""The speed features change how fit() computes, never what it computes.

Comparisons look at the gradients of the first step (Adam's first moment, which is
``(1 - beta1) * grad``) rather than at the updated weights: Adam's first update is about
``lr * sign(grad)``, so a weight whose gradient is zero up to rounding (a bias right
before a BatchNorm, for instance) moves by ``±lr`` on either side of a sign flip.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import spectral_norm

from mnistgan import GAN, ConfigError, NetworkSpec, get_preset
from mnistgan.gan._config import per_sample as _per_sample
from strategies import FAMILIES, GanCase, builder_kwargs, seeds

PRESETS = ["vanilla", "dcgan", "default"]


def _textbook_step(
    config_name: str, batch: torch.Tensor, seed: int, dtype: torch.dtype = torch.float32
) -> dict[str, torch.Tensor]:
    """One step of the tutorials' loop (BCE, two Adams), from the same init and noise."""
    config = get_preset(config_name, ema_decay=None)
    torch.manual_seed(seed)
    G, D = config.build_generator().to(dtype), config.build_discriminator().to(dtype)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    bce = nn.BCEWithLogitsLoss()
    x = (batch if config.output == "sigmoid" else batch * 2 - 1).to(dtype)
    n = x.size(0)
    torch.manual_seed(seed + 1)
    fake = G(torch.randn(n, config.latent_dim).to(dtype))
    ones, zeros = torch.ones(n, dtype=dtype), torch.zeros(n, dtype=dtype)
    opt_d.zero_grad()
    (bce(D(x), ones) + bce(D(fake.detach()), zeros)).backward()
    opt_d.step()
    opt_g.zero_grad()
    bce(D(fake), ones).backward()
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
    """With fused Adam, channels_last and the joint D pass off, the first step's gradients
    equal the textbook's."""
    batch = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    ours = _mnistgan_step(preset, batch, 0, fused=False, channels_last=False, joint_d_pass=False)
    book = _textbook_step(preset, batch, 0)
    assert ours.keys() == book.keys()
    for key, value in book.items():
        _assert_normwise_close(ours[key], value, key)


@pytest.mark.parametrize("preset", PRESETS)
def test_fast_defaults_match_the_textbook_step(preset: str) -> None:
    """With the fast defaults (fused Adam, channels_last for conv networks, one D pass over
    real and fake for per-sample discriminators) the first step's gradients agree with the
    textbook's to rounding.

    The channels-last layout sums in another order; gradients that mostly cancel (the
    first BatchNorm's, which the next BatchNorm nearly removes) then differ by up to about
    1e-3 of their norm, as they do between the two layouts' float32 results and float64.
    """
    batch = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    ours = _mnistgan_step(preset, batch, 1)
    book = _textbook_step(preset, batch, 1)
    rtol = 1e-3 if GAN.from_preset(preset).channels_last else 1e-4
    for key, value in book.items():
        _assert_normwise_close(ours[key], value, key, rtol=rtol)


@pytest.mark.parametrize("preset", ["dcgan", "default", "infogan"])
def test_neither_layout_strays_from_float64(preset: str) -> None:
    """Against the same step in float64, both layouts' first-step gradients stay within 1e-2
    of its norm for every parameter. Which layout is closer depends on the network (the
    project measured dcgan 2e-6 contiguous vs 4e-3 channels-last, infogan 3e-4 vs 2e-6):
    the differences are rounding in gradients that mostly cancel, not lost precision."""
    batch = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    reference = _textbook_step(preset, batch, 2, dtype=torch.float64)
    for layout in (False, True):
        ours = _mnistgan_step(preset, batch, 2, channels_last=layout, fused=False)
        for key, value in reference.items():
            _assert_normwise_close(ours[key], value, f"{key} (channels_last={layout})", rtol=1e-2)


def test_channels_last_is_on_for_built_conv_networks_and_batches_follow_it() -> None:
    """ "auto" turns channels_last on for conv presets only, never for networks passed in;
    when on, weights and batches use that layout."""
    assert GAN.from_preset("dcgan").channels_last
    assert GAN.from_preset("default").channels_last
    assert not GAN.from_preset("vanilla").channels_last
    assert not GAN.from_preset("dcgan", channels_last=False).channels_last
    config = get_preset("dcgan")
    custom = GAN(config, discriminator=config.build_discriminator())
    assert not custom.channels_last
    gan = GAN.from_preset("dcgan")
    x, _ = gan.prepare_batch(torch.rand(4, 1, 28, 28))
    assert x.is_contiguous(memory_format=torch.channels_last)
    weight = gan.discriminator.block1[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="channels_last"):
        GAN.from_preset("dcgan", channels_last="yes")


@pytest.mark.parametrize("preset", ["vanilla", "default"])
def test_fast_and_plain_paths_train_to_the_same_place(preset: str) -> None:
    """Five fit() steps on the fast path (fused Adam, channels_last, joint D pass) and on
    the plain path (all three off) end no further apart, in losses and in every weight and
    buffer, than the plain path does from itself when the data change by up to 1e-5 of
    their value: the fast path is rounding noise, not a different training.

    Why that yardstick: Adam's update is about ``lr * sign(grad)``, so a weight whose
    gradient is nearly zero (a bias before a BatchNorm) moves on the sign of rounding
    noise, and five steps of the default (BatchNorm) preset amplify a 1e-6 change of the
    data to about 0.1 in G's first weights, just as channels_last's other summation order
    does (measured: 0.100 from 1e-6 of the data, 0.101 from the fast path). Without
    BatchNorm (vanilla) the paths agree to 1e-7, well inside the same bound.
    """
    batches = [
        torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(5)
    ]
    plain = {"fused": False, "channels_last": False, "joint_d_pass": False}
    # The yardstick is the widest of several 1e-5 changes of the data: how far chaos
    # carries one such change differs from change to change (and from CPU to CPU), so a
    # single one can land closer than the fast path's rounding does.
    scales = (1 - 1e-5, 1 + 1e-5, 1 - 3e-6, 1 + 3e-6)
    runs = []
    for runtime, scale in (({}, 1.0), (plain, 1.0), *((plain, s) for s in scales)):
        torch.manual_seed(0)
        gan = GAN.from_preset(preset, **runtime)
        if runtime:
            assert not gan.channels_last and not gan.joint_d_pass
        else:  # the fast path is really on where the preset allows it
            assert gan.channels_last == (preset == "default")
            assert gan.joint_d_pass == (preset == "vanilla")
        history = gan.fit([b * scale for b in batches], epochs=1, progress=False, device="cpu")
        losses = torch.tensor([[r["loss_d"], r["loss_g"]] for r in history.steps])
        runs.append((losses, _float_weights(gan)))
    (fast_losses, fast), (plain_losses, ref), *noisy_runs = runs
    noise = torch.stack([(losses - plain_losses).abs() for losses, _ in noisy_runs]).amax(0)
    assert bool(((fast_losses - plain_losses).abs() <= 3 * noise + 1e-4).all()), (
        fast_losses,
        plain_losses,
        noise,
    )
    assert fast.keys() == ref.keys()
    for key, value in fast.items():
        error = float((value - ref[key]).norm())
        floor = max(float((noisy[key] - ref[key]).norm()) for _, noisy in noisy_runs)
        assert error <= 3 * floor + 1e-6, f"{key}: {error:.2e} apart, rounding floor {floor:.2e}"


def _float_weights(gan: GAN) -> dict[str, torch.Tensor]:
    """Contiguous float64 copies of G's and D's float parameters and buffers."""
    out = {}
    for name, net in (("generator", gan.generator), ("discriminator", gan.discriminator)):
        for key, value in net.state_dict().items():
            if value.is_floating_point():
                out[f"{name}.{key}"] = value.detach().double().contiguous().clone()
    return out


def _d_batch_sizes(gan: GAN, batch: object) -> list[int]:
    """The batch size of every call to ``gan``'s discriminator during one train_step."""
    sizes: list[int] = []
    handle = gan.discriminator.register_forward_pre_hook(
        lambda _module, args: sizes.append(args[0].size(0))
    )
    try:
        gan.train_step(batch)
    finally:
        handle.remove()
    return sizes


@pytest.mark.parametrize(
    ("preset", "overrides"),
    [
        ("mlp", {}),
        ("vanilla", {}),
        ("infogan", {}),
        ("mlp", {"num_classes": 10}),
        ("mlp", {"num_classes": 10, "conditioning": "acgan"}),
        ("vanilla", {"loss": "wgan-gp"}),
    ],
)
def test_joint_d_pass_matches_two_passes(preset: str, overrides: dict[str, object]) -> None:
    """One D pass over real and fake stacked gives the first step's gradients of two
    passes, to rounding, for every per-sample preset, conditioned or not, with any loss;
    the discriminator then runs once on 2N images in the D step."""
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(6))
    labels = torch.randint(10, (32,), generator=torch.Generator().manual_seed(7))
    batch = (x, labels) if "num_classes" in overrides else x
    moments, sizes = [], []
    for joint in (True, False):
        torch.manual_seed(0)
        config = get_preset(preset, ema_decay=None, r1_gamma=0.0, **overrides)  # R1: 2 passes
        gan = GAN(config, joint_d_pass=joint)
        torch.manual_seed(1)
        sizes.append(_d_batch_sizes(gan, batch))
        moments.append(_first_moments(gan.opt_g, gan.opt_d))
    assert sizes[0][0] == 64 and sizes[1][:2] == [32, 32]
    for key, value in moments[1].items():
        _assert_normwise_close(moments[0][key], value, key, rtol=1e-5)


def test_joint_d_pass_auto_picks_per_sample_discriminators_only() -> None:
    """ "auto" stacks the batches for D made only of per-sample layers; BatchNorm, dropout,
    spectral norm (either kind), hooks and unknown module types keep two passes."""
    assert GAN.from_preset("mlp").joint_d_pass
    assert GAN.from_preset("infogan").joint_d_pass
    assert GAN.from_preset("mlp", num_classes=10).joint_d_pass
    assert not GAN.from_preset("dcgan").joint_d_pass
    assert not GAN.from_preset("default").joint_d_pass
    assert not GAN.from_preset("mlp", joint_d_pass=False).joint_d_pass
    mlp = get_preset("mlp")
    d = mlp.discriminator
    for kwargs in ({"dropout": 0.3}, {"norm": "spectral"}, {"norm": "batch"}):
        config = mlp.replace(discriminator=NetworkSpec(d.builder, {**d.kwargs, **kwargs}))
        assert not GAN(config).joint_d_pass, kwargs
    hooked = mlp.build_discriminator()
    spectral_norm(hooked.block0[0])  # the old, hook-based spectral norm
    assert not GAN(mlp, discriminator=hooked).joint_d_pass

    class Custom(nn.Sequential):
        pass

    assert not GAN(mlp, discriminator=Custom(*mlp.build_discriminator())).joint_d_pass
    assert GAN(
        mlp, discriminator=Custom(*mlp.build_discriminator()), joint_d_pass=True
    ).joint_d_pass


def test_joint_d_pass_refuses_batchnorm_and_bad_values() -> None:
    """``True`` with a BatchNorm discriminator, or anything but True/False/"auto", is a
    ConfigError that names the argument."""
    with pytest.raises(ConfigError, match=r"joint_d_pass=True.*BatchNorm"):
        GAN.from_preset("dcgan", joint_d_pass=True)
    with pytest.raises(ConfigError, match="joint_d_pass must be"):
        GAN.from_preset("mlp", joint_d_pass="yes")


def test_r1_keeps_two_discriminator_passes() -> None:
    """With an R1 penalty the D step scores real and fake apart even when joint_d_pass is
    on, so the step is the same either way, bit for bit."""
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(8))
    moments = []
    for joint in (True, False):
        torch.manual_seed(0)
        gan = GAN.from_preset("mlp", ema_decay=None, r1_gamma=1.0, joint_d_pass=joint)
        torch.manual_seed(1)
        assert _d_batch_sizes(gan, x) == [16, 16, 16]
        moments.append(_first_moments(gan.opt_g, gan.opt_d))
    for key, value in moments[1].items():
        assert torch.equal(moments[0][key], value), key


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
def test_per_sample_discriminators_score_a_stack_as_its_halves(
    family: str, data: st.DataObject
) -> None:
    """Whenever a drawn discriminator counts as per-sample, its logits and every gradient
    for a stacked pair of batches equal those of two passes (float64); when it does not,
    it holds a layer that couples or randomises samples."""
    case: GanCase = data.draw(builder_kwargs(family))
    torch.manual_seed(data.draw(seeds))
    d = case.build_discriminator().double().train()
    if not _per_sample(d):
        kinds = (nn.modules.batchnorm._BatchNorm, nn.Dropout)
        coupled = [
            m for m in d.modules() if isinstance(m, kinds) or hasattr(m, "parametrizations")
        ]
        assert coupled, d
        return
    real, fake = case.real_batch().double(), case.real_batch().double()
    joint = d(torch.cat((real, fake)))
    joint.square().sum().backward()
    joint_grads = [p.grad.clone() for p in d.parameters()]
    d.zero_grad(set_to_none=True)
    apart = torch.cat((d(real), d(fake)))
    apart.square().sum().backward()
    torch.testing.assert_close(joint, apart)
    for p, g in zip(d.parameters(), joint_grads, strict=True):
        torch.testing.assert_close(g, p.grad)
