"""Make the shipped reference statistics: ``python -m mnistgan.metrics.make_reference_stats``.

The shipped ``reference_stats.npz`` (see :mod:`mnistgan.metrics.reference`) was made with::

    MNISTGAN_DATA_ROOT=../shared/data python -m mnistgan.metrics.make_reference_stats \\
        --out src/mnistgan/metrics/reference_stats.npz

on the shared 2-core CPU (one thread, PyTorch 2.14.1), which printed (first line wrapped)::

    train-to-train nearest-neighbour distance quantiles: 0.001: 1.0951, 0.01: 1.2891,
    0.05: 1.6657, 0.5: 4.2750
    wrote src/mnistgan/metrics/reference_stats.npz (2,715,710 bytes) in 89 s
    sha256: 8204528f8cee4058ae53ae34920704615a96368eb3d0627edd2ca30edf0777f4

The zip archive records when it was written, so a rerun gives the same arrays in a file
with another checksum. Features are extracted on the CPU in batches of 500 with
the shipped classifier; means and covariances are computed in float64 by
:func:`~mnistgan.metrics.gaussian_stats`, the same function the metrics use, so the
Fréchet distance from the shipped statistics equals the one from the dataset.

To ship a new file, copy it to ``src/mnistgan/metrics/reference_stats.npz`` and set
:data:`mnistgan.metrics.reference.REFERENCE_SHA256` to the SHA-256 this script prints.
A new classifier needs new statistics: the file records the classifier's checksum and
is refused by any other classifier.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mnistgan._io import atomic_write_bytes
from mnistgan.data import load_tensors
from mnistgan.metrics.classifier import CLASSIFIER_SHA256
from mnistgan.metrics.copies import nearest_neighbours
from mnistgan.metrics.evaluate import extract_features
from mnistgan.metrics.functional import class_histogram, gaussian_stats
from mnistgan.metrics.reference import REFERENCE_FORMAT_VERSION

__all__ = ["NN_LEVELS", "main", "make_reference_stats"]

NN_LEVELS = (0.001, 0.01, 0.05, 0.5)
"""Quantile levels of the train-to-train nearest-neighbour distances that are stored."""


def make_reference_stats(
    *, root: str | None = None, nn_subset: int = 10000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Compute every array of ``reference_stats.npz`` from MNIST on disk.

    Args:
        root: MNIST folder (see :func:`mnistgan.data.data_root`).
        nn_subset: Training images whose nearest other training image is searched.
        seed: Seed of that subset's draw.

    Returns:
        The arrays, by name.
    """
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(REFERENCE_FORMAT_VERSION, dtype=np.int64),
        "classifier_sha256": np.array(CLASSIFIER_SHA256),
    }
    for split in ("test", "train"):
        images, labels = load_tensors("mnist", root=root, train=split == "train")
        feats = extract_features(images, device="cpu", batch_size=500)
        assert feats.probs is not None  # the shipped classifier gives probabilities
        mean, cov = gaussian_stats(feats.features)
        arrays[f"{split}_n"] = np.array(images.size(0), dtype=np.int64)
        arrays[f"{split}_mean"] = mean.numpy()
        arrays[f"{split}_cov"] = cov.numpy()
        arrays[f"{split}_class_hist"] = class_histogram(feats.probs).numpy()
        arrays[f"{split}_label_hist"] = class_histogram(labels, 10).numpy()
        if split == "test":
            arrays["test_features"] = feats.features.float().numpy()
            arrays["test_labels"] = labels.to(torch.uint8).numpy()
        else:
            pick = torch.randperm(images.size(0), generator=torch.Generator().manual_seed(seed))
            pick = pick[:nn_subset]
            distances, _ = nearest_neighbours(images[pick], images, exclude=pick, device="cpu")
            levels = torch.tensor(NN_LEVELS, dtype=torch.float64)
            arrays["train_nn_levels"] = levels.numpy()
            arrays["train_nn_quantiles"] = torch.quantile(distances, levels).numpy()
            arrays["train_nn_subset"] = np.array(nn_subset, dtype=np.int64)
    return arrays


def main(argv: Sequence[str] | None = None) -> int:
    """Compute the statistics, write them and print their size and SHA-256."""
    parser = argparse.ArgumentParser(
        prog="python -m mnistgan.metrics.make_reference_stats",
        description="Compute the reference statistics of MNIST in the classifier's features.",
    )
    parser.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    parser.add_argument("--data-root", default=None, help="MNIST folder")
    parser.add_argument("--nn-subset", type=int, default=10000, help="default: %(default)s")
    parser.add_argument("--threads", type=int, default=1, help="default: %(default)s")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    arrays = make_reference_stats(root=args.data_root, nn_subset=args.nn_subset)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    data = buffer.getvalue()
    atomic_write_bytes(args.out, data)
    quantiles = ", ".join(
        f"{level:g}: {value:.4f}"
        for level, value in zip(NN_LEVELS, arrays["train_nn_quantiles"], strict=True)
    )
    print(f"train-to-train nearest-neighbour distance quantiles: {quantiles}")
    print(f"wrote {args.out} ({len(data):,} bytes) in {time.perf_counter() - start:.0f} s")
    print(f"sha256: {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
