"""The training loop: the only one in mnistgan.

It asks little of the model, and says so in :class:`~mnistgan.training.protocol.Trainable`:
it trains on one batch with ``train_step(batch) -> dict`` and keeps ``epoch``,
``global_step``, ``history`` and ``stop_training``. Variants override
:meth:`mnistgan.GAN.train_step`, never the loop.

After every step the loop checks that the step's losses (the ``loss*`` values of
its logs) are finite, with one fused check (one host sync per step on an
accelerator), and reacts as ``on_nonfinite`` says: ``"raise"`` a
:class:`~mnistgan.errors.TrainingError`, ``"skip"`` the step or ``"stop"`` training.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any, Literal, cast

import torch
from torch import Tensor

from ..errors import BatchTypeError, DataError, TrainingError
from .callbacks import Callback, ModelCheckpoint
from .history import History
from .protocol import Trainable

if TYPE_CHECKING:
    from ..gan import GAN
    from .distributed import DistributedContext
    from .protocol import Replicated

__all__ = ["NONFINITE_ACTIONS", "NonFinite", "run_epochs"]

logger = logging.getLogger(__name__)

NonFinite = Literal["raise", "skip", "stop"]
"""What :func:`run_epochs` does when a step's loss is NaN or infinite."""

NONFINITE_ACTIONS: tuple[str, ...] = ("raise", "skip", "stop")
"""The values ``on_nonfinite`` accepts."""


