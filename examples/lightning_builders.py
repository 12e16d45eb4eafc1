"""Train mnistgan's builders and losses inside PyTorch Lightning, with manual optimisation.

``mnistgan.builders`` returns plain ``nn.Module`` s and ``mnistgan.losses`` plain loss
functions on logits, so they slot into any training framework (DESIGN §1). This script
imports nothing else from mnistgan — no ``GAN``, no ``fit``, no data or viz helpers —
and lets Lightning run the loop. With two optimisers it uses manual optimisation
(``automatic_optimization = False``): one discriminator step on a real batch and a
detached fake batch, then one generator step on the same fakes re-scored by the updated
discriminator, as mnistgan's own training step does.

Needs ``pip install lightning`` and MNIST in ``--data-root`` (torchvision's layout,
``MNIST/raw``; default ``$MNISTGAN_DATA_ROOT``). Writes ``samples.png`` (64 digits from
fixed noise) into ``--out`` (default ``runs/lightning_builders``), next to Lightning's
own logs and checkpoints.

Run::

    python examples/lightning_builders.py --epochs 5
    python examples/lightning_builders.py --smoke --out /tmp/l   # seconds: a quick check

``--smoke`` trains 3 batches on the CPU with no logger and no checkpoints.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms
from torchvision.utils import save_image

from mnistgan.builders import conv_discriminator, conv_generator
from mnistgan.losses import get_loss, list_losses

SMOKE_LIMIT = 96  # images in --smoke mode: 3 batches of 32


class BuildersGAN(L.LightningModule):
    """A 28 px DCGAN made by mnistgan's builders, trained with one of mnistgan's losses."""

    def __init__(
        self, latent_dim: int = 64, lr: float = 2e-4, beta1: float = 0.5, loss: str = "bce"
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False  # two optimisers, stepped by hand
        self.generator = conv_generator(latent_dim=latent_dim, image_shape=(1, 28, 28))
        self.discriminator = conv_discriminator(image_shape=(1, 28, 28))  # logits (N,)
        self.loss = get_loss(loss)
        # Fixed noise for the sample grid, from its own generator (global RNG untouched).
        fixed = torch.randn(64, latent_dim, generator=torch.Generator().manual_seed(0))
        self.register_buffer("fixed_z", fixed)

    def forward(self, z: Tensor) -> Tensor:
        """Images in [-1, 1] (the generator ends in tanh)."""
        return self.generator(z)  # type: ignore[no-any-return]

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """One D step, then one G step on the same fake batch."""
        real = batch[0] * 2 - 1  # ToTensor's [0, 1] -> tanh's [-1, 1]; (N, 1, 28, 28)
        opt_g, opt_d = self.optimizers()  # type: ignore[attr-defined,misc,unused-ignore]
        z = torch.randn(real.size(0), self.hparams["latent_dim"], device=self.device)
        fake = self.generator(z)  # (N, 1, 28, 28)

        # Discriminator: a real batch and a detached fake batch.
        loss_d = self.loss.d_loss(self.discriminator(real), self.discriminator(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d)
        opt_d.step()

        # Generator: the same fakes, scored by the updated discriminator (whose
        # parameters get no gradients from this step).
        self.discriminator.requires_grad_(False)
        loss_g = self.loss.g_loss(self.discriminator(fake))
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        self.discriminator.requires_grad_(True)

        self.log_dict({"loss_d": loss_d, "loss_g": loss_g}, prog_bar=True)

    def configure_optimizers(self) -> Any:
        """Adam for each network."""
        lr, betas = self.hparams["lr"], (self.hparams["beta1"], 0.999)
        return (
            torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas),
        )

    @torch.no_grad()
    def samples(self) -> Tensor:
        """Images from the fixed noise in [0, 1], on the CPU; (64, 1, 28, 28)."""
        was_training = self.generator.training
        self.generator.eval()
        images = self.generator(self.fixed_z).add(1).div(2).clamp(0, 1).cpu()
        self.generator.train(was_training)
        return images  # type: ignore[no-any-return]


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
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="epochs to train")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="images per batch")
    parser.add_argument("--loss", choices=list_losses(), default="bce", help="mnistgan loss")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/lightning_builders"), help="output folder"
    )
    parser.add_argument("--device", default="auto", help='Lightning accelerator: "auto", "cpu"')
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, data and noise")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("MNISTGAN_DATA_ROOT", "data")),
        help="folder holding MNIST/raw (default: $MNISTGAN_DATA_ROOT, else ./data)",
    )
    parser.add_argument("--download", action="store_true", help="let torchvision fetch MNIST")
    parser.add_argument(
        "--smoke", action="store_true", help="3 batches on the CPU, no logger or checkpoints"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Build the networks with mnistgan's builders and train them with Lightning."""
    L.seed_everything(args.seed, verbose=False)
    dataset: Any = datasets.MNIST(
        str(args.data_root), train=True, download=args.download, transform=transforms.ToTensor()
    )
    if args.smoke:
        dataset = Subset(dataset, range(SMOKE_LIMIT))
        trainer = L.Trainer(
            accelerator="cpu",
            devices=1,
            max_epochs=1,
            limit_train_batches=3,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        batch_size = 32
    else:
        trainer = L.Trainer(
            accelerator=args.device, max_epochs=args.epochs, default_root_dir=args.out
        )
        batch_size = args.batch_size
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    model = BuildersGAN(loss=args.loss)
    trainer.fit(model, loader)
    losses = {k: round(float(v), 4) for k, v in trainer.callback_metrics.items()}
    print(f"trained {trainer.global_step // 2} steps (two optimiser steps each): {losses}")
    args.out.mkdir(parents=True, exist_ok=True)
    save_image(model.samples(), args.out / "samples.png", nrow=8)
    print(f"wrote {args.out / 'samples.png'}")


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
