"""A GAN in plain PyTorch, with no mnistgan in it, that saves samples for `mnistgan eval`.

This is what "another project's GAN" looks like: torchvision's MNIST, two small MLPs, the
textbook training loop, and at the end ``samples.npy``, 10,000 generated digits of shape
(10000, 28, 28), float32 in [-1, 1] (the generator ends in Tanh). Score them with::

    python examples/plain_pytorch_gan.py --epochs 5 --out runs/plain
    mnistgan eval runs/plain/samples.npy

``mnistgan eval`` detects the [-1, 1] range, compares the samples with the MNIST test set
in the features of mnistgan's classifier (no download), and prints every metric next to
the real-data floor. ``--smoke`` trains on a few batches and saves 300 samples: a check
that the script works, in seconds.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision import datasets, transforms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n", type=int, default=10000, help="samples to save")
    parser.add_argument("--out", type=Path, default=Path("runs/plain"))
    parser.add_argument("--data-root", default=os.environ.get("MNISTGAN_DATA_ROOT", "data"))
    parser.add_argument("--download", action="store_true", help="fetch MNIST (needs internet)")
    parser.add_argument("--smoke", action="store_true", help="a few batches, 300 samples")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    to_tanh_range = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    data = datasets.MNIST(
        args.data_root, train=True, download=args.download, transform=to_tanh_range
    )
    loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True, drop_last=True)

    nz = 100
    G = nn.Sequential(
        nn.Linear(nz, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 784), nn.Tanh(),
    ).to(device)  # fmt: skip
    D = nn.Sequential(
        nn.Linear(784, 512), nn.LeakyReLU(0.2),
        nn.Linear(512, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
    ).to(device)  # fmt: skip
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()

    for epoch in range(1 if args.smoke else args.epochs):
        for step, (x, _) in enumerate(loader):
            if args.smoke and step == 20:
                break
            real = x.view(x.size(0), -1).to(device)
            fake = G(torch.randn(real.size(0), nz, device=device))
            ones = torch.ones(real.size(0), 1, device=device)
            loss_d = bce(D(real), ones) + bce(D(fake.detach()), 0 * ones)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = bce(D(fake), ones)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        print(f"epoch {epoch + 1}: loss_d {loss_d.item():.3f}  loss_g {loss_g.item():.3f}")

    n = 300 if args.smoke else args.n
    G.eval()
    with torch.no_grad():
        samples = G(torch.randn(n, nz, device=device)).view(n, 28, 28)  # in [-1, 1]
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "samples.npy", samples.cpu().numpy())
    print(f"wrote {n} samples to {args.out / 'samples.npy'}; score them with:")
    print(f"  mnistgan eval {args.out / 'samples.npy'}")


if __name__ == "__main__":
    main()
