"""TensorBoard logging as a training callback.

:class:`TensorBoardLogger` writes TensorBoard event files with
:class:`torch.utils.tensorboard.SummaryWriter` (offline: nothing is sent anywhere;
view them with ``tensorboard --logdir LOG_DIR``). It needs the ``tensorboard``
package: ``pip install "mnistgan[tensorboard]"``.

What it writes, all against the global step (the number of training steps done):

* ``train/<key>``: every value of the step logs (``loss_d``, ``loss_g``, ``d_real``,
  ``d_fake_before``, ``d_fake_after``, ...) every ``every_n_steps`` steps. Step logs
  hold 0-d tensors; they are read (one device sync) only at those steps.
* ``epoch/<key>``: every value of the epoch row (the step means, ``seconds``,
  ``images``, ``images_per_s``) and metrics that callbacks add to it, also those
  added by callbacks that run after this one.
* ``samples``: a grid of images from fixed noise after every epoch. The noise comes
  from the logger's own seeded :class:`torch.Generator` (the global random state is
  untouched) and travels in checkpoints through :meth:`TensorBoardLogger.state_dict`.
* the run's hyper-parameters (``GANConfig.to_dict()`` flattened, e.g.
  ``generator.kwargs.base_width``) for TensorBoard's HPARAMS tab, at the start of
  every ``fit``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .._checks import check_int
from ..errors import ConfigError
from ..training.callbacks import Callback

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = ["TensorBoardLogger", "flatten_hparams"]

logger = logging.getLogger(__name__)

_INSTALL_HINT = (
    'TensorBoardLogger needs the tensorboard package: pip install "mnistgan[tensorboard]"'
)


def _summary_writer_class() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``, imported on first use."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises it when the tensorboard package is missing
        raise ImportError(_INSTALL_HINT) from None
    return SummaryWriter


def flatten_hparams(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested settings into ``{"a.b": value}`` with values TensorBoard accepts.

    Numbers, strings and bools stay; ``None`` becomes ``"None"`` and lists become
    their JSON text.

    Example:
        >>> flatten_hparams({"lr": 2e-4, "ema": None, "g": {"hidden": [128], "act": "relu"}})
        {'lr': 0.0002, 'ema': 'None', 'g.hidden': '[128]', 'g.act': 'relu'}
    """
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_hparams(value, prefix=f"{name}."))
        elif value is None:
            flat[name] = "None"
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(list(value))
        else:
            flat[name] = str(value)
    return flat


