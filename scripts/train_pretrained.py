"""Train, measure and write the pretrained models mnistgan ships.

Each model is trained by ``mnistgan train`` (the same command a user runs), so rerunning
this script with the same arguments on the same kind of machine and PyTorch reproduces
the weights bit for bit (training resumes exactly from the run folder's checkpoints if it
is interrupted). Then the final checkpoint is measured with :func:`mnistgan.metrics.evaluate`
on 10,000 samples and written in the Hugging Face layout into the package, with a model
card holding the recipe and the metrics next to the real-data floor.

Run from the project root (MNIST from ``MNISTGAN_DATA_ROOT``)::

    python scripts/train_pretrained.py mnist --epochs 20
    python scripts/train_pretrained.py mnist-conditional --epochs 20

``--report`` measures every checkpoint of the run folder on 5,000 samples instead, to
choose the number of epochs. The script prints the SHA-256 digests to put in
``src/mnistgan/pretrained/_registry.py``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import torch

from mnistgan import GAN
from mnistgan.checkpoint import list_checkpoints
from mnistgan.cli import main as cli
from mnistgan.device import seed_everything
from mnistgan.metrics import REAL_FLOOR, evaluate
from mnistgan.pretrained._format import sha256_file

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "mnistgan" / "pretrained" / "weights"
RECIPES: dict[str, list[str]] = {
    "mnist": ["--preset", "default"],
    "mnist-conditional": ["--preset", "default", "--num-classes", "10"],
}
KEPT = ("fd", "kid", "precision", "recall", "density", "coverage", "score", "modes",
        "kl_uniform", "label_accuracy")  # fmt: skip


def _train_args(name: str, epochs: int, seed: int, work: Path) -> list[str]:
    return [
        "train", *RECIPES[name], "--epochs", str(epochs), "--seed", str(seed),
        "--keep-last", "1000", "--out", str(work / name), "--resume", "auto",
    ]  # fmt: skip


def _measure(gan: GAN, n: int) -> dict[str, float]:
    result = evaluate(gan, n, seed=0)
    return {k: round(float(result[k]), 6) for k in KEPT if k in result}


def report(name: str, work: Path, n: int) -> None:
    """Measure every checkpoint of the run folder (to choose the epochs)."""
    for path in list_checkpoints(work / name / "checkpoints", "epoch_*.pt"):
        gan = GAN.load(path, restore_rng=False)
        print(json.dumps({"checkpoint": path.name, "steps": gan.global_step,
                          **_measure(gan, n)}), flush=True)  # fmt: skip


def build(name: str, epochs: int, seed: int, work: Path) -> dict[str, Any]:
    """Train (or finish training) the model, measure it and write it into the package."""
    args = _train_args(name, epochs, seed, work)
    status = cli(args)
    if status:
        raise SystemExit(f"mnistgan {' '.join(args)} failed with status {status}")
    final = work / name / "checkpoints" / f"epoch_{epochs:04d}.pt"
    gan = GAN.load(final, restore_rng=False)
    seed_everything(0)
    metrics = _measure(gan, 10_000)
    recipe = {
        "command": f"mnistgan {' '.join(args[:-4])}",
        "epochs": epochs,
        "steps": gan.global_step,
        "batch size": gan.config.batch_size,
        "seed": seed,
        "data": "MNIST training set (60,000 images)",
        "made with": f"torch {torch.__version__}, {platform.machine()}, "
        f"{torch.get_num_threads()} thread(s), "
        f"scripts/train_pretrained.py {name} --epochs {epochs} --seed {seed}",
    }
    floor = {k: round(REAL_FLOOR[k], 6) for k in KEPT if k in REAL_FLOOR}
    folder = gan.save_pretrained(
        WEIGHTS / name,
        name=name,
        half_discriminator=True,
        card={"recipe": recipe, "metrics": metrics, "floor": floor},
    )
    digests = {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.suffix != ".md"}
    return {"name": name, "folder": str(folder), "metrics": metrics, "sha256": digests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "pretrained",
                        help="run folder for the training's checkpoints")  # fmt: skip
    parser.add_argument("--report", action="store_true",
                        help="measure each checkpoint of the run (5,000 samples)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.report:
        report(args.name, args.work, 5000)
        return 0
    print(json.dumps(build(args.name, args.epochs, args.seed, args.work), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
