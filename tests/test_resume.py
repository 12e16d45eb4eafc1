"""Tests of exact resume: a run split by a checkpoint ends bit-identical to a straight run.

Comparing ``sample()`` of two models in one process would draw from the global
RNG twice; each comparison here instead checks that the RNG states match and
then samples once per model, in the order the runs happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision  # type: ignore[import-untyped,unused-ignore]
from torch import Tensor
from torch.utils.data import DataLoader, Subset, TensorDataset
from torchvision import transforms

from mnistgan import DCGAN, GAN, Callback, ModelCheckpoint, SampleGrid
from mnistgan.checkpoint import load_checkpoint
from mnistgan.device import seed_everything
from states import assert_same

_TIMING = ("seconds", "images_per_s")  # wall-clock fields, the only ones allowed to differ


def _comparable(state: Mapping[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A GAN state without wall-clock timings (and without the ``drop`` keys)."""
    out = {k: v for k, v in state.items() if k not in drop}
    history = state["history"]
    out["history"] = {
        "steps": history["steps"],
        "epochs": [
            {k: v for k, v in row.items() if k not in _TIMING} for row in history["epochs"]
        ],
    }
    return out


def _assert_runs_equal(
    state_a: Mapping[str, Any], state_b: Mapping[str, Any], *, drop: tuple[str, ...] = ()
) -> None:
    """G, D, EMA, optimisers, counters, RNG and history (minus timings) are identical."""
    for key in ("generator", "discriminator", "ema", "opt_g", "opt_d", "rng"):
        assert key in state_a
    assert_same(_comparable(state_a, drop=drop), _comparable(state_b, drop=drop))


def _tiny(**overrides: Any) -> GAN:
    """The "vanilla" GAN shrunk to 16 hidden units, with an EMA so that it is compared too."""
    return GAN.from_preset(
        "vanilla",
        generator={"hidden": (16,)},
        discriminator={"hidden": (16,)},
        ema_decay=0.9,
        **overrides,
    )


def _shuffled_loader(images: Tensor) -> DataLoader[Any]:
    """A DataLoader that reshuffles from the global RNG every epoch."""
    return DataLoader(TensorDataset(images), batch_size=4, shuffle=True)


# --------------------------------------------------------------------------- fresh process

_CHILD = textwrap.dedent(
    """
    import sys

    import torch
    import torchvision
    from torch.utils.data import DataLoader, Subset
    from torchvision import transforms

    from mnistgan import GAN

    torch.set_num_threads(1)  # as tests/conftest.py does in the parent
    root, checkpoint, out = sys.argv[1:4]
    dataset = torchvision.datasets.MNIST(
        root, train=False, download=False, transform=transforms.ToTensor()
    )
    loader = DataLoader(Subset(dataset, range({n})), batch_size={batch}, shuffle=True)
    gan = GAN.load(checkpoint)
    gan.fit(loader, epochs=1, progress=False)
    torch.save({{"state": gan.state_dict(), "sample": gan.sample(8)}}, out)
    """
)


@pytest.mark.slow
def test_resume_in_a_fresh_process_matches_a_straight_run(
    mnist_root: Path, tmp_path: Path
) -> None:
    """DCGAN, shuffled real MNIST: 1 epoch, save, 1 more in a new process == 2 straight."""
    n, batch = 16, 8
    dataset = torchvision.datasets.MNIST(
        str(mnist_root), train=False, download=False, transform=transforms.ToTensor()
    )
    loader = DataLoader(Subset(dataset, range(n)), batch_size=batch, shuffle=True)

    seed_everything(0)
    straight = DCGAN()
    straight.fit(loader, epochs=2, progress=False)
    state_a, sample_a = straight.state_dict(), straight.sample(8)

    seed_everything(0)
    first_half = DCGAN()
    first_half.fit(loader, epochs=1, progress=False)
    checkpoint = first_half.save(tmp_path / "half.pt")
    script = tmp_path / "resume_child.py"
    script.write_text(_CHILD.format(n=n, batch=batch))
    out = tmp_path / "child.pt"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    subprocess.run(
        [sys.executable, str(script), str(mnist_root), str(checkpoint), str(out)],
        check=True,
        env=env,
        timeout=300,
    )
    child = torch.load(out, weights_only=True)

    assert straight.ema is not None and child["state"]["ema"] is not None
    assert child["state"]["epoch"] == 2 and child["state"]["global_step"] == 2 * n // batch
    _assert_runs_equal(state_a, child["state"])
    assert torch.equal(sample_a, child["sample"])


# --------------------------------------------------------------------------- same process


