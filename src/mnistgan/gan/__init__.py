"""The GAN model (:class:`GAN`, :class:`DCGAN`).

The class lives in ``mnistgan.gan.model``; its default training step, ``fit``'s
orchestration and its persistence each have a private module beside it.
"""

from __future__ import annotations

from .model import DCGAN, GAN

__all__ = ["DCGAN", "GAN"]
