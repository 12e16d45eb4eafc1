"""Reproduce the 28 px DCGAN write-up: a clean project split, in one short script.

The write-up's DCGAN (noise 64; G: ConvT 3/4/3/4 → 3, 6, 13, 28 px; D: Conv 3/5/5 with
batch norm and LeakyReLU, then one linear logit) is less about the networks than about
leaving the notebook: configuration, model, data, training and sampling each in their
own place. With mnistgan each of those is one line — this whole script is the pattern:

    config → GAN → fit with callbacks → save → load → sample

Writes into ``--out`` (default ``runs/dcgan28``): ``samples/epoch_0001.png`` ... (an 8x8
grid from fixed noise after every epoch), ``history.json``, ``dcgan.pt`` (the trained
model, one file) and ``samples.png`` (64 digits drawn from the reloaded model).

Run::

    python examples/dcgan28.py --epochs 20
    python examples/dcgan28.py --smoke --out /tmp/c   # seconds: checks it all works
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mnistgan import GAN, HistoryWriter, MnistganError, SampleGrid, get_preset
from mnistgan.data import make_loader
from mnistgan.device import seed_everything
from mnistgan.viz import save_grid


def train(args: argparse.Namespace) -> None:
    """The whole project: configuration, model, data, training, saving, sampling."""
    # 1. configuration: a frozen dataclass; change fields with .replace(...)
    config = get_preset("dcgan")
    if args.epochs is not None:
        config = config.replace(epochs=args.epochs)
    seed_everything(args.seed)

    # 2. model and data
    gan = GAN(config)
    loader = make_loader(
        "mnist",
        root=args.data_root,
        batch_size=config.batch_size,
        seed=args.seed,
        device=args.device,
        limit=args.limit,
    )

    # 3. training, with callbacks for what to keep from it
    out: Path = args.out
    callbacks = [SampleGrid(out / "samples", seed=args.seed), HistoryWriter(out / "history.json")]
    gan.fit(loader, callbacks=callbacks, device=args.device)

    # 4. save; 5. load anywhere else and sample
    path = gan.save(out / "dcgan.pt")
    images = GAN.load(path).sample(64, seed=args.seed)  # (64, 1, 28, 28) in [0, 1]
    save_grid(images, out / "samples.png", nrow=8)
    print(f"wrote {path} and {out / 'samples.png'}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--epochs", type=int, help="epochs to train (default: the preset's 50)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/dcgan28"),
        help="output folder (default: runs/dcgan28)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help='"auto" (CUDA, then MPS, then CPU; the default), "cpu", ...',
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of weights, data and noise (default: 0)"
    )
    parser.add_argument("--data-root", type=Path, help="MNIST folder ($MNISTGAN_DATA_ROOT)")
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--smoke", action="store_true", help="256 images, 1 epoch: a quick check")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs = 1 if args.epochs is None else args.epochs
        args.limit = 256 if args.limit is None else args.limit
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (1 with a one-line message on bad input)."""
    args = parse_args(argv)
    try:
        train(args)
    except (MnistganError, OSError) as err:
        print(f"{Path(__file__).name}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
