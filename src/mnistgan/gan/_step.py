"""The default training step of :class:`~mnistgan.gan.GAN`, written against its public seams.

Everything here goes through what an override of :meth:`GAN.train_step
<mnistgan.gan.GAN.train_step>` can use too: :meth:`~mnistgan.gan.GAN.prepare_batch`,
:meth:`~mnistgan.gan.GAN.forward_g`, :meth:`~mnistgan.gan.GAN.forward_d`,
:meth:`~mnistgan.gan.GAN.frozen_discriminator`, :meth:`~mnistgan.gan.GAN.optimizer_step`
and :meth:`~mnistgan.gan.GAN.update_ema`. The step as a whole therefore runs in the
model's precision, compiled and under DDP exactly as an override does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..losses import PenaltyInputs

if TYPE_CHECKING:
    from .model import GAN

_Outputs = tuple[Tensor, Tensor | None]


def adversarial_step(model: GAN, batch: Any) -> dict[str, Tensor]:
    """``d_steps`` discriminator updates, then ``g_steps`` generator updates (see
    :meth:`GAN.train_step <mnistgan.gan.GAN.train_step>`)."""
    real, y_real = model.prepare_batch(batch)
    model._check_values = False  # on an accelerator, only the first batch is range-checked
    n = real.size(0)
    cfg, loss = model.config, model.loss
    penalties = model.penalties
    real_grad = any(penalty.needs_real_grad for penalty, _ in penalties)
    for _ in range(cfg.d_steps):
        z, y_fake = model.sample_latent(n), model.random_labels(n)
        fake = model.forward_g(z, y_fake)
        if real_grad:
            # detach() first: ``real`` may be the caller's own tensor, which must
            # not end up requiring grad (or holding a .grad) after fit().
            real = real.detach().requires_grad_(True)
        # A penalty that differentiates the real logits with respect to the real batch
        # alone (R1) would carry the fake half of a joint pass through its double backward.
        joint = model.joint_d_pass and not real_grad
        (real_logits, real_classes), (fake_logits, _) = _d_real_fake(
            model, real, y_real, fake.detach(), y_fake, joint=joint
        )
        loss_d = loss.d_loss(real_logits.float(), fake_logits.float())
        # ACGAN: D learns the classes from real digits only. Also asking it to read the
        # asked label off generated images (Odena et al.) let the generator ignore labels
        # (label accuracy 0.31 after 1,500 steps of the default; 1.00 without that term).
        loss_d = loss_d + _aux(model, real_classes, y_real)
        if penalties:
            inputs = PenaltyInputs(
                critic=lambda x: model.forward_d(x, y_real)[0],
                real=real,
                fake=fake.detach(),
                real_logits=real_logits,
            )
            for penalty, weight in penalties:
                loss_d = loss_d + weight * penalty.fn(inputs)
        if real_grad:
            real = real.detach()
        model.optimizer_step(loss_d, "discriminator")
    with model.frozen_discriminator():
        for step in range(cfg.g_steps):
            if step > 0:
                y_fake = model.random_labels(n)
                fake = model.forward_g(model.sample_latent(n), y_fake)
            after_logits, after_classes = model.forward_d(fake, y_fake)
            loss_g = loss.g_loss(after_logits.float()) + _aux(model, after_classes, y_fake)
            model.optimizer_step(loss_g, "generator")
            model.update_ema()
    return {
        "loss_d": loss_d.detach(),
        "loss_g": loss_g.detach(),
        "d_real": _score(model, real_logits),
        "d_fake_before": _score(model, fake_logits),
        "d_fake_after": _score(model, after_logits),
    }


def _d_real_fake(
    model: GAN,
    real: Tensor,
    y_real: Tensor | None,
    fake: Tensor,
    y_fake: Tensor | None,
    *,
    joint: bool,
) -> tuple[_Outputs, _Outputs]:
    """D's outputs for the real and the fake batch, in one pass over both or one each."""
    if not joint:
        return model.forward_d(real, y_real), model.forward_d(fake, y_fake)
    y = None if y_real is None or y_fake is None else torch.cat((y_real, y_fake))
    logits, classes = model.forward_d(torch.cat((real, fake)), y)
    n = real.size(0)
    if classes is None:
        return (logits[:n], None), (logits[n:], None)
    return (logits[:n], classes[:n]), (logits[n:], classes[n:])


def _aux(model: GAN, class_logits: Tensor | None, y: Tensor | None) -> Tensor | float:
    """The auxiliary classifier's loss (ACGAN), 0 for other discriminators."""
    if class_logits is None or y is None:
        return 0.0
    return model.config.aux_weight * F.cross_entropy(class_logits.float(), y)


def _score(model: GAN, logits: Tensor) -> Tensor:
    """Mean of D's output for logging: a probability for the BCE family."""
    logits = logits.detach().float()
    return (torch.sigmoid(logits) if model.loss.probabilities else logits).mean()
