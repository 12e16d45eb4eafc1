"""Tests for mnistgan.losses: hand-computed values, properties over random logits, penalties."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn

from mnistgan.errors import ConfigError
from mnistgan.losses import (
    GANLoss,
    bce_d_loss,
    bce_g_loss,
    get_loss,
    gradient_penalty,
    hinge_d_loss,
    hinge_g_loss,
    list_losses,
    lsgan_d_loss,
    lsgan_g_loss,
    minimax_g_loss,
    r1_penalty,
    wasserstein_d_loss,
    wasserstein_g_loss,
)

D_LOSSES: list[Callable[[Tensor, Tensor], Tensor]] = [
    bce_d_loss,
    lsgan_d_loss,
    hinge_d_loss,
    wasserstein_d_loss,
]
G_LOSSES: list[Callable[[Tensor], Tensor]] = [
    bce_g_loss,
    minimax_g_loss,
    lsgan_g_loss,
    hinge_g_loss,
    wasserstein_g_loss,
]

# Logits up to ±1e4: far past where log(sigmoid(x)) under- or overflows in float32.
_logit_values = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)
logits = st.lists(_logit_values, min_size=1, max_size=16).map(
    lambda xs: torch.tensor(xs, dtype=torch.float32)
)
# Critic weights: 1–6 features, entries bounded away from float32 overflow.
weights = st.lists(
    st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=6
)


def _t(*xs: float) -> Tensor:
    """A float32 tensor from literal values."""
    return torch.tensor(xs, dtype=torch.float32)


def _linear_critic(w: list[float]) -> nn.Linear:
    """A bias-free linear critic D(x) = w·x, whose input gradient is w everywhere."""
    critic = nn.Linear(len(w), 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([w], dtype=torch.float32))
    return critic


# --------------------------------------------------------------------------- fixed values


def test_bce_d_loss_matches_torch_bce() -> None:
    """bce_d_loss equals torch's BCE-with-logits of real vs 1 plus fake vs 0."""
    r, f = _t(2.0, -1.0, 0.5), _t(-3.0, 0.0, 1.5)
    expected = F.binary_cross_entropy_with_logits(
        r, torch.ones(3)
    ) + F.binary_cross_entropy_with_logits(f, torch.zeros(3))
    torch.testing.assert_close(bce_d_loss(r, f), expected)


def test_bce_g_loss_matches_torch_bce() -> None:
    """bce_g_loss is torch's BCE-with-logits of fake vs label 1 (non-saturating)."""
    f = _t(-3.0, 0.0, 1.5)
    torch.testing.assert_close(bce_g_loss(f), F.binary_cross_entropy_with_logits(f, torch.ones(3)))


def test_bce_losses_at_zero_logits() -> None:
    """At logit 0 (D says 1/2) the D loss is 2·log 2 and the G losses are ±log 2."""
    z = torch.zeros(5)
    assert bce_d_loss(z, z).item() == pytest.approx(2 * math.log(2))
    assert bce_g_loss(z).item() == pytest.approx(math.log(2))
    assert minimax_g_loss(z).item() == pytest.approx(-math.log(2))


def test_minimax_g_loss_hand_value() -> None:
    """minimax_g_loss is mean log(1 - sigmoid(f)): logits 0 and ln 3 give (ln ½ + ln ¼)/2."""
    f = _t(0.0, math.log(3.0))  # sigmoid: 1/2 and 3/4
    assert minimax_g_loss(f).item() == pytest.approx((math.log(0.5) + math.log(0.25)) / 2)


def test_bce_losses_stable_at_extreme_logits() -> None:
    """BCE losses stay finite and exact where log(sigmoid(x)) would give -inf."""
    assert torch.isinf(torch.log(torch.sigmoid(_t(-1000.0)))).all()  # the naive form fails
    assert bce_g_loss(_t(-1000.0)).item() == pytest.approx(1000.0)
    assert minimax_g_loss(_t(1000.0)).item() == pytest.approx(-1000.0)
    assert bce_d_loss(_t(-1000.0), _t(1000.0)).item() == pytest.approx(2000.0)
    assert bce_d_loss(_t(1000.0), _t(-1000.0)).item() == pytest.approx(0.0, abs=1e-6)


