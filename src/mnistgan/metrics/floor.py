"""The real-data floor of every metric: ``python -m mnistgan.metrics.floor``.

A generator cannot be expected to beat real data, so each metric is reported next to
the value that 10,000 real MNIST training images (drawn without replacement with
``torch.Generator().manual_seed(seed)``, seed 0) get against the 10,000 test images,
with the default settings of :func:`mnistgan.metrics.evaluate` (KID: 100 subsets of
1000, seed 0). :data:`~mnistgan.metrics.REAL_FLOOR` holds the values measured with the
shipped classifier; this script measures them again and prints both. On the shared
2-core CPU it took 143 s and printed::

    metric                    measured (n=10000, seed=0)  documented
    Fréchet distance ↓        0.1754                      0.1754
    KID ↓                     0.00007                     0.00007
    KID std                   0.00895                     0.00895
    precision (k=3) ↑         0.8556                      0.8556
    recall (k=3) ↑            0.8802                      0.8802
    density (k=5) ~1          0.9143                      0.9143
    coverage (k=5) ↑          0.9430                      0.9430
    classifier score ↑        9.8014                      9.8014
    modes >= 1% ↑             10                          10
    KL(classes || uniform) ↓  0.0026                      0.0026
    class 0 share             9.5%                        9.5%
    class 1 share             11.6%                       11.6%
    class 2 share             10.2%                       10.2%
    class 3 share             10.7%                       10.7%
    class 4 share             9.7%                        9.7%
    class 5 share             9.2%                        9.2%
    class 6 share             9.2%                        9.2%
    class 7 share             10.5%                       10.5%
    class 8 share             9.4%                        9.4%
    class 9 share             10.1%                       10.1%

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

import torch

from mnistgan.data import load_tensors
from mnistgan.metrics.evaluate import REAL_FLOOR, evaluate, format_table

__all__ = ["REAL_FLOOR", "main", "measure_floor"]


def measure_floor(
    n: int = 10000,
    *,
    seed: int = 0,
    kid_subsets: int = 100,
    batch_size: int = 500,
    device: str | torch.device = "auto",
) -> dict[str, float]:
    """Evaluate ``n`` random MNIST training images against the 10k test images.

    Args:
        n: Training images to draw (without replacement).
        seed: Seed of the draw and of KID's subsets.
        kid_subsets: KID subset pairs.
        batch_size: Images per forward pass.
        device: Where the classifier runs.

    Returns:
        :func:`~mnistgan.metrics.evaluate`'s result for the real images.
    """
    images, _ = load_tensors("mnist", train=True)
    index = torch.randperm(images.size(0), generator=torch.Generator().manual_seed(seed))[:n]
    return evaluate(
        images[index],
        seed=seed,
        kid_subsets=kid_subsets,
        batch_size=batch_size,
        device=device,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the floor and print it next to the documented values."""
    parser = argparse.ArgumentParser(
        prog="python -m mnistgan.metrics.floor",
        description="Measure the metrics of real MNIST train images vs the test set.",
    )
    parser.add_argument("--n", type=int, default=10000, help="train images (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument("--kid-subsets", type=int, default=100, help="default: %(default)s")
    parser.add_argument("--device", default="auto", help="default: %(default)s")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    measured = measure_floor(
        args.n, seed=args.seed, kid_subsets=args.kid_subsets, device=args.device
    )
    if args.json:
        print(json.dumps(measured, indent=2))
    else:
        columns = {f"measured (n={args.n}, seed={args.seed})": measured}
        if REAL_FLOOR:
            columns["documented"] = REAL_FLOOR
        print(format_table(columns))
        print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
