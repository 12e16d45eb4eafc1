"""Callbacks: hooks the training loop calls, with no-op defaults.

Every hook receives the model being trained and a plain ``logs`` dict. Step
logs hold 0-d tensors (``float(v)`` reads one, waiting for the device only
then); epoch logs hold floats. A callback stops training by setting
``model.stop_training = True``. Callbacks with state implement
:meth:`Callback.state_dict` / :meth:`Callback.load_state_dict`; checkpoints
carry that state under :attr:`Callback.state_key`, so it survives a resume.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]

from .._checks import check_int
from .._io import atomic_write, atomic_write_text, remove_stale_temps, write_failure
from ..checkpoint import latest_checkpoint, list_checkpoints
from ..errors import ConfigError, TrainingError
from ._rotation import files_to_prune
from .lock import RunLock

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = [
    "Callback",
    "HistoryWriter",
    "ModelCheckpoint",
    "ProgressBar",
    "SampleGrid",
]

logger = logging.getLogger(__name__)


class Callback:
    """Base class: override the hooks you need; all default to doing nothing.

    Hooks run in this order: ``on_fit_start``, then per epoch ``on_epoch_start``,
    ``on_batch_end`` after every step, ``on_epoch_end``, ``on_checkpoint``; finally
    ``on_fit_end``, or ``on_exception`` if training raised. Each epoch-end hook runs
    for every callback before the next hook starts, so values a callback adds in
    ``on_epoch_end`` are there for every ``on_checkpoint``.

    Example:
        >>> class StopAfter(Callback):
        ...     def __init__(self, steps: int) -> None:
        ...         self.steps = steps
        ...     def on_batch_end(self, model, batch_index, logs):
        ...         if model.global_step >= self.steps:
        ...             model.stop_training = True
        >>> StopAfter(10).state_key
        'StopAfter'
    """

    main_process_only: bool = False
    """Run only on the main process (rank 0) in distributed training.

    Set it on callbacks whose only effects are files or the terminal (checkpoints,
    images, progress bars); they then run once, not once per process. Callbacks that
    change the model, its optimisers or ``stop_training`` must run on every process
    (the default) so that the processes stay alike.
    """

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Called once before the first epoch."""

    def on_epoch_start(self, model: GAN, epoch: int, logs: dict[str, Any]) -> None:
        """Called before each epoch (``epoch`` is zero-based)."""

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        """Called after each training step with that step's values."""

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with the epoch's averages and timing."""

    def on_checkpoint(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Called after every callback's ``on_epoch_end``: the phase that writes checkpoints.

        .. versionadded:: 0.2.0
        """

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        """Called once when training ends normally (also after an early stop)."""

    def on_exception(self, model: GAN, error: BaseException) -> None:
        """Called when training raises, before the error propagates."""

    @property
    def state_key(self) -> str:
        """The key of this callback's state inside a checkpoint."""
        return type(self).__qualname__

    def state_dict(self) -> dict[str, Any]:
        """State to carry in checkpoints (plain values and tensors only)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def _write_error(what: str, path: Path, err: OSError) -> OSError:
    """An ``OSError`` of the same kind whose message names the file, the reason and a fix."""
    message = write_failure(f"{what} could not write", path, err)
    return OSError(err.errno, message) if err.errno is not None else OSError(message)


def _nonfinite_tensors(model: GAN) -> list[str]:
    """Names of the generator/discriminator/EMA tensors holding NaN or infinity.

    One fused check (one host sync); the names are only looked up when it fails.
    """
    named = [
        (f"{owner}.{key}", value)
        for owner, net in (
            ("generator", model.generator),
            ("discriminator", model.discriminator),
            ("ema", model.ema),
        )
        if net is not None
        for key, value in net.state_dict().items()
        if value.is_floating_point() or value.is_complex()
    ]
    if not named:
        return []
    flags = torch.stack([torch.isfinite(t).all() for _, t in named])
    if bool(flags.all()):
        return []
    return [name for (name, _), ok in zip(named, flags.tolist(), strict=True) if not ok]


class ModelCheckpoint(Callback):
    """Save a full checkpoint every ``every`` epochs, keeping the newest ``keep_last``.

    Files are named ``epoch_0001.pt`` (one-based: the number of epochs done) and
    written atomically, so an interruption never leaves a broken newest file; the
    hidden temporary file a killed save leaves behind is removed when the next
    ``fit`` starts.
    ``fit(..., resume="auto")`` resumes from the newest good file in
    ``directory``. Weights holding NaN or infinity are never written: the save
    raises :class:`~mnistgan.errors.TrainingError` instead, so a diverged run
    cannot push its good checkpoints out. From the start of ``fit`` to its end the
    folder is held by this process (a :class:`~mnistgan.training.RunLock`); a second
    process that trains into it is refused with
    :class:`~mnistgan.errors.FolderInUseError`. An epoch that
    :class:`~mnistgan.metrics.HealthMonitor` stopped (its row has ``health_stop``) is
    not saved.

    Args:
        directory: Folder for the checkpoints (created if missing).
        every: Save after every this many epochs (the last epoch is always saved).
        keep_last: How many checkpoints to keep; older ones are deleted. ``None``
            keeps all.

    Example:
        >>> cb = ModelCheckpoint("runs/example/checkpoints", every=5, keep_last=2)
        >>> cb.path_for(10).name
        'epoch_0010.pt'
    """

    main_process_only = True  # files/terminal only: rank 0 writes them

    def __init__(
        self, directory: str | os.PathLike[str], *, every: int = 1, keep_last: int | None = 3
    ) -> None:
        self.directory = Path(directory)
        self.every = check_int(every, "every")
        self.keep_last = None if keep_last is None else check_int(keep_last, "keep_last")
        self._last_epoch = 0
        self._lock = RunLock(self.directory)

    def path_for(self, epochs_done: int) -> Path:
        """The file written after ``epochs_done`` epochs."""
        return self.directory / f"epoch_{epochs_done:04d}.pt"

    def latest(self) -> Path | None:
        """The newest checkpoint in :attr:`directory` that loads, or ``None``."""
        return latest_checkpoint(self.directory, "epoch_*.pt")

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Remember the epoch the run ends at, to always save the last one, and remove the
        temporary files of saves that a killed earlier run left unfinished."""
        self._last_epoch = int(logs["target_epoch"])
        try:
            self._lock.acquire()  # one process writes to the folder; see training/lock.py
        except OSError as err:  # an unwritable folder: the save will say so, as before
            logger.warning(
                "could not lock %s (%s); training without the lock", self.directory, err
            )
        for stale in remove_stale_temps(self.directory, "epoch_*.pt"):
            logger.info("removed %s, left by an interrupted save", stale)

    def on_checkpoint(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Save after the right epochs and prune old files; this runs after every
        callback's ``on_epoch_end``, so the file holds their values for the epoch.

        Raises:
            TrainingError: If the weights hold NaN or infinity (nothing is written).
            CheckpointError: If the file cannot be written (earlier files are intact).
        """
        done = epoch + 1
        if done % self.every and done != self._last_epoch and not model.stop_training:
            return
        if logs.get("health_stop"):  # HealthMonitor(on_problem="stop") flagged this epoch
            logger.warning(
                "not saving epoch %d: the health monitor stopped the run; the newest "
                "checkpoint, %s, is from before the problem",
                done,
                self.latest(),
            )
            return
        target = self.path_for(done)
        bad = _nonfinite_tensors(model)
        if bad:
            latest = self.latest()
            kept = f"the newest good checkpoint, {str(latest)!r}, is" if latest else "nothing is"
            raise TrainingError(
                f"ModelCheckpoint did not write {str(target)!r}: the weights hold NaN or "
                f"infinite values (in {', '.join(bad[:3])}"
                f"{f' and {len(bad) - 3} more' if len(bad) > 3 else ''}) after epoch {epoch} "
                f"(counted from 0); {kept} kept. Resume from it with a lower learning rate, "
                'or train with fit(..., on_nonfinite="skip")'
            )
        path = model.save(target)
        logger.info("saved checkpoint %s", path)
        if self.keep_last is not None:
            files = list_checkpoints(self.directory, "epoch_*.pt")
            for old in files_to_prune(files, path, self.keep_last):
                old.unlink(missing_ok=True)

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        """Give the folder back."""
        self._lock.release()

    def on_exception(self, model: GAN, error: BaseException) -> None:
        """Give the folder back."""
        self._lock.release()


class SampleGrid(Callback):
    """Save a grid of images generated from fixed noise after every epoch.

    The noise is drawn once, from its own seeded generator (the global random
    state is not touched), and travels in checkpoints, so a resumed run keeps
    drawing the same digits. Files are ``epoch_0001.png`` and so on, each written
    atomically (a viewer or an interruption never sees half a picture); the newest
    grid is also kept as tensor in :attr:`last_grid`.

    Args:
        directory: Folder for the PNG files.
        n: Number of images in the grid.
        nrow: Images per row.
        every: Save after every this many epochs.
        seed: Seed of the fixed noise.

    Example:
        >>> cb = SampleGrid("runs/example/samples", n=16, nrow=4)
        >>> cb.n, cb.nrow
        (16, 4)
    """

    main_process_only = True  # files/terminal only: rank 0 writes them

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        n: int = 64,
        nrow: int = 8,
        every: int = 1,
        seed: int = 0,
    ) -> None:
        self.directory = Path(directory)
        self.n = check_int(n, "n")
        self.nrow = check_int(nrow, "nrow")
        self.every = check_int(every, "every")
        self.seed = seed
        self.noise: Tensor | None = None
        self.last_grid: Tensor | None = None

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Draw the fixed noise unless a checkpoint brought it."""
        if self.noise is None or self.noise.shape != (self.n, model.latent_dim):
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(self.n, model.latent_dim, generator=generator)

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Render and save the grid."""
        from torchvision.utils import (  # type: ignore[import-untyped,unused-ignore]
            make_grid,
            save_image,
        )

        if (epoch + 1) % self.every:
            return
        assert self.noise is not None
        images = model.generate(self.noise)  # (n, C, H, W) in [0, 1], on the CPU
        self.last_grid = make_grid(images, nrow=self.nrow, padding=2)
        path = self.directory / f"epoch_{epoch + 1:04d}.png"
        try:
            grid = self.last_grid
            atomic_write(path, lambda handle: save_image(grid, handle, format="png"))
        except OSError as err:
            raise _write_error("SampleGrid", path, err) from err

    def state_dict(self) -> dict[str, Any]:
        """The fixed noise."""
        return {"noise": self.noise}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take the fixed noise from a checkpoint."""
        self.noise = state.get("noise")


class HistoryWriter(Callback):
    """Write the run's history to a ``.json`` or ``.csv`` file after every epoch.

    JSON holds every step and epoch row; CSV holds the epoch rows (a second file
    with the suffix ``_steps.csv`` holds the steps).

    Args:
        path: Output file; its suffix (``.json`` or ``.csv``) picks the format.

    Example:
        >>> HistoryWriter("runs/example/history.json").path.suffix
        '.json'
    """

    main_process_only = True  # files/terminal only: rank 0 writes them

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.suffix not in (".json", ".csv"):
            raise ConfigError(
                f"path must end in .json or .csv, got {str(path)!r}; "
                f"e.g. HistoryWriter('runs/a/history.json')"
            )

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Rewrite the file with everything recorded so far.

        Raises:
            OSError: If the file cannot be written; the message names it and the
                reason, and the previous version of the file is left as it was.
        """
        history = model.history
        if self.path.suffix == ".json":
            files = [(self.path, history.to_json())]
        else:
            steps = self.path.with_name(self.path.stem + "_steps.csv")
            files = [(self.path, history.to_csv("epochs")), (steps, history.to_csv("steps"))]
        for path, text in files:
            try:
                atomic_write_text(path, text)
            except OSError as err:
                raise _write_error("HistoryWriter", path, err) from err


def _log_line(logs: Mapping[str, Any]) -> str:
    values = {k: float(v) for k, v in logs.items()}
    parts = [f"Loss-D: {values['loss_d']:.4f}", f"Loss-G: {values['loss_g']:.4f}"]
    if "d_real" in values:
        parts.append(f"D(x): {values['d_real']:.4f}")
        parts.append(f"D(G(z)): {values['d_fake_before']:.4f} / {values['d_fake_after']:.4f}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A tqdm bar per epoch and the reference log line at each epoch's end.

    With ``bar=False`` only the epoch lines are written, one per epoch: what a log
    file wants (``mnistgan train`` does so when its output is not a terminal).

    The line reads ``[epoch 3/20] Loss-D: 1.2031  Loss-G: 0.9110  D(x): 0.5712
    D(G(z)): 0.4011 / 0.3807  time: 12.3s`` — D(G(z)) before and after the
    discriminator's update. The bar's numbers refresh every ``refresh`` steps
    (reading them waits for the device, so not every step).

    Args:
        refresh: Steps between updates of the bar's numbers.
        leave: Keep each finished epoch's bar on screen.
        bar: Draw the bar; ``False`` writes the epoch lines alone.

    Example:
        >>> ProgressBar(refresh=20).refresh
        20
    """

    main_process_only = True  # files/terminal only: rank 0 writes them

    def __init__(self, *, refresh: int = 10, leave: bool = False, bar: bool = True) -> None:
        self.refresh = check_int(refresh, "refresh")
        self.leave = leave
        self.bar = bool(bar)
        self._bar: Any = None
        self._target = 0

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Remember how many epochs the run has."""
        self._target = int(logs["target_epoch"])

    def on_epoch_start(self, model: GAN, epoch: int, logs: dict[str, Any]) -> None:
        """Open the epoch's bar."""
        self._bar = tqdm(
            total=logs.get("batches"),
            desc=f"epoch {epoch + 1}/{self._target}",
            leave=self.leave,
            unit="batch",
            dynamic_ncols=True,
            disable=not self.bar,
        )

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        """Advance the bar; refresh its numbers now and then."""
        self._bar.update(1)
        if (batch_index + 1) % self.refresh == 0:
            self._bar.set_postfix_str(_log_line(logs), refresh=False)

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Close the bar and write the epoch's line."""
        self._bar.close()
        tqdm.write(
            f"[epoch {epoch + 1}/{self._target}] {_log_line(logs)}  time: {logs['seconds']:.1f}s"
        )

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        """Make sure no bar stays open."""
        if self._bar is not None:
            self._bar.close()

    def on_exception(self, model: GAN, error: BaseException) -> None:
        """Close the bar so the traceback prints cleanly."""
        self.on_fit_end(model, {})


def unique_state_keys(callbacks: Sequence[Callback]) -> list[str]:
    """State keys, with ``#2``, ``#3`` appended to repeated ones."""
    seen: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        key = cb.state_key
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return keys
