"""Reproduce the InfoGAN-architecture MNIST write-up: sample grids after epochs 1, 5, 20, 50.

The write-up trains InfoGAN's MNIST networks (without the latent codes) — a generator of
two linear layers and two transposed convolutions ending in a sigmoid, and a
convolution + max-pool discriminator — and shows grids of generated digits after epochs
1, 5, 20 and 50. The ``infogan`` preset rebuilds those networks exactly.

Writes into ``--out`` (default ``runs/infogan``):

- ``samples/epoch_0001.png`` ... one 8x8 grid per chosen epoch (``--grid-epochs``), all
  drawn from the same fixed noise so the digits can be compared across epochs;
- ``samples_by_epoch.png``: those grids side by side (top to bottom), labelled by epoch;
- ``history.json``: every step's losses and D outputs;
- ``infogan.pt``: the trained model, if ``--save`` is given.

Run::

    python examples/infogan_mnist.py                      # 50 epochs
    python examples/infogan_mnist.py --smoke --out /tmp/i  # seconds: checks it all works
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnistgan import GAN, HistoryWriter, MnistganError, SampleGrid, get_preset
from mnistgan.data import make_loader
from mnistgan.device import resolve_device, seed_everything
from mnistgan.viz import stack_images

SMOKE_LIMIT = 128  # images in --smoke mode
SMOKE_EPOCHS = 2


class SampleGridAt(SampleGrid):
    """A :class:`~mnistgan.SampleGrid` that saves only after the chosen (one-based) epochs."""

    def __init__(self, directory: Path, *, epochs: Sequence[int], **kwargs: Any) -> None:
        super().__init__(directory, **kwargs)
        self.epochs = set(epochs)

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Save the grid if ``epoch + 1`` is one of the chosen epochs."""
        if epoch + 1 in self.epochs:
            super().on_epoch_end(model, epoch, logs)


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
    parser.add_argument(
        "--epochs", type=positive_int, help="epochs to train (default: the preset's 50)"
    )
    parser.add_argument(
        "--grid-epochs",
        type=positive_int,
        nargs="+",
        default=[1, 5, 20, 50],
        help="save a sample grid after these epochs (default: 1 5 20 50; beyond --epochs: "
        "skipped; the last epoch is always saved)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/infogan"),
        help="output folder (default: runs/infogan)",
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
    parser.add_argument("--save", action="store_true", help="also write OUT/infogan.pt")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_LIMIT} images, {SMOKE_EPOCHS} epochs: check the script in seconds",
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Train the ``infogan`` preset and write the grids and the figure."""
    if args.smoke:
        args.epochs = args.epochs or SMOKE_EPOCHS
        args.limit = args.limit or SMOKE_LIMIT
    config = get_preset("infogan")  # sigmoid output: the model trains on images in [0, 1]
    epochs = args.epochs if args.epochs is not None else config.epochs
    # The chosen epochs that this run reaches, and always the last one.
    grid_epochs = sorted({e for e in args.grid_epochs if 1 <= e < epochs} | {epochs})

    device = resolve_device(args.device)
    seed_everything(args.seed)
    gan = GAN(config)
    loader = make_loader(
        "mnist",
        root=args.data_root,
        batch_size=config.batch_size,
        seed=args.seed,
        device=device,
        limit=args.limit,
    )
    out: Path = args.out
    grids = SampleGridAt(out / "samples", epochs=grid_epochs, n=64, nrow=8, seed=args.seed)
    gan.fit(
        loader,
        epochs=epochs,
        callbacks=[grids, HistoryWriter(out / "history.json")],
        device=device,
    )

    figure = stack_images(
        [grids.directory / f"epoch_{e:04d}.png" for e in grid_epochs],
        out / "samples_by_epoch.png",
        labels=[f"epoch {e}" for e in grid_epochs],
    )
    print(
        f"wrote {len(grid_epochs)} grids to {grids.directory} and {out / 'samples_by_epoch.png'}"
    )
    print(f"  ({figure.width}x{figure.height} px, epochs {', '.join(map(str, grid_epochs))})")
    if args.save:
        print(f"wrote {gan.save(out / 'infogan.pt')}")


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
