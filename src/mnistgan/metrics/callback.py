""":class:`MetricsCallback`: quality metrics in the history, every few epochs of ``fit``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from mnistgan._checks import check_int
from mnistgan.device import resolve_device
from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics.evaluate import (
    METRIC_KEYS,
    FeatureExtractor,
    FeatureSet,
    evaluate,
    extract_features,
    real_features,
)
from mnistgan.training.callbacks import Callback

if TYPE_CHECKING:
    from mnistgan.gan import GAN

__all__ = ["MetricsCallback"]

logger = logging.getLogger(__name__)


class MetricsCallback(Callback):
    """Evaluate the generator every ``every`` epochs and log the metrics into the history.

    The values go into the epoch rows (``model.history.epochs[-1]["fd"]`` and so on,
    with ``prefix`` in front of each key), so :class:`~mnistgan.training.HistoryWriter`
    and checkpoints carry them. The real set's features are computed once, at the start
    of ``fit``. Sampling draws from its own seeded :class:`torch.Generator` (the same
    latents every time) and never from the global random state, so a run with this
    callback trains exactly as one without it. The last epoch is always evaluated.

    If the generated images are degenerate (for example all identical after a
    collapse), the metrics of that epoch are logged as NaN with a warning instead of
    stopping the run.

    Args:
        every: Evaluate after every this many epochs.
        n: Generated images per evaluation.
        real: Reference images or a :class:`~mnistgan.metrics.FeatureSet`; ``None``
            uses the 10k MNIST test images.
        seed: Seed of the latents and of KID's subsets.
        batch_size: Images per forward pass.
        extractor: Feature extractor (``None``: mnistgan's MNIST classifier).
        device: Where the extractor runs; ``None`` uses the model's device.
        kid_subsets: KID subset pairs (fewer is faster).
        kid_subset_size: Samples per KID subset.
        prefix: Put in front of every logged key, e.g. ``"val_"``.
        classes: Also log the class shares ``class_0`` … ``class_9`` (off by default,
            so that plots of the history stay readable); :attr:`last` always has them.

    Example:
        >>> cb = MetricsCallback(every=5, n=2000, kid_subsets=20)
        >>> cb.every, cb.n
        (5, 2000)
    """

    def __init__(
        self,
        *,
        every: int = 1,
        n: int = 10000,
        real: Tensor | FeatureSet | None = None,
        seed: int = 0,
        batch_size: int = 500,
        extractor: FeatureExtractor | None = None,
        device: str | torch.device | None = None,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        prefix: str = "",
        classes: bool = False,
    ) -> None:
        self.every = check_int(every, "every")
        self.n = check_int(n, "n")
        self.batch_size = check_int(batch_size, "batch_size")
        self.kid_subsets = check_int(kid_subsets, "kid_subsets")
        self.kid_subset_size = check_int(kid_subset_size, "kid_subset_size")
        check_int(seed, "seed", minimum=0)
        if not isinstance(prefix, str):
            raise ConfigError(f"prefix must be a str, got {type(prefix).__name__}")
        if real is not None and not isinstance(real, (Tensor, FeatureSet)):
            raise ConfigError(
                f"real must be a tensor of images, a FeatureSet or None, got {type(real).__name__}"
            )
        self.seed = seed
        self.real = real
        self.extractor = extractor
        self.device = device
        self.prefix = prefix
        self.classes = bool(classes)
        self.last: dict[str, float] = {}
        """The newest evaluation's full result."""
        self._real_set: FeatureSet | None = real if isinstance(real, FeatureSet) else None
        self._target = 0

    def _device(self, model: GAN) -> torch.device:
        return resolve_device(self.device) if self.device is not None else model.device

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Compute the real set's features once."""
        self._target = int(logs.get("target_epoch", 0))
        if self._real_set is not None:
            return
        device = self._device(model)
        if isinstance(self.real, Tensor):
            self._real_set = extract_features(
                self.real, self.extractor, batch_size=self.batch_size, device=device
            )
        elif self.extractor is None:
            self._real_set = real_features(batch_size=self.batch_size, device=device)
        else:
            from mnistgan.data import load_tensors

            images, _ = load_tensors("mnist", train=False)
            self._real_set = extract_features(
                images, self.extractor, batch_size=self.batch_size, device=device
            )

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Evaluate (on schedule, and after the last epoch) and log into the epoch row."""
        done = epoch + 1
        if done % self.every and done != self._target and not model.stop_training:
            return
        try:
            self.last = evaluate(
                model,
                self.n,
                real=self._real_set,
                seed=self.seed,
                batch_size=self.batch_size,
                device=self._device(model),
                extractor=self.extractor,
                kid_subsets=self.kid_subsets,
                kid_subset_size=self.kid_subset_size,
            )
        except DataError as err:
            logger.warning("epoch %d: metrics undefined (%s); logged as NaN", done, err)
            self.last = dict.fromkeys(METRIC_KEYS, float("nan"))
        for key, value in self.last.items():
            if self.classes or key in METRIC_KEYS or key == "label_accuracy":
                model.history.log_epoch_value(self.prefix + key, value)
        logger.info(
            "epoch %d: %s",
            done,
            "  ".join(f"{k}={v:.4g}" for k, v in self.last.items() if k in METRIC_KEYS),
        )
