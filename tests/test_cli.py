"""The ``mnistgan`` command: train, sample, resume, presets and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from mnistgan import list_presets
from mnistgan.checkpoint import load_checkpoint
from mnistgan.cli import main
from states import assert_same

TRAIN = ["train", "--preset", "vanilla", "--limit", "256", "--batch-size", "64", "--quiet"]


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _train(out: Path, *extra: str) -> None:
    assert main([*TRAIN, "--out", str(out), *extra]) == 0


def test_train_writes_checkpoint_grid_and_history(
    tmp_path: Path, mnist_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`train` writes a checkpoint, per-epoch sample grids, the history and the config."""
    _train(tmp_path, "--epochs", "1")
    assert load_checkpoint(tmp_path / "checkpoints" / "epoch_0001.pt")["epoch"] == 1
    assert _size(tmp_path / "samples" / "epoch_0001.png") == (242, 242)  # 8x8 grid
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["epochs"]) == 1 and len(history["steps"]) == 4  # 256 / 64
    assert json.loads((tmp_path / "config.json").read_text())["preset"] == "vanilla"
    assert "trained vanilla for 1 epochs" in capsys.readouterr().out


def test_train_passes_the_conditioning_options_to_the_config(
    tmp_path: Path, mnist_root: Path
) -> None:
    """`train --num-classes 10 --conditioning acgan --aux-weight 5` trains that model."""
    _train(tmp_path, "--epochs", "1", "--num-classes", "10", "--conditioning", "acgan")
    _train(tmp_path / "w", "--epochs", "1", "--num-classes", "10", "--aux-weight", "5")
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["num_classes"], config["conditioning"], config["aux_weight"]) == (
        10,
        "acgan",
        1.0,
    )
    assert json.loads((tmp_path / "w" / "config.json").read_text())["aux_weight"] == 5.0


def test_train_r1_gamma_overrides_the_presets_penalty(tmp_path: Path, mnist_root: Path) -> None:
    """`--r1-gamma` sets the R1 weight: 0 gives mlp the write-up's recipe, 2 adds R1 to
    vanilla; without it the preset's own weight stays."""
    _train(tmp_path / "a", "--preset", "mlp", "--epochs", "1", "--r1-gamma", "0")
    _train(tmp_path / "b", "--epochs", "1", "--r1-gamma", "2")
    _train(tmp_path / "c", "--preset", "mlp", "--epochs", "1")
    gammas = [
        json.loads((tmp_path / name / "config.json").read_text())["r1_gamma"] for name in "abc"
    ]
    assert gammas == [0.0, 2.0, 1.0]


def test_train_ema_decay_sets_or_turns_off_the_presets_ema(
    tmp_path: Path, mnist_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """vanilla with labels samples from an EMA (0.999); `--ema-decay none` turns it off,
    a number replaces it, and a word that is neither is refused before any training."""
    labels = ("--epochs", "1", "--num-classes", "10")
    _train(tmp_path / "a", *labels)
    _train(tmp_path / "b", *labels, "--ema-decay", "none")
    _train(tmp_path / "c", *labels, "--ema-decay", "0.99")
    _train(tmp_path / "d", "--epochs", "1")
    decays = [
        json.loads((tmp_path / name / "config.json").read_text())["ema_decay"] for name in "abcd"
    ]
    assert decays == [0.999, None, 0.99, None]
    with pytest.raises(SystemExit) as info:
        main([*TRAIN, "--out", str(tmp_path / "e"), "--ema-decay", "off"])
    assert info.value.code == 2
    assert "--ema-decay: expected a decay such as 0.999, or 'none', got 'off'" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "e").exists()


