"""Does every combination the library offers train? Presets x conditioning x seeds, one table.

Every preset of :func:`mnistgan.list_presets` is trained unconditionally and as a
conditional GAN with each discriminator conditioning (``projection``, ``acgan``), from
each seed, for the same short budget, with a :class:`mnistgan.HealthMonitor` watching.
Then :func:`mnistgan.metrics.evaluate` (the shipped classifier, against the 10k MNIST test
images) gives, per row: modes covered (classes holding >= 1% of the samples), label
accuracy (conditional rows: the classifier reads the asked digit), Fréchet distance, and
the problems the monitor reported; for conditional rows one more monitor check of the
trained model adds the label diversity (mean pixel distance between samples asked for
the same digit; real digits of one class: 0.32 on average), which is near 0 when the
generator draws one image per digit. A combination the library refuses at construction is
listed with the refusal's message.

Each preset gets its budget from :data:`PRESET_STEPS` (:data:`STEPS`, 1,500 steps, for
the presets that draw digits within minutes): ``infogan`` 4,000 steps (it learns labels
slowly), ``mlp`` 12,000 and ``vanilla`` its write-up's 100 epochs. ``--steps`` or
``--seconds`` gives every row one budget instead.

The monitor runs every ``--monitor-every`` steps (by default a hundredth of the budget,
at least 50) with its warmup cut to half the budget (its default, 1,000 steps, is longer
than a short run); its other settings are the defaults, so "fired" means what a user of
``mnistgan train`` would have been told. It does not change the training (a run with it
equals a run without it), so its interval changes only what it reports.

Run from the project root (``MNISTGAN_DATA_ROOT`` pointing at MNIST)::

    python benchmarks/robustness.py                      # 3 seeds, each preset's budget
    python benchmarks/robustness.py --jobs 2             # two rows at a time, 1 thread each
    python benchmarks/robustness.py --seconds 60         # a wall-clock budget instead
    python benchmarks/robustness.py --presets dcgan vanilla --seeds 0 --steps 300 --n 2000

Budgets this short say whether a combination learns digits, not how good they get; the
quality benchmark (``benchmarks/quality.py``) measures that. ``dcgan64`` (64 x 64
images) runs about 0.6 steps per second on one CPU thread: its rows need a GPU.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import torch
from _child import call_in_child  # benchmarks/ is on the path when run as a script
from quality import loader_for

from mnistgan import GAN, Callback, HealthMonitor, list_presets
from mnistgan.data import load_tensors
from mnistgan.device import resolve_device, seed_everything
from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics import evaluate, real_features

CONDITIONINGS = ("unconditional", "projection", "acgan")
STEPS = 1500  # budget per row of a preset not in PRESET_STEPS
MIN_LABEL_DIVERSITY = 0.1  # the monitor's min_diversity: below it, one image per digit
PRESET_STEPS = {
    "infogan": 4000,  # learns labels more slowly than the default (0.70 at 1,500 steps)
    "mlp": 12_000,  # with R1 it draws ten digits after about 7,000 steps
    "vanilla": 93_800,  # its write-up's 100 epochs at batch 64
}
"""Budgets (steps per row) of the presets that need more than :data:`STEPS`."""


class Budget(Callback):
    """Stop after ``steps`` steps or ``seconds`` of wall-clock time, whichever comes first."""

    def __init__(self, *, steps: int | None, seconds: float | None) -> None:
        self.steps, self.seconds, self._start = steps, seconds, 0.0

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, torch.Tensor]) -> None:
        """Stop when the budget is spent."""
        if self.steps is not None and model.global_step >= self.steps:
            model.stop_training = True
        if self.seconds is not None and time.perf_counter() - self._start >= self.seconds:
            model.stop_training = True


def overrides_for(conditioning: str) -> dict[str, Any]:
    """Config fields of one conditioning column."""
    if conditioning == "unconditional":
        return {}
    return {"num_classes": 10, "conditioning": conditioning}


def run_one(
    preset: str,
    conditioning: str,
    seed: int,
    *,
    steps: int | None,
    seconds: float | None,
    monitor_every: int,
    device: torch.device,
) -> dict[str, Any]:
    """Train one row; return the model, its monitor and what the run took."""
    seed_everything(seed)
    gan = GAN.from_preset(preset, **overrides_for(conditioning))  # may raise ConfigError
    loader = loader_for(gan, seed=seed, device=device)
    budget_steps = steps if steps is not None else 10**9
    monitor = HealthMonitor(every=monitor_every, warmup=min(1000, budget_steps // 2))
    start = time.perf_counter()
    gan.fit(
        loader,
        epochs=10_000,
        callbacks=[monitor, Budget(steps=steps, seconds=seconds)],
        device=device,
        progress=False,
    )
    return {"gan": gan, "monitor": monitor, "seconds": time.perf_counter() - start}


@functools.cache
def _real_features(device: torch.device) -> torch.Tensor:
    return real_features(device=device)


def measure_row(
    preset: str,
    conditioning: str,
    seed: int,
    *,
    steps: int | None,
    seconds: float | None,
    monitor_every: int,
    n: int,
    kid_subsets: int,
    device: str = "auto",
) -> dict[str, Any]:
    """Train and evaluate one row; a JSON-able dict (``refused`` holds a refusal)."""
    target = resolve_device(device)
    row: dict[str, Any] = {"preset": preset, "conditioning": conditioning, "seed": seed}
    try:
        run = run_one(
            preset,
            conditioning,
            seed,
            steps=steps,
            seconds=seconds,
            monitor_every=monitor_every,
            device=target,
        )
    except ConfigError as err:
        row["refused"] = str(err)
        return row
    row.update(
        steps=run["gan"].global_step,
        seconds=run["seconds"],
        monitor=sorted({p.kind for p in run["monitor"].problems}),
        reports=[asdict(p) for p in run["monitor"].problems],  # kind, since, step, message
        # One more check of the trained model (its fixed batch; no global random state).
        label_diversity=run["monitor"].read(run["gan"]).get("label_diversity"),
    )
    try:
        result = evaluate(
            run["gan"],
            n,
            real=_real_features(target),
            real_labels=load_tensors("mnist", train=False)[1],
            seed=seed,
            kid_subsets=kid_subsets,
            device=target,
        )
    except DataError as err:  # samples the metrics cannot score
        # "zero variance": every sample has the same features (a generator collapsed to
        # one image), so the classifier reads them all as one digit.
        identical = "zero variance" in str(err)
        row.update(modes=1 if identical else None, label_accuracy=None, fd=None)
        row["unscored"] = "all samples identical" if identical else str(err)
        return row
    row.update(
        modes=result.get("modes"), label_accuracy=result.get("label_accuracy"), fd=result["fd"]
    )
    return row


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _fd(row: dict[str, Any]) -> str:
    return f"undefined ({row['unscored']})" if row["fd"] is None else f"{row['fd']:.2f}"


def _describe(row: dict[str, Any]) -> str:
    name = f"{row['preset']} {row['conditioning']} seed {row['seed']}"
    if "refused" in row:
        return f"{name}: refused (the message follows the table)"
    return (
        f"{name}: {row['steps']} steps in {row['seconds']:.0f} s, "
        f"modes {_cell(row['modes'], '.0f')}, "
        f"label accuracy {_cell(row['label_accuracy'], '.3f')}, "
        f"label diversity {_cell(row.get('label_diversity'), '.3f')}, FD {_fd(row)}, "
        f"monitor: {_reports(row) or 'quiet'}"
    )


def _reports(row: dict[str, Any]) -> str:
    """The monitor's episodes of one row: kind, reported at (first seen at) global step."""
    return ", ".join(
        f"{r['kind']} at {r['step']} (seen from {r['since']})" for r in row.get("reports", [])
    )


