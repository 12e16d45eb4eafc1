"""Class conditioning: wrappers that feed labels to a generator or discriminator.

Builders return these when given ``num_classes``:

* :class:`ConditionalGenerator` concatenates a learned label embedding to the
  latent vector (Mirza & Osindero, 2014).
* :class:`ConditionalDiscriminator` either adds a projection term
  ``<embed(y), features(x)>`` to the logit (``"projection"``, Miyato & Koyama,
  2018) or returns class logits from an auxiliary head next to the real/fake
  logit (``"acgan"``, Odena et al., 2017).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from .errors import DataError
from .layers import flat_latent

__all__ = ["ConditionalDiscriminator", "ConditionalGenerator", "Conditioning", "check_labels"]

Conditioning = Literal["projection", "acgan"]
"""How a discriminator uses labels."""


def check_labels(y: object, n: int, num_classes: int, *, argument: str = "labels") -> Tensor:
    """Check that ``y`` holds ``n`` integer class labels in ``[0, num_classes)``.

    Args:
        y: The labels.
        n: Expected number of labels.
        num_classes: Number of classes.
        argument: Name used in error messages.

    Returns:
        ``y`` as an int64 tensor of shape ``(n,)``.

    Raises:
        DataError: If the labels are missing, of the wrong shape or dtype, or out of range.

    Example:
        >>> check_labels(torch.tensor([0, 9]), 2, 10)
        tensor([0, 9])
    """
    if not isinstance(y, Tensor):
        raise DataError(
            f"{argument} must be a tensor of class indices, got {type(y).__name__}; a "
            f"conditional model needs (images, labels) batches"
        )
    if y.dtype.is_floating_point or y.dtype == torch.bool or y.is_complex():
        raise DataError(f"{argument} must be integer class indices, got dtype {y.dtype}")
    if y.dim() != 1 or y.size(0) != n:
        raise DataError(f"{argument} must have shape ({n},), got {tuple(y.shape)}")
    # The range check reads values back: on an accelerator that would stall every step,
    # so there it is left to the caller (GAN checks labels before they reach the device),
    # and torch.compile/torch.export cannot trace it (an out-of-range label still fails
    # in the embedding lookup).
    checkable = y.device.type == "cpu" and not torch.compiler.is_compiling()
    if n and checkable and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise DataError(
            f"{argument} must lie in [0, {num_classes - 1}], got values in "
            f"[{int(y.min())}, {int(y.max())}]"
        )
    return y.long()


class ConditionalGenerator(nn.Module):
    """A generator that takes ``(z, y)``: it feeds ``[z, embed(y)]`` to ``net``.

    Args:
        net: A generator whose input size is ``latent_dim + embed_dim``.
        num_classes: Number of classes.
        embed_dim: Size of the label embedding.
        latent_dim: Size of the latent vector, to check ``z``'s shape; ``z`` may also
            come as ``(N, latent_dim, 1, 1)`` (the DCGAN convention).

    Example:
        >>> g = ConditionalGenerator(nn.Sequential(nn.Linear(8 + 4, 6)), 10, 4)
        >>> g(torch.randn(3, 8), torch.tensor([0, 1, 9])).shape
        torch.Size([3, 6])
    """

    def __init__(
        self, net: nn.Module, num_classes: int, embed_dim: int, latent_dim: int | None = None
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.latent_dim = latent_dim
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.net = net

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        """Images from latents ``z`` (N, latent_dim) and labels ``y`` (N,)."""
        z = flat_latent(z, self.latent_dim)
        y = check_labels(y, z.size(0), self.num_classes)
        return self.net(torch.cat([z, self.embed(y).to(z.dtype)], dim=1))  # type: ignore[no-any-return]


class ConditionalDiscriminator(nn.Module):
    """A discriminator that takes ``(x, y)``.

    ``body`` maps images to feature vectors ``(N, features)`` and ``head`` maps
    those to one logit. With ``"projection"`` the output is
    ``head(h) + <embed(y), h>`` of shape ``(N,)``; with ``"acgan"`` it is the pair
    ``(head(h), classifier(h))`` — real/fake logits ``(N,)`` and class logits
    ``(N, num_classes)`` — and ``y`` is not needed.

    Args:
        body: Images to features.
        head: Features to one logit.
        features: Size of the feature vector.
        num_classes: Number of classes.
        conditioning: ``"projection"`` or ``"acgan"``.

    Example:
        >>> d = ConditionalDiscriminator(nn.Flatten(), nn.Linear(4, 1), 4, 10)
        >>> d(torch.rand(2, 1, 2, 2), torch.tensor([3, 4])).shape
        torch.Size([2])
    """

    def __init__(
        self,
        body: nn.Module,
        head: nn.Module,
        features: int,
        num_classes: int,
        conditioning: Conditioning = "projection",
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conditioning: Conditioning = conditioning
        self.body = body
        self.head = head
        if conditioning == "projection":
            self.embed = nn.Embedding(num_classes, features)
            nn.init.zeros_(self.embed.weight)  # start as the unconditional discriminator
        else:
            self.classifier = nn.Linear(features, num_classes)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """Logits ``(N,)`` (projection) or ``(logits, class_logits)`` (acgan)."""
        h: Tensor = self.body(x)  # (N, features)
        logits: Tensor = self.head(h).flatten()  # (N,)
        if self.conditioning == "acgan":
            return logits, self.classifier(h)
        y = check_labels(y, x.size(0), self.num_classes)
        projection: Tensor = (self.embed(y).to(h.dtype) * h).sum(dim=1)  # (N,)
        return logits + projection
