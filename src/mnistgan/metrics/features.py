"""The features of a set of images, as the metrics compare them."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["FeatureSet"]


@dataclass(frozen=True)
class FeatureSet:
    """Features ``(N, D)`` of a set of images, and class probabilities ``(N, C)`` if known.

    Compute the real set's once with :func:`~mnistgan.metrics.real_features` or
    :func:`~mnistgan.metrics.extract_features` and pass it to
    :func:`~mnistgan.metrics.evaluate` as ``real=`` to skip its extraction.
    """

    features: Tensor
    probs: Tensor | None = None

    def __len__(self) -> int:
        return int(self.features.size(0))