def test_lsgan_hand_values() -> None:
    """LSGAN: r=[1,3], f=[0,2] give D loss ½·2 + ½·2 = 2; G loss on f=[1,3] is ½·2 = 1."""
    assert lsgan_d_loss(_t(1.0, 3.0), _t(0.0, 2.0)).item() == pytest.approx(2.0)
    assert lsgan_g_loss(_t(1.0, 3.0)).item() == pytest.approx(1.0)


def test_hinge_hand_values() -> None:
    """Hinge: r=[2,½,-1], f=[-2,0,1] give 2.5/3 + 1; G loss is -mean(f)."""
    r, f = _t(2.0, 0.5, -1.0), _t(-2.0, 0.0, 1.0)
    assert hinge_d_loss(r, f).item() == pytest.approx(2.5 / 3 + 1.0)
    assert hinge_g_loss(f).item() == pytest.approx(1.0 / 3)
    assert hinge_g_loss(_t(1.0, 2.0)).item() == pytest.approx(-1.5)


def test_wasserstein_hand_values() -> None:
    """Wasserstein: mean(f) - mean(r) = 1 - 2 = -1; G loss is -mean(f) = -1."""
    r, f = _t(1.0, 2.0, 3.0), _t(-1.0, 0.0, 4.0)
    assert wasserstein_d_loss(r, f).item() == pytest.approx(-1.0)
    assert wasserstein_g_loss(f).item() == pytest.approx(-1.0)


def test_d_losses_accept_different_batch_sizes() -> None:
    """Real and fake logits may come from batches of different sizes."""
    for d_loss in D_LOSSES:
        assert torch.isfinite(d_loss(torch.zeros(3), torch.zeros(5, 1)))


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (torch.zeros(4, 2), "shape (N,) or (N, 1)"),
        (torch.zeros(2, 1, 1, 1), "shape (N,) or (N, 1)"),
        (torch.tensor(0.5), "shape (N,) or (N, 1)"),
        (torch.zeros(0), "empty"),
        (torch.zeros(3, dtype=torch.long), "floating-point"),
        ([0.0, 1.0], "torch.Tensor"),
    ],
)
def test_bad_logits_raise_config_error_naming_argument(bad: object, fragment: str) -> None:
    """Malformed logits raise ConfigError naming the argument and what was expected."""
    with pytest.raises(ConfigError, match="fake_logits") as info:
        bce_g_loss(bad)  # type: ignore[arg-type]
    assert fragment in str(info.value)
    with pytest.raises(ValueError, match="real_logits"):
        hinge_d_loss(bad, torch.zeros(3))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties


@given(r=logits, f=logits)
def test_all_losses_finite_with_finite_gradients(r: Tensor, f: Tensor) -> None:
    """Every loss gives a finite scalar and finite gradients for logits up to ±1e4."""
    for d_loss in D_LOSSES:
        rr, ff = r.clone().requires_grad_(True), f.clone().requires_grad_(True)
        out = d_loss(rr, ff)
        assert out.shape == () and torch.isfinite(out)
        out.backward()
        assert rr.grad is not None and torch.isfinite(rr.grad).all()
        assert ff.grad is not None and torch.isfinite(ff.grad).all()
    for g_loss in G_LOSSES:
        ff = f.clone().requires_grad_(True)
        out = g_loss(ff)
        assert out.shape == () and torch.isfinite(out)
        out.backward()
        assert ff.grad is not None and torch.isfinite(ff.grad).all()


@given(r=logits, f=logits)
def test_bounded_d_losses_are_non_negative(r: Tensor, f: Tensor) -> None:
    """BCE, hinge and least-squares D losses are >= 0 for any logits."""
    assert bce_d_loss(r, f).item() >= 0.0
    assert hinge_d_loss(r, f).item() >= 0.0
    assert lsgan_d_loss(r, f).item() >= 0.0


