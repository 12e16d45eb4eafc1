"""The ``mnistgan`` command (also ``python -m mnistgan``).

Subcommands: ``train``, ``sample``, ``traverse``, ``interpolate``, ``plot``,
``eval``, ``presets``, ``export``. Errors print one line, ``mnistgan: error: ...``, and
exit with status 1 (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from . import __version__
from ._checks import check_int
from .data import DATASETS, make_loader
from .device import resolve_device, seed_everything
from .errors import MnistganError
from .gan import GAN
from .losses import list_losses
from .presets import GANConfig, get_preset, list_presets
from .training import (
    Callback,
    HistoryWriter,
    ModelCheckpoint,
    ProgressBar,
    RunLock,
    SampleGrid,
)
from .training.distributed import init_distributed, launched_by_torchrun, shutdown_distributed
from .viz import (
    GifRecorder,
    interpolate,
    latent_traversal,
    plot_history,
    save_gif,
    save_grid,
    traversal_labels,
)

if TYPE_CHECKING:
    from .export import Sampler

__all__ = ["build_parser", "main"]

logger = logging.getLogger("mnistgan")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mnistgan`` command."""
    parser = argparse.ArgumentParser(
        prog="mnistgan",
        description="Train, sample and explore GANs on MNIST-style digits.",
    )
    parser.add_argument("--version", action="version", version=f"mnistgan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser(
        "train",
        help="train a GAN and write checkpoints, sample grids and its history",
        description=(
            "Train a preset on a dataset. OUT gets checkpoints/epoch_NNNN.pt, "
            "samples/epoch_NNNN.png (fixed noise), history.json/.csv, config.json and "
            "samples.png. Rerun with --resume auto to continue an interrupted run."
        ),
    )
    train.add_argument(
        "--preset",
        default="default",
        choices=list_presets(),
        help="architecture and training settings (default: %(default)s)",
    )
    train.add_argument("--dataset", default="mnist", choices=DATASETS, help="default: %(default)s")
    train.add_argument(
        "--data-root",
        default=None,
        help="data folder (default: $MNISTGAN_DATA_ROOT, else a user cache folder)",
    )
    train.add_argument(
        "--download",
        action="store_true",
        help="download the dataset if it is missing (needs internet)",
    )
    train.add_argument(
        "--epochs", type=int, default=None, help="epochs of the whole run (default: the preset's)"
    )
    train.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    train.add_argument(
        "--loss", choices=list_losses(), default=None, help="default: the preset's (bce)"
    )
    train.add_argument("--lr", type=float, default=None, help="learning rate of both networks")
    train.add_argument("--lr-g", type=float, default=None, help="generator learning rate")
    train.add_argument("--lr-d", type=float, default=None, help="discriminator learning rate")
    train.add_argument(
        "--ema-decay",
        type=_decay_or_none,
        default=None,
        help="EMA of the generator, e.g. 0.999; 'none' turns off the preset's (default: "
        "the preset's; infogan, mlp and vanilla get 0.999 with --num-classes)",
    )
    train.add_argument(
        "--r1-gamma",
        type=float,
        default=None,
        metavar="GAMMA",
        help="R1 penalty on D's real-image gradients, e.g. 1 (default: the preset's; 0: off)",
    )
    train.add_argument(
        "--augment",
        default=None,
        metavar="POLICY",
        help="differentiable augmentation of D's inputs, e.g. translation,cutout "
        "(also: color); 'none' turns off the preset's (default: the preset's)",
    )
    train.add_argument(
        "--num-classes",
        type=int,
        default=None,
        metavar="K",
        help="conditional GAN on K labels (10 for digits)",
    )
    train.add_argument(
        "--conditioning",
        choices=("projection", "acgan"),
        default=None,
        help="how a conditional D uses labels (default: projection)",
    )
    train.add_argument(
        "--aux-weight",
        type=float,
        default=None,
        help="weight of the ACGAN classifier losses (default: the preset's, 1.0; with labels "
        "the default preset's is 0.3)",
    )
    train.add_argument(
        "--device",
        default="auto",
        help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps",
    )
    train.add_argument(
        "--precision",
        default="32",
        choices=("32", "bf16", "16"),
        help="mixed precision (16: CUDA only)",
    )
    train.add_argument("--compile", action="store_true", help="torch.compile both networks")
    train.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of weights, noise and data order (default: %(default)s)",
    )
    train.add_argument(
        "--out",
        type=Path,
        default=Path("runs/mnistgan"),
        help="output folder (default: %(default)s)",
    )
    train.add_argument(
        "--resume",
        default=None,
        metavar="auto|PATH",
        help="continue from the newest checkpoint in OUT (auto) or from PATH",
    )
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=1,
        metavar="N",
        help="save a checkpoint every N epochs",
    )
    train.add_argument(
        "--keep-last", type=int, default=3, metavar="K", help="keep the newest K checkpoints"
    )
    train.add_argument(
        "--grid-size", type=int, default=64, metavar="N", help="images in each sample grid"
    )
    train.add_argument(
        "--gif",
        action="store_true",
        help="film the generator on fixed noise into OUT/progress.gif",
    )
    train.add_argument(
        "--gif-every",
        type=int,
        default=None,
        metavar="STEPS",
        help="one GIF frame every STEPS steps (default: one per epoch)",
    )
    train.add_argument(
        "--gif-size",
        type=int,
        default=16,
        metavar="N",
        help="images in each GIF frame (default: %(default)s)",
    )
    train.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="train on the first N images only (smoke runs)",
    )
    train.add_argument(
        "--no-monitor",
        action="store_true",
        help="turn off the health monitor (warnings about collapse, noise, ignored labels, ...)",
    )
    train.add_argument(
        "--on-problem",
        choices=("warn", "stop"),
        default="warn",
        help="what the health monitor does on a problem: warn, or warn and stop the run "
        "without saving the flagged epoch (default: %(default)s)",
    )
    train.add_argument(
        "--monitor-every",
        type=int,
        default=200,
        metavar="STEPS",
        help="steps between the health monitor's checks (default: %(default)s)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    sample = sub.add_parser(
        "sample",
        help="generate images from a checkpoint or generator file",
        description=(
            "Generate N images from a checkpoint, or from a .safetensors generator file "
            "(mnistgan export --format safetensors), into a PNG grid, a .npy array or a .pt "
            "tensor file."
        ),
    )
    _add_source(sample, "a checkpoint, or a .safetensors file")
    sample.add_argument(
        "--n", type=int, default=64, help="number of images (default: %(default)s)"
    )
    sample.add_argument(
        "--out",
        type=Path,
        default=Path("samples.png"),
        help=".png grid, .npy or .pt (default: %(default)s)",
    )
    sample.add_argument("--nrow", type=int, default=None, help="images per grid row")
    sample.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    sample.add_argument(
        "--digit",
        type=int,
        nargs="+",
        default=None,
        metavar="D",
        help=(
            "conditional models: the digit(s) to draw (one for all, or one per image); "
            "default 0-9 in turn"
        ),
    )
    sample.set_defaults(func=_sample)

    traverse = sub.add_parser(
        "traverse",
        help="sweep single latent dimensions",
        description=(
            "Grid whose rows sweep one latent dimension each over VALUES, other coordinates fixed."
        ),
    )
    _add_source(traverse, "a checkpoint")
    traverse.add_argument(
        "--dims",
        type=int,
        nargs="+",
        default=[5, 25, 45, 65, 85],
        help="latent dimensions, one row each (default: %(default)s)",
    )
    traverse.add_argument(
        "--values",
        type=float,
        nargs="+",
        default=[-3.0, 0.0, 3.0],
        help="values, one column each (default: %(default)s)",
    )
    traverse.add_argument("--seed", type=int, default=0, help="seed of the base vector")
    traverse.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        metavar="SEED",
        help="several base vectors, one block of rows each (overrides --seed)",
    )
    traverse.add_argument(
        "--labels",
        action="store_true",
        help="label the rows with their dimensions and the columns with the values",
    )
    traverse.add_argument("--out", type=Path, default=Path("traverse.png"))
    traverse.set_defaults(func=_traverse)

    interp = sub.add_parser(
        "interpolate",
        help="walk through latent space between seeds' digits",
        description=(
            "Images along a path in latent space from the digit of one seed to the next "
            "(one row per consecutive pair), as a PNG grid or, for --out *.gif, an animation."
        ),
    )
    _add_source(interp, "a checkpoint")
    interp.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[1, 2],
        metavar="SEED",
        help=(
            "two or more seeds; the digit of seed S is that of "
            "`mnistgan sample --n 1 --seed S` (default: %(default)s)"
        ),
    )
    interp.add_argument(
        "--steps",
        type=int,
        default=10,
        help="images per row, ends included (default: %(default)s)",
    )
    interp.add_argument(
        "--mode",
        choices=("slerp", "lerp"),
        default="slerp",
        help="spherical or linear interpolation (default: %(default)s)",
    )
    interp.add_argument("--labels", action="store_true", help="label each row with its seeds")
    interp.add_argument(
        "--out",
        type=Path,
        default=Path("interp.png"),
        help=".png grid or .gif animation (default: %(default)s)",
    )
    interp.set_defaults(func=_interpolate)

    plot = sub.add_parser(
        "plot",
        help="plot a run's losses and D outputs",
        description=(
            "Write RUN_DIR/losses.png, RUN_DIR/d_outputs.png and, if metrics were logged, "
            "RUN_DIR/metrics.png from RUN_DIR/history.json. Needs matplotlib: "
            'pip install "mnistgan[plot]".'
        ),
    )
    plot.add_argument(
        "run_dir", type=Path, help="a run folder (with history.json) or a history .json file"
    )
    plot.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the pictures (default: the run folder)",
    )
    plot.add_argument(
        "--dpi", type=int, default=100, help="default: %(default)s (figures are 8x4 inches)"
    )
    plot.add_argument(
        "--smooth",
        type=int,
        default=None,
        metavar="STEPS",
        help="moving-average window (default: about 1/50 of the run)",
    )
    plot.set_defaults(func=_plot)

    evaluate = sub.add_parser(
        "eval",
        help="score digits from any GAN: arrays, image folders, generators, checkpoints",
        description=(
            "Score MNIST-style samples in the features of mnistgan's shipped MNIST "
            "classifier against the 10k MNIST test images (their statistics ship with "
            "mnistgan: no dataset needed): Fréchet distance, KID, precision/recall, "
            "density/coverage, classifier score, modes, class shares and per-digit "
            "distances, next to the real-data floor. INPUT: .npy/.npz/.pt arrays "
            "(N,28,28), (N,1,28,28), (N,28,28,1) or (N,784), uint8 or float in [0,1] or "
            "[-1,1]; a folder of PNG/JPEG images; an ImageFolder tree (sub-folders 0-9, "
            "the labels); a torch.export generator (.pt2); a TorchScript generator "
            "(--trust-code); a mnistgan checkpoint or .safetensors generator file. "
            "Several inputs print one comparison table."
        ),
    )
    evaluate.add_argument(
        "inputs",
        type=Path,
        nargs="+",
        metavar="INPUT",
        help="what to score (a shipped pretrained name or a pretrained folder works too)",
    )
    evaluate.add_argument(
        "--n", type=int, default=10000, help="images drawn from generators (default: %(default)s)"
    )
    evaluate.add_argument("--seed", type=int, default=0, help="latents and KID subsets")
    evaluate.add_argument("--kid-subsets", type=int, default=100, metavar="K", help="KID subsets")
    evaluate.add_argument("--batch-size", type=int, default=500, help="default: %(default)s")
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    evaluate.add_argument(
        "--data-root", default=None, help="MNIST folder (only the memorisation check needs it)"
    )
    evaluate.add_argument(
        "--range",
        dest="value_range",
        default="auto",
        choices=("auto", "0..1", "-1..1", "0..255"),
        help="value range of float arrays (default: detected); write --range=-1..1",
    )
    evaluate.add_argument(
        "--resize", action="store_true", help="resize images of another size to 28x28"
    )
    evaluate.add_argument(
        "--latent-dim", type=int, default=None, metavar="N", help="latent size of a TorchScript G"
    )
    evaluate.add_argument(
        "--trust-code",
        action="store_true",
        help="allow TorchScript inputs (loading one runs the code stored in it)",
    )
    evaluate.add_argument(
        "--memorisation",
        action="store_true",
        help="share of near-copies of MNIST training images (needs MNIST on disk)",
    )
    evaluate.add_argument(
        "--show-copies",
        type=Path,
        default=None,
        metavar="PNG",
        help="picture of the samples closest to training images (implies --memorisation)",
    )
    evaluate.add_argument(
        "--report", type=Path, default=None, metavar="FILE", help=".html or .png report"
    )
    output = evaluate.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON, not a table")
    output.add_argument("--csv", action="store_true", help="print CSV, not a table")
    evaluate.set_defaults(func=_eval)

    export = sub.add_parser(
        "export",
        help="export the generator: torch.export, ONNX or safetensors",
        description=(
            "Write the sampling generator (the EMA one if the model keeps an EMA) in eval "
            "mode: a torch.export program (.pt2; torch.export.load(FILE).module()(z)), an "
            'ONNX model (.onnx; needs pip install "mnistgan[export]") or a generator file '
            "(.safetensors: weights and config, no pickle). The batch size is dynamic; "
            "conditional generators take (z, y). Outputs lie in the generator's range "
            "([-1, 1] for tanh), which the file's metadata states."
        ),
    )
    export.add_argument("checkpoint", type=Path, help="a checkpoint, or a .safetensors file")
    export.add_argument(
        "--format",
        choices=("pt2", "onnx", "safetensors"),
        default=None,
        help="default: from the suffix of --out",
    )
    export.add_argument("--out", type=Path, required=True, help=".pt2, .onnx or .safetensors")
    export.set_defaults(func=_export)

    presets = sub.add_parser(
        "presets",
        help="list the presets",
        description="List the registered presets with their sizes.",
    )
    presets.set_defaults(func=_presets)
    return parser


