"""Reference statistics of real MNIST that ship with mnistgan, so no dataset is needed.

``reference_stats.npz`` sits next to ``classifier.pt`` and holds, in the shipped
classifier's 128-dim feature space:

=========================  ==========================================================
array                      content
=========================  ==========================================================
``test_mean``/``_cov``     mean ``(128,)`` and covariance ``(128, 128)`` of the 10,000
                           test images' features, float64 (the Fréchet distance)
``train_mean``/``_cov``    the same for the 60,000 training images
``*_class_hist``           share of each class by the classifier's argmax, float64
``*_label_hist``           share of each true label, float64
``test_features``          the test images' features ``(10000, 128)``, float32 (KID,
                           precision/recall, density/coverage, per-digit FD)
``test_labels``            the test labels ``(10000,)``, uint8
``train_nn_quantiles``     quantiles (``train_nn_levels``) of the pixel-space distance
                           from 10,000 training images (seed 0) to their nearest other
                           training image: the memorisation threshold
``classifier_sha256``      the checksum of the classifier the features came from
=========================  ==========================================================

So every metric of :func:`~mnistgan.metrics.evaluate` against the test set works with
no MNIST on disk. Only the memorisation check
(:func:`~mnistgan.metrics.memorisation`) needs the training images themselves.

The file is plain ``numpy.savez_compressed`` output, read with ``allow_pickle=False``
(it can never run code), checked against :data:`REFERENCE_SHA256` before it is read,
and refused if it was made for another classifier than the one whose checksum is
:data:`~mnistgan.metrics.CLASSIFIER_SHA256`. It is made by
:mod:`mnistgan.metrics.make_reference_stats`.

Example:
    >>> ref = reference_stats("test")
    >>> ref.n, tuple(ref.mean.shape), tuple(ref.cov.shape), ref.cov.dtype
    (10000, (128,), (128, 128), torch.float64)
    >>> reference_stats("train").features is None  # only the test set ships features
    True

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import functools
import hashlib
import os
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, Literal

import numpy as np
import torch
from torch import Tensor

from mnistgan.errors import CheckpointError, ConfigError
from mnistgan.metrics.classifier import CLASSIFIER_SHA256
from mnistgan.metrics.features import FeatureSet

__all__ = [
    "REFERENCE_FORMAT_VERSION",
    "REFERENCE_SHA256",
    "ReferenceStats",
    "copy_threshold",
    "reference_path",
    "reference_stats",
]

REFERENCE_FORMAT_VERSION: Final = 1
"""Layout version of ``reference_stats.npz``."""

REFERENCE_SHA256: Final = "8204528f8cee4058ae53ae34920704615a96368eb3d0627edd2ca30edf0777f4"
"""SHA-256 of the shipped ``reference_stats.npz``; :func:`reference_stats` refuses any other."""

Split = Literal["test", "train"]

_REGENERATE = (
    "python -m mnistgan.metrics.make_reference_stats --out "
    "src/mnistgan/metrics/reference_stats.npz (then put the SHA-256 it prints into "
    "mnistgan.metrics.reference.REFERENCE_SHA256)"
)


@dataclass(frozen=True)
class ReferenceStats:
    """Statistics of one MNIST split in the shipped classifier's features.

    Attributes:
        split: ``"test"`` or ``"train"``.
        n: Number of images the statistics summarise.
        mean: Feature mean ``(128,)``, float64.
        cov: Unbiased feature covariance ``(128, 128)``, float64.
        class_hist: Share of images per class by the classifier's argmax ``(10,)``.
        label_hist: Share of images per true label ``(10,)``.
        features: The features ``(n, 128)`` (float32), or ``None`` if not shipped.
        labels: The labels ``(n,)`` (int64), or ``None`` if not shipped.
    """

    split: str
    n: int
    mean: Tensor
    cov: Tensor
    class_hist: Tensor
    label_hist: Tensor
    features: Tensor | None = None
    labels: Tensor | None = None

    def feature_set(self) -> FeatureSet:
        """The features as a :class:`~mnistgan.metrics.FeatureSet` (for ``evaluate(real=)``).

        Raises:
            ConfigError: If this split ships no features (only the test split does).
        """
        if self.features is None:
            raise ConfigError(
                f"the shipped {self.split} statistics hold no features (only the test split "
                "does); use reference_stats('test'), or real_features(train=True) with MNIST "
                "on disk"
            )
        return FeatureSet(self.features)


def reference_path() -> Path:
    """Where the shipped ``reference_stats.npz`` lives inside the installed package.

    Example:
        >>> reference_path().name
        'reference_stats.npz'
    """
    return Path(str(resources.files("mnistgan.metrics").joinpath("reference_stats.npz")))


def _arrays(path: Path, sha256: str | None) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(
            f"cannot read the reference statistics {path} ({err}); reinstall mnistgan or "
            f"regenerate them with {_REGENERATE}"
        ) from err
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise CheckpointError(
            f"the reference statistics {path} are corrupt or not the shipped ones: their "
            f"SHA-256 is {digest}, expected {sha256}; reinstall mnistgan, or regenerate them "
            f"with {_REGENERATE}"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise CheckpointError(
            f"the reference statistics {path} cannot be read as a NumPy .npz file without "
            f"pickle ({type(err).__name__}: {err}); regenerate them with {_REGENERATE}"
        ) from err
    version = int(arrays.get("format_version", np.array(-1)))
    if version != REFERENCE_FORMAT_VERSION:
        raise CheckpointError(
            f"the reference statistics {path} have format version {version}, this mnistgan "
            f"reads version {REFERENCE_FORMAT_VERSION}; regenerate them with {_REGENERATE}"
        )
    made_for = str(arrays.get("classifier_sha256", np.array("")))
    if made_for != CLASSIFIER_SHA256:
        raise CheckpointError(
            f"the reference statistics {path} were made for another classifier (SHA-256 "
            f"{made_for or 'unknown'}, the shipped one is {CLASSIFIER_SHA256}); their "
            f"features do not match this classifier's, so regenerate them with {_REGENERATE}"
        )
    return arrays


@functools.lru_cache(maxsize=4)
def _load(path: str, sha256: str | None) -> dict[str, np.ndarray]:
    return _arrays(Path(path), sha256)


def reference_stats(
    split: Split = "test",
    *,
    path: str | os.PathLike[str] | None = None,
    sha256: str | None = REFERENCE_SHA256,
) -> ReferenceStats:
    """The shipped statistics of MNIST's test or training split (read once, then cached).

    Args:
        split: ``"test"`` (with features and labels) or ``"train"`` (mean, covariance and
            histograms only).
        path: A statistics file; ``None`` reads the one shipped with mnistgan.
        sha256: The checksum the file must have; ``None`` skips the check (for a file you
            made yourself with :mod:`mnistgan.metrics.make_reference_stats`). The
            classifier checksum inside the file is always checked.

    Returns:
        A :class:`ReferenceStats`; its tensors are copies, safe to modify.

    Raises:
        ConfigError: On an unknown ``split``.
        CheckpointError: If the file is missing, corrupt, of another format version, or
            made for another classifier.

    Example:
        >>> ref = reference_stats()
        >>> float(ref.label_hist.sum())
        1.0
    """
    if split not in ("test", "train"):
        raise ConfigError(f"split must be 'test' or 'train', got {split!r}")
    file = reference_path() if path is None else Path(path)
    arrays = _load(str(file.resolve()), sha256)

    def get(name: str) -> Tensor:
        return torch.from_numpy(np.array(arrays[f"{split}_{name}"]))

    features = labels = None
    if f"{split}_features" in arrays:
        features = get("features").float()
        labels = get("labels").long()
    return ReferenceStats(
        split=split,
        n=int(arrays[f"{split}_n"]),
        mean=get("mean").double(),
        cov=get("cov").double(),
        class_hist=get("class_hist").double(),
        label_hist=get("label_hist").double(),
        features=features,
        labels=labels,
    )


def copy_threshold(
    level: float = 0.01,
    *,
    path: str | os.PathLike[str] | None = None,
    sha256: str | None = REFERENCE_SHA256,
) -> float:
    """The ``level`` quantile of MNIST's train-to-train nearest-neighbour pixel distances.

    The distances are Euclidean, between 28x28 images in [0, 1] (so up to 28), from 10,000
    training images (drawn with seed 0) to their nearest *other* training image. A
    sample closer than the 1 % quantile to a training image is as close as only the
    closest 1 % of genuinely distinct MNIST digits are to each other: a near-copy.

    Args:
        level: One of the stored quantile levels (0.001, 0.01, 0.05, 0.5).
        path: A statistics file; ``None`` reads the shipped one.
        sha256: Its expected checksum (``None`` skips the check).

    Example:
        >>> 0 < copy_threshold(0.01) < copy_threshold(0.5)
        True
    """
    file = reference_path() if path is None else Path(path)
    arrays = _load(str(file.resolve()), sha256)
    levels = [float(v) for v in arrays["train_nn_levels"]]
    for stored, value in zip(levels, arrays["train_nn_quantiles"], strict=True):
        if abs(stored - level) < 1e-12:
            return float(value)
    raise ConfigError(f"level must be one of the stored quantile levels {levels}, got {level!r}")