def test_train_refuses_dcgan_with_labels_before_touching_the_folder(
    tmp_path: Path, mnist_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's `train --preset dcgan --num-classes 10 --epochs 2` is refused with one
    line naming a combination that trains, and writes nothing."""
    out = tmp_path / "run"
    argv = ["train", "--preset", "dcgan", "--num-classes", "10", "--epochs", "2"]
    assert main([*argv, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mnistgan: error: the dcgan preset does not train with labels")
    assert "--num-classes 10" in err and err.count("\n") == 1
    assert not out.exists()


def test_train_runs_the_health_monitor_unless_told_not_to(
    tmp_path: Path, mnist_root: Path
) -> None:
    """`train` logs the health monitor's readings into the history; --no-monitor turns it off."""
    _train(tmp_path / "on", "--epochs", "1", "--monitor-every", "2")
    _train(tmp_path / "off", "--epochs", "1", "--no-monitor")
    on = json.loads((tmp_path / "on" / "history.json").read_text())["epochs"][-1]
    off = json.loads((tmp_path / "off" / "history.json").read_text())["epochs"][-1]
    assert {"health_digits", "health_modes", "health_roughness"} <= set(on)
    assert not any(key.startswith("health_") for key in off)
    assert not (tmp_path / "on" / ".lock").exists(), "the run folder is given back"


def test_sample_writes_a_grid_and_tensor_files(tmp_path: Path, mnist_root: Path) -> None:
    """`sample` turns a checkpoint into a 64-image PNG grid, a .npy and a .pt of N images."""
    _train(tmp_path, "--epochs", "1")
    ckpt = str(tmp_path / "checkpoints" / "epoch_0001.pt")
    assert main(["sample", ckpt, "--n", "64", "--out", str(tmp_path / "g.png")]) == 0
    assert _size(tmp_path / "g.png") == (8 * 30 + 2, 8 * 30 + 2)
    assert main(["sample", ckpt, "--n", "5", "--out", str(tmp_path / "g.pt")]) == 0
    images = torch.load(tmp_path / "g.pt", weights_only=True)
    assert images.shape == (5, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert main(["sample", ckpt, "--n", "3", "--out", str(tmp_path / "g.npy")]) == 0
    assert (tmp_path / "g.npy").stat().st_size > 3 * 28 * 28 * 4


def test_resume_auto_continues_an_interrupted_run_exactly(
    tmp_path: Path, mnist_root: Path
) -> None:
    """A run stopped after epoch 1 and rerun with --resume auto ends as a straight run does:
    the same G, D, EMA (none for `train --preset vanilla`), optimiser states, counters,
    every random state, callback states and history (all but the epochs' wall times)."""
    _train(tmp_path / "straight", "--epochs", "2")
    _train(tmp_path / "split", "--epochs", "1")  # as if killed after the first checkpoint
    _train(tmp_path / "split", "--epochs", "2", "--resume", "auto")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "epoch_0002.pt")
    resumed = load_checkpoint(tmp_path / "split" / "checkpoints" / "epoch_0002.pt")
    for key in ("generator", "discriminator", "ema", "opt_g", "opt_d", "rng", "callbacks"):
        assert_same(resumed[key], straight[key], key)
    assert (resumed["epoch"], resumed["global_step"]) == (straight["epoch"], 8)
    assert resumed["history"]["steps"] == straight["history"]["steps"]
    timing = {"seconds", "images_per_s"}
    for ours, theirs in zip(
        resumed["history"]["epochs"], straight["history"]["epochs"], strict=True
    ):
        assert {k: v for k, v in ours.items() if k not in timing} == {
            k: v for k, v in theirs.items() if k not in timing
        }
    assert len(resumed["history"]["epochs"]) == 2


def test_killed_train_resumes_from_its_last_checkpoint(tmp_path: Path, mnist_root: Path) -> None:
    """A SIGKILLed `mnistgan train` continues from its newest checkpoint with --resume auto."""
    args = [sys.executable, "-m", "mnistgan", *TRAIN, "--out", str(tmp_path), "--epochs", "40"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "checkpoints" / "epoch_0001.pt"
    try:
        for _ in range(1200):  # up to 120 s on a loaded machine
            if first.exists() or proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"], check=True)
    finally:
        proc.kill()
        proc.wait()
    assert first.exists(), "train wrote no checkpoint before it was killed"
    done = max(int(p.stem.split("_")[1]) for p in (tmp_path / "checkpoints").glob("epoch_*.pt"))
    target = done + 1
    _train(tmp_path, "--epochs", str(target), "--resume", "auto")
    final = load_checkpoint(tmp_path / "checkpoints" / f"epoch_{target:04d}.pt")
    assert final["epoch"] == target
    assert len(final["history"]["epochs"]) == target  # the earlier epochs were kept, not redone


def test_presets_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    """`presets` prints one row per registered preset with its parameter counts."""
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in list_presets():
        assert name in out
    assert "114,064" in out  # vanilla's generator


@pytest.mark.parametrize(
    "argv",
    [["train", "--preset", "nope"], ["train", "--epochs", "x"], ["sample"], ["frobnicate"]],
)
def test_bad_arguments_exit_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown presets, non-numbers, missing arguments and unknown commands exit with 2."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["sample", "traverse", "interpolate", "eval"])
def test_missing_checkpoint_is_a_one_line_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint that does not exist gives exit status 1 and one line naming it."""
    missing = tmp_path / "nope.pt"
    assert main([command, str(missing)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mnistgan: error:") and "\n" not in err and "nope.pt" in err


def test_missing_data_error_names_the_cli_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``train`` without MNIST says to pass --download or --data-root, not the Python keywords."""
    empty = tmp_path / "no-data"
    assert main([*TRAIN, "--data-root", str(empty), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "pass --download" in err and "--data-root" in err, err
    assert "download=True" not in err and "root=" not in err.replace("--data-root", ""), err
    assert str(empty) in err and "MNISTGAN_DATA_ROOT" in err


def test_garbage_checkpoint_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that is not a checkpoint gives exit status 1 and a one-line error."""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["sample", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mnistgan: error:") and "\n" not in err


def test_python_dash_m_runs_the_same_command() -> None:
    """`python -m mnistgan --help` works and lists the subcommands."""
    result = subprocess.run(
        [sys.executable, "-m", "mnistgan", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("train", "sample", "traverse", "presets", "eval"):
        assert command in result.stdout