@given(f=logits)
def test_minimax_is_minus_bce_against_label_zero(f: Tensor) -> None:
    """minimax_g_loss equals -BCE(fake, label 0), and bce_g_loss equals BCE(fake, label 1)."""
    expected = -F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    torch.testing.assert_close(minimax_g_loss(f), expected)
    torch.testing.assert_close(
        bce_g_loss(f), F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
    )


@given(r=logits, f=logits)
def test_column_and_flat_logits_agree(r: Tensor, f: Tensor) -> None:
    """Logits shaped (N,) and (N, 1) give exactly the same loss."""
    for d_loss in D_LOSSES:
        assert torch.equal(d_loss(r, f), d_loss(r.unsqueeze(1), f.unsqueeze(1)))
    for g_loss in G_LOSSES:
        assert torch.equal(g_loss(f), g_loss(f.unsqueeze(1)))


# --------------------------------------------------------------------------- gradient penalty


def test_gradient_penalty_zero_for_unit_norm_linear_critic() -> None:
    """A 1-Lipschitz linear critic (||w|| = 1) has gradient penalty ≈ 0."""
    critic = _linear_critic([0.6, 0.0, 0.8])
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)


@given(w=weights)
def test_gradient_penalty_of_linear_critic(w: list[float]) -> None:
    """For a linear critic with weight w the penalty is (||w|| - 1)^2, whatever eps is."""
    critic = _linear_critic(w)
    gp = gradient_penalty(critic, torch.randn(4, len(w)), torch.randn(4, len(w)))
    norm = math.sqrt(sum(x * x for x in w))
    assert gp.item() == pytest.approx((norm - 1.0) ** 2, rel=1e-4, abs=1e-5)


def test_gradient_penalty_on_image_batches() -> None:
    """Image-shaped batches (N, 1, 4, 4) are interpolated and penalised per sample."""
    linear = nn.Linear(16, 1, bias=False)
    with torch.no_grad():
        linear.weight.fill_(0.5)  # ||w|| = 0.5·4 = 2
    critic = nn.Sequential(nn.Flatten(), linear)
    gp = gradient_penalty(critic, torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4))
    assert gp.item() == pytest.approx(1.0, rel=1e-5)


def test_gradient_penalty_backpropagates_to_critic_parameters() -> None:
    """The penalty backpropagates to the critic: d/dw (||w||-1)^2 = 2(||w||-1)w/||w||."""
    critic = _linear_critic([3.0, 4.0])  # ||w|| = 5
    gp = gradient_penalty(critic, torch.randn(6, 2), torch.randn(6, 2))
    gp.backward()
    assert critic.weight.grad is not None
    expected = 2 * (5.0 - 1.0) * torch.tensor([[3.0, 4.0]]) / 5.0
    torch.testing.assert_close(critic.weight.grad, expected)


def test_gradient_penalty_does_not_reach_real_or_fake() -> None:
    """Real and fake are detached: no gradient flows back into the generator's output."""
    source = torch.randn(4, 2, requires_grad=True)
    fake = source * 2.0  # stands in for G(z)
    gp = gradient_penalty(_linear_critic([2.0, 0.0]), torch.randn(4, 2), fake)
    gp.backward()
    assert source.grad is None


def test_gradient_penalty_finite_when_critic_gradient_is_zero() -> None:
    """A critic with zero input gradient gives penalty 1 and finite (not NaN) weight gradients."""
    critic = _linear_critic([0.0, 0.0])
    gp = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    gp.backward()
    assert gp.item() == pytest.approx(1.0)
    assert critic.weight.grad is not None and torch.isfinite(critic.weight.grad).all()