@pytest.mark.parametrize("how", ["GAN.load", "fit-resume"])
def test_resume_with_fresh_objects_matches_a_straight_run(tmp_path: Path, how: str) -> None:
    """A list of tensors: 1 epoch, save, fresh model resumes 1 more == 2 epochs straight."""
    data = [torch.rand(4, 1, 28, 28) for _ in range(2)]

    seed_everything(0)
    straight = _tiny()
    straight.fit(data, epochs=2, progress=False)
    state_a, sample_a = straight.state_dict(), straight.sample(8)

    seed_everything(0)
    first_half = _tiny()
    first_half.fit(data, epochs=1, progress=False)
    checkpoint = first_half.save(tmp_path / "half.pt")
    seed_everything(123)  # whatever the state now, the checkpoint's RNG state takes over
    if how == "GAN.load":
        resumed = GAN.load(checkpoint)
        resumed.fit(data, epochs=1, progress=False)
    else:
        resumed = _tiny()  # other random weights, overwritten by the checkpoint
        resumed.fit(data, epochs=2, resume=checkpoint, progress=False)  # epochs: the whole run
    state_b = resumed.state_dict()

    assert (resumed.epoch, resumed.global_step) == (2, 4)
    _assert_runs_equal(state_a, state_b)
    assert torch.equal(sample_a, resumed.sample(8))


class _Interrupted(BaseException):
    """Stands in for KeyboardInterrupt: not an Exception, so nothing swallows it."""


class _InterruptOnce(Callback):
    """Raises _Interrupted after the first batch of ``epoch``, the first time only."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.fired = False

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        if model.epoch == self.epoch and not self.fired:
            self.fired = True
            raise _Interrupted


def test_interrupted_run_resumed_by_the_same_call_matches_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    """Rerunning fit(resume="auto") after an interrupt ends as if the run had never been cut."""
    images = torch.rand(8, 1, 28, 28)

    seed_everything(0)
    uninterrupted = _tiny()
    uninterrupted.fit(
        _shuffled_loader(images),
        epochs=3,
        callbacks=[ModelCheckpoint(tmp_path / "a")],
        resume="auto",  # no checkpoint yet: starts fresh
        progress=False,
    )
    state_a, sample_a = uninterrupted.state_dict(), uninterrupted.sample(8)

    seed_everything(0)
    gan = _tiny()
    loader = _shuffled_loader(images)
    callbacks = [ModelCheckpoint(tmp_path / "b"), _InterruptOnce(epoch=1)]

    def call() -> None:
        gan.fit(loader, epochs=3, callbacks=callbacks, resume="auto", progress=False)

    with pytest.raises(_Interrupted):
        call()
    assert (gan.epoch, gan.global_step) == (1, 3)  # cut one step into the second epoch
    assert [p.name for p in sorted((tmp_path / "b").iterdir())] == ["epoch_0001.pt"]
    call()

    assert (gan.epoch, gan.global_step) == (3, 6)
    _assert_runs_equal(state_a, gan.state_dict(), drop=("callbacks",))
    assert torch.equal(sample_a, gan.sample(8))
    names = ["epoch_0001.pt", "epoch_0002.pt", "epoch_0003.pt"]
    for folder in ("a", "b"):
        assert [p.name for p in sorted((tmp_path / folder).iterdir())] == names
    _assert_runs_equal(
        load_checkpoint(tmp_path / "a" / names[-1]),
        load_checkpoint(tmp_path / "b" / names[-1]),
        drop=("callbacks",),
    )


# --------------------------------------------------------------------------- callback state


class _BatchCounter(Callback):
    """Counts the training steps it has seen, across resumes."""

    def __init__(self) -> None:
        self.count = 0

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        self.count += 1

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.count = int(state["count"])


def test_callback_state_survives_resume(tmp_path: Path) -> None:
    """SampleGrid's fixed noise and a custom callback's counter come back from the checkpoint."""
    data = [torch.rand(4, 1, 28, 28) for _ in range(2)]
    grid, counter = SampleGrid(tmp_path / "samples", n=4, nrow=2, seed=0), _BatchCounter()
    _tiny().fit(
        data,
        epochs=1,
        callbacks=[ModelCheckpoint(tmp_path / "ckpt"), grid, counter],
        progress=False,
    )
    assert counter.count == 2 and grid.noise is not None
    saved = load_checkpoint(tmp_path / "ckpt" / "epoch_0001.pt")["callbacks"]
    assert saved["_BatchCounter"] == {"count": 2}
    assert torch.equal(saved["SampleGrid"]["noise"], grid.noise)

    new_grid = SampleGrid(tmp_path / "samples", n=4, nrow=2, seed=99)
    new_counter = _BatchCounter()
    resumed = _tiny()
    resumed.fit(
        data,
        epochs=2,
        callbacks=[ModelCheckpoint(tmp_path / "ckpt"), new_grid, new_counter],
        resume="auto",
        progress=False,
    )
    assert resumed.epoch == 2 and new_counter.count == 4
    assert new_grid.noise is not None and torch.equal(new_grid.noise, grid.noise)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
    ]


def test_repeated_callbacks_keep_separate_state(tmp_path: Path) -> None:
    """Two callbacks of one class get their own checkpoint keys and their own state back."""
    first, second = _BatchCounter(), _BatchCounter()
    second.count = 100
    _tiny().fit(
        [torch.rand(4, 1, 28, 28)],
        epochs=1,
        callbacks=[ModelCheckpoint(tmp_path), first, second],
        progress=False,
    )
    resumed_first, resumed_second = _BatchCounter(), _BatchCounter()
    _tiny().fit(
        [torch.rand(4, 1, 28, 28)],
        epochs=1,
        callbacks=[ModelCheckpoint(tmp_path), resumed_first, resumed_second],
        resume="auto",
        progress=False,
    )
    assert (resumed_first.count, resumed_second.count) == (1, 101)