class TensorBoardLogger(Callback):
    """Log losses, D outputs, epoch values, sample grids and hyper-parameters to TensorBoard.

    See :mod:`mnistgan.integrations.tensorboard` for the tags. Each ``fit`` opens a
    new event file in ``log_dir``; a resumed run hides the events its interrupted
    predecessor wrote after the checkpoint's step (``purge_step``), so curves do not
    fold back on themselves.

    Args:
        log_dir: Folder for the event files (created if missing).
        every_n_steps: Log the step values every this many training steps.
        n_images: Images in the per-epoch sample grid; 0 logs no images.
        nrow: Images per row of the grid.
        seed: Seed of the fixed noise.

    Raises:
        ImportError: If the tensorboard package is not installed (the message says
            ``pip install "mnistgan[tensorboard]"``).
        ConfigError: If an argument is out of range.

    Example:
        >>> import tempfile, torch
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     tb = TensorBoardLogger(tmp, every_n_steps=2, n_images=4, nrow=2)
        ...     _ = gan.fit([torch.rand(8, 1, 28, 28)] * 2, epochs=1, callbacks=[tb],
        ...                 progress=False)
        ...     any(p.name.startswith("events.out.tfevents") for p in tb.log_dir.iterdir())
        True
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        every_n_steps: int = 50,
        n_images: int = 64,
        nrow: int = 8,
        seed: int = 0,
    ) -> None:
        self._writer_class = _summary_writer_class()  # fail now, not when fit starts
        self.log_dir = Path(log_dir)
        self.every_n_steps = check_int(every_n_steps, "every_n_steps")
        check_int(n_images, "n_images", minimum=0)
        self.n_images = n_images
        self.nrow = check_int(nrow, "nrow")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self.noise: Tensor | None = None
        self.writer: Any = None

    # ------------------------------------------------------------------ hooks

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Open the event file, draw the fixed noise (unless restored), log hyper-parameters."""
        self.close()
        # On resume, hide what a crashed run logged after the checkpoint's step.
        purge = model.global_step + 1 if model.global_step > 0 else None
        self.writer = self._writer_class(log_dir=str(self.log_dir), purge_step=purge)
        if self.n_images and (
            self.noise is None or tuple(self.noise.shape) != (self.n_images, model.latent_dim)
        ):
            generator = torch.Generator().manual_seed(self.seed)
            self.noise = torch.randn(self.n_images, model.latent_dim, generator=generator)
        self._log_hparams(model)

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        """Every ``every_n_steps`` steps, write the step's values (one device sync)."""
        step = model.global_step
        if step % self.every_n_steps or self.writer is None:
            return
        values: dict[str, float] = {}
        tensors = {k: v for k, v in logs.items() if isinstance(v, Tensor) and v.numel() == 1}
        if tensors:
            devices = {v.device for v in tensors.values()}
            if len(devices) == 1:  # one transfer, one device sync for all values
                stacked = torch.stack([v.detach().float().reshape(()) for v in tensors.values()])
                values.update(zip(tensors, stacked.cpu().tolist(), strict=True))
            else:
                values.update({k: float(v) for k, v in tensors.items()})
        for key, value in logs.items():
            if not isinstance(value, Tensor):
                values[key] = float(value)
        for key, number in values.items():
            self.writer.add_scalar(f"train/{key}", number, step)

    def on_checkpoint(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Write the epoch row and the sample grid, then flush to disk.

        This runs in the save phase, after every callback's ``on_epoch_end``, so the row
        holds the values other callbacks (metrics, monitors) added for the epoch.
        """
        if self.writer is None:
            return
        step = model.global_step
        self._write_epoch_values(model.history.epochs[-1] if model.history.epochs else logs, step)
        if self.noise is not None and self.n_images:
            from torchvision.utils import make_grid  # type: ignore[import-untyped,unused-ignore]

            images = model.generate(self.noise)  # (n, C, H, W) in [0, 1], on the CPU
            grid = make_grid(images, nrow=self.nrow, padding=2)  # (3, H', W')
            self.writer.add_image("samples", grid, step)
        self.writer.flush()

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        """Close the event file."""
        self.close()

    def on_exception(self, model: GAN, error: BaseException) -> None:
        """Close the event file so what was logged stays readable."""
        self.close()

    def close(self) -> None:
        """Flush and close the event file, if one is open."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The fixed noise."""
        return {"noise": self.noise}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take the fixed noise from a checkpoint."""
        noise = state.get("noise")
        self.noise = noise if isinstance(noise, Tensor) else None

    # ------------------------------------------------------------------ helpers

    def _write_epoch_values(self, row: Mapping[str, Any], step: int) -> None:
        for key, value in row.items():
            if key == "epoch":
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                logger.debug("not logging epoch value %s=%r: not a number", key, value)
                continue
            self.writer.add_scalar(f"epoch/{key}", number, step)

    def _log_hparams(self, model: GAN) -> None:
        from torch.utils.tensorboard.summary import hparams

        values = flatten_hparams(model.config.to_dict())
        # Linking the losses lets the HPARAMS tab show them next to the settings.
        metrics = {"epoch/loss_d": 0.0, "epoch/loss_g": 0.0}
        experiment, start, _ = hparams(values, metrics)  # type: ignore[no-untyped-call]
        file_writer = self.writer.file_writer
        for summary in (experiment, start):
            file_writer.add_summary(summary, model.global_step)
