"""Tests for mnistgan.integrations (TensorBoard) and the Lightning example."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from torch import Tensor

from mnistgan import GAN, Callback, ConfigError
from mnistgan.integrations import TensorBoardLogger, flatten_hparams

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _batches(n: int = 3) -> list[Tensor]:
    """``n`` batches of 8 random images in [0, 1]."""
    generator = torch.Generator().manual_seed(0)
    return [torch.rand(8, 1, 28, 28, generator=generator) for _ in range(n)]


def _events(log_dir: Path) -> EventAccumulator:
    """Every scalar, image and plugin record in ``log_dir``'s event files."""
    accumulator = EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0}
    )
    accumulator.Reload()
    return accumulator


class _LateMetric(Callback):
    """Adds a metric to the epoch row after other callbacks saw it (like a metrics callback)."""

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        model.history.log_epoch_value("fid", 10.0 + epoch)


def test_tensorboard_logger_writes_scalars_images_and_hparams(tmp_path: Path) -> None:
    """Event files hold step scalars every n steps, epoch values, a grid per epoch, hparams."""
    gan = GAN.from_preset("vanilla")
    logger = TensorBoardLogger(tmp_path, every_n_steps=2, n_images=4, nrow=2)
    gan.fit(_batches(3), epochs=2, callbacks=[logger, _LateMetric()], progress=False)
    events = _events(tmp_path)
    scalars = set(events.Tags()["scalars"])
    for key in ("loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after"):
        assert f"train/{key}" in scalars and f"epoch/{key}" in scalars
        assert [e.step for e in events.Scalars(f"train/{key}")] == [2, 4, 6]
    for key in ("seconds", "images_per_s", "fid"):
        assert [e.step for e in events.Scalars(f"epoch/{key}")] == [3, 6]
    assert [e.value for e in events.Scalars("epoch/fid")] == [10.0, 11.0]
    losses = [e.value for e in events.Scalars("epoch/loss_d")]
    assert losses == pytest.approx([row["loss_d"] for row in gan.history.epochs])
    images = events.Images("samples")
    assert [(i.step, i.width, i.height) for i in images] == [(3, 62, 62), (6, 62, 62)]
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hparams = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    assert hparams["generator.builder"].string_value == "mlp_generator"
    assert hparams["latent_dim"].number_value == 100
    assert hparams["ema_decay"].string_value == "None"


def test_tensorboard_logger_reads_step_values_only_at_its_interval(tmp_path: Path) -> None:
    """Step values are converted only every ``every_n_steps`` steps, never in between."""

    class Unreadable:
        def __float__(self) -> float:
            raise AssertionError("a step value was read off the logging interval")

    gan = GAN.from_preset("vanilla")
    logger = TensorBoardLogger(tmp_path, every_n_steps=5, n_images=0)
    logger.on_fit_start(gan, {})
    for step in range(1, 5):
        gan.global_step = step
        logger.on_batch_end(gan, step - 1, {"loss_d": Unreadable()})  # type: ignore[dict-item]
    gan.global_step = 5
    logger.on_batch_end(gan, 4, {"loss_d": torch.tensor(0.5), "loss_g": torch.tensor(2.0)})
    logger.on_fit_end(gan, {})
    events = _events(tmp_path)
    assert [(e.step, e.value) for e in events.Scalars("train/loss_d")] == [(5, 0.5)]
    assert "samples" not in events.Tags()["images"]


def test_tensorboard_logger_leaves_training_unchanged(tmp_path: Path) -> None:
    """Logging (fixed noise from its own generator) does not change the trained weights."""

    def train(callbacks: list[Callback]) -> dict[str, Tensor]:
        torch.manual_seed(0)
        gan = GAN.from_preset("vanilla")
        gan.fit(_batches(2), epochs=1, callbacks=callbacks, progress=False)
        return gan.generator.state_dict()

    plain = train([])
    with_logger = train([TensorBoardLogger(tmp_path, every_n_steps=1, n_images=4)])
    assert all(torch.equal(plain[k], v) for k, v in with_logger.items())


def test_tensorboard_logger_noise_travels_in_checkpoints(tmp_path: Path) -> None:
    """The fixed noise is saved with the checkpoint and restored on resume."""
    gan = GAN.from_preset("vanilla")
    first = TensorBoardLogger(tmp_path / "tb", n_images=4, seed=1)
    gan.fit(_batches(2), epochs=1, callbacks=[first], progress=False)
    checkpoint = gan.save(tmp_path / "ckpt.pt")
    assert first.noise is not None and first.state_dict()["noise"] is first.noise

    resumed = GAN.load(checkpoint)
    second = TensorBoardLogger(tmp_path / "tb", n_images=4, seed=2)
    resumed.fit(_batches(2), epochs=1, callbacks=[second], progress=False)
    assert second.noise is not None and torch.equal(second.noise, first.noise)
    steps = [e.step for e in _events(tmp_path / "tb").Scalars("epoch/loss_d")]
    assert steps == [2, 4]


def test_tensorboard_logger_checks_arguments_and_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad arguments raise ConfigError; without tensorboard the ImportError names the extra."""
    with pytest.raises(ConfigError, match="every_n_steps"):
        TensorBoardLogger(tmp_path, every_n_steps=0)
    with pytest.raises(ConfigError, match="n_images"):
        TensorBoardLogger(tmp_path, n_images=-1)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r'pip install "mnistgan\[tensorboard\]"'):
        TensorBoardLogger(tmp_path)


def test_flatten_hparams_gives_tensorboard_values() -> None:
    """Nested configs flatten to dotted keys with numbers, strings and bools only."""
    flat = flatten_hparams(GAN.from_preset("dcgan").config.to_dict())
    assert flat["generator.kwargs.widths"] == json.dumps([256, 128, 64])
    assert all(isinstance(v, (bool, int, float, str)) for v in flat.values())


# --------------------------------------------------------------------------- Lightning example

# Runs the example in a fresh interpreter and prints the mnistgan modules that
# `import mnistgan.builders, mnistgan.losses` loads alone and those loaded after the run.
_MODULE_PROBE = """
import json, runpy, sys
import mnistgan.builders, mnistgan.losses
alone = sorted(m for m in sys.modules if m.startswith("mnistgan"))
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    if stop.code:
        raise
after = sorted(m for m in sys.modules if m.startswith("mnistgan"))
print("MODULES " + json.dumps({"alone": alone, "after": after}))
"""


def _mnistgan_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return {name for name in names if name.split(".")[0] == "mnistgan"}


@pytest.mark.slow
def test_lightning_example_smoke_run_uses_only_builders_and_losses(
    tmp_path: Path, mnist_root: Path
) -> None:
    """examples/lightning_builders.py --smoke exits 0 and takes only builders/losses."""
    script = EXAMPLES / "lightning_builders.py"
    assert _mnistgan_imports(script) == {"mnistgan.builders", "mnistgan.losses"}
    env: dict[str, Any] = {**os.environ, "MNISTGAN_DATA_ROOT": str(mnist_root)}
    command = [sys.executable, "-c", _MODULE_PROBE, str(script), "--smoke", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "samples.png").exists()
    line = next(x for x in result.stdout.splitlines() if x.startswith("MODULES "))
    modules = json.loads(line.removeprefix("MODULES "))
    assert modules["after"] == modules["alone"]  # the script pulled in no other mnistgan module
