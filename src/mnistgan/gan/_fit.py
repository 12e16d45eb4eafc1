"""``GAN.fit``'s orchestration: check the arguments, place the model, resume, wrap the
networks for the run (compile, DDP), then hand over to the one training loop."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ..checkpoint import load_checkpoint
from ..errors import BatchTypeError, ConfigError
from ..training.callbacks import Callback, ModelCheckpoint, ProgressBar, unique_state_keys
from ..training.distributed import Strategy, context_for
from ..training.history import History
from ..training.loop import NONFINITE_ACTIONS, NonFinite, run_epochs

if TYPE_CHECKING:
    from .model import GAN

logger = logging.getLogger("mnistgan.gan")


def fit(
    model: GAN,
    loader: Iterable[Any],
    epochs: int | None,
    *,
    callbacks: Sequence[Callback],
    device: str | torch.device | None,
    resume: str | os.PathLike[str] | None,
    progress: bool,
    on_nonfinite: NonFinite,
    strategy: Strategy,
    sync_batchnorm: bool,
) -> History:
    """See :meth:`GAN.fit <mnistgan.gan.GAN.fit>`."""
    if isinstance(loader, Tensor):
        raise BatchTypeError(
            "loader must be an iterable of batches, got a single tensor; wrap it: "
            "DataLoader(TensorDataset(images), batch_size=64), or [images] for one batch"
        )
    if not _iterable(loader):
        raise BatchTypeError(
            f"loader must be an iterable of batches (a DataLoader, a list of tensors), "
            f"got {type(loader).__name__}"
        )
    epochs = model.config.epochs if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ConfigError(f"epochs must be an int >= 0, got {epochs!r}")
    if on_nonfinite not in NONFINITE_ACTIONS:
        raise ConfigError(
            f"on_nonfinite must be one of {list(NONFINITE_ACTIONS)}, got {on_nonfinite!r}"
        )
    if resume is not None and not isinstance(resume, (str, os.PathLike)):
        raise ConfigError(
            f'resume must be a checkpoint path, "auto" or None, got '
            f"{type(resume).__name__} {resume!r}"
        )
    callbacks = _check_callbacks(callbacks)
    if progress and not any(isinstance(cb, ProgressBar) for cb in callbacks):
        callbacks.append(ProgressBar())
    ctx = context_for(strategy, device if device is not None else model.device)
    if ctx is not None:
        device = ctx.device
        loader = ctx.shard_loader(loader)
    elif sync_batchnorm:
        logger.info("sync_batchnorm=True has no effect in a single process")
    model.rank_rng_states = None
    if device is not None:
        model.to(device)
    target = model.epoch + epochs
    if resume is not None:
        path = _resume_path(resume, callbacks)
        if ctx is not None:  # rank 0 decides, so that every rank loads the same file
            path = ctx.broadcast_object(path)
        if path is not None:
            model.load_state_dict(load_checkpoint(path, map_location=model.device))
            logger.info("resumed from %s at epoch %d", path, model.epoch)
            target = epochs
    model.callbacks = callbacks
    for key, cb in zip(unique_state_keys(callbacks), callbacks, strict=True):
        if key in model._pending_callback_states:
            cb.load_state_dict(model._pending_callback_states.pop(key))
    model.generator.train()
    model.discriminator.train()
    if ctx is None:
        model.set_training_networks(*_compiled(model))
    else:
        ctx.fork_rng()
        model.set_training_networks(*ctx.wrap(model, sync_batchnorm=sync_batchnorm))
    try:
        return run_epochs(
            model,
            loader,
            target_epoch=target,
            callbacks=callbacks,
            on_nonfinite=on_nonfinite,
            distributed=ctx,
        )
    finally:
        model._check_values = True
        if ctx is not None:  # no DDP wrappers outside fit
            model.set_training_networks()


def _check_callbacks(callbacks: object) -> list[Callback]:
    if not _iterable(callbacks) or isinstance(callbacks, (str, bytes, Callback)):
        raise ConfigError(
            f"callbacks must be a list of mnistgan Callback instances, got "
            f"{type(callbacks).__name__}; pass e.g. callbacks=[ModelCheckpoint('ckpt')]"
        )
    checked: list[Callback] = list(callbacks)  # type: ignore[call-overload]
    for cb in checked:
        if not isinstance(cb, Callback):
            raise ConfigError(
                f"callbacks must be mnistgan Callback instances, got {type(cb).__name__}"
            )
    return checked


def _compiled(model: GAN) -> tuple[nn.Module, nn.Module]:
    if not model.compile:
        return model.generator, model.discriminator
    return torch.compile(model.generator), torch.compile(model.discriminator)  # type: ignore[return-value]


def _resume_path(resume: str | os.PathLike[str], callbacks: Sequence[Callback]) -> Path | None:
    if str(resume) != "auto":
        return Path(resume)
    checkpointers = [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)]
    if not checkpointers:
        raise ConfigError(
            'resume="auto" looks in the ModelCheckpoint callback\'s folder, but no '
            "ModelCheckpoint is among callbacks; add one or pass a checkpoint path"
        )
    found = checkpointers[0].latest()
    if found is None:
        logger.info("no checkpoint in %s; starting fresh", checkpointers[0].directory)
    return found


def _iterable(value: object) -> bool:
    """Whether ``iter(value)`` can work, without calling it (a DataLoader would start)."""
    kind = type(value)
    return hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")
