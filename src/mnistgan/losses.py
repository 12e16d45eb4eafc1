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

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from mnistgan.errors import ConfigError

__all__ = [
    "GRADIENT_PENALTY",
    "GANLoss",
    "Penalty",
    "PenaltyInputs",
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
    "r1",
    "r1_penalty",
    "register_loss",
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


# --------------------------------------------------------------------------- penalties as data


@dataclass(frozen=True)
class PenaltyInputs:
    """What a discriminator penalty may read, for one D update of the training step.

    Attributes:
        critic: Maps a batch of images to the discriminator's real/fake logits
            ``(N,)``, run as training runs it (precision, compile, DDP), with the
            real batch's labels for a conditional model.
        real: The real batch, in the generator's range. It requires grad when a
            penalty of the step has :attr:`Penalty.needs_real_grad`.
        fake: The generated batch, detached.
        real_logits: The discriminator's logits on ``real`` from this update's pass.
    """

    critic: Callable[[Tensor], Tensor]
    real: Tensor
    fake: Tensor
    real_logits: Tensor


@dataclass(frozen=True)
class Penalty:
    """A regulariser the training step adds to the discriminator's loss.

    The step adds ``weight * fn(inputs)`` for every penalty of its loss (and R1 when
    the config's ``r1_gamma`` is set), in order: a new regulariser is one entry in
    :attr:`GANLoss.penalties`, not a change to the step.

    Attributes:
        name: A short name, for messages.
        fn: ``fn(inputs: PenaltyInputs) -> scalar tensor``.
        weight: The weight, or the name of the :class:`~mnistgan.presets.GANConfig`
            field that holds it (``"gp_weight"``), read when the model is built.
        needs_real_grad: The penalty differentiates with respect to the real batch
            (as R1 does): the step makes ``real`` require grad before D's pass.

    Example:
        >>> import torch
        >>> logit_l2 = Penalty("logit_l2", lambda i: i.real_logits.pow(2).mean(), 0.1)
        >>> inputs = PenaltyInputs(lambda x: x.sum((1, 2, 3)), torch.ones(2, 1, 2, 2),
        ...                        torch.zeros(2, 1, 2, 2), torch.tensor([1.0, 3.0]))
        >>> logit_l2.fn(inputs).item()
        5.0
    """

    name: str
    fn: Callable[[PenaltyInputs], Tensor]
    weight: float | str = 1.0
    needs_real_grad: bool = False

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise ConfigError(
                f"Penalty {self.name!r}: fn must be callable as fn(inputs) -> tensor, got "
                f"{type(self.fn).__name__}"
            )
        weight = self.weight
        if not isinstance(weight, str) and (
            isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0
        ):
            raise ConfigError(
                f"Penalty {self.name!r}: weight must be a float >= 0 or the name of a "
                f"GANConfig field such as 'gp_weight', got {weight!r}"
            )


def _gradient_penalty_term(inputs: PenaltyInputs) -> Tensor:
    return gradient_penalty(inputs.critic, inputs.real, inputs.fake)


def _r1_term(inputs: PenaltyInputs) -> Tensor:
    return r1_penalty(inputs.real_logits, inputs.real)


GRADIENT_PENALTY = Penalty("gradient_penalty", _gradient_penalty_term, weight="gp_weight")
"""WGAN-GP's :func:`gradient_penalty`, weighted by ``config.gp_weight``."""


def r1(gamma: float) -> Penalty:
    """The R1 penalty with weight ``gamma / 2`` (what ``GANConfig(r1_gamma=gamma)`` adds).

    Example:
        >>> r1(10.0).weight, r1(10.0).needs_real_grad
        (5.0, True)
    """
    return Penalty("r1", _r1_term, weight=gamma / 2, needs_real_grad=True)


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class GANLoss:
    """A named pair of discriminator and generator losses, with the penalties they need.

    Attributes:
        name: The name :func:`get_loss` knows it by.
        d_loss: ``d_loss(real_logits, fake_logits) -> scalar``.
        g_loss: ``g_loss(fake_logits) -> scalar``.
        probabilities: True for the BCE family (``"bce"``, ``"minimax"``), where
            ``sigmoid(logit)`` is the discriminator's probability that a sample is
            real; used for logging ``D(x)`` and ``D(G(z))``.
        gradient_penalty: True for ``"wgan-gp"``: shorthand for
            :data:`GRADIENT_PENALTY` among :attr:`penalties`.
        penalties: Regularisers the training step adds to the discriminator's loss
            (:class:`Penalty`), in order.

    Example:
        >>> import torch
        >>> custom = GANLoss("my-hinge", hinge_d_loss, hinge_g_loss, False, False)
        >>> get_loss(custom) is custom
        True
        >>> custom.g_loss(torch.tensor([1.0])).item()
        -1.0
        >>> [p.name for p in get_loss("wgan-gp").penalties]
        ['gradient_penalty']
    """

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor], Tensor]
    probabilities: bool = False
    gradient_penalty: bool = False
    penalties: tuple[Penalty, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"GANLoss name must be a non-empty str, got {self.name!r}")
        penalties = tuple(self.penalties)
        for penalty in penalties:
            if not isinstance(penalty, Penalty):
                raise ConfigError(
                    f"GANLoss {self.name!r}: penalties must be Penalty objects, got "
                    f"{type(penalty).__name__}"
                )
        if self.gradient_penalty and GRADIENT_PENALTY not in penalties:
            penalties = (GRADIENT_PENALTY, *penalties)
        object.__setattr__(self, "penalties", penalties)


_LOSSES: dict[str, GANLoss] = {}


def register_loss(loss: GANLoss) -> GANLoss:
    """Make ``loss`` known by its name, so a :class:`~mnistgan.presets.GANConfig` can name it.

    A config that names a registered loss is trained, checkpointed and loaded by that
    name; in a fresh process, register the loss again (e.g. in the module that
    defines it) before loading.

    Args:
        loss: The loss pair; :attr:`GANLoss.name` is the name it is registered under
            (lower case, ``-`` for ``_``).

    Returns:
        ``loss``, so the call can stand at a module's top level.

    Raises:
        ConfigError: If ``loss`` is not a :class:`GANLoss` or its name is taken.

    Example:
        >>> register_loss(GANLoss("bce", bce_d_loss, bce_g_loss, True))
        Traceback (most recent call last):
        ...
        mnistgan.errors.ConfigError: a loss named 'bce' is already registered; ...
    """
    if not isinstance(loss, GANLoss):
        raise ConfigError(
            f"register_loss takes a GANLoss(name, d_loss, g_loss, ...), got {type(loss).__name__}"
        )
    key = _key(loss.name)
    if key in _LOSSES:
        raise ConfigError(
            f"a loss named {loss.name!r} is already registered; choose another name "
            f"(taken: {list_losses()})"
        )
    _LOSSES[key] = loss
    return loss


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


for _loss in (
    GANLoss("bce", bce_d_loss, bce_g_loss, probabilities=True),
    GANLoss("minimax", bce_d_loss, minimax_g_loss, probabilities=True),
    GANLoss("lsgan", lsgan_d_loss, lsgan_g_loss),
    GANLoss("hinge", hinge_d_loss, hinge_g_loss),
    GANLoss("wgan-gp", wasserstein_d_loss, wasserstein_g_loss, gradient_penalty=True),
):
    register_loss(_loss)


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
    try:
        return _LOSSES[_key(name)]
    except KeyError:
        raise ConfigError(
            f"loss must be one of {list_losses()}, got {name!r}; pick a known name or "
            "register your own with mnistgan.losses.register_loss(GANLoss(...))"
        ) from None
