"""Time to quality: minutes of CPU training until the samples reach a Fréchet distance.

For the default (``DCGAN()``) and the five reference presets, each trained its write-up's
way (``GAN.from_preset(name)``: its own batch size, loss and learning rates), the script
prints the training time each needs to reach FD ≤ 2.0 and ≤ 1.0 (shipped classifier,
5,000 samples against the 10k MNIST test images), and saves the FD-against-time curves
as a PNG.

How time is measured. Wall-clock on a shared machine wanders with its load, and a
quality curve sampled at wall-clock intervals would carry that noise into the result.
The script therefore separates the two:

1. *Speed*: every model's training steps per second, measured side by side in one
   process with ``--threads`` threads (interleaved repeats, median), right at the start.
2. *Quality*: every model trains from seed ``--seed`` for its budget in steps (budget in
   minutes × its measured rate) and is evaluated every ``--interval`` minutes' worth of
   steps. Training is deterministic given the seed, so this part gives the same curve
   however loaded the machine is, and ``--jobs 2`` may train two models at once.

A point of the curve is then (steps ÷ steps per second, FD). The default's budget is
``--minutes``; every reference gets ``--reference-factor`` times the default's time to
FD ≤ 2.0 (at least ``--minutes``), so "not within budget" means at least that factor.

Run from the project root (about an hour on a 2-core CPU with ``--jobs 2``)::

    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/time_to_quality.py
    MNISTGAN_DATA_ROOT=../shared/data python benchmarks/time_to_quality.py --quick

``--quick`` is a smoke run (a minute of training per model, 1,000 samples); its figures
are not comparable with the docs'.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from _child import call_in_child  # benchmarks/ is on the path when run as a script
from quality import loader_for

from mnistgan import GAN, Callback, list_presets
from mnistgan.device import resolve_device, seed_everything

THRESHOLDS = (2.0, 1.0)


def steps_per_second(
    names: list[str], *, threads: int, seconds: float, repeats: int, device: torch.device
) -> dict[str, float]:
    """Training steps per second of each preset, interleaved ``repeats`` times (median)."""
    torch.set_num_threads(threads)
    runs: dict[str, list[float]] = {name: [] for name in names}
    models = {}
    for name in names:
        seed_everything(0)
        gan = GAN.from_preset(name)
        gan.to(device)
        loader = loader_for(gan, seed=0, device=device)
        models[name] = (gan, loader)
        _time_steps(gan, loader, seconds=min(seconds, 2.0))  # warm-up: allocator, oneDNN
    for _ in range(repeats):
        for name in names:
            gan, loader = models[name]
            runs[name].append(_time_steps(gan, loader, seconds=seconds))
    return {name: statistics.median(rates) for name, rates in runs.items()}


def _time_steps(gan: GAN, loader: Any, *, seconds: float) -> float:
    """Steps per second of ``gan.train_step`` over about ``seconds``."""
    steps, start = 0, time.perf_counter()
    while True:
        for batch in loader:
            gan.train_step(batch)
            steps += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return steps / elapsed


class _EvaluateEvery(Callback):
    """Evaluate FD every ``every`` steps and stop after ``total`` steps."""

    def __init__(self, every: int, total: int, n: int, real: Any, device: torch.device) -> None:
        self.every, self.total, self.n, self.real, self.device = every, total, n, real, device
        self.curve: list[tuple[int, float]] = []

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Any]) -> None:
        from mnistgan.metrics import evaluate

        step = model.global_step
        if step % self.every == 0 or step >= self.total:
            result = evaluate(
                model, self.n, real=self.real, seed=0, kid_subsets=2, device=self.device
            )
            self.curve.append((step, result["fd"]))
            print(f"  {model.config.preset}: step {step:,}, FD {result['fd']:.3f}", flush=True)
        if step >= self.total:
            model.stop_training = True


def quality_curve(
    name: str, *, steps: int, every: int, n: int, seed: int, device: str | torch.device
) -> list[tuple[int, float]]:
    """Train preset ``name`` for ``steps`` steps, with FD every ``every`` steps."""
    from mnistgan.metrics import real_features

    device = resolve_device(device)
    seed_everything(seed)
    gan = GAN.from_preset(name)
    loader = loader_for(gan, seed=seed, device=device)
    callback = _EvaluateEvery(every, steps, n, real_features(device=device), device)
    gan.fit(loader, epochs=10_000, callbacks=[callback], device=device, progress=False)
    return callback.curve


def first_time_below(curve: list[tuple[float, float]], threshold: float) -> float | None:
    """The first time (minutes) at which FD ≤ ``threshold``, or ``None``."""
    for minutes, fd in curve:
        if fd <= threshold:
            return minutes
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="the default's budget")
    parser.add_argument("--reference-factor", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=0.5, help="minutes between FDs")
    parser.add_argument("--n", type=int, default=5000, help="samples per FD")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=None, choices=list_presets())
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--png", default="docs/_static/time_to_quality.png")
    parser.add_argument("--json", default=None, metavar="PATH")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.interval, args.n, args.reference_factor = 1.0, 0.25, 1000, 1.0
    device = resolve_device(args.device)
    names = args.models or ["default", *(m for m in list_presets() if m != "default")]
    print(
        f"time to quality: {platform.processor() or platform.machine()}, {os.cpu_count()} "
        f"CPUs, torch {torch.__version__}, {args.threads} threads, device {device}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rates = steps_per_second(
        names, threads=args.threads, seconds=2.0 if args.quick else 10.0, repeats=3,
        device=device,
    )  # fmt: skip
    for name in names:
        print(f"{name:>9}: {rates[name]:.1f} steps/s")

    def curve_of(name: str, minutes: float) -> list[tuple[float, float]]:
        every = max(1, round(args.interval * 60 * rates[name]))
        steps = every * max(1, round(minutes / args.interval))  # a whole number of intervals
        print(f"{name}: {steps:,} steps ({minutes:.1f} min), FD every {every:,}", flush=True)
        if args.jobs > 1:
            raw = call_in_child(
                "time_to_quality",
                "quality_curve",
                {
                    "name": name,
                    "steps": steps,
                    "every": every,
                    "n": args.n,
                    "seed": args.seed,
                    "device": args.device,
                },
                threads=max(1, args.threads // args.jobs),
                echo=True,
            )
        else:
            raw = quality_curve(name, steps=steps, every=every, n=args.n, seed=args.seed,
                                device=device)  # fmt: skip
        return [(step / rates[name] / 60, fd) for step, fd in raw]

    curves: dict[str, list[tuple[float, float]]] = {}
    default_name = names[0]
    curves[default_name] = curve_of(default_name, args.minutes)
    t2 = first_time_below(curves[default_name], THRESHOLDS[0])
    reference_minutes = max(args.minutes, args.reference_factor * (t2 or args.minutes))
    others = names[1:]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, curve in zip(
            others, pool.map(lambda m: curve_of(m, reference_minutes), others), strict=True
        ):
            curves[name] = curve
    print(
        f"\nload average {os.getloadavg()[0]:.1f}; budget: {default_name} {args.minutes:.1f} min, "
        f"references {reference_minutes:.1f} min\n"
    )
    header = f"{'model':>10}  {'steps/s':>8}  {'best FD':>8}  " + "  ".join(
        f"{'min to FD<=' + format(t, '.1f'):>13}" for t in THRESHOLDS
    )
    print(header)
    for name, curve in curves.items():
        cells = []
        for threshold in THRESHOLDS:
            found = first_time_below(curve, threshold)
            cells.append(f"{'not in budget' if found is None else format(found, '.2f'):>13}")
        best = min(fd for _, fd in curve)
        print(f"{name:>10}  {rates[name]:8.1f}  {best:8.3f}  " + "  ".join(cells))
    if t2 is not None:
        ratios = []
        for name in others:
            found = first_time_below(curves[name], THRESHOLDS[0])
            ratios.append((found / t2, name) if found else (float("inf"), name))
        ratio, best_ref = min(ratios)
        text = "beyond its budget" if ratio == float("inf") else f"{ratio:.1f}x"
        print(f"\nFD <= 2.0: the fastest reference ({best_ref}) takes {text} the default's time")
    _plot(curves, Path(args.png))
    if args.json:
        Path(args.json).write_text(json.dumps({"rates": rates, "curves": curves}, indent=1))


def _plot(curves: dict[str, list[tuple[float, float]]], path: Path) -> None:
    """FD against minutes for every model, log scale, with the two thresholds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for name, curve in curves.items():
        label = "default (DCGAN())" if name == "default" else name
        ax.plot([m for m, _ in curve], [fd for _, fd in curve], marker=".", label=label,
                linewidth=2.2 if name == "default" else 1.2)  # fmt: skip
    for threshold in THRESHOLDS:
        ax.axhline(threshold, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("training time on this CPU (minutes)")
    ax.set_ylabel("Fréchet distance (shipped classifier)")
    ax.set_title("Time to quality, MNIST")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
