"""The training loop: the only one in mnistgan.

It asks little of the model: it trains on one batch with
``train_step(batch) -> dict`` and keeps ``epoch``, ``global_step``, ``history``
and ``stop_training``. Variants override :meth:`mnistgan.GAN.train_step`, never
the loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import TYPE_CHECKING, Any

from ..errors import BatchTypeError, DataError
from .callbacks import Callback
from .history import History

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = ["run_epochs"]


def run_epochs(
    model: GAN,
    loader: Iterable[Any],
    *,
    target_epoch: int,
    callbacks: Sequence[Callback] = (),
) -> History:
    """Train ``model`` on ``loader`` until ``model.epoch == target_epoch`` or a stop.

    Calls ``loader.set_epoch(epoch)`` before each epoch when the loader has it
    (mnistgan's in-memory loader, ``DistributedSampler``-style loaders), so the
    data order depends only on the epoch and a resumed run sees the same batches.

    Args:
        model: The model to train.
        loader: Any iterable of batches, re-iterated once per epoch.
        target_epoch: Epoch count at which to stop.
        callbacks: Hooks, called in the order given.

    Returns:
        ``model.history``.

    Raises:
        DataError: If an epoch yields no batch at all.
    """
    model.stop_training = False
    batches = len(loader) if isinstance(loader, Sized) else None
    fit_logs: dict[str, Any] = {"start_epoch": model.epoch, "target_epoch": target_epoch}
    try:
        for cb in callbacks:
            cb.on_fit_start(model, fit_logs)
        for epoch in range(model.epoch, target_epoch):
            set_epoch = getattr(loader, "set_epoch", None)
            if callable(set_epoch):
                set_epoch(epoch)
            for cb in callbacks:
                cb.on_epoch_start(model, epoch, {"batches": batches})
            start, images, index = time.perf_counter(), 0, -1
            for index, batch in enumerate(_batches(loader)):
                logs = dict(model.train_step(batch))
                model.global_step += 1
                images += model.batch_size_of(batch)
                model.history.record_step(logs)
                for cb in callbacks:
                    cb.on_batch_end(model, index, logs)
                if model.stop_training:
                    break
            if index < 0:
                raise DataError(
                    "the loader yielded no batches; check that the dataset is not empty and, "
                    "with drop_last=True, that it holds at least one full batch"
                )
            model.epoch = epoch + 1
            epoch_logs = model.history.end_epoch(
                epoch=epoch, seconds=time.perf_counter() - start, images=images
            )
            for cb in callbacks:
                cb.on_epoch_end(model, epoch, epoch_logs)
            if model.stop_training:
                break
        for cb in callbacks:
            cb.on_fit_end(model, {"epoch": model.epoch, "global_step": model.global_step})
    except BaseException as error:
        for cb in callbacks:
            cb.on_exception(model, error)
        raise
    return model.history


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
