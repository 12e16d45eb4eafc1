"""Throughput of the textbook MNIST loader vs mnistgan's InMemoryLoader, side by side.

The textbook loader is what most MNIST GAN write-ups use: ``torchvision.datasets.MNIST``
with ``ToTensor`` + ``Normalize``, wrapped in ``DataLoader(batch_size=64, shuffle=True,
num_workers=0)``. The fast one is :func:`mnistgan.data.make_loader`. Both run in this one
process, alternately, over the same number of images per repeat; setup (opening the
dataset, loading the tensors) is timed separately from iteration.

Run from the project root::

    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/loader.py --quick
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/loader.py --image-size 64
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/loader.py --quick --threads 1

On a machine whose cores are shared with other busy processes, every multi-threaded torch
op can stall for a scheduler slice (~10 ms); the load average printed with the results
says whether that was the case, and ``--threads 1`` sidesteps it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable

import torch
import torchvision  # type: ignore[import-untyped,unused-ignore]
from torch.utils.data import DataLoader

from mnistgan.data import data_root, make_loader


def _consume(batches: Iterable[object], images: int) -> int:
    """Iterate until ``images`` images have been produced (restarting epochs); return count."""
    seen = 0
    while seen < images:
        for batch in batches:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            assert isinstance(x, torch.Tensor)
            seen += x.shape[0]
            if seen >= images:
                break
    return seen


def _time(run: Callable[[], int]) -> float:
    """Return images per second of one call of ``run``."""
    start = time.perf_counter()
    count = run()
    return count / (time.perf_counter() - start)


def _summary(values: list[float]) -> str:
    """Median and range of a list of rates or ratios."""
    return (
        f"{statistics.median(values):>10,.0f}  ({min(values):,.0f}–{max(values):,.0f})"
        if values[0] >= 100
        else f"{statistics.median(values):>10.1f}  ({min(values):.1f}–{max(values):.1f})"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, time both loaders alternately and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="data folder (default: data_root())")
    parser.add_argument("--images", type=int, default=60_000, help="images per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each loader")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=None, help="e.g. 64; default 28")
    parser.add_argument("--device", default="cpu", help="device of the fast loader")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's choice); 1 avoids stalls when other "
        "processes share the cores",
    )
    parser.add_argument(
        "--quick", action="store_true", help="6,400 images x 3 repeats (a smoke run)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeats = 6_400, 3
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    root = data_root(args.root)
    load_before = os.getloadavg()[0]

    steps: list[object] = []
    if args.image_size is not None:
        steps.append(torchvision.transforms.Resize(args.image_size, antialias=True))
    steps += [
        torchvision.transforms.ToTensor(),
        torchvision.transforms.Normalize((0.1307,), (0.3081,)),
    ]
    start = time.perf_counter()
    dataset = torchvision.datasets.MNIST(
        str(root), train=True, transform=torchvision.transforms.Compose(steps)
    )
    textbook = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=0)
    textbook_setup = time.perf_counter() - start

    start = time.perf_counter()
    fast = make_loader(
        "mnist",
        root=root,
        train=True,
        image_size=args.image_size,
        batch_size=args.batch_size,
        device=args.device,
    )
    fast_setup = time.perf_counter() - start

    _consume(textbook, args.batch_size * 4)  # warm-up: first-call costs out of the timing
    _consume(fast, args.batch_size * 4)
    slow_rates, fast_rates = [], []
    for _ in range(args.repeats):
        slow_rates.append(_time(lambda: _consume(textbook, args.images)))
        fast_rates.append(_time(lambda: _consume(fast, args.images)))
    ratios = [f / s for f, s in zip(fast_rates, slow_rates, strict=True)]

    size = args.image_size or 28
    print(
        f"MNIST train, {size}x{size}, batch {args.batch_size}, {args.images:,} images x "
        f"{args.repeats} repeats, alternating; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )
    print(
        f"load average (1 min) before/after: {load_before:.2f}/{os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} cores (other busy processes slow multi-threaded ops a lot)"
    )
    print(f"setup: textbook {textbook_setup:.2f} s, InMemoryLoader {fast_setup:.2f} s")
    print(f"{'':<34}{'median':>10}  (min–max)")
    print(f"{'textbook DataLoader, images/s':<34}{_summary(slow_rates)}")
    print(f"{f'InMemoryLoader ({fast.device}), images/s':<34}{_summary(fast_rates)}")
    print(f"{'speed-up (InMemory / textbook), x':<34}{_summary(ratios)}")


if __name__ == "__main__":
    main()