def _decay_or_none(text: str) -> float | str:
    """``--ema-decay``'s type: a float, or ``"none"`` to turn the preset's EMA off."""
    if text.strip().lower() == "none":
        return "none"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a decay such as 0.999, or 'none', got {text!r}"
        ) from None


def _train(args: argparse.Namespace) -> None:
    overrides: dict[str, Any] = {}
    for field, value in (
        ("epochs", args.epochs),
        ("batch_size", args.batch_size),
        ("loss", args.loss),
        ("lr_g", args.lr_g if args.lr_g is not None else args.lr),
        ("lr_d", args.lr_d if args.lr_d is not None else args.lr),
        ("r1_gamma", args.r1_gamma),
        ("num_classes", args.num_classes),
        ("conditioning", args.conditioning),
        ("aux_weight", args.aux_weight),
    ):
        if value is not None:
            overrides[field] = value
    if args.ema_decay is not None:
        overrides["ema_decay"] = None if args.ema_decay == "none" else args.ema_decay
    if args.augment is not None:
        overrides["augment"] = None if args.augment.strip().lower() == "none" else args.augment
    config = get_preset(args.preset, **overrides)
    # Under torchrun: join the process group, one device per process; fit() trains with
    # DDP and only rank 0 writes files and prints.
    ctx = init_distributed(args.device) if launched_by_torchrun() else None
    device = ctx.device if ctx is not None else resolve_device(args.device)
    main = ctx is None or ctx.is_main
    seed_everything(args.seed)
    gan = GAN(config, precision=args.precision, compile=args.compile)
    side = config.image_shape[1]
    loader = make_loader(
        args.dataset,
        root=args.data_root,
        download=args.download,
        image_size=None if side == 28 else side,
        batch_size=config.batch_size,
        seed=args.seed,
        device=device,
        limit=args.limit,
    )
    out: Path = args.out
    lock = RunLock(out)  # one run per folder: a second `mnistgan train` on it is refused
    if main:
        lock.acquire()
    try:
        _train_into(args, config, gan, loader, device, main)
    finally:
        lock.release()


