"""What the training loop and the distributed code need of a model, as protocols.

:func:`~mnistgan.training.run_epochs` trains anything that is a :class:`Trainable`;
:class:`~mnistgan.training.distributed.DistributedContext` replicates anything that is a
:class:`Replicated`. :class:`mnistgan.GAN` is both; neither module imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from torch import nn

from .history import History

__all__ = ["Replicated", "Trainable"]


@runtime_checkable
class Trainable(Protocol):
    """A model the loop can train: one step per batch, counters, a history, a stop flag.

    Example:
        >>> from mnistgan import GAN
        >>> isinstance(GAN.from_preset("vanilla"), Trainable)
        True
    """

    epoch: int
    """Epochs done."""
    global_step: int
    """Training steps done."""
    history: History
    """Every step's and epoch's values."""
    stop_training: bool
    """Set by a callback (or the loop) to end training after the current step."""
    rank_rng_states: list[Any] | None
    """Every process's random state at the last epoch end of a distributed run (rank 0)."""

    def train_step(self, batch: Any) -> Mapping[str, Any]:
        """Train on one batch; return the step's values (``loss*`` keys are checked)."""
        ...

    def batch_size_of(self, batch: Any) -> int:
        """Number of samples in ``batch``."""
        ...

    def snapshot(self) -> Any:
        """A copy of everything a training step changes."""
        ...

    def restore(self, state: Any) -> None:
        """Put back what :meth:`snapshot` copied."""
        ...


class Replicated(Protocol):
    """A model whose networks DDP replicates: a generator, a discriminator, maybe an EMA.

    ``generator`` and ``discriminator`` are writable: ``sync_batchnorm`` swaps their
    BatchNorm layers.
    """

    generator: nn.Module
    discriminator: nn.Module

    @property
    def ema(self) -> nn.Module | None:
        """The averaged generator, if any."""
        ...

    @property
    def compile(self) -> bool:
        """Whether the networks run through ``torch.compile``."""
        ...
