"""Sample quality of every preset after a fixed wall-clock training budget, side by side.

Each preset (``default`` is what ``DCGAN()`` builds) is trained from the same seed for the
same number of seconds with :func:`mnistgan.data.make_loader` and :meth:`mnistgan.GAN.fit`
(a callback sets ``model.stop_training`` when the budget is spent), then evaluated with
:func:`mnistgan.metrics.evaluate` against the 10k MNIST test images. The real-data floor
(N random training images vs the test set, same N and seed) is measured in the same run and
printed as the last column, with each model's Fréchet distance as a multiple of it.

Run from the project root::

    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/quality.py --minutes 10
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/quality.py --quick
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/quality.py --models default dcgan
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/quality.py --models default \
        --num-classes 10 --conditioning acgan --aux-weight 5 --batch-size 64
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/quality.py --models default \
        --precision bf16
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/quality.py --models default \
        --steps 19000 --seed 1 --threads 1

``--quick`` trains each model for 20 s and evaluates 2,000 samples with 10 KID subsets: a
smoke run, whose numbers are not comparable with the 10k-sample floor of the docs.
Timings depend on the machine and on what else runs on it (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any, get_args

import torch

from mnistgan import GAN, Callback, list_presets
from mnistgan.data import load_tensors, make_loader
from mnistgan.device import Precision, resolve_device, seed_everything
from mnistgan.metrics import evaluate, format_table, real_features
from mnistgan.metrics.floor import measure_floor


class StepBudget(Callback):
    """Stop training after ``steps`` optimisation steps."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, torch.Tensor]) -> None:
        """Stop when the budget is spent."""
        if model.global_step >= self.steps:
            model.stop_training = True


class TimeBudget(Callback):
    """Stop training once ``seconds`` of wall-clock time have passed since ``fit`` started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._start = 0.0

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, torch.Tensor]) -> None:
        """Stop when the budget is spent."""
        if time.perf_counter() - self._start >= self.seconds:
            model.stop_training = True


def loader_for(gan: GAN, *, seed: int, device: torch.device) -> Any:
    """MNIST at the model's image size and config batch size, ordered by ``seed``."""
    side = gan.image_shape[1]
    return make_loader(
        "mnist",
        image_size=None if side == 28 else side,
        batch_size=gan.config.batch_size,
        seed=seed,
        device=device,
    )


def train_for(
    name: str,
    seconds: float,
    *,
    seed: int,
    device: torch.device,
    steps: int | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train preset ``name`` (with config ``overrides``) for ``seconds``, or for ``steps``
    steps if given; return what it did."""
    seed_everything(seed)
    gan = GAN.from_preset(name, **overrides)
    loader = loader_for(gan, seed=seed, device=device)
    budget = StepBudget(steps) if steps is not None else TimeBudget(seconds)
    start = time.perf_counter()
    gan.fit(loader, epochs=10_000, callbacks=[budget], device=device, progress=False)
    return {
        "gan": gan,
        "seconds": time.perf_counter() - start,
        "steps": gan.global_step,
        "images": gan.global_step * gan.config.batch_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model")
    parser.add_argument("--quick", action="store_true", help="20 s per model, 2k samples")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="train for this many steps instead of --minutes (load-independent; pair it "
        "with a steps-per-second measurement to state the time it stands for)",
    )
    parser.add_argument("--models", nargs="+", default=None, choices=list_presets())
    parser.add_argument("--n", type=int, default=None, help="samples (default 10000; quick 2000)")
    parser.add_argument("--kid-subsets", type=int, default=None, help="default 100; quick 10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precision", default="32", choices=get_args(Precision), help="training precision"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results")
    parser.add_argument(
        "--num-classes",
        type=int,
        default=None,
        help="train conditional models (10: digits); adds label accuracy and per-digit FD",
    )
    parser.add_argument("--conditioning", choices=("projection", "acgan"), default=None)
    parser.add_argument("--augment", default=None, help="DiffAugment policy for every model")
    parser.add_argument("--aux-weight", type=float, default=None, help="ACGAN classifier weight")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="override every model's batch size"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seconds = 20.0 if args.quick else args.minutes * 60
    n = args.n or (2000 if args.quick else 10000)
    kid_subsets = args.kid_subsets or (10 if args.quick else 100)
    models = args.models or ["default", *(m for m in list_presets() if m != "default")]
    device = resolve_device(args.device)
    budget = f"{args.steps:,} steps" if args.steps else f"{seconds:.0f} s"
    print(
        f"quality benchmark: {budget} of training per model, {n} samples, "
        f"{kid_subsets} KID subsets, seed {args.seed}, device {device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}, training precision {args.precision}"
    )
    real = real_features(device=device)
    real_labels = load_tensors("mnist", train=False)[1]  # for per-digit FD of conditional GANs
    fields = ("num_classes", "conditioning", "aux_weight", "batch_size", "augment")
    overrides: dict[str, Any] = {
        field: getattr(args, field) for field in fields if getattr(args, field) is not None
    }
    if overrides:
        print(f"config overrides for every model: {overrides}")
    columns: dict[str, dict[str, float]] = {}
    for name in models:
        run = train_for(
            name,
            seconds,
            seed=args.seed,
            device=device,
            steps=args.steps,
            precision=args.precision,
            **overrides,
        )
        start = time.perf_counter()
        result = evaluate(
            run["gan"],
            n,
            real=real,
            real_labels=real_labels,
            seed=args.seed,
            kid_subsets=kid_subsets,
            device=device,
        )
        label = "default (DCGAN())" if name == "default" else name
        print(
            f"{label:>18}: {run['steps']:,} steps ({run['images']:,} images) in "
            f"{run['seconds']:.0f} s, evaluated in {time.perf_counter() - start:.0f} s"
        )
        columns[label] = {**result, "steps": float(run["steps"])}
    floor = measure_floor(n, seed=args.seed, kid_subsets=kid_subsets, device=device)
    for result in columns.values():
        result["fd_x_floor"] = result["fd"] / floor["fd"]
    columns[f"real floor (n={n})"] = {**floor, "fd_x_floor": 1.0}
    keys = ["steps", "fd", "fd_x_floor", "kid", "precision", "recall", "density", "coverage"]
    keys += ["score", "modes", "kl_uniform", *(f"class_{i}" for i in range(10))]
    if args.num_classes is not None:
        keys += ["label_accuracy", *(f"fd_class_{i}" for i in range(args.num_classes))]
    print()
    print(
        format_table(columns, keys, labels={"steps": "training steps", "fd_x_floor": "FD / floor"})
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {"seconds": seconds, "n": n, "seed": args.seed, "results": columns}, f, indent=1
            )


if __name__ == "__main__":
    main()