def _train_into(
    args: argparse.Namespace,
    config: GANConfig,
    gan: GAN,
    loader: Any,
    device: torch.device,
    main: bool,
) -> None:
    out: Path = args.out
    if main:
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    callbacks: list[Callback] = []
    if not args.no_monitor:
        from .metrics.monitor import HealthMonitor

        callbacks.append(
            HealthMonitor(
                every=_positive(args.monitor_every, "--monitor-every"),
                on_problem=args.on_problem,
                dataset=args.dataset,
            )
        )
    callbacks += [
        ModelCheckpoint(
            out / "checkpoints", every=args.checkpoint_every, keep_last=args.keep_last
        ),
        SampleGrid(out / "samples", n=args.grid_size, seed=args.seed),
        HistoryWriter(out / "history.json"),
        HistoryWriter(out / "history.csv"),
    ]
    if not args.quiet:  # a bar on a terminal; in a file or a pipe, one line per epoch
        callbacks.append(ProgressBar(bar=sys.stdout.isatty() and sys.stderr.isatty()))
    if args.gif:
        callbacks.append(
            GifRecorder(
                out / "progress.gif",
                n=_positive(args.gif_size, "--gif-size"),
                every_n_steps=args.gif_every,
                seed=args.seed,
            )
        )
    gan.fit(
        loader,
        epochs=config.epochs,
        callbacks=callbacks,
        device=device,
        resume=args.resume,
        progress=False,
    )
    if not main:
        return
    grid = save_grid(gan.sample(args.grid_size, seed=args.seed), out / "samples.png")
    print(
        f"trained {args.preset} for {gan.epoch} epochs; wrote {out / 'checkpoints'}, "
        f"{grid}, {out / 'history.json'}"
    )
    if args.gif:
        print(f"wrote {out / 'progress.gif'}")


