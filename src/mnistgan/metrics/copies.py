"""Memorisation check: is a generator handing back copies of its training images?

For each sample, the Euclidean distance to its nearest MNIST training image is measured
in pixel space (28x28 images in [0, 1], so distances lie in [0, 28]) and compared with
the training set's own nearest-neighbour distances: how far each training image lies
from its nearest *other* training image (10,000 of them, drawn with seed 0; the
quantiles ship in ``reference_stats.npz``, see :func:`~mnistgan.metrics.copy_threshold`).

A sample is a **near-copy** when it is closer to a training image than the 1st
percentile of those train-to-train distances: closer than 99 % of real, distinct
MNIST digits are to their nearest neighbour. Fresh digits from the data distribution
(the test set) are flagged at about that rate, ~1 %; a generator that replays its
training data is flagged near 100 %. ``copies`` is that share; ``nn_distance`` is the
median sample-to-train distance, to be read against the training set's own median
(:data:`TRAIN_NN_MEDIAN_LEVEL`).

Why pixels and not the classifier's features: a copy is a copy of the pixels. Features
are built to be invariant to what makes two different handwritten 3s different, so
distinct but similar digits would sit at feature distance near zero. Pixel space on
60,000 x N via chunked matrix products takes seconds per thousand samples on a CPU.

This is the one metric that needs the MNIST training images on disk
(``MNISTGAN_DATA_ROOT`` or ``--data-root``); no compact form of 60,000 images fits in a
few MB.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import torch
from torch import Tensor

from mnistgan._checks import check_int
from mnistgan.data import load_tensors
from mnistgan.device import resolve_device
from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics.evaluate import prepare_images
from mnistgan.metrics.reference import copy_threshold

__all__ = [
    "COPY_LEVEL",
    "TRAIN_NN_MEDIAN_LEVEL",
    "MemorisationResult",
    "memorisation",
    "nearest_neighbours",
    "save_copies",
]

COPY_LEVEL: Final = 0.01
"""Quantile of the train-to-train nearest-neighbour distances below which a sample
counts as a near-copy of a training image."""

TRAIN_NN_MEDIAN_LEVEL: Final = 0.5
"""The stored quantile level of the training set's median nearest-neighbour distance."""

_CHUNK: Final = 512  # queries per distance block (512 x 60,000 float32 = 123 MB)


@dataclass(frozen=True)
class MemorisationResult:
    """How close each sample lies to the training set.

    Attributes:
        copies: Share of samples closer than ``threshold`` to a training image.
        threshold: The near-copy distance (pixel space, [0, 1] images).
        level: The train-to-train quantile ``threshold`` is.
        nn_distance: Median distance of the samples to their nearest training image.
        train_nn_distance: Median distance of training images to their nearest other one.
        distances: Each sample's distance to its nearest training image ``(N,)``, float64.
        nearest: Index of that training image ``(N,)``.
    """

    copies: float
    threshold: float
    level: float
    nn_distance: float
    train_nn_distance: float
    distances: Tensor
    nearest: Tensor

    def as_dict(self) -> dict[str, float]:
        """The scalar results, keyed as :func:`~mnistgan.metrics.evaluate`'s are."""
        return {
            "copies": self.copies,
            "nn_distance": self.nn_distance,
            "train_nn_distance": self.train_nn_distance,
            "copy_threshold": self.threshold,
        }


def _flat(images: Tensor, name: str) -> Tensor:
    return prepare_images(images, name).flatten(1)  # (N, 784) float32 in [0, 1]


@torch.no_grad()
def nearest_neighbours(
    queries: Tensor,
    bank: Tensor,
    *,
    exclude: Tensor | None = None,
    device: str | torch.device = "auto",
) -> tuple[Tensor, Tensor]:
    """Each query image's nearest image in ``bank``, by Euclidean distance of the pixels.

    The search runs in float32 blocks of 512 queries; the distance to the neighbour
    found is then recomputed exactly in float64.

    Args:
        queries: Images ``(N, 1, 28, 28)`` or ``(N, 28, 28)``, uint8 or float in [0, 1].
        bank: Images ``(M, ...)`` of the same kind.
        exclude: For each query, an index into ``bank`` to skip (the query itself, when
            the queries are drawn from the bank), or ``None``.
        device: Where the matrix products run.

    Returns:
        ``(distances (N,) float64, indices (N,) int64)``, on the CPU.

    Example:
        >>> bank = torch.zeros(3, 1, 28, 28)
        >>> bank[1] += 0.5
        >>> bank[2] += 1.0
        >>> d, i = nearest_neighbours(bank[1:2] + 0.1, bank, device="cpu")
        >>> i.tolist(), round(float(d[0]), 4)  # sqrt(784 * 0.1²)
        ([1], 2.8)
    """
    dev = resolve_device(device)
    q, b = _flat(queries, "queries"), _flat(bank, "bank")
    if exclude is not None and (exclude.dim() != 1 or exclude.numel() != q.size(0)):
        raise ConfigError(f"exclude must hold one bank index per query ({q.size(0)})")
    if exclude is not None and b.size(0) < 2:
        raise DataError("the bank needs at least 2 images when each query skips one")
    b_dev = b.to(dev)
    b_sq = b_dev.square().sum(1)  # (M,)
    indices = torch.empty(q.size(0), dtype=torch.long)
    for start in range(0, q.size(0), _CHUNK):
        block = q[start : start + _CHUNK].to(dev)
        d2 = block.square().sum(1, keepdim=True) + b_sq[None, :] - 2 * block @ b_dev.T
        if exclude is not None:
            rows = torch.arange(block.size(0), device=dev)
            d2[rows, exclude[start : start + _CHUNK].to(dev)] = float("inf")
        indices[start : start + _CHUNK] = d2.argmin(1).cpu()
    exact = (q.double() - b[indices].double()).square().sum(1).sqrt()  # (N,)
    return exact, indices


