"""GAN losses over discriminator logits, and the gradient penalties used with them.

Every loss takes raw discriminator **logits** of shape ``(N,)`` or ``(N, 1)`` and
flattens them; the loss owns the sigmoid, so discriminators never end in one. The
BCE-family losses use ``softplus`` rather than ``log(sigmoid(...))`` so they stay
finite for logits of any size.

A :class:`GANLoss` pairs a discriminator loss with a generator loss under a name;
:func:`get_loss` looks one up by name and :func:`list_losses` lists the names:

========== ===================================== ==================================
name       discriminator loss                    generator loss
========== ===================================== ==================================
bce        :func:`bce_d_loss`                    :func:`bce_g_loss` (non-saturating)
minimax    :func:`bce_d_loss`                    :func:`minimax_g_loss` (saturating)
lsgan      :func:`lsgan_d_loss`                  :func:`lsgan_g_loss`
hinge      :func:`hinge_d_loss`                  :func:`hinge_g_loss`
wgan-gp    :func:`wasserstein_d_loss` + penalty  :func:`wasserstein_g_loss`
========== ===================================== ==================================

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import Tensor

from mnistgan.errors import ConfigError

__all__ = [
    "GANLoss",
    "bce_d_loss",
    "bce_g_loss",
    "get_loss",
    "gradient_penalty",
    "hinge_d_loss",
    "hinge_g_loss",
    "list_losses",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "minimax_g_loss",
    "r1_penalty",
    "wasserstein_d_loss",
    "wasserstein_g_loss",
]


# --------------------------------------------------------------------------- helpers


def _flat_logits(logits: Tensor, name: str) -> Tensor:
    """Check that ``logits`` is a non-empty float tensor of shape (N,) or (N, 1); return (N,)."""
    if not isinstance(logits, Tensor):
        raise ConfigError(
            f"{name} must be a torch.Tensor of discriminator logits with shape (N,) or (N, 1), "
            f"got {type(logits).__name__}; pass the discriminator's raw output"
        )
    if not logits.is_floating_point():
        raise ConfigError(
            f"{name} must be a floating-point tensor of logits, got dtype {logits.dtype}; "
            "pass the discriminator's raw float output (not labels or probabilities cast "
            "to int)"
        )
    if not (logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1)):
        raise ConfigError(
            f"{name} must have shape (N,) or (N, 1) (one logit per sample), got shape "
            f"{tuple(logits.shape)}; make the discriminator end in a single output unit or "
            "reshape its output with .reshape(-1)"
        )
    if logits.shape[0] == 0:
        raise ConfigError(
            f"{name} must hold at least one logit, got an empty batch of shape "
            f"{tuple(logits.shape)}; skip empty batches before computing the loss"
        )
    return logits.reshape(-1)  # (N,)


def _check_input(x: Tensor, name: str) -> None:
    """Check that ``x`` is a non-empty float batch of shape (N, ...)."""
    if not isinstance(x, Tensor):
        raise ConfigError(
            f"{name} must be a torch.Tensor batch of shape (N, ...), got "
            f"{type(x).__name__}; pass the images the discriminator scores"
        )
    if not x.is_floating_point():
        raise ConfigError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; convert it with "
            ".float() (gradients need a float input)"
        )
    if x.ndim == 0 or x.shape[0] == 0:
        raise ConfigError(
            f"{name} must be a non-empty batch of shape (N, ...), got shape "
            f"{tuple(x.shape)}; pass at least one sample"
        )


def _per_sample_sq_norm(grad: Tensor) -> Tensor:
    """Squared L2 norm of each sample's gradient: (N, ...) -> (N,)."""
    return grad.reshape(grad.shape[0], -1).pow(2).sum(dim=1)


# --------------------------------------------------------------------------- BCE family


def bce_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Binary cross-entropy discriminator loss (Goodfellow et al. 2014).

    Equals ``BCE(real, label 1) + BCE(fake, label 0)``, computed as
    ``softplus(-r).mean() + softplus(f).mean()``; always >= 0.

    Args:
        real_logits: Discriminator logits on real samples, shape (N,) or (N, 1).
        fake_logits: Discriminator logits on generated samples, shape (M,) or (M, 1).

    Returns:
        A scalar tensor.

    Raises:
        ConfigError: If a logits tensor is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> round(bce_d_loss(torch.zeros(4), torch.zeros(4)).item(), 4)  # 2 * log(2)
        1.3863
    """
    r = _flat_logits(real_logits, "real_logits")
    f = _flat_logits(fake_logits, "fake_logits")
    return F.softplus(-r).mean() + F.softplus(f).mean()


def bce_g_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: ``BCE(fake, label 1) = softplus(-f).mean()``.

    The generator maximises ``log D(G(z))`` instead of minimising
    ``log(1 - D(G(z)))``; it gives strong gradients early in training, when the
    discriminator rejects fakes easily. This is the generator loss of ``"bce"``.

    Args:
        fake_logits: Discriminator logits on generated samples, shape (N,) or (N, 1).

    Returns:
        A scalar tensor (>= 0).

    Raises:
        ConfigError: If ``fake_logits`` is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> round(bce_g_loss(torch.zeros(4)).item(), 4)  # log(2)
        0.6931
    """
    f = _flat_logits(fake_logits, "fake_logits")
    return F.softplus(-f).mean()


