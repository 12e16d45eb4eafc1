"""What the health monitor costs: the default DCGAN trained with and without it.

Trains ``DCGAN()`` on MNIST for ``--steps`` steps, alternately without and with a
:class:`mnistgan.HealthMonitor` at its defaults (a check every 200 steps), ``--repeats``
times each, from the same seed, and prints the seconds per step of both and their ratio.
On a shared machine those wall-clock times wander by more than the monitor costs, so
the run with the monitor also times the monitor itself (its checks and its start,
which loads the classifier) and prints that as a share of the run's time: the number
to read. It also prints what the monitor saw, as a check for false alarms on a
healthy run.

Run from the project root (``MNISTGAN_DATA_ROOT`` pointing at MNIST)::

    python benchmarks/monitor_overhead.py --steps 1000 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

import torch

from mnistgan import DCGAN, GAN, Callback, HealthMonitor
from mnistgan.data import make_loader
from mnistgan.device import seed_everything


class StopAt(Callback):
    """Stop after ``steps`` steps."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, torch.Tensor]) -> None:
        """Stop when the budget is spent."""
        if model.global_step >= self.steps:
            model.stop_training = True


class TimedMonitor(HealthMonitor):
    """A HealthMonitor that adds up the time spent in its start and its checks."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spent = 0.0

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        start = time.perf_counter()
        super().on_fit_start(model, logs)
        self.spent += time.perf_counter() - start

    def check(self, model: GAN) -> dict[str, str]:
        start = time.perf_counter()
        found = super().check(model)
        self.spent += time.perf_counter() - start
        return found


def run(steps: int, monitored: bool, seed: int) -> tuple[float, TimedMonitor | None]:
    """Seconds of one run of ``steps`` steps, and its monitor."""
    seed_everything(seed)
    gan = DCGAN()
    loader = make_loader("mnist", batch_size=gan.config.batch_size, seed=seed, device="cpu")
    monitor = TimedMonitor() if monitored else None
    callbacks: list[Callback] = [StopAt(steps)]
    if monitor is not None:
        callbacks.insert(0, monitor)
    start = time.perf_counter()
    gan.fit(loader, epochs=1000, callbacks=callbacks, device="cpu", progress=False)
    return time.perf_counter() - start, monitor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"monitor overhead: DCGAN(), {args.steps} steps, {args.repeats} repeats, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    plain: list[float] = []
    monitored: list[float] = []
    shares: list[float] = []
    for _ in range(args.repeats):
        seconds, _ = run(args.steps, False, args.seed)
        plain.append(seconds)
        seconds, monitor = run(args.steps, True, args.seed)
        assert monitor is not None
        monitored.append(seconds)
        shares.append(monitor.spent / seconds)
        print(
            f"plain {plain[-1]:.1f} s, with monitor {seconds:.1f} s "
            f"(monitor itself {monitor.spent:.2f} s = {shares[-1]:.2%} of the run, "
            f"{len(monitor.readings)} checks), load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for reading in monitor.readings:
            print("  " + "  ".join(f"{k}={v:.3g}" for k, v in reading.items()))
        print(f"  problems: {[p.message for p in monitor.problems] or 'none'}")
    ratio = statistics.median(monitored) / statistics.median(plain)
    print(
        f"median s/step: plain {statistics.median(plain) / args.steps:.4f}, with monitor "
        f"{statistics.median(monitored) / args.steps:.4f}, ratio {ratio:.3f}; monitor's own "
        f"share of the run: median {statistics.median(shares):.2%}"
    )


if __name__ == "__main__":
    main()
