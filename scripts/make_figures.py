"""Train the default DCGAN on MNIST for a few epochs and write the pictures of the docs.

Writes into OUT: ``samples.png`` (a labelled sample grid), ``epochs.png`` (the
fixed-noise grids of chosen epochs, stacked), ``progress.gif`` (the generator's
progress on 16 fixed digits, one frame per ``--gif-every`` steps), ``losses.png``,
``d_outputs.png``, ``traverse.png`` (single latent dimensions swept over values, two
base vectors) and ``interpolation.png`` (slerp between the digits of a few seeds),
plus ``run.json`` (the command, epochs, steps, seconds of training and the machine:
the facts the captions state), the run's ``history.json``, ``samples/epoch_*.png`` and
final checkpoint.

Usage (from the project root; MNIST is read from ``$MNISTGAN_DATA_ROOT``)::

    python scripts/make_figures.py --out docs/_static/figures          # every docs figure

The defaults (3 epochs of the default preset on the first 16,000 training images, 750
steps of batch 64, a GIF frame every 40 steps) are the recipe of the figures in the docs.
    python scripts/make_figures.py --quick --out /tmp/figures          # smoke run, seconds
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from mnistgan import DCGAN, HistoryWriter, SampleGrid
from mnistgan.data import make_loader
from mnistgan.device import resolve_device, seed_everything
from mnistgan.viz import (
    GifRecorder,
    interpolate,
    latent_traversal,
    plot_d_outputs,
    plot_losses,
    save_grid,
    stack_images,
    traversal_labels,
)


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (default: %(default)s)")
    parser.add_argument(
        "--gif-every",
        type=int,
        default=40,
        metavar="STEPS",
        help="one GIF frame every STEPS steps (default: %(default)s)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=16000,
        metavar="N",
        help="train on the first N images only (default: %(default)s; 0: all 60,000)",
    )
    parser.add_argument("--data-root", default=None, help="default: $MNISTGAN_DATA_ROOT")
    parser.add_argument("--device", default="auto", help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=None,
        help="EMA decay of the sampling generator (default: the preset's 0.999)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1024 images, 2 epochs, a GIF frame every 4 steps",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.limit, args.gif_every = 2, 1024, 4
    args.limit = args.limit or None
    return args


def main(argv: list[str] | None = None) -> None:
    """Train, then write every figure into ``--out``."""
    args = _parse(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(args.device)
    seed_everything(args.seed)
    gan = DCGAN() if args.ema_decay is None else DCGAN(ema_decay=args.ema_decay)
    loader = make_loader(
        "mnist",
        root=args.data_root,
        batch_size=gan.config.batch_size,
        seed=args.seed,
        device=device,
        limit=args.limit,
    )
    gif = GifRecorder(
        out / "progress.gif",
        n=16,
        every_n_steps=args.gif_every,
        seed=args.seed,
        duration=150,
        at_start=True,
    )
    callbacks = [
        SampleGrid(out / "samples", n=64, nrow=8, seed=args.seed),
        gif,
        HistoryWriter(out / "history.json"),
    ]
    start = time.perf_counter()
    gan.fit(loader, epochs=args.epochs, callbacks=callbacks, device=device)
    seconds = time.perf_counter() - start
    print(f"trained {gan.epoch} epochs ({gan.global_step} steps) in {seconds:.0f}s")
    gan.save(out / "checkpoint.pt")
    run = {
        "command": shlex.join(["python", "scripts/make_figures.py", *sys.argv[1:]]),
        "preset": "default",
        "epochs": gan.epoch,
        "steps": gan.global_step,
        "images": loader.num_images,
        "batch_size": gan.config.batch_size,
        "seconds": round(seconds),
        "device": str(device),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "torch": __import__("torch").__version__,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")

    written = [
        save_grid(gan.sample(64, seed=args.seed), out / "samples.png", nrow=8),
        gif.path,
        out / "losses.png",
        out / "d_outputs.png",
    ]
    plot_losses(gan.history, out / "losses.png")
    plot_d_outputs(gan.history, out / "d_outputs.png")

    # The fixed-noise grids of a few epochs, stacked (first, middle, last).
    epochs = sorted({1, (gan.epoch + 1) // 2, gan.epoch})
    grids = [out / "samples" / f"epoch_{e:04d}.png" for e in epochs]
    written.append(out / "epochs.png")
    stack_images(grids, out / "epochs.png", labels=[f"epoch {e}" for e in epochs])

    dims, values, seeds = [5, 25, 45], [-3.0, -1.5, 0.0, 1.5, 3.0], [0, 1]
    images = latent_traversal(gan, dims=dims, values=values, seed=seeds)
    written.append(
        save_grid(
            images,
            out / "traverse.png",
            nrow=len(values),
            row_labels=traversal_labels(dims, blocks=len(seeds)),
            col_labels=[f"{v:g}" for v in values],
            scale=2,
        )
    )
    pairs = [1, 2, 3, 4]
    images = interpolate(gan, seeds=pairs, steps=10, mode="slerp")
    written.append(
        save_grid(
            images,
            out / "interpolation.png",
            nrow=10,
            row_labels=[f"{a}-{b}" for a, b in itertools.pairwise(pairs)],
        )
    )
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