def test_gradient_penalty_reproducible_with_generator() -> None:
    """The same seeded generator gives the same penalty for a critic whose gradient varies."""

    def critic(x: Tensor) -> Tensor:
        """D(x) = ½||x||², so grad D(x_hat) = x_hat depends on eps."""
        return 0.5 * x.pow(2).sum(dim=1)

    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    a = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    b = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    c = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_gradient_penalty_eps_is_per_sample_in_unit_interval() -> None:
    """Each sample gets one eps in [0, 1]: with real=1, fake=0 the critic sees x_hat = eps."""
    seen: list[Tensor] = []

    def critic(x: Tensor) -> Tensor:
        """Record the interpolates and score them linearly."""
        seen.append(x.detach().clone())
        return x.sum(dim=(1, 2))

    gradient_penalty(critic, torch.ones(64, 2, 3), torch.zeros(64, 2, 3))
    x_hat = seen[0]  # (64, 2, 3)
    per_sample = x_hat.reshape(64, -1)
    assert torch.equal(per_sample, per_sample[:, :1].expand_as(per_sample))
    assert (x_hat >= 0).all() and (x_hat <= 1).all()
    assert per_sample[:, 0].unique().numel() > 1


def test_gradient_penalty_shape_mismatch_raises() -> None:
    """Real and fake of different shapes raise ConfigError (a ValueError) naming both."""
    critic = _linear_critic([1.0, 0.0])
    with pytest.raises(ConfigError, match=r"real and fake must have the same shape") as info:
        gradient_penalty(critic, torch.randn(4, 2), torch.randn(3, 2))
    assert "(4, 2)" in str(info.value) and "(3, 2)" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_gradient_penalty_rejects_bad_critic_output() -> None:
    """A critic returning more than one score per sample raises ConfigError."""
    critic = nn.Linear(2, 3)
    with pytest.raises(ConfigError, match=r"discriminator\(x_hat\)"):
        gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))


# --------------------------------------------------------------------------- R1


@given(w=weights)
def test_r1_penalty_of_linear_critic(w: list[float]) -> None:
    """For a linear critic with weight w the R1 penalty is ||w||^2."""
    critic = _linear_critic(w)
    real = torch.randn(5, len(w)).requires_grad_(True)
    r1 = r1_penalty(critic(real), real)
    assert r1.item() == pytest.approx(sum(x * x for x in w), rel=1e-5, abs=1e-6)


def test_r1_penalty_backpropagates_to_critic_parameters() -> None:
    """R1 is differentiable in the critic's weights: d/dw ||w||^2 = 2w."""
    critic = _linear_critic([1.0, -2.0])
    real = torch.randn(3, 2).requires_grad_(True)
    r1_penalty(critic(real), real).backward()
    assert critic.weight.grad is not None
    torch.testing.assert_close(critic.weight.grad, torch.tensor([[2.0, -4.0]]))


def test_r1_penalty_requires_grad_on_real() -> None:
    """R1 on a real batch without requires_grad raises a ConfigError saying how to fix it."""
    critic = _linear_critic([1.0, 0.0])
    real = torch.randn(3, 2)
    with pytest.raises(ConfigError, match=r"requires_grad_\(True\)"):
        r1_penalty(critic(real), real)


def test_r1_penalty_requires_logits_computed_from_real() -> None:
    """Setting requires_grad after scoring (no path from real to logits) raises ConfigError."""
    critic = _linear_critic([1.0, 0.0])
    real = torch.randn(3, 2)
    real_logits = critic(real)
    real.requires_grad_(True)
    with pytest.raises(ConfigError, match="not computed from real"):
        r1_penalty(real_logits, real)


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", list_losses())
def test_get_loss_returns_working_pair(name: str) -> None:
    """Every registered name gives a GANLoss of that name whose losses run and backprop."""
    loss = get_loss(name)
    assert isinstance(loss, GANLoss) and loss.name == name
    r = torch.randn(4, 1, requires_grad=True)
    f = torch.randn(4, 1, requires_grad=True)
    (loss.d_loss(r, f) + loss.g_loss(f)).backward()
    assert r.grad is not None and f.grad is not None


def test_list_losses_names() -> None:
    """The five reference losses are registered, and the list is a fresh copy."""
    names = list_losses()
    assert names == ["bce", "hinge", "lsgan", "minimax", "wgan-gp"]
    names.clear()
    assert list_losses() != []


