"""Train the MNIST classifier that the metrics use: ``python -m mnistgan.metrics.train``.

The shipped ``classifier.pt`` was made with::

    MNISTGAN_DATA_ROOT=../shared/data python -m mnistgan.metrics.train \\
        --epochs 5 --seed 0 --out src/mnistgan/metrics/classifier.pt

which printed (2-core shared CPU, PyTorch 2.14.1, 14 minutes)::

    epoch 1/5  loss 0.3250  test accuracy 0.8951  (205 s)
    epoch 2/5  loss 0.0571  test accuracy 0.9879  (131 s)
    epoch 3/5  loss 0.0418  test accuracy 0.9909  (191 s)
    epoch 4/5  loss 0.0300  test accuracy 0.9944  (167 s)
    epoch 5/5  loss 0.0224  test accuracy 0.9952  (134 s)
    test accuracy: 0.9952 (9952/10000)
    wrote src/mnistgan/metrics/classifier.pt (978,069 bytes) in 842 s
    sha256: e1031440de8d8e3aeea90825fcfc0fc3bbb775e599444eebfd5eb4cce0e53081

**Test accuracy: 99.52 %** (the issue asks for at least 99.3 %).

Training is deterministic: the weights, the data order and the augmentation all draw from
generators seeded with ``--seed``, ``torch.use_deterministic_algorithms(True)`` is on and
the thread count is fixed (``--threads``, default 1). The same command on the same kind
of machine gives the same bytes; another CPU or PyTorch version may round differently and
give a slightly different file (and checksum) of the same accuracy.

Recipe: Adam with a one-cycle learning-rate schedule (peak ``--lr``), batches of 128 from
the 60,000 training images, each augmented by a random affine map (rotation ±10°, scale
0.9–1.1, shift ±2 px; ``--no-augment`` turns it off), cross-entropy loss. The test set is
only used to report accuracy, never to choose anything.

To ship new weights, copy the file to ``src/mnistgan/metrics/classifier.pt`` and set
:data:`mnistgan.metrics.classifier.CLASSIFIER_SHA256` (and ``TEST_ACCURACY``) to the
values this script prints.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from mnistgan._io import atomic_write_bytes
from mnistgan.data import load_tensors
from mnistgan.metrics.classifier import MnistClassifier, _sha256, state_dict_bytes

__all__ = ["accuracy", "main", "train_classifier"]


def _augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """Random affine maps of ``x`` (N, 1, 28, 28): rotation ±10°, scale 0.9–1.1, shift ±2 px."""
    n = x.size(0)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 / 14)  # 2 px of 28 in [-1, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def accuracy(
    model: MnistClassifier, images: Tensor, labels: Tensor, batch_size: int = 1000
) -> float:
    """Fraction of ``images`` (uint8 or [0, 1] float, (N, 1, 28, 28)) classified as ``labels``.

    Example:
        >>> net = MnistClassifier().eval()
        >>> labels = torch.zeros(4, dtype=torch.long)
        >>> 0.0 <= accuracy(net, torch.zeros(4, 1, 28, 28), labels) <= 1.0
        True
    """
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, images.size(0), batch_size):
        x = images[start : start + batch_size]
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        correct += int((model(x).argmax(1) == labels[start : start + batch_size]).sum())
    model.train(was_training)
    return correct / max(images.size(0), 1)


def train_classifier(
    *,
    epochs: int = 5,
    seed: int = 0,
    batch_size: int = 128,
    lr: float = 3e-3,
    augment: bool = True,
    root: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    log: bool = True,
) -> tuple[MnistClassifier, float]:
    """Train a :class:`MnistClassifier` on MNIST train; return it (eval mode) and test accuracy.

    Args:
        epochs: Passes over the training images.
        seed: Seed of the weights, data order and augmentation.
        batch_size: Images per step.
        lr: Peak learning rate of the one-cycle schedule.
        augment: Apply random affine augmentation.
        root: MNIST folder (see :func:`mnistgan.data.data_root`).
        limit: Train on the first ``limit`` images only (smoke runs).
        log: Print one line per epoch.

    Returns:
        ``(model, test_accuracy)``.

    Note:
        Seeds the global torch generator with ``seed`` and turns on
        ``torch.use_deterministic_algorithms`` while it runs.
    """
    torch.manual_seed(seed)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return _train(epochs, seed, batch_size, lr, augment, root, limit, log)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


def _train(
    epochs: int,
    seed: int,
    batch_size: int,
    lr: float,
    augment: bool,
    root: str | os.PathLike[str] | None,
    limit: int | None,
    log: bool,
) -> tuple[MnistClassifier, float]:
    """The body of :func:`train_classifier`."""
    train_x, train_y = load_tensors("mnist", root=root, train=True, limit=limit)
    test_x, test_y = load_tensors("mnist", root=root, train=False)
    model = MnistClassifier()
    steps_per_epoch = math.ceil(train_x.size(0) / batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.2
    )
    order_gen = torch.Generator().manual_seed(seed)
    aug_gen = torch.Generator().manual_seed(seed + 1)
    for epoch in range(epochs):
        model.train()
        start, total, seen = time.perf_counter(), 0.0, 0
        perm = torch.randperm(train_x.size(0), generator=order_gen)
        for first in range(0, train_x.size(0), batch_size):
            index = perm[first : first + batch_size]
            x = train_x[index].float().div_(255)  # (B, 1, 28, 28) in [0, 1]
            if augment:
                x = _augment(x, aug_gen)
            loss = F.cross_entropy(model(x), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * x.size(0)
            seen += x.size(0)
        if log:
            acc = accuracy(model, test_x, test_y)
            print(
                f"epoch {epoch + 1}/{epochs}  loss {total / seen:.4f}  test accuracy "
                f"{acc:.4f}  ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    model.eval()
    return model, accuracy(model, test_x, test_y)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, train, save the weights and print accuracy and checksum."""
    parser = argparse.ArgumentParser(
        prog="python -m mnistgan.metrics.train",
        description="Train the MNIST classifier used by mnistgan.metrics (deterministic).",
    )
    parser.add_argument("--epochs", type=int, default=5, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("classifier.pt"),
        help="weights file (default: %(default)s)",
    )
    parser.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    parser.add_argument(
        "--lr", type=float, default=3e-3, help="peak learning rate (default: %(default)s)"
    )
    parser.add_argument("--no-augment", action="store_true", help="no random affine augmentation")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default: %(default)s)"
    )
    parser.add_argument(
        "--data-root", default=None, help="MNIST folder (default: $MNISTGAN_DATA_ROOT)"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="train on the first N images (smoke runs)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model, acc = train_classifier(
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        augment=not args.no_augment,
        root=args.data_root,
        limit=args.limit,
    )
    data = state_dict_bytes(model)
    atomic_write_bytes(args.out, data)
    print(f"test accuracy: {acc:.4f} ({round(acc * 10000)}/10000)")
    print(f"wrote {args.out} ({len(data):,} bytes) in {time.perf_counter() - start:.0f} s")
    print(f"sha256: {_sha256(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
