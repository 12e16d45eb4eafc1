"""Crash-test worker: a tiny GAN run with a checkpoint every epoch, resumed with resume="auto".

tests/test_reliability.py runs this script, kills it with SIGKILL at chosen points and
runs the same command again until it prints ``DONE``; it also imports :func:`train` to
make the uninterrupted reference run in its own process.

Usage: ``python _crash_worker.py OUT_DIR EPOCHS``

Environment (read only when run as a script, never by mnistgan):

* ``CRASH_THREADS``: PyTorch's thread count (the reference run's, for identical maths).
* ``CRASH_STEP_SLEEP``: seconds to sleep after every step, so a kill lands mid-run.
* ``CRASH_SLOW_SAVE``: ``"write"`` to stall in the middle of writing the next
  checkpoint's temporary file, or ``"replace"`` to stall after it is complete but
  before it is renamed into place. The worker prints ``IN_SAVE <name>`` and sleeps.

Output, one line each and flushed: ``START <global_step>`` after resuming,
``STEP <global_step>`` after every step, ``DONE`` at the end.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mnistgan import GAN, Callback, ModelCheckpoint
from mnistgan import checkpoint as checkpoint_module
from mnistgan.device import seed_everything

IMAGES, BATCH = 12, 4  # three steps per epoch
STALL_SECONDS = 120.0  # far longer than the test waits: it kills the worker first


class _ShuffledBatches:
    """Fixed images in an order that depends only on the epoch (set by the training loop).

    A stand-in for ``mnistgan.data.InMemoryLoader``: importing mnistgan.data pulls in
    torchvision, which costs seconds in every worker start.
    """

    def __init__(self, images: Tensor, batch_size: int) -> None:
        self.images, self.batch_size, self.epoch = images, batch_size, 0

    def set_epoch(self, epoch: int) -> None:
        """Pick the epoch whose order the next iteration uses."""
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator[Tensor]:
        order = torch.randperm(
            len(self.images), generator=torch.Generator().manual_seed(self.epoch)
        )
        for start in range(0, len(order), self.batch_size):
            yield self.images[order[start : start + self.batch_size]]  # (B, 1, 28, 28)


class _Reporter(Callback):
    """Prints progress for the parent test and optionally slows every step down."""

    def __init__(self, step_sleep: float, echo: bool) -> None:
        self.step_sleep = step_sleep
        self.echo = echo

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        if self.echo:
            print(f"START {model.global_step}", flush=True)

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        if self.echo:
            print(f"STEP {model.global_step}", flush=True)
        if self.step_sleep:
            time.sleep(self.step_sleep)


def train(out: Path, epochs: int, *, step_sleep: float = 0.0, echo: bool = False) -> GAN:
    """Train (or resume and finish) the deterministic tiny run whose checkpoints go to ``out``."""
    seed_everything(0)
    gan = GAN.from_preset(
        "vanilla", generator={"hidden": (16,)}, discriminator={"hidden": (16,)}, ema_decay=0.9
    )
    images = torch.rand(IMAGES, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    gan.fit(
        _ShuffledBatches(images, BATCH),
        epochs=epochs,
        callbacks=[ModelCheckpoint(out, keep_last=None), _Reporter(step_sleep, echo)],
        device="cpu",
        resume="auto",
        progress=False,
    )
    return gan


def _stall_in_saves(where: str) -> None:
    """Make the next checkpoint save stall ``where`` ("write" or "replace"), from outside."""
    if where == "replace":
        real_replace = os.replace

        def slow_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if Path(dst).name.startswith("epoch_"):
                print(f"IN_SAVE {Path(dst).name}", flush=True)
                time.sleep(STALL_SECONDS)
            real_replace(src, dst, *args, **kwargs)

        os.replace = slow_replace
    elif where == "write":
        writer = checkpoint_module._HashingWriter
        real_write = writer.write

        def slow_write(self: Any, data: bytes) -> int:
            written = real_write(self, data)
            if self.size > 1024:  # part of the zip is on disk, the rest and the trailer not
                self.flush()
                print("IN_SAVE (writing)", flush=True)
                time.sleep(STALL_SECONDS)
            return written

        writer.write = slow_write  # type: ignore[method-assign]
    elif where:
        raise SystemExit(f"CRASH_SLOW_SAVE must be 'write' or 'replace', got {where!r}")


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("CRASH_THREADS", "1")))  # as the reference run
    _stall_in_saves(os.environ.get("CRASH_SLOW_SAVE", ""))
    train(
        Path(sys.argv[1]),
        int(sys.argv[2]),
        step_sleep=float(os.environ.get("CRASH_STEP_SLEEP", "0")),
        echo=True,
    )
    print("DONE", flush=True)
