"""Reproduce the vanilla GAN write-up: D's outputs and losses, chosen noise, latent sweeps.

The write-up trains the smallest GAN there is — one hidden layer of 128 units in each
network (G: Linear(100,128) LeakyReLU(0.2) Linear(128,784) Tanh; D: Linear(784,128)
LeakyReLU(0.2) Linear(128,1)) — then studies it: how D's output on real and on fake
images moves during training, both losses, images drawn from noise the user picks, and
sweeps of single latent dimensions (5, 25, 45, 65, 85 over -3, 0, 3) to see what each
controls. It was also run on Fashion-MNIST (``--dataset fashion-mnist``; torchvision
downloads it with ``--download`` on a machine with internet). The ``vanilla`` preset
rebuilds the networks exactly.

Writes into ``--out`` (default ``runs/vanilla``):

- ``d_outputs.png``: D(x) on real images and D(G(z)) on fakes against iterations;
- ``losses.png``: the discriminator's and generator's losses against iterations;
- ``from_noise.png``: images drawn from the chosen noise — one per ``--noise-seeds``
  seed, or one per row of the ``--noise-file`` tensor;
- ``noise.pt``: that noise, ``(N, 100)``; edit it and pass it back with ``--noise-file``;
- ``traversal.png``: one row per swept dimension (``--dims``), one column per value
  (``--values``), every other coordinate fixed at the ``--seed`` base vector;
- ``samples/epoch_0001.png`` ...: a grid from fixed noise after every epoch;
- ``vanilla.pt`` (the model) and ``history.json``.

Run::

    python examples/vanilla_gan.py                                # 100 epochs
    python examples/vanilla_gan.py --epochs 30 --noise-seeds 3 7 11 --dims 5 25 45
    python examples/vanilla_gan.py --noise-file runs/vanilla/noise.pt
    python examples/vanilla_gan.py --dataset fashion-mnist --download
    python examples/vanilla_gan.py --smoke --out /tmp/v           # seconds: a quick check
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from mnistgan import (
    GAN,
    ConfigError,
    DatasetNotFoundError,
    HistoryWriter,
    MnistganError,
    SampleGrid,
    get_preset,
)
from mnistgan.data import make_loader
from mnistgan.device import resolve_device, seed_everything
from mnistgan.viz import (
    latent_traversal,
    plot_d_outputs,
    plot_losses,
    save_grid,
    seed_latents,
    traversal_labels,
)

SMOKE_LIMIT = 256  # images in --smoke mode


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
    parser.add_argument("--epochs", type=positive_int, help="epochs (default: the preset's 100)")
    parser.add_argument(
        "--dataset",
        choices=["mnist", "fashion-mnist"],
        default="mnist",
        help="what to learn (default: mnist)",
    )
    parser.add_argument(
        "--download", action="store_true", help="let torchvision fetch missing data (internet)"
    )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument(
        "--noise-seeds",
        type=int,
        nargs="+",
        default=list(range(16)),
        help="draw one image from the latent vector of each seed (default: 0 to 15)",
    )
    noise.add_argument(
        "--noise-file",
        type=Path,
        help="draw one image per row of this saved (N, 100) tensor (e.g. OUT/noise.pt)",
    )
    parser.add_argument(
        "--dims",
        type=int,
        nargs="+",
        default=[5, 25, 45, 65, 85],
        help="dimensions to sweep (default: 5 25 45 65 85)",
    )
    parser.add_argument(
        "--values",
        type=float,
        nargs="+",
        default=[-3.0, 0.0, 3.0],
        help="values to sweep over (default: -3 0 3)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/vanilla"),
        help="output folder (default: runs/vanilla)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help='"auto" (CUDA, then MPS, then CPU; the default), "cpu", ...',
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data, sweep base")
    parser.add_argument(
        "--data-root", type=Path, help="data folder (default: $MNISTGAN_DATA_ROOT)"
    )
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"{SMOKE_LIMIT} images, 1 epoch: check the script in seconds",
    )
    return parser.parse_args(argv)


def chosen_noise(args: argparse.Namespace, latent_dim: int) -> torch.Tensor:
    """The user's latent vectors ``(N, latent_dim)``: from a file, or one per seed."""
    if args.noise_file is None:
        return seed_latents(latent_dim, args.noise_seeds)  # as gan.sample(1, seed=s) draws
    # weights_only: a tensor file is data and must not be able to run code
    z = torch.load(args.noise_file, map_location="cpu", weights_only=True)
    if isinstance(z, torch.Tensor) and z.dim() == 1:
        z = z.unsqueeze(0)  # one vector (latent_dim,) -> (1, latent_dim)
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.size(1) != latent_dim:
        got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ConfigError(
            f"{args.noise_file} must hold a tensor of shape (N, {latent_dim}), got {got}; "
            f"save one with torch.save(torch.randn(16, {latent_dim}), path)"
        )
    return z.float()


def run(args: argparse.Namespace) -> None:
    """Train the ``vanilla`` preset, then plot it and look into its latent space."""
    if args.smoke:
        args.epochs = args.epochs or 1
        args.limit = args.limit or SMOKE_LIMIT
    config = get_preset("vanilla")
    device = resolve_device(args.device)
    seed_everything(args.seed)
    loader = make_loader(  # Fashion-MNIST: the same loader, another torchvision dataset
        args.dataset,
        root=args.data_root,
        download=args.download,
        batch_size=config.batch_size,
        seed=args.seed,
        device=device,
        limit=args.limit,
    )
    gan = GAN(config)
    z = chosen_noise(args, gan.latent_dim)  # fail on a bad file before training
    out: Path = args.out
    history = gan.fit(
        loader,
        epochs=args.epochs if args.epochs is not None else config.epochs,
        callbacks=[
            SampleGrid(out / "samples", seed=args.seed),
            HistoryWriter(out / "history.json"),
        ],
        device=device,
    )
    gan.save(out / "vanilla.pt")

    # What the write-up plots: D on real vs fake over training, and both losses.
    plot_d_outputs(history, out / "d_outputs.png")
    plot_losses(history, out / "losses.png")

    # Images from the user's noise; the noise is kept so it can be edited and reused.
    images = gan.generate(z)  # (N, 1, 28, 28) in [0, 1]
    save_grid(images, out / "from_noise.png")
    torch.save(z.cpu(), out / "noise.pt")

    # One latent dimension at a time: rows are dimensions, columns are values.
    sweep = latent_traversal(gan, dims=args.dims, values=args.values, seed=args.seed)
    save_grid(
        sweep,
        out / "traversal.png",
        nrow=len(args.values),
        row_labels=traversal_labels(args.dims),
        col_labels=[f"{v:g}" for v in args.values],
        scale=2,
    )
    print(f"trained {gan.epoch} epochs on {args.dataset}; wrote into {out}:")
    print("  d_outputs.png losses.png from_noise.png noise.pt traversal.png vanilla.pt")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (1 with a one-line message on bad input)."""
    args = parse_args(argv)
    try:
        run(args)
    except DatasetNotFoundError as err:
        print(f"{Path(__file__).name}: error: {err} Here: add --download.", file=sys.stderr)
        return 1
    except (MnistganError, OSError) as err:
        print(f"{Path(__file__).name}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