def run_epochs(
    model: Trainable,
    loader: Iterable[Any],
    *,
    target_epoch: int,
    callbacks: Sequence[Callback] = (),
    on_nonfinite: NonFinite = "raise",
    distributed: DistributedContext | None = None,
) -> History:
    """Train ``model`` on ``loader`` until ``model.epoch == target_epoch`` or a stop.

    Calls ``loader.set_epoch(epoch)`` before each epoch when the loader has it
    (mnistgan's in-memory loader, ``DistributedSampler``-style loaders), so the
    data order depends only on the epoch and a resumed run sees the same batches.

    Every step's ``loss*`` values are checked for NaN and infinity with one fused
    check; on an accelerator that is one host sync per step. A step that fails it
    is not counted (``global_step``, history and ``on_batch_end`` skip it), and:

    * ``"raise"``: raise :class:`~mnistgan.errors.TrainingError` naming the step,
      the epoch and the newest checkpoint of the run's
      :class:`~mnistgan.training.ModelCheckpoint`. The model keeps the weights the
      failed step produced, which may hold NaN.
    * ``"skip"``: put back the weights, EMA and optimiser state from before the
      step, log a warning and go on with the next batch; each epoch row gets a
      ``skipped_steps`` count. An epoch whose every step fails raises
      :class:`~mnistgan.errors.TrainingError` (the weights themselves are broken).
    * ``"stop"``: put back the state from before the step and stop as if a callback
      had set ``model.stop_training`` (the epoch ends, so checkpoints see the
      restored, finite weights).

    ``"skip"`` and ``"stop"`` copy the weights and optimiser state before every step
    (``model.snapshot()``: about three times the parameters' memory, and one copy's time
    per step).

    Each epoch ends in two phases: every callback's ``on_epoch_end``, then every
    callback's ``on_checkpoint``, where :class:`~mnistgan.training.ModelCheckpoint`
    writes its file, so a checkpoint holds every callback's values for the epoch
    whatever the order of the callback list.

    In distributed training (``distributed``, see :mod:`mnistgan.training.distributed`)
    every process runs this loop: each step's logged values are averaged over the
    processes (so all agree on a non-finite loss), a stop set on any process stops all
    after the same step (one small all-reduce each), BatchNorm buffers are copied from
    rank 0 and the random states gathered to it before each epoch's ``on_epoch_end``,
    ``images`` counts every process's images, and callbacks marked
    ``main_process_only`` run on rank 0 only.

    Args:
        model: The model to train.
        loader: Any iterable of batches, re-iterated once per epoch.
        target_epoch: Epoch count at which to stop.
        callbacks: Hooks, called in the order given.
        on_nonfinite: ``"raise"``, ``"skip"`` or ``"stop"`` (see above).
        distributed: This process's place in a distributed run; ``None`` for one process.

    Returns:
        ``model.history``.

    Raises:
        DataError: If an epoch yields no batch at all.
        TrainingError: If a loss is not finite (``on_nonfinite="raise"``), or every
            step of an epoch was skipped.
    """
    guard_state = on_nonfinite != "raise"
    world = 1 if distributed is None else distributed.world_size
    if distributed is not None:
        callbacks = distributed.active_callbacks(callbacks)
    hooks_model = cast("GAN", model)  # callbacks are typed for the GAN they usually see
    model.stop_training = False
    batches = len(loader) if isinstance(loader, Sized) else None
    fit_logs: dict[str, Any] = {"start_epoch": model.epoch, "target_epoch": target_epoch}
    try:
        for cb in callbacks:
            cb.on_fit_start(hooks_model, fit_logs)
        for epoch in range(model.epoch, target_epoch):
            set_epoch = getattr(loader, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(epoch)
            for cb in callbacks:
                cb.on_epoch_start(hooks_model, epoch, {"batches": batches})
            start, images, index, skipped = time.perf_counter(), 0, -1, 0
            for index, batch in enumerate(_batches(loader)):
                before = model.snapshot() if guard_state else None
                logs = dict(model.train_step(batch))
                if distributed is not None:
                    logs = distributed.mean_logs(logs)
                bad = _nonfinite_losses(logs)
                if bad:
                    where = (
                        f"global step {model.global_step} (epoch {epoch}, batch {index}; "
                        f"counted from 0): {bad}"
                    )
                    if before is None:
                        raise TrainingError(_nonfinite_message(where, callbacks))
                    model.restore(before)
                    if on_nonfinite == "stop":
                        logger.warning(
                            "non-finite loss at %s; restored the weights from before the "
                            "step and stopping training",
                            where,
                        )
                        model.stop_training = True
                        break
                    skipped += 1
                    logger.warning(
                        "non-finite loss at %s; skipped the step (weights and optimiser "
                        "state restored from before it)",
                        where,
                    )
                    continue
                model.global_step += 1
                images += model.batch_size_of(batch) * world
                model.history.record_step(logs)
                for cb in callbacks:
                    cb.on_batch_end(hooks_model, index, logs)
                if distributed is not None:  # a stop on any rank stops all after this step
                    model.stop_training = distributed.any_rank(model.stop_training)
                if model.stop_training:
                    break
            if index < 0:
                raise DataError(
                    "the loader yielded no batches; check that the dataset is not empty and, "
                    "with drop_last=True, that it holds at least one full batch"
                )
            if on_nonfinite == "skip" and skipped == index + 1:
                raise TrainingError(
                    f"every step of epoch {epoch} (counted from 0; {skipped} steps) had a "
                    "non-finite loss, so every one was skipped: the weights themselves are "
                    f"probably broken. {_checkpoint_hint(callbacks)}"
                )
            model.epoch = epoch + 1
            epoch_logs = model.history.end_epoch(
                epoch=epoch, seconds=time.perf_counter() - start, images=images
            )
            if on_nonfinite == "skip":
                epoch_logs["skipped_steps"] = float(skipped)
            if distributed is not None:
                model.rank_rng_states = distributed.end_epoch(cast("Replicated", model))
            for cb in callbacks:
                cb.on_epoch_end(hooks_model, epoch, epoch_logs)
            if distributed is not None:
                model.stop_training = distributed.any_rank(model.stop_training)
            for cb in callbacks:  # the save phase: after every callback's epoch values
                cb.on_checkpoint(hooks_model, epoch, epoch_logs)
            if model.stop_training:
                break
        for cb in callbacks:
            cb.on_fit_end(hooks_model, {"epoch": model.epoch, "global_step": model.global_step})
    except BaseException as error:
        for cb in callbacks:
            cb.on_exception(hooks_model, error)
        raise
    return model.history


def _nonfinite_losses(logs: Mapping[str, Any]) -> str:
    """``"loss_d=nan, loss_g=0.69"`` if a ``loss*`` value of ``logs`` is not finite, else ``""``.

    Tensors are checked together with one fused ``isfinite`` (one host sync); the
    values are only formatted when the check fails.
    """
    losses = {k: v for k, v in logs.items() if k.startswith("loss")}
    tensors = [v.detach().reshape(-1) for v in losses.values() if isinstance(v, Tensor)]
    finite = all(math.isfinite(v) for v in losses.values() if isinstance(v, (int, float)))
    if tensors and finite:
        finite = bool(torch.isfinite(torch.cat([t.float() for t in tensors])).all())
    if finite:
        return ""
    parts = []
    for key, value in losses.items():
        if isinstance(value, Tensor):
            values = value.detach().float().reshape(-1).tolist()
            text = f"{values[0]:.4g}" if len(values) == 1 else f"{len(values)} values"
        else:
            text = f"{float(value):.4g}"
        parts.append(f"{key}={text}")
    return ", ".join(parts)


def _checkpoint_hint(callbacks: Sequence[Callback]) -> str:
    """Where the last good checkpoint is, and how to go on from it."""
    checkpointers = [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)]
    if not checkpointers:
        return (
            "No ModelCheckpoint callback was saving this run, so there is no checkpoint to "
            "go back to; add one (and consider a lower learning rate) before training again"
        )
    latest = checkpointers[0].latest()
    if latest is None:
        return (
            f"No checkpoint was written yet in {str(checkpointers[0].directory)!r}; train "
            "again from scratch, perhaps with a lower learning rate"
        )
    return (
        f"The last good checkpoint is {str(latest)!r}: resume from it with "
        'fit(..., resume="auto"), perhaps with a lower learning rate, or pass '
        'on_nonfinite="skip" to skip such steps'
    )


def _nonfinite_message(where: str, callbacks: Sequence[Callback]) -> str:
    """The TrainingError message for a non-finite loss in ``"raise"`` mode."""
    return (
        f"training stopped: non-finite loss at {where}. The model's weights may now hold "
        f"NaN or infinity. {_checkpoint_hint(callbacks)}"
    )


def _batches(loader: Iterable[Any]) -> Iterator[Any]:
    """Iterate ``loader``, turning a ``DataLoader``'s collate failure into a BatchTypeError."""
    iterator = iter(loader)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except TypeError as err:
            # default_collate refuses PIL images and other non-tensor samples with a
            # TypeError that does not say how to fix the dataset.
            if "default_collate" not in str(err):
                raise
            raise BatchTypeError(
                f"the loader could not make a batch of tensors ({err}); use "
                f"transforms.ToTensor() in the dataset so the DataLoader yields tensors"
            ) from err
        yield batch
