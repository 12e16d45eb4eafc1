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
    python benchmarks/monitor_overhead.py --steps 100 --every 20 --skip-plain   # quick

The quick form times five checks and the steps between them and projects the cost of
one check per 200 steps: check seconds / (200 x training seconds per step).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

import torch
from quality import StepBudget  # benchmarks/ is on the path when run as a script

from mnistgan import DCGAN, GAN, Callback, HealthMonitor
from mnistgan.data import make_loader
from mnistgan.device import seed_everything


class TimedMonitor(HealthMonitor):
    """A HealthMonitor that adds up the time spent in its start and in its checks."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_seconds = 0.0
        self.check_seconds = 0.0

    @property
    def spent(self) -> float:
        """Seconds spent in the monitor."""
        return self.start_seconds + self.check_seconds

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        start = time.perf_counter()
        super().on_fit_start(model, logs)
        self.start_seconds += time.perf_counter() - start

    def check(self, model: GAN) -> dict[str, str]:
        start = time.perf_counter()
        found = super().check(model)
        self.check_seconds += time.perf_counter() - start
        return found


def run(steps: int, monitored: bool, seed: int, every: int) -> tuple[float, TimedMonitor | None]:
    """Seconds of one run of ``steps`` steps, and its monitor."""
    seed_everything(seed)
    gan = DCGAN()
    loader = make_loader("mnist", batch_size=gan.config.batch_size, seed=seed, device="cpu")
    monitor = TimedMonitor(every=every) if monitored else None
    callbacks: list[Callback] = [StepBudget(steps)]
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
    parser.add_argument(
        "--every",
        type=int,
        default=200,
        help="the monitor's interval in the timed run (default: its default, 200); a "
        "shorter one times more checks in a short run",
    )
    parser.add_argument("--skip-plain", action="store_true", help="time only the monitored runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"monitor overhead: DCGAN(), {args.steps} steps, {args.repeats} repeats, monitor every "
        f"{args.every} steps, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    plain: list[float] = []
    monitored: list[float] = []
    projected: list[float] = []
    for _ in range(args.repeats):
        if not args.skip_plain:
            seconds, _ = run(args.steps, False, args.seed, args.every)
            plain.append(seconds)
            print(f"plain {seconds:.1f} s", flush=True)
        seconds, monitor = run(args.steps, True, args.seed, args.every)
        assert monitor is not None
        monitored.append(seconds)
        checks = len(monitor.readings)
        per_check = monitor.check_seconds / max(checks, 1)
        per_step = (seconds - monitor.spent) / args.steps
        projected.append(per_check / (200 * per_step))
        print(
            f"with monitor {seconds:.1f} s: start (loads the classifier) "
            f"{monitor.start_seconds:.2f} s, {checks} checks {monitor.check_seconds:.2f} s "
            f"({per_check:.3f} s each), training {per_step:.4f} s/step; one check per 200 "
            f"steps (the default) costs {projected[-1]:.2%} of the training time; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        for reading in monitor.readings:
            print("  " + "  ".join(f"{k}={v:.3g}" for k, v in reading.items()))
        print(f"  problems: {[p.message for p in monitor.problems] or 'none'}")
    if plain:
        ratio = statistics.median(monitored) / statistics.median(plain)
        print(
            f"median wall time: plain {statistics.median(plain):.1f} s, with monitor "
            f"{statistics.median(monitored):.1f} s, ratio {ratio:.3f}"
        )
    print(f"projected cost at the default interval: median {statistics.median(projected):.2%}")


if __name__ == "__main__":
    main()
