"""Training speed: mnistgan's ``fit()`` against the textbook loop, side by side.

For each preset, the textbook loop (torchvision MNIST with ``ToTensor`` +
``Normalize`` through a ``DataLoader``, BCE on the same networks, two Adam
optimisers, the same batch size) and ``GAN.fit`` on mnistgan's in-memory loader
train on the same number of images, alternating, several repeats, in one process.
Both train each preset's write-up recipe: without the R1 penalty the ``mlp`` preset adds
(``r1_gamma=0``), which the textbook loop does not have.
The script prints images/s of each, the ratio (median and range) and the
achieved GFLOP/s against a matrix-multiply peak measured in the same run.

Run ``python benchmarks/speed.py`` (a few minutes) or ``--quick`` (under a minute)
with ``MNISTGAN_DATA_ROOT`` pointing at the data. ``--device cuda`` runs both loops
on the GPU: the textbook loop moves each batch there, as tutorials do, and ``fit``
keeps the images on the GPU. ``--precision bf16`` trains mnistgan's side under
bfloat16 autocast (an opt-in that changes the maths) against the float32 textbook loop.
Absolute numbers depend on the machine and its load; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections.abc import Callable
from typing import get_args

import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from torchvision import datasets, transforms

from mnistgan import GAN, get_preset, list_presets
from mnistgan.data import data_root, make_loader
from mnistgan.device import Precision


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer reads the work, not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak_gflops(device: torch.device, seconds: float = 1.0) -> float:
    """Float32 matrix-multiply throughput of ``device``, GFLOP/s."""
    size = 1024 if device.type == "cpu" else 8192
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    for _ in range(3):
        a @ b
    synchronize(device)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        runs += 1
        synchronize(device)
    return 2 * size**3 * runs / (time.perf_counter() - start) / 1e9


def textbook_trainer(
    preset: str, steps: int, device: torch.device
) -> tuple[Callable[[], float], int]:
    """The plain loop of the tutorials; returns (run -> seconds, batch size)."""
    config = get_preset(preset, ema_decay=None, r1_gamma=0.0)
    side = config.image_shape[1]
    tfs: list[Callable[..., object]] = [transforms.Resize(side)] if side != 28 else []
    tfs.append(transforms.ToTensor())
    if config.output != "sigmoid":
        tfs.append(transforms.Normalize((0.5,), (0.5,)))
    dataset = datasets.MNIST(data_root(), train=True, transform=transforms.Compose(tfs))
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
    G, D = config.build_generator().to(device), config.build_discriminator().to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas)
    bce = nn.BCEWithLogitsLoss()

    def run() -> float:
        start = time.perf_counter()
        for x, _ in itertools.islice(loader, steps):
            x = x.to(device)
            n = x.size(0)
            ones, zeros = torch.ones(n, device=device), torch.zeros(n, device=device)
            fake = G(torch.randn(n, config.latent_dim, device=device))
            opt_d.zero_grad()
            loss_d = bce(D(x), ones) + bce(D(fake.detach()), zeros)
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            loss_g = bce(D(fake), ones)
            loss_g.backward()
            opt_g.step()
        synchronize(device)
        return time.perf_counter() - start

    return run, config.batch_size


def mnistgan_trainer(
    preset: str, steps: int, device: torch.device, precision: Precision = "32"
) -> tuple[Callable[[], float], int]:
    """The same networks and settings through ``GAN.fit``, at ``precision``."""
    config = get_preset(preset, ema_decay=None, r1_gamma=0.0)
    side = config.image_shape[1]
    loader = make_loader(
        "mnist",
        batch_size=config.batch_size,
        image_size=None if side == 28 else side,
        limit=steps * config.batch_size,
        device=device,
    )
    gan = GAN(config, precision=precision)

    def run() -> float:
        start = time.perf_counter()
        gan.fit(loader, epochs=1, progress=False, device=device)
        synchronize(device)
        return time.perf_counter() - start

    return run, config.batch_size


def flops_per_image(preset: str) -> float:
    """FLOPs of one textbook training step (forward and backward), per real image."""
    config = get_preset(preset)
    G, D = config.build_generator(), config.build_discriminator()
    n = 16
    x = torch.rand(n, *config.image_shape)
    with FlopCounterMode(display=False) as counter:
        fake = G(torch.randn(n, config.latent_dim))
        (D(x).mean() + D(fake.detach()).mean()).backward()
        D(fake).mean().backward()
    return counter.get_total_flops() / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few steps and repeats (< 1 min)")
    parser.add_argument("--presets", nargs="+", default=None, choices=list_presets())
    parser.add_argument("--steps", type=int, default=None, help="batches per measurement")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--device", default="cpu", help='"cpu" (default) or "cuda"')
    parser.add_argument(
        "--precision",
        default="32",
        choices=get_args(Precision),
        help="mnistgan's precision (the textbook loop stays float32)",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    presets = args.presets or ["vanilla", "mlp", "dcgan", "infogan", "dcgan64"]
    steps = args.steps or (4 if args.quick else 40)
    repeats = args.repeats or (2 if args.quick else 5)
    torch.manual_seed(0)
    peak = matmul_peak_gflops(device, seconds=0.5 if args.quick else 2.0)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"torch {torch.__version__}, {where}, {torch.get_num_threads()} threads, load "
        f"average {os.getloadavg()[0]:.2f}; float32 matmul peak {peak:.1f} GFLOP/s"
    )
    if args.precision != "32":
        print(f"mnistgan trains with precision={args.precision!r}; the textbook loop in float32")
    header = (
        f"{'preset':<9}{'batch':>6}{'textbook img/s':>16}{'mnistgan img/s':>16}"
        f"{'ratio median':>14}{'ratio range':>15}{'GFLOP/s':>9}{'% peak':>8}"
    )
    print(header)
    for preset in presets:
        book, batch = textbook_trainer(preset, steps, device)
        ours, _ = mnistgan_trainer(preset, steps, device, args.precision)
        book(), ours()  # warm-up: first-call allocations and lazy imports
        book_rates, our_rates = [], []
        for _ in range(repeats):
            book_rates.append(steps * batch / book())
            our_rates.append(steps * batch / ours())
        ratios = [o / b for o, b in zip(our_rates, book_rates, strict=True)]
        gflops = flops_per_image(preset) * statistics.median(our_rates) / 1e9
        print(
            f"{preset:<9}{batch:>6}{statistics.median(book_rates):>16.0f}"
            f"{statistics.median(our_rates):>16.0f}{statistics.median(ratios):>14.2f}"
            f"{f'{min(ratios):.2f}-{max(ratios):.2f}':>15}{gflops:>9.1f}"
            f"{100 * gflops / peak:>7.0f}%"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