def _train_images(root: str | os.PathLike[str] | None) -> Tensor:
    try:
        images, _ = load_tensors("mnist", root=root, train=True)
    except DataError as err:
        raise DataError(
            "the memorisation check compares samples with the 60,000 MNIST training images, "
            f"which are not available ({err}); point MNISTGAN_DATA_ROOT (or --data-root) at "
            "a folder with MNIST, or leave the check out. The other metrics need no dataset."
        ) from err
    return images


def memorisation(
    images: Tensor,
    *,
    train: Tensor | None = None,
    root: str | os.PathLike[str] | None = None,
    level: float = COPY_LEVEL,
    device: str | torch.device = "auto",
) -> MemorisationResult:
    """Share of samples that are near-copies of MNIST training images.

    Args:
        images: Samples ``(N, 1, 28, 28)`` or ``(N, 28, 28)``, uint8 or float in [0, 1].
        train: The training images to search; ``None`` loads the 60,000 MNIST training
            images (the shipped threshold is only meaningful against those).
        root: MNIST folder (see :func:`mnistgan.data.data_root`), if ``train`` is ``None``.
        level: Train-to-train quantile used as the near-copy threshold (0.001, 0.01,
            0.05 or 0.5).
        device: Where the distances are computed.

    Returns:
        A :class:`MemorisationResult`.

    Raises:
        DataError: If the training images are not on disk, or the samples are malformed.

    Example:
        >>> from mnistgan.data import load_tensors
        >>> train, _ = load_tensors("mnist", train=True)
        >>> memorisation(train[:50], train=train, device="cpu").copies  # train images: copies
        1.0
    """
    bank = _train_images(root) if train is None else train
    threshold = copy_threshold(level)
    distances, nearest = nearest_neighbours(images, bank, device=device)
    return MemorisationResult(
        copies=float((distances < threshold).double().mean()),
        threshold=threshold,
        level=level,
        nn_distance=float(distances.median()),
        train_nn_distance=copy_threshold(TRAIN_NN_MEDIAN_LEVEL),
        distances=distances,
        nearest=nearest,
    )


def save_copies(
    result: MemorisationResult,
    images: Tensor,
    path: str | os.PathLike[str],
    *,
    train: Tensor | None = None,
    root: str | os.PathLike[str] | None = None,
    k: int = 16,
) -> Path:
    """Picture of the ``k`` samples closest to the training set, each next to its neighbour.

    One row per pair (sample, nearest training image), closest first, labelled with the
    distance and ``copy`` when it is under the threshold.

    Args:
        result: :func:`memorisation`'s result for ``images``.
        images: The samples it was computed on.
        path: A ``.png`` file.
        train: The training images it searched (``None``: MNIST's, loaded again).
        root: MNIST folder, if ``train`` is ``None``.
        k: Number of pairs.

    Returns:
        The path written.
    """
    from mnistgan.viz import save_grid

    check_int(k, "k")
    samples = prepare_images(images, "images")
    if samples.size(0) != result.distances.numel():
        raise ConfigError(
            f"images holds {samples.size(0)} samples but the result is for "
            f"{result.distances.numel()}; pass the images memorisation() measured"
        )
    bank = _train_images(root) if train is None else train
    order = result.distances.argsort()[:k]
    neighbours = prepare_images(bank[result.nearest[order]], "train")
    pairs = torch.stack([samples[order], neighbours], 1).flatten(0, 1)  # (2k, 1, 28, 28)
    labels = [
        f"d={float(d):.2f}" + (" copy" if d < result.threshold else "")
        for d in result.distances[order]
    ]
    return save_grid(
        pairs,
        path,
        nrow=2,
        row_labels=labels,
        col_labels=["sample", "train"],
        pad_value=0.5,
        scale=2,
    )