def _add_source(parser: argparse.ArgumentParser, what: str) -> None:
    """The model to read: a CHECKPOINT argument, or --pretrained NAME_OR_PATH (one of them)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("checkpoint", type=Path, nargs="?", help=f"{what} (or --pretrained)")
    source.add_argument(
        "--pretrained",
        metavar="NAME_OR_PATH",
        default=None,
        help=(
            "a pretrained model instead of a checkpoint: a shipped name "
            "(mnistgan.list_pretrained()), a folder written by save_pretrained, or a "
            "Hugging Face Hub id owner/name"
        ),
    )


def _model(args: argparse.Namespace) -> GAN:
    """The GAN that ``--pretrained`` or the checkpoint argument names (argparse made sure
    there is exactly one)."""
    if args.pretrained is not None:
        return GAN.from_pretrained(args.pretrained)
    return GAN.load(args.checkpoint, restore_rng=False)


def _load_for_sampling(path: Path, device: torch.device | None = None) -> GAN | Sampler:
    """A GAN from a checkpoint, or a Sampler from a ``.safetensors`` generator file, on
    ``device`` (the CPU by default)."""
    if path.suffix.lower() != ".safetensors":
        return GAN.load(path, restore_rng=False, device=device)
    from .export import load_sampler

    try:
        return load_sampler(path, device=device)
    except ImportError as err:  # safetensors missing: one line naming the extra
        raise MnistganError(str(err)) from err


def _export(args: argparse.Namespace) -> None:
    from .export import export_generator

    source = _load_for_sampling(args.checkpoint)
    try:
        written = export_generator(source, args.out, format=args.format)
    except ImportError as err:  # onnx/onnxscript or safetensors missing: name the extra
        raise MnistganError(str(err)) from err
    print(f"wrote {written}")


def _sample(args: argparse.Namespace) -> None:
    gan: GAN | Sampler
    if args.checkpoint is not None and args.checkpoint.suffix.lower() == ".safetensors":
        gan = _load_for_sampling(args.checkpoint)
    else:
        gan = _model(args)
    labels = (
        None if args.digit is None else (args.digit[0] if len(args.digit) == 1 else args.digit)
    )
    images = gan.sample(_positive(args.n, "--n"), seed=args.seed, labels=labels)
    suffix = args.out.suffix.lower()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        save_grid(images, args.out, nrow=args.nrow)
    elif suffix == ".npy":
        import numpy as np

        np.save(args.out, images.numpy())
    elif suffix == ".pt":
        torch.save(images, args.out)
    else:
        raise MnistganError(f"--out must end in .png, .npy or .pt, got {str(args.out)!r}")
    print(f"wrote {args.n} images to {args.out}")


def _traverse(args: argparse.Namespace) -> None:
    gan = _model(args)
    seeds = args.seeds if args.seeds is not None else [args.seed]
    images = latent_traversal(gan, dims=args.dims, values=args.values, seed=seeds)
    labels: dict[str, Any] = {}
    if args.labels:
        labels["row_labels"] = traversal_labels(args.dims, blocks=len(seeds))
        labels["col_labels"] = [f"{v:g}" for v in args.values]
    save_grid(images, args.out, nrow=len(args.values), **labels)
    blocks = f" for {len(seeds)} base vectors" if len(seeds) > 1 else ""
    print(f"wrote a {len(args.dims)}x{len(args.values)} traversal{blocks} to {args.out}")


def _interpolate(args: argparse.Namespace) -> None:
    gan = _model(args)
    images = interpolate(gan, seeds=args.seeds, steps=args.steps, mode=args.mode)
    if args.out.suffix.lower() == ".gif":
        # One frame per step; several seed pairs play one after another.
        save_gif(list(images), args.out, duration=120)
        print(f"wrote a {len(images)}-frame {args.mode} interpolation to {args.out}")
        return
    labels: dict[str, Any] = {}
    if args.labels:
        labels["row_labels"] = [f"{a}-{b}" for a, b in itertools.pairwise(args.seeds)]
    save_grid(images, args.out, nrow=args.steps, **labels)
    rows = len(args.seeds) - 1
    print(f"wrote a {rows}x{args.steps} {args.mode} interpolation to {args.out}")


def _plot(args: argparse.Namespace) -> None:
    try:
        written = plot_history(args.run_dir, args.out, dpi=args.dpi, smooth=args.smooth)
    except ImportError as err:  # matplotlib missing: one line naming the extra
        raise MnistganError(str(err)) from err
    print("wrote " + ", ".join(str(p) for p in written.values()))


def _eval(args: argparse.Namespace) -> None:
    from .metrics import (
        comparison_csv,
        comparison_json,
        comparison_table,
        load_images,
        save_copies,
        score_inputs,
        write_report,
    )

    n = _positive(args.n, "--n")
    device = resolve_device(args.device)
    inputs = [
        load_images(
            path,
            n=n,
            seed=args.seed,
            value_range=args.value_range,
            resize=args.resize,
            latent_dim=args.latent_dim,
            trust_code=args.trust_code,
            batch_size=_positive(args.batch_size, "--batch-size"),
            device=device,
        )
        for path in args.inputs
    ]
    scored = score_inputs(
        inputs,
        memorise=args.memorisation or args.show_copies is not None,
        root=args.data_root,
        seed=args.seed,
        kid_subsets=_positive(args.kid_subsets, "--kid-subsets"),
        batch_size=args.batch_size,
        device=device,
    )
    if args.json:
        print(json.dumps(comparison_json(scored), indent=2))
    elif args.csv:
        print(comparison_csv(scored), end="")
    else:
        for item in scored:
            for note in item.input.notes:
                print(f"note: {note}", file=sys.stderr)
        print(comparison_table(scored))
    written = []
    if args.show_copies is not None:
        for i, item in enumerate(scored, 1):
            out = args.show_copies
            if len(scored) > 1:
                out = out.with_name(f"{out.stem}-{i}{out.suffix}")
            if item.memorisation is not None:  # always: --show-copies turned the check on
                written.append(
                    save_copies(item.memorisation, item.input.images, out, root=args.data_root)
                )
    if args.report is not None:
        try:
            written.append(write_report(scored, args.report))
        except ImportError as err:  # a PNG report without matplotlib: name the extra
            raise MnistganError(str(err)) from err
    for path in written:
        print(f"wrote {path}", file=sys.stderr)


def _presets(args: argparse.Namespace) -> None:
    rows = []
    for name in list_presets():
        config = get_preset(name)
        g = sum(p.numel() for p in config.build_generator().parameters())
        d = sum(p.numel() for p in config.build_discriminator().parameters())
        shape = "x".join(str(v) for v in config.image_shape)
        rows.append((name, f"{g:,}", f"{d:,}", shape, str(config.latent_dim), config.loss))
    header = ("preset", "G params", "D params", "image", "latent", "loss")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _positive(value: int, flag: str) -> int:
    return check_int(value, flag)


def _in_cli_words(message: str, args: argparse.Namespace) -> str:
    """Say the data errors' fixes with the command's flags instead of Python keywords.

    The library's messages name ``download=True`` and ``root=``; on the command line
    those are ``--download`` (``mnistgan train`` has it) and ``--data-root``.
    """
    download = "--download" if hasattr(args, "download") else "'mnistgan train --download'"
    message = message.replace("pass download=True", f"pass {download}")
    message = message.replace("with download=True", f"with {download}")
    if hasattr(args, "data_root"):
        message = message.replace("(or pass root=)", "(or pass --data-root)")
        message = message.replace("so pass root=", "so pass --data-root=")
        message = message.replace("the root= argument", "--data-root")
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> main(["presets"])  # doctest: +ELLIPSIS
        preset   G params   D params   image    latent  loss
        ...
        0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        args.func(args)
    except (MnistganError, OSError) as err:
        print(f"mnistgan: error: {_in_cli_words(str(err), args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mnistgan: interrupted; rerun with --resume auto to continue", file=sys.stderr)
        return 130
    finally:
        shutdown_distributed()  # the process group `train` joined under torchrun, if any
    return 0
