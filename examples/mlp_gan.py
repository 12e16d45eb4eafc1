"""Reproduce the MLP GAN write-up: checkpoints, --resume, device auto-detection, live samples.

The write-up trains fully connected networks — G: 100→256→512→1024→784 with ReLU and
Tanh; D: 784→1024→512→256→1 with LeakyReLU(0.2) — with Adam (lr 2e-4), batch 64, for
50 epochs, and asks for: checkpoints saved while training and ``--resume`` from one,
``--epochs N``, CUDA/MPS/CPU auto-detection, a live view of the samples, and a
``generate_and_plot_samples(generator)`` function. The ``mlp`` preset rebuilds the
networks and the training settings exactly, and adds an R1 penalty on the discriminator
(without it, runs from two of three seeds ended with the discriminator winning and one
image; ``get_preset("mlp", r1_gamma=0)`` is the write-up's recipe).

Writes into ``--out`` (default ``runs/mlp``):

- ``checkpoints/epoch_0010.pt`` ...: a full checkpoint every ``--checkpoint-every``
  epochs and after the last one (weights, optimisers, RNG states, fixed noise, history);
- ``live.png``: 16 samples from fixed noise, rewritten after every epoch — keep it open
  in an image viewer to watch training;
- ``samples/epoch_0001.png`` ...: an 8x8 grid from fixed noise after every epoch;
- ``samples.png``: 16 samples from the trained generator (``generate_and_plot_samples``);
- ``history.json``: every step's losses and D outputs.

Run (resume an interrupted run with the same ``--epochs``: it counts the whole run)::

    python examples/mlp_gan.py --epochs 50
    python examples/mlp_gan.py --epochs 50 --resume runs/mlp/checkpoints/epoch_0010.pt
    python examples/mlp_gan.py --epochs 50 --resume auto     # the newest checkpoint
    python examples/mlp_gan.py --smoke --out /tmp/m          # seconds: checks it all works
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure

from mnistgan import (
    GAN,
    Callback,
    HistoryWriter,
    MnistganError,
    ModelCheckpoint,
    SampleGrid,
    get_preset,
)
from mnistgan.data import make_loader
from mnistgan.device import resolve_device, seed_everything

SMOKE_LIMIT = 256  # images in --smoke mode


def generate_and_plot_samples(
    gan: GAN,
    n: int = 16,
    path: str | os.PathLike[str] | None = None,
    *,
    z: torch.Tensor | None = None,
    title: str | None = None,
) -> Figure:
    """Generate ``n`` digits and draw them in a square of subplots, as the write-up does.

    Args:
        gan: The model (its EMA generator is used if it has one).
        n: Number of digits (a square number lays out best: 16 → 4x4).
        path: Also save the figure here as PNG.
        z: Latent vectors ``(n, latent_dim)`` to draw from (fixed noise); by default
            fresh standard normal ones.
        title: Figure title.

    Returns:
        The matplotlib figure (not registered with pyplot: no window opens).
    """
    images = gan.generate(z) if z is not None else gan.sample(n)  # (n, 1, 28, 28) in [0, 1]
    side = max(1, round(len(images) ** 0.5))
    rows = -(-len(images) // side)
    figure = Figure(figsize=(side, rows), dpi=100)
    for i, image in enumerate(images):
        axes = figure.add_subplot(rows, side, i + 1)
        axes.imshow(image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
        axes.axis("off")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout(pad=0.3)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path)
    return figure


class LiveSamples(Callback):
    """Rewrite one PNG of samples from fixed noise after every epoch ("live" samples)."""

    def __init__(self, path: Path, *, n: int = 16, seed: int = 0) -> None:
        self.path = path
        self.n = n
        self.seed = seed

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Draw the samples of this epoch over the previous ones."""
        z = torch.randn(
            self.n, model.latent_dim, generator=torch.Generator().manual_seed(self.seed)
        )
        title = f"epoch {epoch + 1}  Loss-D {logs['loss_d']:.3f}  Loss-G {logs['loss_g']:.3f}"
        generate_and_plot_samples(model, self.n, self.path, z=z, title=title)


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
        "--epochs",
        type=positive_int,
        help="epochs of the whole run, resumed ones included (default: the preset's 50)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=10,
        help="epochs between checkpoints (default: 10)",
    )
    parser.add_argument(
        "--resume",
        metavar="PATH|auto",
        help="continue from a checkpoint file, or the newest in OUT/checkpoints with 'auto'",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/mlp"), help="output folder (default: runs/mlp)"
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
        help=f"{SMOKE_LIMIT} images, 1 epoch, a checkpoint every epoch: check it in seconds",
    )
    return parser.parse_args(argv)


def describe(device: torch.device) -> str:
    """Say which device auto-detection (CUDA, then MPS, then CPU) or the user picked."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def run(args: argparse.Namespace) -> None:
    """Train (or resume) the ``mlp`` preset with checkpoints and live samples."""
    checkpoint_every = args.checkpoint_every
    if args.smoke:
        args.epochs = args.epochs or 1
        args.limit = args.limit or SMOKE_LIMIT
        checkpoint_every = 1
    config = get_preset("mlp")  # Adam 2e-4, betas (0.5, 0.999), batch 64, 50 epochs, R1
    device = resolve_device(args.device)
    how = "auto-detected" if args.device == "auto" else "chosen"
    print(f"device: {describe(device)}, {how}")

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
    checkpoints = ModelCheckpoint(out / "checkpoints", every=checkpoint_every)
    callbacks: list[Any] = [
        SampleGrid(out / "samples", n=64, nrow=8, seed=args.seed),
        LiveSamples(out / "live.png", seed=args.seed),
        HistoryWriter(out / "history.json"),
        checkpoints,  # last: the checkpoint of an epoch holds the other callbacks' state
    ]
    if args.resume is not None:
        source = checkpoints.latest() if args.resume == "auto" else args.resume
        print(f"resuming from {source or 'no checkpoint yet: starting fresh'}")
    gan.fit(
        loader,
        epochs=args.epochs if args.epochs is not None else config.epochs,
        callbacks=callbacks,
        device=device,
        resume=args.resume,
    )
    generate_and_plot_samples(gan, 16, out / "samples.png", title=f"after {gan.epoch} epochs")
    newest = checkpoints.latest()
    print(f"trained to epoch {gan.epoch}; newest checkpoint: {newest}")
    print(f"wrote {out / 'live.png'}, {out / 'samples.png'} and {out / 'samples'}/")


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