def green(row: dict[str, Any]) -> bool:
    """The acceptance bar of a row: all ten digits, and for conditional rows a label
    accuracy of at least 0.9 and more than one image per digit (label diversity at least
    :data:`MIN_LABEL_DIVERSITY`); a refused combination counts: it names an alternative."""
    if "refused" in row:
        return True
    labels_ok = row["conditioning"] == "unconditional" or (
        (row["label_accuracy"] or 0) >= 0.9
        and (row.get("label_diversity") or 0) >= MIN_LABEL_DIVERSITY
    )
    return (row["modes"] or 0) >= 10 and labels_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=None, choices=list_presets())
    parser.add_argument(
        "--conditionings", nargs="+", default=list(CONDITIONINGS), choices=CONDITIONINGS
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--steps", type=int, default=None, help="training steps per row (default: per preset)"
    )
    parser.add_argument("--seconds", type=float, default=None, help="wall-clock budget per row")
    parser.add_argument(
        "--monitor-every",
        type=int,
        default=None,
        metavar="STEPS",
        help="check interval (default: a hundredth of the budget, at least 50)",
    )
    parser.add_argument("--n", type=int, default=2000, help="samples evaluated per row")
    parser.add_argument("--kid-subsets", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--jobs", type=int, default=1, help="rows trained side by side, one thread each"
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the rows")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    presets = args.presets or list_presets()
    if args.steps is not None or args.seconds is not None:
        budgets = {preset: args.steps for preset in presets}
        limits = [f"{args.steps} steps"] if args.steps else []
        limits += [f"{args.seconds:g} s"] if args.seconds else []
        budget = " or ".join(limits)
    else:
        budgets = {preset: PRESET_STEPS.get(preset, STEPS) for preset in presets}
        budget = ", ".join(f"{p} {n} steps" for p, n in budgets.items())
    threads = "1 thread per row" if args.jobs > 1 else f"{torch.get_num_threads()} threads"
    print(
        f"robustness benchmark: {budget} per row, seeds {args.seeds}, {args.n} samples, "
        f"device {resolve_device(args.device)}, torch {torch.__version__}, {threads}, "
        f"{args.jobs} job(s), {platform.processor() or platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    work = [
        {
            "preset": preset,
            "conditioning": conditioning,
            "seed": seed,
            "steps": budgets[preset],
            "seconds": args.seconds,
            "monitor_every": args.monitor_every or max(50, (budgets[preset] or 0) // 100),
            "n": args.n,
            "kid_subsets": args.kid_subsets,
            "device": args.device,
        }
        for preset in presets
        for conditioning in args.conditionings
        for seed in args.seeds
    ]
    rows: list[dict[str, Any]] = []
    if args.jobs > 1:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for row in pool.map(lambda kw: call_in_child("robustness", "measure_row", kw), work):
                print(_describe(row), flush=True)
                rows.append(row)
    else:
        for kwargs in work:
            rows.append(measure_row(**kwargs))
            print(_describe(rows[-1]), flush=True)
    header = (
        "preset",
        "conditioning",
        "seed",
        "steps",
        "modes",
        "label acc",
        "label div",
        "FD",
        "monitor",
    )
    table = [header]
    for row in rows:
        if "refused" in row:
            table.append(
                (row["preset"], row["conditioning"], str(row["seed"]), "refused", *[""] * 5)
            )
            continue
        table.append(
            (
                row["preset"],
                row["conditioning"],
                str(row["seed"]),
                str(row["steps"]),
                _cell(row["modes"], ".0f"),
                _cell(row["label_accuracy"], ".3f"),
                _cell(row.get("label_diversity"), ".3f"),
                _cell(row["fd"], ".2f"),
                ", ".join(row["monitor"]) or "quiet",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print()
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    refusals = {(r["preset"], r["conditioning"]): r["refused"] for r in rows if "refused" in r}
    for (preset, conditioning), message in refusals.items():
        print(f"refused {preset} {conditioning}: {message}")
    for row in rows:
        if row.get("unscored"):
            print(
                f"FD undefined for {row['preset']} {row['conditioning']} seed {row['seed']}: "
                f"{row['unscored']}"
            )
    failing = [r for r in rows if not green(r)]
    print(
        f"{len(rows) - len(failing)} of {len(rows)} rows green (10 modes; conditional rows "
        f"label accuracy >= 0.9 and label diversity >= {MIN_LABEL_DIVERSITY}; or refused); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