def test_get_loss_flags_and_functions() -> None:
    """probabilities is set for the BCE family, gradient_penalty for wgan-gp only."""
    expected = {
        "bce": (bce_d_loss, bce_g_loss, True, False),
        "minimax": (bce_d_loss, minimax_g_loss, True, False),
        "lsgan": (lsgan_d_loss, lsgan_g_loss, False, False),
        "hinge": (hinge_d_loss, hinge_g_loss, False, False),
        "wgan-gp": (wasserstein_d_loss, wasserstein_g_loss, False, True),
    }
    for name, (d_loss, g_loss, probabilities, gp) in expected.items():
        loss = get_loss(name)
        assert (loss.d_loss, loss.g_loss) == (d_loss, g_loss)
        assert (loss.probabilities, loss.gradient_penalty) == (probabilities, gp)


def test_get_loss_default_and_spellings() -> None:
    """The default is the non-saturating BCE loss; names ignore case and accept _ for -."""
    assert get_loss() is get_loss("bce")
    assert get_loss("WGAN_GP") is get_loss("wgan-gp")


def test_get_loss_unknown_name_lists_known_names() -> None:
    """An unknown name raises ConfigError whose message lists every known name."""
    with pytest.raises(ConfigError, match="'wgan'") as info:
        get_loss("wgan")
    for name in list_losses():
        assert name in str(info.value)


def test_get_loss_rejects_non_string() -> None:
    """A value that is neither a name nor a GANLoss raises ConfigError."""
    with pytest.raises(ConfigError, match="GANLoss"):
        get_loss(3)  # type: ignore[arg-type]


def test_get_loss_passes_ganloss_through() -> None:
    """A GANLoss instance is returned unchanged, so users can plug in their own losses."""
    custom = GANLoss("custom", hinge_d_loss, lsgan_g_loss, False, False)
    assert get_loss(custom) is custom


def test_ganloss_is_frozen() -> None:
    """GANLoss entries cannot be modified in place."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_loss("bce").name = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------- argument names


@pytest.mark.parametrize("loss", D_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("bad", "got"),
    [(torch.zeros(4, 2), "got shape (4, 2)"), ([0.0], "got list"), (torch.zeros(0), "empty")],
)
def test_every_d_loss_names_the_bad_argument(
    loss: Callable[[Tensor, Tensor], Tensor], bad: object, got: str
) -> None:
    """Each D loss's error starts with the name of the malformed argument (real_logits or
    fake_logits, not the other) and says what came."""
    good = torch.zeros(3)
    for name, args in (("real_logits", (bad, good)), ("fake_logits", (good, bad))):
        with pytest.raises(ConfigError) as info:
            loss(*args)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"{name} must"), str(info.value)
        assert got in str(info.value)


@pytest.mark.parametrize("loss", G_LOSSES, ids=lambda f: f.__name__)
def test_every_g_loss_names_fake_logits(loss: Callable[[Tensor], Tensor]) -> None:
    """Each G loss's error starts with 'fake_logits must' and says what came."""
    with pytest.raises(ConfigError) as info:
        loss(torch.zeros(4, 2))
    assert str(info.value).startswith("fake_logits must") and "(4, 2)" in str(info.value)


def _sum_critic(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).sum(1)


