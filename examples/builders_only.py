"""Use mnistgan's builders and losses in your own PyTorch loop — nothing else of mnistgan.

Every reference write-up trains with mnistgan's ``fit``; this one shows the other way in
(DESIGN §1): an engineer imports the network builders (``mnistgan.builders``) and the
loss functions (``mnistgan.losses``) into another project and trains them with a
hand-written loop on torchvision's MNIST (``DataLoader`` + ``ToTensor``). The script
imports no other part of mnistgan: no ``GAN``, no ``fit``, no data or viz helpers.

Writes into ``--out`` (default ``runs/builders_only``): ``samples.png`` (64 digits
after the last epoch, via ``torchvision.utils.save_image``) and ``generator.pt`` (the
generator's ``state_dict``).

Run::

    python examples/builders_only.py --epochs 5
    python examples/builders_only.py --smoke --out /tmp/b   # seconds: a quick check
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms
from torchvision.utils import save_image

from mnistgan.builders import conv_discriminator, conv_generator
from mnistgan.losses import bce_d_loss, bce_g_loss

LATENT_DIM = 64
SMOKE_LIMIT = 256  # images in --smoke mode


def pick_device(name: str) -> torch.device:
    """``"auto"``: CUDA, then MPS, then the CPU; anything else as given."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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
        "--epochs", type=positive_int, default=5, help="epochs to train (default: 5)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=128, help="images per batch (default: 128)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/builders_only"),
        help="output folder (default: runs/builders_only)",
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
        "--data-root",
        type=Path,
        default=Path(os.environ.get("MNISTGAN_DATA_ROOT", "data")),
        help="folder holding MNIST/raw (default: $MNISTGAN_DATA_ROOT, else ./data)",
    )
    parser.add_argument("--download", action="store_true", help="let torchvision fetch MNIST")
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only")
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE_LIMIT} images, 1 epoch: a quick check"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Build the networks with mnistgan's builders and train them in a plain loop."""
    if args.smoke:
        args.epochs, args.limit = 1, args.limit or SMOKE_LIMIT
    torch.manual_seed(args.seed)
    device = pick_device(args.device)

    # Data: torchvision's MNIST as any project would load it, images in [0, 1].
    dataset = datasets.MNIST(
        str(args.data_root), train=True, download=args.download, transform=transforms.ToTensor()
    )
    if args.limit is not None:
        dataset = Subset(dataset, range(min(args.limit, len(dataset))))
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=False)

    # Networks: mnistgan's builders (keyword-only arguments; depth follows the image size).
    generator = conv_generator(latent_dim=LATENT_DIM, image_shape=(1, 28, 28)).to(device)
    discriminator = conv_discriminator(image_shape=(1, 28, 28)).to(device)  # logits (N,)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    fixed_z = torch.randn(64, LATENT_DIM, device=device)

    for epoch in range(args.epochs):
        start, sums, steps = time.perf_counter(), [0.0, 0.0], 0
        for x, _ in loader:
            real = x.to(device) * 2 - 1  # [0, 1] -> [-1, 1], the range of G's tanh
            fake = generator(torch.randn(real.size(0), LATENT_DIM, device=device))

            # Discriminator step on a real batch and a detached fake batch.
            loss_d = bce_d_loss(discriminator(real), discriminator(fake.detach()))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            # Generator step: the same fakes, scored by the updated discriminator.
            loss_g = bce_g_loss(discriminator(fake))  # non-saturating: -log D(G(z))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            sums[0] += loss_d.item()
            sums[1] += loss_g.item()
            steps += 1
        print(
            f"[epoch {epoch + 1}/{args.epochs}] Loss-D: {sums[0] / steps:.4f}  "
            f"Loss-G: {sums[1] / steps:.4f}  time: {time.perf_counter() - start:.1f}s"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    generator.eval()
    with torch.no_grad():
        images = (generator(fixed_z) + 1) / 2  # (64, 1, 28, 28) back to [0, 1]
    save_image(images.cpu(), args.out / "samples.png", nrow=8)
    torch.save(generator.state_dict(), args.out / "generator.pt")
    print(f"wrote {args.out / 'samples.png'} and {args.out / 'generator.pt'}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example; returns the exit status (1 with a one-line message if MNIST is missing)."""
    args = parse_args(argv)
    try:
        run(args)
    except RuntimeError as err:
        if "Dataset not found" not in str(err):
            raise
        print(
            f"{Path(__file__).name}: error: no MNIST in {args.data_root}/MNIST/raw; "
            f"pass --download (needs internet) or --data-root DIR",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
