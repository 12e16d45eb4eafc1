"""Tests of mnistgan.training: the fit loop, its History and the callbacks."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from torch import Tensor

from mnistgan import GAN, Callback, ConfigError, DataError, History
from mnistgan.losses import list_losses
from mnistgan.training import HistoryWriter, ModelCheckpoint, SampleGrid

STEP_KEYS = {"loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after"}


def _tiny(**overrides: Any) -> GAN:
    """The "vanilla" GAN shrunk to 16 hidden units: the loop, not the networks, is tested."""
    return GAN.from_preset(
        "vanilla", generator={"hidden": (16,)}, discriminator={"hidden": (16,)}, **overrides
    )


def _batches(n: int = 2, size: int = 8) -> list[Tensor]:
    return [torch.rand(size, 1, 28, 28) for _ in range(n)]


def _weights(gan: GAN) -> dict[str, list[Tensor]]:
    """Copies of the weight matrices of G and D.

    Biases are left out: the last bias of D gets no gradient from losses that are
    differences of means (Wasserstein, and hinge while every margin is active).
    """
    return {
        name: [p.detach().clone() for p in net.parameters() if p.dim() > 1]
        for name, net in (("generator", gan.generator), ("discriminator", gan.discriminator))
    }


class Recorder(Callback):
    """Appends one entry per hook call to a shared list."""

    def __init__(self, calls: list[str], name: str = "") -> None:
        self.calls = calls
        self.name = name

    def _add(self, entry: str) -> None:
        self.calls.append(f"{self.name}{entry}")

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        self._add(f"fit_start {logs['start_epoch']}->{logs['target_epoch']}")

    def on_epoch_start(self, model: GAN, epoch: int, logs: dict[str, Any]) -> None:
        self._add(f"epoch_start {epoch} ({logs['batches']} batches)")

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        assert set(logs) == STEP_KEYS
        self._add(f"batch_end {batch_index}")

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        assert {"seconds", "images", "loss_d"} <= set(logs)
        self._add(f"epoch_end {epoch}")

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        self._add(f"fit_end {logs['epoch']} {logs['global_step']}")

    def on_exception(self, model: GAN, error: BaseException) -> None:
        self._add(f"exception {type(error).__name__}")


class StopAt(Callback):
    """Sets model.stop_training at a given global step or after a given epoch."""

    def __init__(self, *, step: int | None = None, epoch: int | None = None) -> None:
        self.step, self.epoch = step, epoch

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        if model.global_step == self.step:
            model.stop_training = True

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        if epoch == self.epoch:
            model.stop_training = True


# --------------------------------------------------------------------------- losses


_LOSS_CASES = [pytest.param(name, {}, id=name) for name in list_losses()] + [
    pytest.param("bce", {"r1_gamma": 1.0}, id="bce-r1"),
    pytest.param("hinge", {"d_steps": 2, "g_steps": 2}, id="hinge-2-2"),
]


@pytest.mark.parametrize(("loss", "overrides"), _LOSS_CASES)
def test_every_loss_trains(loss: str, overrides: dict[str, Any]) -> None:
    """fit() with each loss logs finite values and moves every weight matrix of G and D."""
    gan = _tiny(loss=loss, **overrides)
    before = _weights(gan)
    history = gan.fit(_batches(2), epochs=1, progress=False)
    assert len(history.steps) == 2
    for row in history.steps:
        assert set(row) == STEP_KEYS
        assert all(math.isfinite(v) for v in row.values()), row
    after = _weights(gan)
    for net, tensors in before.items():
        for i, (old, new) in enumerate(zip(tensors, after[net], strict=True)):
            assert not torch.equal(old, new), f"{net} weight {i} did not change"
    # Adam counts its updates: d_steps (g_steps) per batch.
    d_updates = {int(s["step"]) for s in gan.opt_d.state.values()}
    g_updates = {int(s["step"]) for s in gan.opt_g.state.values()}
    assert d_updates == {2 * gan.config.d_steps} and g_updates == {2 * gan.config.g_steps}


# --------------------------------------------------------------------------- loop and history


def test_history_has_step_and_epoch_rows() -> None:
    """fit() records one row per step and per epoch; epoch rows average their steps."""
    gan = _tiny()
    history = gan.fit(_batches(3), epochs=2, progress=False)
    assert (gan.epoch, gan.global_step) == (2, 6)
    assert len(history.steps) == 6 and len(history) == 6 and len(history.epochs) == 2
    assert history["loss_d"] == [row["loss_d"] for row in history.steps]
    for epoch, row in enumerate(history.epochs):
        assert set(row) == STEP_KEYS | {"epoch", "seconds", "images", "images_per_s"}
        assert row["epoch"] == epoch and row["images"] == 24
        assert row["seconds"] > 0 and row["images_per_s"] == pytest.approx(24 / row["seconds"])
        steps = history.steps[3 * epoch : 3 * epoch + 3]
        assert row["loss_g"] == pytest.approx(sum(s["loss_g"] for s in steps) / 3)


def test_epoch_rows_average_steps_read_during_the_epoch() -> None:
    """Epoch averages cover every step, also when a callback reads the history mid-epoch."""

    class ReadsHistory(Callback):
        def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
            assert len(model.history["loss_d"]) == model.global_step

    gan = _tiny()
    history = gan.fit(_batches(3), epochs=2, callbacks=[ReadsHistory()], progress=False)
    for epoch, row in enumerate(history.epochs):
        steps = history["loss_d"][3 * epoch : 3 * epoch + 3]
        assert row["loss_d"] == pytest.approx(sum(steps) / 3)


def test_fit_continues_from_the_current_epoch() -> None:
    """A second fit(epochs=n) trains n more epochs and keeps the earlier history."""
    gan = _tiny()
    gan.fit(_batches(1), epochs=1, progress=False)
    history = gan.fit(_batches(1), epochs=2, progress=False)
    assert (gan.epoch, gan.global_step) == (3, 3)
    assert [row["epoch"] for row in history.epochs] == [0, 1, 2]


def test_history_flushes_tensors_to_floats() -> None:
    """History turns recorded 0-d tensors into plain floats when read."""
    history = History()
    history.record_step({"loss_d": torch.tensor(1.5), "loss_g": torch.tensor([2.5])})
    history.record_step({"loss_d": 0.5, "loss_g": 1.5})
    steps = history.steps
    assert steps == [{"loss_d": 1.5, "loss_g": 2.5}, {"loss_d": 0.5, "loss_g": 1.5}]
    assert all(type(v) is float for row in steps for v in row.values())
    row = history.end_epoch(epoch=0, seconds=2.0, images=16)
    assert row == {
        "epoch": 0.0,
        "loss_d": 1.0,
        "loss_g": 2.0,
        "seconds": 2.0,
        "images": 16.0,
        "images_per_s": 8.0,
    }
    assert History.from_json(history.to_json()).state_dict() == history.state_dict()


def test_history_log_epoch_value_needs_an_epoch() -> None:
    """log_epoch_value adds to the last epoch row and refuses before any epoch ended."""
    history = History()
    with pytest.raises(IndexError, match="on_epoch_end"):
        history.log_epoch_value("fid", 1.0)
    history.end_epoch(epoch=0, seconds=1.0, images=0)
    history.log_epoch_value("fid", torch.tensor(3.0).item())
    assert history.epochs[-1]["fid"] == 3.0


def test_loader_set_epoch_is_called() -> None:
    """fit() calls loader.set_epoch(epoch) before each epoch when the loader has it."""

    class Loader(list[Tensor]):
        def __init__(self, batches: list[Tensor]) -> None:
            super().__init__(batches)
            self.epochs: list[int] = []

        def set_epoch(self, epoch: int) -> None:
            self.epochs.append(epoch)

    loader = Loader(_batches(1))
    _tiny().fit(loader, epochs=3, progress=False)
    assert loader.epochs == [0, 1, 2]


# --------------------------------------------------------------------------- hooks


def test_hooks_run_in_order() -> None:
    """Hooks run fit_start, (epoch_start, batch_end x n, epoch_end) per epoch, fit_end."""
    calls: list[str] = []
    gan = _tiny()
    gan.fit(_batches(2), epochs=2, callbacks=[Recorder(calls)], progress=False)
    assert calls == [
        "fit_start 0->2",
        "epoch_start 0 (2 batches)",
        "batch_end 0",
        "batch_end 1",
        "epoch_end 0",
        "epoch_start 1 (2 batches)",
        "batch_end 0",
        "batch_end 1",
        "epoch_end 1",
        "fit_end 2 4",
    ]


def test_callbacks_run_in_the_order_given() -> None:
    """Each hook is called on every callback, in the order of the callbacks list."""
    calls: list[str] = []
    callbacks = [Recorder(calls, "a:"), Recorder(calls, "b:")]
    _tiny().fit(_batches(1), epochs=1, callbacks=callbacks, progress=False)
    assert calls[:2] == ["a:fit_start 0->1", "b:fit_start 0->1"]
    assert calls[-2:] == ["a:fit_end 1 1", "b:fit_end 1 1"]
    assert len(calls) == 10


def test_on_exception_runs_when_a_step_raises() -> None:
    """A step that raises calls on_exception (not epoch_end or fit_end) and re-raises."""
    calls: list[str] = []
    gan = _tiny()
    batches = [torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28) * 2]
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        gan.fit(batches, epochs=2, callbacks=[Recorder(calls)], progress=False)
    assert calls == [
        "fit_start 0->2",
        "epoch_start 0 (2 batches)",
        "batch_end 0",
        "exception DataError",
    ]
    assert (gan.epoch, gan.global_step) == (0, 1)


def test_on_exception_sees_errors_raised_by_callbacks() -> None:
    """An error raised inside a hook reaches on_exception of every callback, then the caller."""

    class Boom(Callback):
        def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
            raise RuntimeError("boom")

    calls: list[str] = []
    with pytest.raises(RuntimeError, match="boom"):
        _tiny().fit(_batches(1), epochs=2, callbacks=[Boom(), Recorder(calls)], progress=False)
    assert calls[-1] == "exception RuntimeError" and "epoch_end 0" not in calls


def test_stop_training_in_on_batch_end() -> None:
    """model.stop_training set in on_batch_end ends the epoch and the fit after that step."""
    calls: list[str] = []
    gan = _tiny()
    history = gan.fit(
        _batches(3), epochs=3, callbacks=[StopAt(step=2), Recorder(calls)], progress=False
    )
    assert (gan.epoch, gan.global_step, len(history.steps), len(history.epochs)) == (1, 2, 2, 1)
    assert calls[-2:] == ["epoch_end 0", "fit_end 1 2"]
    gan.fit(_batches(3), epochs=1, progress=False)  # the flag does not stick to the next fit
    assert gan.global_step == 5


def test_stop_training_in_on_epoch_end() -> None:
    """model.stop_training set in on_epoch_end ends the fit after that epoch."""
    gan = _tiny()
    history = gan.fit(_batches(2), epochs=5, callbacks=[StopAt(epoch=1)], progress=False)
    assert (gan.epoch, gan.global_step, len(history.epochs)) == (2, 4, 2)


# --------------------------------------------------------------------------- callbacks


def test_model_checkpoint_keeps_the_last_files(tmp_path: Path) -> None:
    """ModelCheckpoint writes epoch_XXXX.pt files and keeps only the newest keep_last."""
    gan = _tiny()
    callback = ModelCheckpoint(tmp_path / "ckpt", keep_last=2)
    gan.fit(_batches(1), epochs=4, callbacks=[callback], progress=False)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "epoch_0003.pt",
        "epoch_0004.pt",
    ]
    assert callback.latest() == tmp_path / "ckpt" / "epoch_0004.pt"
    assert GAN.load(tmp_path / "ckpt" / "epoch_0003.pt").epoch == 3


def test_model_checkpoint_every_always_saves_the_last_epoch(tmp_path: Path) -> None:
    """ModelCheckpoint(every=3) saves every third epoch and the run's last one."""
    callback = ModelCheckpoint(tmp_path, every=3, keep_last=None)
    _tiny().fit(_batches(1), epochs=4, callbacks=[callback], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0003.pt", "epoch_0004.pt"]


@pytest.mark.parametrize("kwargs", [{"every": 0}, {"keep_last": 0}, {"every": 1.5}])
def test_model_checkpoint_rejects_bad_settings(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    """ModelCheckpoint refuses every/keep_last that are not positive ints."""
    with pytest.raises(ConfigError, match="must be a positive int"):
        ModelCheckpoint(tmp_path, **kwargs)


def test_resume_auto_needs_a_model_checkpoint() -> None:
    """fit(resume="auto") without a ModelCheckpoint callback raises ConfigError."""
    with pytest.raises(ConfigError, match="no ModelCheckpoint is among callbacks"):
        _tiny().fit(_batches(1), epochs=1, resume="auto", progress=False)


def test_sample_grid_writes_pngs_of_the_grid_size(tmp_path: Path) -> None:
    """SampleGrid(n=16, nrow=4) on 28 px images writes 122x122 PNGs (padding 2)."""
    gan = _tiny()
    grid = SampleGrid(tmp_path / "samples", n=16, nrow=4, every=2)
    gan.fit(_batches(1), epochs=2, callbacks=[grid], progress=False)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_0002.png"]
    with Image.open(tmp_path / "samples" / "epoch_0002.png") as image:
        assert image.size == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)
    assert grid.last_grid is not None and grid.last_grid.shape[-2:] == (122, 122)
    assert grid.noise is not None
    expected = torch.randn(16, gan.latent_dim, generator=torch.Generator().manual_seed(0))
    assert torch.equal(grid.noise, expected)


def test_sample_grid_does_not_change_training(tmp_path: Path) -> None:
    """Adding a SampleGrid leaves the trained weights exactly as without it."""
    results = []
    for callbacks in ([], [SampleGrid(tmp_path, n=4, nrow=2)]):
        torch.manual_seed(0)
        gan = _tiny()
        gan.fit(_batches(1), epochs=2, callbacks=callbacks, progress=False)
        results.append([p.detach() for p in gan.generator.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*results, strict=True))


def test_history_writer_json_and_csv_parse_back(tmp_path: Path) -> None:
    """HistoryWriter's JSON and CSV files parse back to the same epoch rows."""
    gan = _tiny()
    writers = [HistoryWriter(tmp_path / "h.json"), HistoryWriter(tmp_path / "h.csv")]
    history = gan.fit(_batches(2), epochs=2, callbacks=writers, progress=False)

    from_json = json.loads((tmp_path / "h.json").read_text())
    assert from_json["epochs"] == history.epochs and from_json["steps"] == history.steps

    with (tmp_path / "h.csv").open(newline="") as f:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    assert rows == history.epochs
    with (tmp_path / "h_steps.csv").open(newline="") as f:
        steps = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    assert steps == history.steps


def test_history_writer_rejects_other_suffixes(tmp_path: Path) -> None:
    """HistoryWriter refuses a path that does not end in .json or .csv."""
    with pytest.raises(ConfigError, match=r"\.json or \.csv"):
        HistoryWriter(tmp_path / "history.txt")