def minimax_g_loss(fake_logits: Tensor) -> Tensor:
    """The original, saturating generator loss: ``mean(log(1 - sigmoid(f)))``.

    Computed stably as ``-softplus(f).mean()``; it is ``-BCE(fake, label 0)``, always
    <= 0. Its gradient vanishes when the discriminator confidently rejects fakes,
    which is why :func:`bce_g_loss` is the default; this one is here for study.

    Args:
        fake_logits: Discriminator logits on generated samples, shape (N,) or (N, 1).

    Returns:
        A scalar tensor (<= 0).

    Raises:
        ConfigError: If ``fake_logits`` is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> round(minimax_g_loss(torch.zeros(4)).item(), 4)  # log(1/2)
        -0.6931
    """
    f = _flat_logits(fake_logits, "fake_logits")
    return -F.softplus(f).mean()


# --------------------------------------------------------------------------- LSGAN


def lsgan_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Least-squares discriminator loss (Mao et al. 2017), targets 1 for real, 0 for fake.

    Equals ``0.5 * mean((r - 1)^2) + 0.5 * mean(f^2)`` on the raw outputs.

    Args:
        real_logits: Discriminator outputs on real samples, shape (N,) or (N, 1).
        fake_logits: Discriminator outputs on generated samples, shape (M,) or (M, 1).

    Returns:
        A scalar tensor (>= 0).

    Raises:
        ConfigError: If an output tensor is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> lsgan_d_loss(torch.ones(3), torch.zeros(3)).item()  # a perfect discriminator
        0.0
    """
    r = _flat_logits(real_logits, "real_logits")
    f = _flat_logits(fake_logits, "fake_logits")
    return 0.5 * (r - 1.0).pow(2).mean() + 0.5 * f.pow(2).mean()


def lsgan_g_loss(fake_logits: Tensor) -> Tensor:
    """Least-squares generator loss: ``0.5 * mean((f - 1)^2)``.

    Args:
        fake_logits: Discriminator outputs on generated samples, shape (N,) or (N, 1).

    Returns:
        A scalar tensor (>= 0).

    Raises:
        ConfigError: If ``fake_logits`` is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> lsgan_g_loss(torch.zeros(2)).item()
        0.5
    """
    f = _flat_logits(fake_logits, "fake_logits")
    return 0.5 * (f - 1.0).pow(2).mean()


# --------------------------------------------------------------------------- hinge


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge discriminator loss (Lim & Ye 2017; SAGAN, BigGAN).

    Equals ``mean(relu(1 - r)) + mean(relu(1 + f))``; always >= 0.

    Args:
        real_logits: Discriminator logits on real samples, shape (N,) or (N, 1).
        fake_logits: Discriminator logits on generated samples, shape (M,) or (M, 1).

    Returns:
        A scalar tensor.

    Raises:
        ConfigError: If a logits tensor is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> hinge_d_loss(torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.0])).item()
        1.0
    """
    r = _flat_logits(real_logits, "real_logits")
    f = _flat_logits(fake_logits, "fake_logits")
    return F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss: ``-mean(f)``.

    Args:
        fake_logits: Discriminator logits on generated samples, shape (N,) or (N, 1).

    Returns:
        A scalar tensor.

    Raises:
        ConfigError: If ``fake_logits`` is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> hinge_g_loss(torch.tensor([1.0, 3.0])).item()
        -2.0
    """
    f = _flat_logits(fake_logits, "fake_logits")
    return -f.mean()


# --------------------------------------------------------------------------- Wasserstein


def wasserstein_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Wasserstein critic loss (Arjovsky et al. 2017): ``mean(f) - mean(r)``.

    Use it with :func:`gradient_penalty` (WGAN-GP) or another way of keeping the
    critic Lipschitz; on its own the loss is unbounded below.

    Args:
        real_logits: Critic scores on real samples, shape (N,) or (N, 1).
        fake_logits: Critic scores on generated samples, shape (M,) or (M, 1).

    Returns:
        A scalar tensor.

    Raises:
        ConfigError: If a score tensor is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> wasserstein_d_loss(torch.tensor([3.0, 1.0]), torch.tensor([0.0, 1.0])).item()
        -1.5
    """
    r = _flat_logits(real_logits, "real_logits")
    f = _flat_logits(fake_logits, "fake_logits")
    return f.mean() - r.mean()