@pytest.mark.parametrize("shape", [(1, 3), (5,), (2, 1, 4, 4)], ids=str)
def test_penalties_take_any_non_empty_batch(shape: tuple[int, ...]) -> None:
    """gradient_penalty and r1_penalty accept batches of one sample and 1-D batches (N,):
    the critic sum(x) has gradient 1 everywhere, so GP = (sqrt(D) - 1)^2, R1 = D for D
    values per sample."""
    real = torch.rand(shape)
    per_sample = real[0].numel()
    gp = gradient_penalty(_sum_critic, real, torch.rand(shape))
    assert float(gp) == pytest.approx((math.sqrt(per_sample) - 1) ** 2, rel=1e-5)
    x = real.clone().requires_grad_(True)
    assert float(r1_penalty(_sum_critic(x), x)) == pytest.approx(per_sample, rel=1e-6)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (torch.tensor(1.0), "non-empty batch"),
        (torch.zeros(0, 3), "non-empty batch"),
        (torch.zeros(2, 3, dtype=torch.long), "floating-point"),
        ([[0.0]], "got list"),
    ],
)
def test_penalties_name_the_bad_batch(bad: object, fragment: str) -> None:
    """gradient_penalty names 'real' or 'fake', r1_penalty 'real', when that batch is 0-d,
    empty, not float or not a tensor."""
    good = torch.rand(2, 3)
    for name, args in (("real", (bad, good)), ("fake", (good, bad))):
        with pytest.raises(ConfigError) as info:
            gradient_penalty(_sum_critic, *args)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"{name} must") and fragment in str(info.value)
    with pytest.raises(ConfigError) as info:
        r1_penalty(torch.zeros(2), bad)  # type: ignore[arg-type]
    assert str(info.value).startswith("real must") and fragment in str(info.value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradient_penalty_is_the_textbook_formula_at_the_interpolates(dtype: torch.dtype) -> None:
    """For the critic D(x) = ||x||^2 / 2 (gradient x), the penalty is the batch mean of
    (||x_hat|| - 1)^2 at x_hat = eps real + (1 - eps) fake, eps ~ U(0, 1) per sample drawn
    in the batch's dtype from the given generator."""
    real = torch.rand(4, 1, 3, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
    fake = torch.rand(4, 1, 3, 3, dtype=dtype, generator=torch.Generator().manual_seed(1)) - 2
    got = gradient_penalty(
        lambda x: x.pow(2).flatten(1).sum(1) / 2,
        real,
        fake,
        generator=torch.Generator().manual_seed(7),
    )
    eps = torch.rand(4, 1, 1, 1, dtype=dtype, generator=torch.Generator().manual_seed(7))
    x_hat = eps * real + (1 - eps) * fake
    expected = (x_hat.flatten(1).norm(dim=1) - 1).pow(2).mean()
    assert got.dtype == dtype
    torch.testing.assert_close(got, expected)


def test_gradient_penalty_of_a_critic_that_ignores_its_input_is_one() -> None:
    """A critic whose score does not depend on x (only on its weights) has gradient 0, so
    the penalty is exactly 1 rather than an autograd error."""
    weight = torch.ones((), requires_grad=True)
    penalty = gradient_penalty(
        lambda x: weight.expand(x.shape[0]), torch.rand(3, 2), torch.rand(3, 2)
    )
    assert float(penalty) == 1.0


def test_r1_penalty_refuses_logits_of_another_batch_size() -> None:
    """r1_penalty with 3 logits for a batch of 2 raises ConfigError saying so."""
    real = torch.rand(2, 3, requires_grad=True)
    with pytest.raises(
        ConfigError, match=r"real_logits must have one logit per sample of real \(2\), got 3"
    ):
        r1_penalty(torch.zeros(3, requires_grad=True), real)


def test_penalties_name_malformed_critic_outputs() -> None:
    """r1_penalty names real_logits and gradient_penalty names discriminator(x_hat) when the
    critic's output is not one logit per sample."""
    real = torch.rand(2, 3, requires_grad=True)
    with pytest.raises(ConfigError) as info:
        r1_penalty(real.sum(1, keepdim=True).expand(2, 2), real)
    assert str(info.value).startswith("real_logits must")
    with pytest.raises(ConfigError) as info:
        gradient_penalty(lambda x: x[:, :2], torch.rand(2, 3), torch.rand(2, 3))
    assert str(info.value).startswith("discriminator(x_hat) must")


def test_gradient_penalty_interpolates_in_the_real_batchs_dtype() -> None:
    """A float64 fake batch is cast to the float32 real batch's dtype before interpolating,
    so the critic and the penalty stay in float32."""
    seen: list[torch.dtype] = []

    def critic(x: Tensor) -> Tensor:
        seen.append(x.dtype)
        return x.flatten(1).sum(1)

    penalty = gradient_penalty(critic, torch.rand(2, 3), torch.rand(2, 3, dtype=torch.float64))
    assert seen == [torch.float32] and penalty.dtype == torch.float32
