"""Reproduce the classic 64 px DCGAN write-up: training log, loss and D(x) curves, a GIF.

The write-up trains the DCGAN of Radford et al. on MNIST resized to 64x64 (nz 100,
ngf = ndf = 64, 4x4 (transposed) convolutions of stride 2, batch norm, ReLU/LeakyReLU(0.2),
Tanh, no biases, weights from N(0, 0.02)). The ``dcgan64`` preset rebuilds those networks
exactly; ``make_loader(image_size=64)`` resizes MNIST once, in memory.

It prints the write-up's training log, one line per epoch (the library's ProgressBar)::

    [epoch 1/5] Loss-D: 0.4312  Loss-G: 3.1022  D(x): 0.8411  D(G(z)): 0.1402 / 0.0611  time: 95.3s

with D(G(z)) before / after the discriminator's update, and writes into ``--out``
(default ``runs/dcgan64``):

- ``losses.png``: the generator's and discriminator's losses against iterations;
- ``d_outputs.png``: D(x) and D(G(z)) (before and after the D step) against iterations;
- ``progress.gif``: the generator's output on one fixed batch of noise, a frame every
  ``--gif-every`` steps (and one before training), showing the digits take shape;
- ``samples.png``: 64 digits from the trained generator;
- ``history.json``: every step's values, to re-plot later (``mnistgan plot OUT``).

The write-up also spreads training over several GPUs (``nn.DataParallel``); this script
trains on one device (``--device auto`` picks CUDA, then MPS, then the CPU). For several
GPUs, run ``torchrun --nproc_per_node N -m mnistgan train --preset dcgan64 ...``, which
trains with DistributedDataParallel.

Run::

    python examples/dcgan64.py                      # the preset's 5 epochs
    python examples/dcgan64.py --smoke --out /tmp/d  # seconds: checks it all works
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mnistgan import GAN, HistoryWriter, MnistganError, ProgressBar, get_preset
from mnistgan.data import make_loader
from mnistgan.device import resolve_device, seed_everything
from mnistgan.viz import GifRecorder, plot_d_outputs, plot_losses, save_grid

SMOKE_LIMIT = 64  # images in --smoke mode (64 px convolutions are the slow part)
SMOKE_BATCH = 32


def positive_int(text: str) -> int:
    """An argparse type: an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive int, got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--epochs", type=positive_int, help="epochs (default: the preset's 5)")
    parser.add_argument("--batch-size", type=positive_int, help="default: the preset's 128")
    parser.add_argument(
        "--gif-every",
        type=positive_int,
        default=100,
        help="steps between GIF frames (default: 100; --smoke: one per epoch)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/dcgan64"),
        help="output folder (default: runs/dcgan64)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help='"auto" (CUDA, then MPS, then CPU; the default), "cpu", ...',
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of weights, data and noise (default: 0)"
    )
    parser.add_argument(
        "--data-root", type=Path, help="folder holding MNIST/raw (default: $MNISTGAN_DATA_ROOT)"
    )
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_LIMIT} images in batches of {SMOKE_BATCH}, 1 epoch: check it in seconds",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Train the ``dcgan64`` preset and write the plots, the GIF and the samples."""
    gif_every: int | None = args.gif_every
    if args.smoke:
        args.epochs = args.epochs or 1
        args.limit = args.limit or SMOKE_LIMIT
        args.batch_size = args.batch_size or SMOKE_BATCH
        gif_every = None  # one frame per epoch
    config = get_preset("dcgan64")
    if args.batch_size is not None:
        config = config.replace(batch_size=args.batch_size)
    _, side, _ = config.image_shape  # 64

    device = resolve_device(args.device)
    seed_everything(args.seed)
    gan = GAN(config)
    loader = make_loader(
        "mnist",
        root=args.data_root,
        image_size=side,  # MNIST resized to 64x64 once, bilinear with antialiasing
        batch_size=config.batch_size,
        seed=args.seed,
        device=device,
        limit=args.limit,
    )
    out: Path = args.out
    gif = GifRecorder(
        out / "progress.gif", n=16, nrow=4, every_n_steps=gif_every, seed=args.seed, at_start=True
    )
    history = gan.fit(
        loader,
        epochs=args.epochs if args.epochs is not None else config.epochs,
        callbacks=[ProgressBar(leave=True), gif, HistoryWriter(out / "history.json")],
        device=device,
    )

    plot_losses(history, out / "losses.png")
    plot_d_outputs(history, out / "d_outputs.png")
    save_grid(gan.sample(64, seed=args.seed), out / "samples.png", nrow=8)
    print(f"wrote {out / 'losses.png'}, {out / 'd_outputs.png'}, {out / 'samples.png'}")
    print(f"wrote {gif.path} ({len(gif.frames)} frames)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (1 with a one-line message on bad input)."""
    args = parse_args(argv)
    try:
        run(args)
    except (MnistganError, OSError) as err:
        print(f"{Path(__file__).name}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