def wasserstein_g_loss(fake_logits: Tensor) -> Tensor:
    """Wasserstein generator loss: ``-mean(f)``.

    Args:
        fake_logits: Critic scores on generated samples, shape (N,) or (N, 1).

    Returns:
        A scalar tensor.

    Raises:
        ConfigError: If ``fake_logits`` is not a non-empty float tensor of shape
            (N,) or (N, 1).

    Example:
        >>> import torch
        >>> wasserstein_g_loss(torch.tensor([0.5, 1.5])).item()
        -1.0
    """
    f = _flat_logits(fake_logits, "fake_logits")
    return -f.mean()


# --------------------------------------------------------------------------- penalties


def gradient_penalty(
    discriminator: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al. 2017).

    Scores random interpolates ``x_hat = eps * real + (1 - eps) * fake`` with
    ``eps ~ U(0, 1)`` drawn once per sample, and returns the batch mean of
    ``(||grad_x D(x_hat)||_2 - 1)^2``. Neither ``real`` nor ``fake`` receives gradient
    (both are detached); the graph is built with ``create_graph=True``, so the
    result can be backpropagated into the critic's parameters. The weight
    (``gp_weight``, 10 in the paper) is the caller's.

    The per-sample gradient is exact only if the critic treats samples
    independently: use layer/instance/spectral norm or none, not batch norm. A
    critic whose output does not depend on its input has zero gradient (penalty 1).

    Args:
        discriminator: The critic; maps a batch shaped like ``real`` to scores of
            shape (N,) or (N, 1).
        real: Real samples, shape (N, ...).
        fake: Generated samples, the same shape as ``real``.
        generator: Optional random generator for ``eps``, on ``real``'s device, for
            reproducible penalties.

    Returns:
        A scalar tensor (>= 0).

    Raises:
        ConfigError: If ``real`` and ``fake`` differ in shape, are not non-empty
            float batches, or the critic's output has the wrong shape or does not
            track gradients.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> _ = critic.weight.data.copy_(torch.tensor([[0.6, 0.8]]))  # ||w|| = 1
        >>> gp = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
        >>> round(gp.item(), 6)
        0.0
    """
    _check_input(real, "real")
    _check_input(fake, "fake")
    if real.shape != fake.shape:
        raise ConfigError(
            f"real and fake must have the same shape to be interpolated, got real "
            f"{tuple(real.shape)} and fake {tuple(fake.shape)}; score equally sized "
            "batches (e.g. generate fake with batch size real.shape[0])"
        )
    n = real.shape[0]
    eps_shape = (n,) + (1,) * (real.ndim - 1)  # (N, 1, ..., 1), broadcast over each sample
    eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    real_d = real.detach()
    x_hat = (eps * real_d + (1.0 - eps) * fake.detach().to(real_d.dtype)).requires_grad_(True)
    with torch.enable_grad():
        scores = _flat_logits(discriminator(x_hat), "discriminator(x_hat)")  # (N,)
        if scores.shape[0] != n:
            raise ConfigError(
                f"discriminator(x_hat) must return one score per sample ({n}), got "
                f"{scores.shape[0]}; the critic must not mix or reduce over the batch"
            )
        if not scores.requires_grad:
            raise ConfigError(
                "discriminator(x_hat) does not track gradients, got an output with "
                "requires_grad=False; do not detach the critic's output or run it "
                "under torch.no_grad()/inference_mode()"
            )
        (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True, allow_unused=True)
        if grad is None:  # the critic ignores its input: its gradient is zero
            grad = torch.zeros_like(x_hat)
        # vector_norm, not sqrt(sum of squares): its backward is 0 (not NaN) at a zero gradient
        norms: Tensor = torch.linalg.vector_norm(grad.reshape(n, -1), dim=1)  # (N,)
        return (norms - 1.0).pow(2).mean()


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    """R1 gradient penalty on real data (Mescheder et al. 2018).

    Returns the batch mean of ``||grad_x D(x)||_2^2`` at the real samples, with
    ``create_graph=True`` so it can be backpropagated into the discriminator. Call
    ``real.requires_grad_(True)`` *before* computing ``real_logits =
    discriminator(real)``. The ``gamma / 2`` weight is the caller's.

    Args:
        real_logits: Discriminator logits on ``real``, shape (N,) or (N, 1).
        real: The real batch, shape (N, ...), with ``requires_grad=True``.

    Returns:
        A scalar tensor (>= 0).

    Raises:
        ConfigError: If ``real`` does not require grad, ``real_logits`` were not
            computed from ``real``, or the batch sizes differ.

    Example:
        >>> import torch
        >>> critic = torch.nn.Linear(2, 1, bias=False)
        >>> _ = critic.weight.data.copy_(torch.tensor([[3.0, 4.0]]))
        >>> x = torch.randn(5, 2).requires_grad_(True)
        >>> r1_penalty(critic(x), x).item()  # ||w||^2
        25.0
    """
    _check_input(real, "real")
    if not real.requires_grad:
        raise ConfigError(
            "real must require grad for the R1 penalty, got requires_grad=False; call "
            "real.requires_grad_(True) before computing real_logits = discriminator(real)"
        )
    r = _flat_logits(real_logits, "real_logits")
    if r.shape[0] != real.shape[0]:
        raise ConfigError(
            f"real_logits must have one logit per sample of real ({real.shape[0]}), got "
            f"{r.shape[0]}; pass real_logits = discriminator(real) for the same batch"
        )
    if not r.requires_grad:
        raise ConfigError(
            "real_logits do not track gradients, got requires_grad=False; compute "
            "real_logits = discriminator(real) outside torch.no_grad() and without .detach()"
        )
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(r.sum(), real, create_graph=True, allow_unused=True)
        if grad is None:
            raise ConfigError(
                "real_logits were not computed from real (no gradient path to real); call "
                "real.requires_grad_(True) before real_logits = discriminator(real), on the "
                "same tensor"
            )
        return _per_sample_sq_norm(grad).mean()


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class GANLoss:
    """A named pair of discriminator and generator losses.

    Attributes:
        name: The name :func:`get_loss` knows it by.
        d_loss: ``d_loss(real_logits, fake_logits) -> scalar``.
        g_loss: ``g_loss(fake_logits) -> scalar``.
        probabilities: True for the BCE family (``"bce"``, ``"minimax"``), where
            ``sigmoid(logit)`` is the discriminator's probability that a sample is
            real; used for logging ``D(x)`` and ``D(G(z))``.
        gradient_penalty: True for ``"wgan-gp"``: the training step adds
            ``gp_weight * gradient_penalty(...)`` to the discriminator loss.

    Example:
        >>> import torch
        >>> custom = GANLoss("my-hinge", hinge_d_loss, hinge_g_loss, False, False)
        >>> get_loss(custom) is custom
        True
        >>> custom.g_loss(torch.tensor([1.0])).item()
        -1.0
    """

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    probabilities: bool
    gradient_penalty: bool


_LOSSES: Mapping[str, GANLoss] = MappingProxyType(
    {
        "bce": GANLoss("bce", bce_d_loss, bce_g_loss, probabilities=True, gradient_penalty=False),
        "minimax": GANLoss(
            "minimax", bce_d_loss, minimax_g_loss, probabilities=True, gradient_penalty=False
        ),
        "lsgan": GANLoss(
            "lsgan", lsgan_d_loss, lsgan_g_loss, probabilities=False, gradient_penalty=False
        ),
        "hinge": GANLoss(
            "hinge", hinge_d_loss, hinge_g_loss, probabilities=False, gradient_penalty=False
        ),
        "wgan-gp": GANLoss(
            "wgan-gp",
            wasserstein_d_loss,
            wasserstein_g_loss,
            probabilities=False,
            gradient_penalty=True,
        ),
    }
)


def list_losses() -> list[str]:
    """The names :func:`get_loss` accepts, sorted.

    Returns:
        A new list of names.

    Example:
        >>> list_losses()
        ['bce', 'hinge', 'lsgan', 'minimax', 'wgan-gp']
    """
    return sorted(_LOSSES)


def get_loss(name: str | GANLoss = "bce") -> GANLoss:
    """Look up a loss pair by name; a :class:`GANLoss` is returned unchanged.

    Names are case-insensitive and ``_`` may stand for ``-`` (``"WGAN_GP"`` works).

    Args:
        name: One of :func:`list_losses` (default ``"bce"``, the non-saturating
            loss), or a :class:`GANLoss`.

    Returns:
        The :class:`GANLoss`.

    Raises:
        ConfigError: If ``name`` is not a known name or a :class:`GANLoss`.

    Example:
        >>> loss = get_loss("hinge")
        >>> loss.name, loss.probabilities, loss.gradient_penalty
        ('hinge', False, False)
    """
    if isinstance(name, GANLoss):
        return name
    if not isinstance(name, str):
        raise ConfigError(
            f"loss must be a loss name (str) or a GANLoss, got {type(name).__name__}; "
            f"use one of {list_losses()}"
        )
    key = name.strip().lower().replace("_", "-")
    try:
        return _LOSSES[key]
    except KeyError:
        raise ConfigError(
            f"loss must be one of {list_losses()}, got {name!r}; pick a known name or "
            "pass a GANLoss(name, d_loss, g_loss, probabilities, gradient_penalty)"
        ) from None
