"""Limited data: what differentiable augmentation does when training images are few.

The default (``DCGAN()``) trains on 1,000 and on 6,000 MNIST training images (the same
number of each digit, drawn with seed 0), without ``augment`` and with each policy of
``--augment`` (``translation`` and ``translation,cutout`` by default), for the same
number of steps from the same seed. For each run the script prints the Fréchet distance
and the other metrics of :func:`mnistgan.metrics.evaluate` (5,000 samples against the
10k test images), the digits covered, and how close the samples sit to the images the
model trained on: ``copies`` is the share of samples nearer to one of them than 99 % of
distinct MNIST digits are to their nearest neighbour (:mod:`mnistgan.metrics.copies`),
``nn_distance`` their median distance to the nearest training image.

The budget is in steps, so runs are comparable however loaded the machine is (``--jobs
2`` trains two at once); the per-step cost of augmentation is measured side by side and
printed with the table.

Run from the project root (about 40 minutes on a 2-core CPU with ``--jobs 2``)::

    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/limited_data.py
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/limited_data.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from _child import call_in_child  # benchmarks/ is on the path when run as a script

from mnistgan import GAN
from mnistgan.data import InMemoryLoader, load_tensors
from mnistgan.device import seed_everything
from mnistgan.metrics import evaluate, format_table, memorisation, real_features


def balanced_subset(count: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` MNIST training images, ``count // 10`` of each digit, drawn with ``seed``."""
    images, labels = load_tensors("mnist", train=True)
    generator = torch.Generator().manual_seed(seed)
    picks = []
    for digit in range(10):
        index = (labels == digit).nonzero().flatten()
        picks.append(index[torch.randperm(len(index), generator=generator)[: count // 10]])
    chosen = torch.cat(picks).sort().values
    return images[chosen], labels[chosen]


def train_and_measure(count: int, augment: str | None, steps: int, seed: int, n: int) -> Any:
    """Train the default on ``count`` images for ``steps`` steps; its metrics."""
    images, labels = balanced_subset(count)
    seed_everything(seed)
    gan = GAN.from_preset("default", augment=augment)
    loader = InMemoryLoader(images, labels, batch_size=gan.config.batch_size, seed=seed)
    done = 0
    while done < steps:
        for batch in loader:
            gan.train_step(batch)
            done += 1
            if done == steps:
                break
    result = evaluate(gan, n, real=real_features(), seed=seed, kid_subsets=10)
    samples = gan.sample(n, seed=seed)
    copies = memorisation(samples, train=images.float().div(255))
    return {**result, **copies.as_dict()}


def step_cost(augment: str, *, seconds: float = 5.0) -> float:
    """Time per step with ``augment`` divided by the time without (interleaved, 3 rounds)."""
    images, labels = balanced_subset(1000)
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(3):
        for with_aug in (False, True):
            seed_everything(0)
            gan = GAN.from_preset("default", augment=augment if with_aug else None)
            loader = InMemoryLoader(images, labels, batch_size=gan.config.batch_size)
            done, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                for batch in loader:
                    gan.train_step(batch)
                    done += 1
            times[with_aug].append((time.perf_counter() - start) / done)
    return min(times[True]) / min(times[False])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 6000])
    parser.add_argument(
        "--augment",
        nargs="+",
        default=["translation", "translation,cutout"],
        help="the policies tried, each against no augmentation",
    )
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--n", type=int, default=5000, help="samples evaluated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="300 steps, 1,000 samples")
    parser.add_argument("--json", default=None, metavar="PATH")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.n = 300, 1000
    print(
        f"limited data: {args.steps:,} steps per run, {args.n} samples, seed {args.seed}, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for policy in args.augment:
        cost = step_cost(policy, seconds=1.0 if args.quick else 5.0)
        print(f"augment={policy!r} costs {cost:.2f}x the time of a step without it")
    runs = [(count, aug) for count in args.counts for aug in (None, *args.augment)]
    if args.jobs > 1:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(
                pool.map(
                    lambda run: call_in_child(
                        "limited_data",
                        "train_and_measure",
                        {
                            "count": run[0],
                            "augment": run[1],
                            "steps": args.steps,
                            "seed": args.seed,
                            "n": args.n,
                        },
                    ),
                    runs,
                )
            )
    else:
        results = [train_and_measure(c, a, args.steps, args.seed, args.n) for c, a in runs]
    columns = {
        f"{count:,} images, {aug or 'plain'}": result
        for (count, aug), result in zip(runs, results, strict=True)
    }
    keys = ["fd", "kid", "precision", "recall", "score", "modes", "copies", "nn_distance"]
    print()
    print(format_table(columns, keys, labels={"nn_distance": "median NN distance"}))
    for count in args.counts:
        plain = columns[f"{count:,} images, plain"]
        for policy in args.augment:
            aug = columns[f"{count:,} images, {policy}"]
            change = 100 * (aug["fd"] - plain["fd"]) / plain["fd"]
            print(
                f"{count:,} images, {policy}: FD {change:+.0f}%, near-copies "
                f"{100 * aug['copies']:.1f}% against {100 * plain['copies']:.1f}% without"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(columns, f, indent=1)


if __name__ == "__main__":
    main()
