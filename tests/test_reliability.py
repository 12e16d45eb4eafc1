"""Reliability and security: nothing lost, nothing executed, every bad input explained.

* Crash test: a training subprocess is SIGKILLed at random points and inside checkpoint
  writes, then rerun with ``resume="auto"`` until done; it ends bit-identical to an
  uninterrupted run.
* Malicious checkpoints are refused by every loading entry point, and never run code.
* Damaged, truncated, foreign or mismatched checkpoints raise errors that say which
  and how to fix them; ``resume="auto"`` falls back to the newest good checkpoint.
* Non-finite losses: ``fit(on_nonfinite="raise"|"skip"|"stop")``; NaN weights are
  never written over a good checkpoint.
* Full disks and unwritable folders give clear errors and keep earlier files.
* Hypothesis fuzzing of the public entry points' arguments and of batches: each bad
  input raises a documented error naming the problem, before any weight changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import functools
import hashlib
import importlib.util
import io
import logging
import math
import os
import random
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from torch import Tensor

from mnistgan import (
    GAN,
    BatchTypeError,
    Callback,
    CheckpointError,
    ConfigError,
    DataError,
    GANConfig,
    HistoryWriter,
    MnistganError,
    ModelCheckpoint,
    SampleGrid,
    TrainingError,
    get_preset,
)
from mnistgan import checkpoint as ckpt
from mnistgan.checkpoint import FORMAT_VERSION, list_checkpoints, load_checkpoint
from mnistgan.cli import build_parser, main
from mnistgan.device import seed_everything
from states import assert_same, clone_state

WORKER = Path(__file__).with_name("_crash_worker.py")
_TIMING = ("seconds", "images_per_s")  # wall-clock fields, the only ones allowed to differ


# --------------------------------------------------------------------------- helpers


def _tiny(**overrides: Any) -> GAN:
    """The "vanilla" GAN with 16 hidden units and an EMA (so that the EMA is checked too)."""
    overrides.setdefault("ema_decay", 0.9)
    return GAN.from_preset(
        "vanilla", generator={"hidden": (16,)}, discriminator={"hidden": (16,)}, **overrides
    )


def _batches(n: int = 2, size: int = 4, seed: int = 0) -> list[Tensor]:
    """``n`` fixed batches of uniform images in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(size, 1, 28, 28, generator=generator) for _ in range(n)]


def _snapshot(gan: GAN) -> dict[str, Any]:
    """Copies of every weight, buffer, EMA and optimiser state of ``gan``."""
    state: dict[str, Any] = clone_state(
        {
            "generator": gan.generator.state_dict(),
            "discriminator": gan.discriminator.state_dict(),
            "ema": gan.ema.state_dict() if gan.ema is not None else None,
            "opt_g": gan.opt_g.state_dict(),
            "opt_d": gan.opt_d.state_dict(),
        }
    )
    return state


def _assert_runs_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    """Two checkpoints agree on weights, EMA, optimisers, counters, RNG and history."""
    for key in ("generator", "discriminator", "ema", "opt_g", "opt_d", "epoch", "global_step"):
        assert_same(a[key], b[key], key)
    assert_same(a["rng"], b["rng"], "rng")
    assert_same(a["history"]["steps"], b["history"]["steps"], "history steps")
    for row_a, row_b in zip(a["history"]["epochs"], b["history"]["epochs"], strict=True):
        assert_same(
            {k: v for k, v in row_a.items() if k not in _TIMING},
            {k: v for k, v in row_b.items() if k not in _TIMING},
            "history epochs",
        )


def _all_finite(gan: GAN) -> bool:
    """Whether every floating tensor of G, D and the EMA is finite."""
    nets = [gan.generator, gan.discriminator] + ([gan.ema] if gan.ema is not None else [])
    return all(
        bool(torch.isfinite(t).all())
        for net in nets
        for t in net.state_dict().values()
        if t.is_floating_point()
    )


def _leftover_temps(folder: Path) -> list[str]:
    """Temporary files of unfinished checkpoint saves in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- crash test


def _load_worker() -> ModuleType:
    """Import tests/_crash_worker.py (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_crash_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_worker(
    out: Path,
    epochs: int,
    log: Path,
    *,
    slow_save: str = "",
    kill_after: int | None = None,
    delay: float = 0.0,
    last_step: int = 0,
) -> tuple[int, list[str]]:
    """Run the worker; SIGKILL it ``delay`` s after ``kill_after`` steps or in a stalled save.

    The step kill's target is capped at ``last_step``, so that it lands before the run ends.
    """
    env = {
        **os.environ,
        "PYTHONWARNINGS": "error",
        "CRASH_THREADS": str(torch.get_num_threads()),  # the reference run's, from conftest
        "CRASH_STEP_SLEEP": "0.1",
        "CRASH_SLOW_SAVE": slow_save,
    }
    with log.open("a") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(out), str(epochs)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        watchdog = threading.Timer(240, proc.kill)
        watchdog.start()
        lines: list[str] = []
        target: int | None = None
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.strip()
                lines.append(line)
                if line.startswith("START") and kill_after is not None:
                    target = min(int(line.split()[1]) + kill_after, last_step)
                stalled = bool(slow_save) and line.startswith("IN_SAVE")
                if stalled or (target is not None and line == f"STEP {target}"):
                    time.sleep(delay)
                    proc.send_signal(signal.SIGKILL)
                    break
            proc.wait(timeout=240)
        finally:
            watchdog.cancel()
            if proc.stdout is not None:
                proc.stdout.close()
    return proc.returncode, lines


def _assert_only_good_checkpoints(folder: Path) -> None:
    """Every checkpoint a reader can see loads, and the newest is what latest() picks."""
    visible = list_checkpoints(folder, "epoch_*.pt")
    for path in visible:
        load_checkpoint(path, map_location="meta")
    assert ModelCheckpoint(folder).latest() == (visible[-1] if visible else None)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkilled_training_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    """SIGKILL at random steps and inside checkpoint writes; reruns end bit-identical."""
    epochs, steps_per_epoch = 3, 3
    total_steps = epochs * steps_per_epoch
    reference = tmp_path / "reference"
    _load_worker().train(reference, epochs)

    out, log = tmp_path / "crashed", tmp_path / "worker_stderr.txt"
    rng = random.Random(20240611)
    # Each kill lands in the epoch after the run's first checkpoint, so the runs progress:
    # step kills between two saves (plus a random delay, which may reach into the save),
    # and stalls inside a save: half the temporary file written, or all of it not renamed.
    plan: list[dict[str, Any]] = [
        {"kill_after": rng.randint(4, 5), "delay": rng.uniform(0.0, 0.05)},  # from epoch 0
        {"slow_save": "write"},  # in epoch_0002.pt's save
        {"kill_after": rng.randint(4, 5), "delay": rng.uniform(0.0, 0.05)},  # from epoch 1
        {"slow_save": "replace"},  # in epoch_0003.pt's save
    ]
    for kill in plan:
        status, lines = _run_worker(out, epochs, log, last_step=total_steps - 2, **kill)
        assert status == -signal.SIGKILL, (kill, lines, log.read_text())
        assert "DONE" not in lines
        if kill.get("slow_save"):
            assert _leftover_temps(out), f"the kill in a {kill['slow_save']} left no temp file"
            if kill["slow_save"] == "replace":
                stalled = lines[-1].split()[1]
                assert not (out / stalled).exists()
        _assert_only_good_checkpoints(out)

    status, lines = _run_worker(out, epochs, log)
    assert status == 0, log.read_text()
    assert lines[-1] == "DONE"
    assert not _leftover_temps(out), "the finishing run did not remove the killed saves' temps"
    start = int(lines[0].split()[1])
    assert start > 0 and start % steps_per_epoch == 0, lines[0]  # resumed at an epoch end
    names = [f"epoch_{e:04d}.pt" for e in range(1, epochs + 1)]
    assert [p.name for p in list_checkpoints(out, "epoch_*.pt")] == names
    for name in names:
        _assert_runs_equal(load_checkpoint(reference / name), load_checkpoint(out / name))
    final = load_checkpoint(out / names[-1])
    assert (final["epoch"], final["global_step"]) == (epochs, total_steps)


# --------------------------------------------------------------------------- resume


@pytest.mark.parametrize("damage", ["truncated", "flipped-byte", "empty"])
def test_resume_auto_skips_a_damaged_newest_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """fit(resume="auto") warns about a damaged newest file and ends as a straight run would."""
    data = _batches(2)
    seed_everything(0)
    straight = _tiny()
    straight.fit(data, epochs=3, device="cpu", progress=False)

    seed_everything(0)
    _tiny().fit(data, epochs=2, callbacks=[ModelCheckpoint(tmp_path)], progress=False)
    newest = tmp_path / "epoch_0002.pt"
    content = bytearray(newest.read_bytes())
    if damage == "truncated":
        content = content[: len(content) // 2]
    elif damage == "flipped-byte":
        content[len(content) // 3] ^= 0x01
    else:
        content = bytearray()
    newest.write_bytes(bytes(content))

    resumed = _tiny()
    with caplog.at_level(logging.WARNING, logger="mnistgan"):
        resumed.fit(
            data, epochs=3, callbacks=[ModelCheckpoint(tmp_path)], resume="auto", progress=False
        )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("epoch_0002.pt" in w for w in warnings), warnings
    assert (resumed.epoch, resumed.global_step) == (3, 6)
    assert_same(_snapshot(resumed), _snapshot(straight))
    load_checkpoint(newest)  # rewritten by the resumed run


@pytest.mark.parametrize("mismatch", ["architecture", "format-version"])
def test_mismatched_checkpoint_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mismatch: str
) -> None:
    """A checkpoint of another model or format version: fit(resume=) and load say which and how."""
    path = tmp_path / "other.pt"
    if mismatch == "architecture":
        _tiny(latent_dim=8).save(path)
        words = ["another model", "latent_dim 8", "latent_dim 100", "GAN.load(path)"]
    else:
        with monkeypatch.context() as patch:
            patch.setattr(ckpt, "FORMAT_VERSION", FORMAT_VERSION + 1)
            _tiny().save(path)
        words = [f"format version {FORMAT_VERSION + 1}", "upgrade mnistgan", "other.pt"]
    gan = _tiny()
    before = _snapshot(gan)
    with pytest.raises(CheckpointError) as info:
        gan.fit(_batches(1), epochs=1, resume=path, progress=False)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert_same(_snapshot(gan), before)
    assert (gan.epoch, gan.global_step) == (0, 0)
    if mismatch == "format-version":
        with pytest.raises(CheckpointError, match="upgrade mnistgan"):
            GAN.load(path)


_STATE_KEYS = [
    "config",
    "generator",
    "discriminator",
    "ema",
    "opt_g",
    "opt_d",
    "epoch",
    "global_step",
    "history",
    "rng",
    "callbacks",
    "scalers",
    "custom_networks",
]
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=3),
    st.lists(st.integers(-2, 2), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(-2, 2), max_size=2),
    st.integers(0, 3).map(lambda n: torch.full((n,), math.nan)),
)


@functools.cache
def _trained_state() -> dict[str, Any]:
    """The state of a tiny GAN trained for one epoch (shared, never modified)."""
    gan = _tiny()
    gan.fit(_batches(1), epochs=1, progress=False)
    return gan.state_dict()


def _entry_is_valid(key: str, junk: Any, delete: bool) -> bool:
    """Whether ``state[key]`` deleted (``delete``) or set to ``junk`` still makes a whole
    checkpoint for :func:`_tiny` (which has an EMA) loaded with ``restore_rng=True``.

    Only ``callbacks``, ``scalers`` and ``custom_networks`` may be absent; the drawn junk
    is valid only as an int >= 0 counter, an empty dict of callback/scaler states or a
    bool ``custom_networks``.
    """
    if delete:
        return key in ("callbacks", "scalers", "custom_networks")
    if key in ("epoch", "global_step"):
        return type(junk) is int and junk >= 0
    if key in ("callbacks", "scalers"):
        return isinstance(junk, dict) and not junk
    if key == "custom_networks":
        return isinstance(junk, bool)
    return False


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(_STATE_KEYS), junk=st.none() | _JUNK, delete=st.booleans())
def test_damaged_checkpoint_entries_raise_and_change_nothing(
    tmp_path: Path, key: str, junk: Any, delete: bool
) -> None:
    """A checksum-valid checkpoint with an entry missing or junk either is still whole
    (then it loads, entry and all) or raises a one-line CheckpointError naming the entry
    and leaves the model exactly as it was: nothing loads half."""
    state = dict(_trained_state())
    if delete:
        del state[key]
    else:
        state[key] = junk
    valid = _entry_is_valid(key, junk, delete)
    path = ckpt.save_checkpoint(state, tmp_path / "damaged.pt")
    gan = _tiny()
    before = _snapshot(gan)
    if not valid:
        with pytest.raises(CheckpointError) as err:
            gan.load_state_dict(state)
        message = str(err.value)
        assert "\n" not in message and repr(key) in message, message
        assert_same(_snapshot(gan), before)
        assert (gan.epoch, gan.global_step, gan.history.steps) == (0, 0, [])
        with pytest.raises(CheckpointError, match=key):
            GAN.load(path)
        return
    gan.load_state_dict(state)
    assert gan.epoch == state.get("epoch") and gan.global_step == state.get("global_step")
    assert gan.ema is not None
    assert_same(clone_state(gan.ema.state_dict()), clone_state(state["ema"]))
    if state.get("custom_networks") is True:
        with pytest.raises(CheckpointError, match="custom networks"):
            GAN.load(path)
    else:
        assert GAN.load(path).epoch == state["epoch"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ema", None),
        ("ema", "missing"),
        ("rng", None),
        ("history", {}),
        ("epoch", True),
        ("epoch", 1.5),
        ("global_step", -1),
        ("opt_g", {}),
        ("generator", {}),
        ("callbacks", [1]),
        ("scalers", {"d": 3}),
        ("rng_ranks", [None]),
    ],
)
def test_each_required_entry_is_named_when_missing_or_malformed(key: str, value: Any) -> None:
    """The entries the config requires (an EMA model's 'ema', 'rng' with restore_rng,
    the counters as ints >= 0, a History dict, optimiser and network states) raise a
    CheckpointError that names them when missing or malformed; nothing is loaded."""
    state = dict(_trained_state())
    if value == "missing":
        del state[key]
    else:
        state[key] = value
    gan = _tiny()
    before = _snapshot(gan)
    with pytest.raises(CheckpointError, match=repr(key)):
        gan.load_state_dict(state)
    assert_same(_snapshot(gan), before)


def test_entries_the_config_does_not_need_may_be_absent() -> None:
    """Without restore_rng the 'rng' entry is not needed, and a model without EMA loads a
    checkpoint whose 'ema' is None; both load the weights."""
    state = {**_trained_state(), "rng": None}
    gan = _tiny()
    gan.load_state_dict(state, restore_rng=False)
    assert gan.epoch == state["epoch"]
    plain = _tiny(ema_decay=None)
    plain.load_state_dict({**_trained_state(), "ema": None})
    assert_same(clone_state(plain.generator.state_dict()), clone_state(state["generator"]))


# --------------------------------------------------------------------------- malicious files


class _RunsCode:
    """Unpickling this runs Python code that creates ``marker`` (any code would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"with open({str(self.marker)!r}, 'w') as f: f.write('pwned')",))


def _evil_payload(marker: Path) -> dict[str, Any]:
    """A realistic GAN checkpoint whose history entry runs code when unpickled."""
    return {**_tiny().state_dict(), "history": _RunsCode(marker)}


def _forge(payload: object, path: Path) -> Path:
    """Write ``torch.save(payload)`` with a valid mnistgan trailer (the documented layout)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    header = struct.pack("<IQ", FORMAT_VERSION, len(body))
    path.write_bytes(body + header + hashlib.sha256(body + header).digest() + ckpt._MAGIC)
    return path


def _write_evil(kind: str, marker: Path, path: Path) -> Path:
    """A malicious file: with a forged valid trailer, or a plain torch.save file."""
    if kind == "forged-trailer":
        return _forge(_evil_payload(marker), path)
    torch.save(_evil_payload(marker), path)
    return path


def test_the_malicious_payload_really_runs_code_when_loaded_unsafely(tmp_path: Path) -> None:
    """Control: torch.load(weights_only=False) of the forged file does create the marker."""
    marker = tmp_path / "pwned"
    path = _write_evil("forged-trailer", marker, tmp_path / "evil.pt")
    torch.load(path, weights_only=False)
    assert marker.read_text() == "pwned"


def _subcommands() -> set[str]:
    """The CLI's subcommand names."""
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


_CLI = {
    "sample": ["--n", "2", "--out", "out.png"],
    "traverse": ["--dims", "0", "1", "--out", "out.png"],
    "interpolate": ["--seeds", "1", "2", "--steps", "3", "--out", "out.png"],
    "eval": ["--n", "10", "--device", "cpu", "--json"],
}
_ENTRY_POINTS = ["GAN.load", "fit-resume-path", "fit-resume-auto", *(f"cli-{c}" for c in _CLI)]


@pytest.mark.parametrize("kind", ["forged-trailer", "plain-torch-save"])
@pytest.mark.parametrize("entry", _ENTRY_POINTS)
def test_malicious_checkpoint_is_refused_by_every_entry_point(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    entry: str,
    kind: str,
) -> None:
    """A code-running checkpoint is refused with a one-line error; its code never runs."""
    marker = tmp_path / "pwned"
    folder = tmp_path / "ckpt"
    folder.mkdir()
    evil = _write_evil(kind, marker, folder / "epoch_0002.pt")
    reason = "could run code" if kind == "forged-trailer" else "not a valid mnistgan checkpoint"

    if entry.startswith("cli-"):
        command = entry.removeprefix("cli-")
        if command not in _subcommands():
            pytest.skip(f"the CLI has no {command!r} subcommand yet")
        monkeypatch.chdir(tmp_path)
        status = main([command, str(evil), *_CLI[command]])
        err = capsys.readouterr().err
        assert status != 0
        assert err.count("\n") == 1 and err.startswith("mnistgan: error: "), err
        assert "epoch_0002.pt" in err and reason in err
        assert not (tmp_path / "out.png").exists()
    elif entry == "fit-resume-auto":
        seed_everything(0)
        good = _tiny()
        good.fit(_batches(1), epochs=1, callbacks=[ModelCheckpoint(folder)], progress=False)
        assert (folder / "epoch_0001.pt").exists()
        gan = _tiny()
        callbacks = [ModelCheckpoint(folder)]
        with caplog.at_level(logging.WARNING, logger="mnistgan"):
            gan.fit(_batches(1), epochs=2, callbacks=callbacks, resume="auto", progress=False)
        warned = [r.getMessage() for r in caplog.records if "epoch_0002.pt" in r.getMessage()]
        assert warned and reason in warned[0]
        assert (gan.epoch, gan.global_step) == (2, 2)  # resumed from epoch_0001.pt
    else:
        gan = _tiny()
        before = _snapshot(gan)
        with pytest.raises(CheckpointError) as info:
            if entry == "GAN.load":
                GAN.load(evil)
            else:
                gan.fit(_batches(1), epochs=1, resume=evil, progress=False)
        message = str(info.value)
        assert "\n" not in message and "epoch_0002.pt" in message and reason in message
        assert_same(_snapshot(gan), before)
    assert not marker.exists()


# --------------------------------------------------------------------------- non-finite losses


class _NaNLoss:
    """Wraps a model's GANLoss: D's loss becomes NaN at chosen global steps (once each).

    Records a snapshot of the model at every D-loss call: that is the state before
    the step's updates.
    """

    def __init__(self, gan: GAN, *, at: set[int] | None = None, always: bool = False) -> None:
        self._loss = gan.loss
        self._gan = gan
        self._at = set(at or ())
        self._always = always
        self.calls: list[tuple[int, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loss, name)

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        """The wrapped loss, times NaN at the chosen steps."""
        loss: Tensor = self._loss.d_loss(real, fake)
        step = self._gan.global_step
        self.calls.append((step, _snapshot(self._gan)))
        if self._always or step in self._at:
            self._at.discard(step)
            return loss * math.nan
        return loss


def _poison(gan: GAN, **kwargs: Any) -> _NaNLoss:
    """Install a :class:`_NaNLoss` on ``gan``."""
    wrapper = _NaNLoss(gan, **kwargs)
    gan.loss = cast(Any, wrapper)
    return wrapper


def test_nonfinite_loss_raises_training_error_naming_step_and_checkpoint(tmp_path: Path) -> None:
    """on_nonfinite="raise" (default) names the step, epoch, loss and last good checkpoint."""
    gan = _tiny()
    _poison(gan, at={3})
    first = tmp_path / "epoch_0001.pt"
    with pytest.raises(TrainingError) as info:
        gan.fit(_batches(2), epochs=3, callbacks=[ModelCheckpoint(tmp_path)], progress=False)
    message = str(info.value)
    assert re.search(r"global step 3 \(epoch 1, batch 1", message), message
    assert "loss_d=nan" in message
    assert str(first) in message and 'resume="auto"' in message
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_0001.pt"]
    assert (gan.epoch, gan.global_step) == (1, 3)
    assert all(torch.isfinite(t).all() for t in load_checkpoint(first)["generator"].values())

    bare = _tiny()
    _poison(bare, at={0})
    with pytest.raises(TrainingError, match="No ModelCheckpoint"):
        bare.fit(_batches(1), epochs=1, progress=False)


def test_nonfinite_loss_skip_restores_the_state_before_the_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """on_nonfinite="skip" undoes the bad step exactly, warns, counts it and trains on."""
    gan = _tiny()
    poisoned = _poison(gan, at={3})
    with caplog.at_level(logging.WARNING, logger="mnistgan"):
        history = gan.fit(_batches(2), epochs=3, progress=False, on_nonfinite="skip")
    (bad_index,) = [i for i, (step, _) in enumerate(poisoned.calls) if step == 3][:1]
    before_bad, after_skip = poisoned.calls[bad_index][1], poisoned.calls[bad_index + 1][1]
    assert poisoned.calls[bad_index + 1][0] == 3  # the next step starts where the bad one did
    assert_same(after_skip, before_bad)
    assert (gan.epoch, gan.global_step, len(history.steps)) == (3, 5, 5)
    assert [row["skipped_steps"] for row in history.epochs] == [0.0, 1.0, 0.0]
    assert _all_finite(gan)
    assert any("global step 3" in r.getMessage() for r in caplog.records)


def test_nonfinite_loss_stop_ends_cleanly_with_good_weights(tmp_path: Path) -> None:
    """on_nonfinite="stop" restores the pre-step weights, stops and saves only finite ones."""
    gan = _tiny()
    poisoned = _poison(gan, at={3})
    history = gan.fit(
        _batches(2),
        epochs=3,
        callbacks=[ModelCheckpoint(tmp_path)],
        progress=False,
        on_nonfinite="stop",
    )
    assert gan.stop_training and (gan.epoch, gan.global_step, len(history.steps)) == (2, 3, 3)
    before_bad = next(snap for step, snap in poisoned.calls if step == 3)
    assert_same(_snapshot(gan), before_bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0001.pt", "epoch_0002.pt"]
    saved = load_checkpoint(tmp_path / "epoch_0002.pt")
    assert_same(saved["generator"], before_bad["generator"])


def test_skip_raises_when_every_step_of_an_epoch_fails() -> None:
    """If every step of an epoch is non-finite, skipping cannot help: TrainingError."""
    gan = _tiny()
    _poison(gan, always=True)
    with pytest.raises(TrainingError, match="every step of epoch 0"):
        gan.fit(_batches(2), epochs=2, progress=False, on_nonfinite="skip")
    assert _all_finite(gan) and gan.global_step == 0


class _BreakWeights(Callback):
    """Puts a NaN into G's weights at the end of ``epoch`` (before later callbacks run)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        if epoch == self.epoch:
            with torch.no_grad():
                next(model.generator.parameters()).view(-1)[0] = math.nan


def test_model_checkpoint_refuses_to_write_nonfinite_weights(tmp_path: Path) -> None:
    """ModelCheckpoint raises TrainingError rather than save NaN weights; old files stay."""
    first = tmp_path / "epoch_0001.pt"
    gan = _tiny(ema_decay=None)
    callbacks = [_BreakWeights(epoch=1), ModelCheckpoint(tmp_path)]
    with pytest.raises(TrainingError) as info:
        gan.fit(_batches(1), epochs=3, callbacks=callbacks, progress=False)
    message = str(info.value)
    assert "epoch_0002.pt" in message and "NaN" in message and "generator." in message
    assert str(first) in message
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_0001.pt"]
    load_checkpoint(first)


# --------------------------------------------------------------------------- full disks


class _FullDisk:
    """A file from ``os.fdopen`` whose every write fails with ENOSPC."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, data: Any) -> int:
        """Fail as a full disk does."""
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._real.close()


class _DiskFillsAfter(Callback):
    """From the end of ``epoch`` on (after that epoch's files and checkpoint are written),
    every file written through os.fdopen hits a full disk."""

    def __init__(self, epoch: int, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
        self.epoch, self.monkeypatch, self.folder = epoch, monkeypatch, folder
        self.files: dict[str, bytes] = {}

    def on_checkpoint(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        if epoch != self.epoch:
            return
        # The run's files; not ModelCheckpoint's .lock, which fit removes when it raises.
        self.files = {
            p.name: p.read_bytes()
            for p in self.folder.iterdir()
            if p.is_file() and p.name != ".lock"
        }
        real = os.fdopen
        self.monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FullDisk(real(*a, **k)))


def test_full_disk_during_model_checkpoint_raises_and_keeps_earlier_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC in ModelCheckpoint: CheckpointError naming file and reason; old files load."""
    data = _batches(1)
    full = _DiskFillsAfter(0, monkeypatch, tmp_path)
    gan = _tiny()
    with pytest.raises(CheckpointError) as info:
        gan.fit(data, epochs=3, callbacks=[ModelCheckpoint(tmp_path), full], progress=False)
    monkeypatch.undo()
    message = str(info.value)
    assert str(tmp_path / "epoch_0002.pt") in message and "No space left on device" in message
    assert full.files and {p.name: p.read_bytes() for p in tmp_path.iterdir()} == full.files
    assert load_checkpoint(tmp_path / "epoch_0001.pt")["epoch"] == 1

    resumed = _tiny()  # with space again, the same call finishes the run
    resumed.fit(
        data, epochs=3, callbacks=[ModelCheckpoint(tmp_path)], resume="auto", progress=False
    )
    assert resumed.epoch == 3 and (tmp_path / "epoch_0003.pt").exists()


def test_unwritable_checkpoint_folder_raises_checkpoint_error(tmp_path: Path) -> None:
    """A checkpoint folder that cannot be created raises CheckpointError naming the path."""
    (tmp_path / "blocker").write_text("a file where a folder should be")
    folder = tmp_path / "blocker" / "ckpt"
    with pytest.raises(CheckpointError) as info:
        _tiny().fit(_batches(1), epochs=1, callbacks=[ModelCheckpoint(folder)], progress=False)
    assert str(folder / "epoch_0001.pt") in str(info.value)
    assert "Not a directory" in str(info.value)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_history_writer_write_failures_are_clear_and_keep_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """HistoryWriter: a full disk raises an OSError naming file and reason; old file kept."""
    path = tmp_path / f"history{suffix}"
    full = _DiskFillsAfter(0, monkeypatch, tmp_path)
    with pytest.raises(OSError) as info:
        _tiny().fit(_batches(1), epochs=2, callbacks=[HistoryWriter(path), full], progress=False)
    monkeypatch.undo()
    message = str(info.value)
    assert "HistoryWriter could not write" in message and str(path) in message
    assert "No space left on device" in message and "writable" in message
    assert info.value.errno == errno.ENOSPC
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == full.files
    assert not _leftover_temps(tmp_path)

    blocked = tmp_path / "blocker" / "run" / f"history{suffix}"
    (tmp_path / "blocker").write_text("")
    with pytest.raises(OSError, match=r"HistoryWriter could not write .*Not a directory"):
        _tiny().fit(_batches(1), epochs=1, callbacks=[HistoryWriter(blocked)], progress=False)


def test_sample_grid_write_failure_is_clear(tmp_path: Path) -> None:
    """SampleGrid into a folder that cannot be created raises an OSError naming the file."""
    (tmp_path / "blocker").write_text("")
    grid = SampleGrid(tmp_path / "blocker" / "samples", n=4, nrow=2)
    with pytest.raises(OSError) as info:
        _tiny().fit(_batches(1), epochs=1, callbacks=[grid], progress=False)
    message = str(info.value)
    assert "SampleGrid could not write" in message and "epoch_0001.png" in message
    assert "Not a directory" in message


def test_sample_grid_is_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A grid write that fails halfway leaves the previous picture whole and no temp file."""
    grid = SampleGrid(tmp_path, n=4, nrow=2)
    _tiny().fit(_batches(1), epochs=1, callbacks=[grid], progress=False)
    before = (tmp_path / "epoch_0001.png").read_bytes()
    assert before.startswith(b"\x89PNG")

    def half_written(tensor: torch.Tensor, fp: Any, format: str | None = None) -> None:
        fp.write(b"\x89PNG half a picture")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("torchvision.utils.save_image", half_written)
    with pytest.raises(OSError, match=r"SampleGrid could not write .*No space left"):
        _tiny().fit(_batches(1), epochs=1, callbacks=[SampleGrid(tmp_path, n=4)], progress=False)
    assert (tmp_path / "epoch_0001.png").read_bytes() == before
    assert not _leftover_temps(tmp_path)


# --------------------------------------------------------------------------- fuzzing: batches

_GOOD_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8]
_BAD_DTYPES = [torch.int8, torch.int32, torch.int64, torch.bool, torch.complex64]
_BAD_SHAPES = [
    (3, 1, 28),
    (3, 3, 28, 28),
    (2, 1, 27, 28),
    (2, 28, 29),
    (1, 1, 28, 28, 2),
    (1, 1, 1, 28, 28),
    (2, 784),
    (5,),
    (0,),
    (),
]


@st.composite
def _images(draw: st.DrawFn) -> Tensor:
    """A tensor that is a valid image batch or has one drawn fault (or a few at once)."""
    kinds = ["shape", "empty", "dtype", "nonfinite", "range"]
    faults = {draw(st.sampled_from(["none", *kinds]))}
    if draw(st.integers(0, 4)) == 4:
        faults.add(draw(st.sampled_from(kinds)))
    n = 0 if "empty" in faults else draw(st.integers(1, 3))
    shape = draw(st.sampled_from([(n, 1, 28, 28), (n, 28, 28)]))
    if "shape" in faults:
        shape = draw(st.sampled_from(_BAD_SHAPES))
    dtype = draw(st.sampled_from(_BAD_DTYPES if "dtype" in faults else _GOOD_DTYPES))
    if {"nonfinite", "range"} & faults and not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch.float32  # only floats can hold NaN or values outside [0, 1]
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    base = torch.rand(shape, generator=generator, dtype=torch.float64)
    if "range" in faults:
        base = base * 4 - 1.5  # e.g. after Normalize((0.5,), (0.5,)), or 0-255 floats
    elif draw(st.booleans()):
        base = base.round()  # exactly 0 and 1, the ends of the valid range
    if dtype == torch.bool:
        return base > 0.5
    if not (dtype.is_floating_point or dtype.is_complex):
        return (base.clamp(0, 1) * 100).to(dtype)
    x = base.to(dtype)
    if "nonfinite" in faults and x.numel():
        index = draw(st.integers(0, x.numel() - 1))
        x.view(-1)[index] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return x


@st.composite
def _batch(draw: st.DrawFn) -> Any:
    """A batch as a loader might yield it: a tensor, an (x, y) pair, or something else."""
    x = draw(_images())
    n = x.shape[0] if x.dim() else 1
    labels = torch.randint(0, 10, (n,))
    others: list[Any] = [None, "images", 3, [], [1, 2], [None, x], {"x": x}, x.tolist()]
    others.append((np.zeros((2, 1, 28, 28), np.float32),))
    if draw(st.integers(0, 5)) == 5:  # (hypothesis favours 0)
        return draw(st.sampled_from(others))
    return draw(st.sampled_from([x, x, (x, labels), [x, labels], (x,), (x, "labels")]))


def _expected_error(batch: Any, image_shape: tuple[int, int, int]) -> tuple[type, str] | None:
    """The documented error (class, word of the message) for ``batch``, or None if valid."""
    if isinstance(batch, Tensor):
        x = batch
    elif isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        x = batch[0]
    else:
        return BatchTypeError, "a batch must be a tensor"
    if x.dim() == 3 and image_shape[0] == 1:
        x = x.unsqueeze(1)
    if x.dim() != 4 or tuple(x.shape[1:]) != image_shape:
        return DataError, "shape"
    if x.shape[0] == 0:
        return DataError, "no images"
    if x.dtype != torch.uint8 and not x.dtype.is_floating_point:
        return DataError, "dtype"
    if x.dtype.is_floating_point:
        values = x.double()
        if not bool(torch.isfinite(values).all()):
            return DataError, "NaN"
        if values.min() < 0 or values.max() > 1:
            return DataError, "[0, 1]"
    return None


@pytest.fixture(scope="module")
def fuzz_gan() -> GAN:
    """One tiny GAN shared by the fuzzing tests (state is compared around each call)."""
    return _tiny()


@pytest.mark.parametrize("entry", ["fit", "train_step"])
@given(batch=_batch())
def test_fuzzed_batches_raise_documented_errors_before_any_change(
    fuzz_gan: GAN, entry: str, batch: Any
) -> None:
    """Any batch either trains or raises the documented DataError/BatchTypeError, unchanged."""
    gan = fuzz_gan
    expected = _expected_error(batch, gan.image_shape)
    before, counters = _snapshot(gan), (gan.epoch, gan.global_step, len(gan.history))
    try:
        if entry == "fit":
            gan.fit([batch], epochs=1, device=None, progress=False)
        else:
            gan.train_step(batch)
    except MnistganError as err:
        assert expected is not None, f"a valid batch was refused: {err}"
        error, word = expected
        event(f"{error.__name__}: {word}")
        assert isinstance(err, error) and word in str(err), (error, word, str(err))
        if error is BatchTypeError:
            assert isinstance(err, TypeError)
        assert_same(_snapshot(gan), before)
        assert (gan.epoch, gan.global_step, len(gan.history)) == counters
    else:
        event("trained")
        assert expected is None, f"{expected} was expected, but the batch trained"
    assert _all_finite(gan)


# --------------------------------------------------------------------------- fuzzing: arguments

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=4),
    st.lists(st.integers(-2, 12), max_size=4),
)
_NOT_INT = st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=4), st.just([2]))


@given(
    epochs=st.integers(-(2**70), -1) | st.integers(0, 2) | _NOT_INT,
    callbacks=st.one_of(
        st.lists(st.sampled_from([Callback(), 1, "x", None, print]), max_size=2),
        st.integers(),
        st.none(),
        st.text(max_size=3),
        st.just(Callback()),
    ),
    device=st.sampled_from(["cpu", "auto", None, "cuda", "cuda:1", "mps", "meta", "", "gpu"])
    | _ANY,
    resume=st.sampled_from([None, "auto", "missing.pt", ".", "a\x00b", ""]) | _ANY,
    on_nonfinite=st.sampled_from(["raise", "skip", "stop", "ignore", ""]) | _ANY,
)
def test_fuzzed_fit_arguments_raise_documented_errors(
    fuzz_gan: GAN, epochs: Any, callbacks: Any, device: Any, resume: Any, on_nonfinite: Any
) -> None:
    """fit() with any epochs, callbacks, device, resume, on_nonfinite trains or raises cleanly;
    a bad epochs (not an int >= 0), on_nonfinite (not raise/skip/stop), resume (not a
    path, "auto" or None) or callbacks (not a list of Callbacks) is a ConfigError naming
    the first bad one, checked in that order, before anything changes."""
    gan = fuzz_gan
    before, counters = _snapshot(gan), (gan.epoch, gan.global_step)
    first_bad = None
    if epochs is not None and not (_is_int(epochs) and epochs >= 0):
        first_bad = "epochs"
    elif on_nonfinite not in ("raise", "skip", "stop"):
        first_bad = "on_nonfinite"
    elif resume is not None and not isinstance(resume, str):
        first_bad = "resume"
    elif not isinstance(callbacks, list) or not all(isinstance(c, Callback) for c in callbacks):
        first_bad = "callbacks"
    try:
        gan.fit(
            _batches(1),
            epochs=epochs,
            callbacks=callbacks,
            device=device,
            resume=resume,
            progress=False,
            on_nonfinite=on_nonfinite,
        )
    except MnistganError as err:
        event(f"{type(err).__name__}: {first_bad}")
        assert str(err) and "\n" not in str(err)
        if first_bad is not None:
            assert isinstance(err, ConfigError) and str(err).startswith(first_bad), str(err)
        assert_same(_snapshot(gan), before)
        assert (gan.epoch, gan.global_step) == counters
    else:
        event("trained")
        assert first_bad is None, f"fit() accepted a bad {first_bad}"


@st.composite
def _latents(draw: st.DrawFn, latent_dim: int) -> Any:
    """Latent inputs for generate(): right or wrong shape, dtype, values, or not a tensor."""
    n = draw(st.integers(0, 3))
    shape = draw(
        st.sampled_from(
            [
                (n, latent_dim),
                (n, latent_dim),
                (n, latent_dim + 1),
                (latent_dim,),
                (n, latent_dim, 1),
            ]
        )
    )
    dtype = draw(
        st.sampled_from([torch.float32, torch.float64, torch.int64, torch.bool, torch.complex64])
    )
    z = torch.randn(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
    z = z.to(dtype) if dtype != torch.int64 else z.round().to(dtype)
    if draw(st.booleans()) and z.is_floating_point() and z.numel():
        z.view(-1)[0] = draw(st.sampled_from([math.nan, math.inf, 5.0]))
    return draw(st.sampled_from([z, z, z.tolist(), z.numpy() if dtype != torch.bool else None]))


@pytest.fixture(scope="module")
def fuzz_models() -> dict[str, GAN]:
    """An unconditional and a conditional tiny GAN for the sampling fuzz tests."""
    return {"unconditional": _tiny(), "conditional": _tiny(num_classes=10)}


_LABELS = st.one_of(
    st.none(),
    st.integers(-2, 12),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.lists(st.integers(-2, 12), max_size=5),
    st.lists(st.integers(-(2**70), 2**70), min_size=1, max_size=2),
    st.text(max_size=2),
    st.floats(),
    st.lists(st.integers(0, 9), max_size=5).map(torch.tensor),
    st.lists(st.floats(0, 9), max_size=5).map(torch.tensor),
    st.integers(0, 4).map(lambda n: torch.zeros(n, 2, dtype=torch.long)),
)


def _check_images(images: Tensor, n: int, gan: GAN) -> None:
    """Assert ``images`` is float32 (n, C, H, W) in [0, 1] on the CPU."""
    assert images.shape == (n, *gan.image_shape) and images.dtype == torch.float32
    assert images.device.type == "cpu"
    assert bool(torch.isfinite(images).all()) and bool(((images >= 0) & (images <= 1)).all())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor_labels_ok(labels: Tensor, n: int) -> bool:
    """Integer labels of shape (n,) in [0, 9] (the conditional fuzz model has 10 classes)."""
    if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.is_complex():
        return False
    if labels.dim() != 1 or labels.size(0) != n:
        return False
    return n == 0 or (int(labels.min()) >= 0 and int(labels.max()) <= 9)


def _sample_labels_ok(labels: Any, n: int, conditional: bool) -> bool:
    """Whether sample(n, labels=labels) must accept ``labels``: None; for a conditional
    model one int in [0, 9] for all, ``n`` of them as a non-empty list of ints, or an
    integer tensor of shape (n,) (a 0-d one counts as (1,))."""
    if labels is None:
        return True
    if not conditional or isinstance(labels, bool):
        return False
    if _is_int(labels):
        return 0 <= labels <= 9
    if isinstance(labels, Tensor):
        return _tensor_labels_ok(labels.reshape(-1) if labels.dim() == 0 else labels, n)
    if isinstance(labels, list) and labels and all(_is_int(v) for v in labels):
        return len(labels) == n and all(0 <= v <= 9 for v in labels)
    return False  # text, floats, empty lists (no integer dtype), huge ints


@pytest.mark.parametrize("which", ["unconditional", "conditional"])
@given(
    n=st.integers(0, 5) | st.integers(-2, 5) | _NOT_INT,  # sample(10**12) runs out of memory
    seed=st.none() | st.integers(0, 99) | st.integers(-(2**64), 2**65) | _ANY,
    labels=st.none() | st.integers(0, 9) | _LABELS,
)
def test_fuzzed_sample_arguments(
    fuzz_models: dict[str, GAN], which: str, n: Any, seed: Any, labels: Any
) -> None:
    """sample(n, seed=, labels=) returns n [0, 1] images exactly when n is an int >= 0,
    seed None or an int in [-2**63, 2**64), and the labels fit; otherwise ConfigError
    (n, seed) or DataError (labels), and the model is unchanged either way."""
    gan = fuzz_models[which]
    n_ok = _is_int(n) and n >= 0
    seed_ok = seed is None or (_is_int(seed) and -(2**63) <= seed < 2**64)
    labels_ok = _sample_labels_ok(labels, n if n_ok else 0, which == "conditional")
    expected = None if n_ok and seed_ok and labels_ok else ConfigError
    if n_ok and seed_ok and not labels_ok:
        expected = DataError
    before = _snapshot(gan)
    try:
        images = gan.sample(n, seed=seed, labels=labels)
    except (ConfigError, DataError) as err:
        event(f"{type(err).__name__}")
        assert expected is not None, f"valid arguments were refused: {err}"
        assert isinstance(err, expected), (expected, err)
        assert str(err) and "\n" not in str(err)
    else:
        event("sampled")
        assert expected is None, f"{expected.__name__} expected, but sample() returned"
        _check_images(images, n, gan)
        if seed is not None:
            assert torch.equal(images, gan.sample(n, seed=seed, labels=labels))
    assert_same(_snapshot(gan), before)


def _z_ok(z: Any, latent_dim: int) -> bool:
    """A (N, latent_dim) real tensor whose float values are finite."""
    if not isinstance(z, Tensor) or z.dim() != 2 or z.size(1) != latent_dim or z.is_complex():
        return False
    return not z.is_floating_point() or bool(torch.isfinite(z).all())


@pytest.mark.parametrize("which", ["unconditional", "conditional"])
@given(
    data=st.data(),
    batch_size=st.integers(1, 3) | st.integers(-1, 3) | _ANY,
    labels=st.none() | _LABELS,
)
def test_fuzzed_generate_arguments(
    fuzz_models: dict[str, GAN], which: str, data: st.DataObject, batch_size: Any, labels: Any
) -> None:
    """generate(z, labels, batch_size=) returns N [0, 1] images exactly when z is a finite
    real (N, latent_dim) tensor, batch_size an int >= 1 and labels None or (for a
    conditional model) an integer tensor (N,) in range; otherwise DataError (z, labels) or
    ConfigError (batch_size), and the model is unchanged either way."""
    gan = fuzz_models[which]
    z = data.draw(_latents(gan.latent_dim))
    conditional = which == "conditional"
    expected: type | None = None
    if not _z_ok(z, gan.latent_dim):
        expected = DataError
    elif not (_is_int(batch_size) and batch_size >= 1):
        expected = ConfigError
    elif labels is not None and not (
        conditional and isinstance(labels, Tensor) and _tensor_labels_ok(labels, z.size(0))
    ):
        expected = DataError
    before = _snapshot(gan)
    try:
        images = gan.generate(z, labels, batch_size=batch_size)
    except (ConfigError, DataError) as err:
        event(f"{type(err).__name__}")
        assert expected is not None, f"valid arguments were refused: {err}"
        assert isinstance(err, expected), (expected, err)
        assert str(err) and "\n" not in str(err)
    else:
        event("generated")
        assert expected is None, f"{expected.__name__} expected, but generate() returned"
        assert isinstance(z, Tensor)
        _check_images(images, z.shape[0], gan)
    assert_same(_snapshot(gan), before)


_FIELDS = [f.name for f in dataclasses.fields(GANConfig)]
_RUNTIME = ["precision", "compile", "fused", "channels_last", "joint_d_pass"]
_VALUES = st.one_of(  # no huge ints: GAN(latent_dim=2**60) runs out of memory, as it should
    _NOT_INT,
    st.integers(-3, 40),
    st.lists(st.integers(-2, 12), max_size=4),
    st.floats(1e-6, 0.99),
    st.sampled_from(["bce", "hinge", "wgan-gp", "tanh", "sigmoid", "none", "acgan", "32", "bf16"]),
    st.tuples(st.integers(-1, 12), st.integers(-1, 12), st.integers(-1, 12)),
    st.tuples(st.floats(), st.floats()),
    st.fixed_dictionaries(
        {},
        optional={
            "hidden": st.tuples(st.integers(-1, 16)) | st.text(max_size=2),
            "bogus": st.integers(),
        },
    ),
    st.fixed_dictionaries(
        {"builder": st.sampled_from(["mlp_generator", "mlp_discriminator", "x"])}
    ),
)


def _listed(value: Any) -> Any:
    """``value`` with tuples as lists, recursively (configs turn some lists into tuples)."""
    if isinstance(value, (list, tuple)):
        return [_listed(v) for v in value]
    return value


@given(
    field=st.sampled_from([*_FIELDS, *_RUNTIME, "learning_rate"]),
    value=_VALUES,
    via=st.sampled_from(["from_preset", "constructor"]),
)
@example(field="latent_dim", value=8, via="from_preset")
@example(field="lr_g", value=0.01, via="constructor")
@example(field="loss", value="hinge", via="from_preset")
@example(field="image_shape", value=[1, 16, 16], via="constructor")
@example(field="precision", value="bf16", via="constructor")
@example(field="generator", value={"hidden": (8,)}, via="from_preset")
def test_fuzzed_config_overrides_build_or_raise_config_error(
    field: str, value: Any, via: str
) -> None:
    """GAN.from_preset/GAN(config, **override) raises ConfigError, or builds a working model
    that carries the override (nothing is accepted and then ignored)."""
    tiny = {"generator": {"hidden": (16,)}, "discriminator": {"hidden": (16,)}}
    try:
        if via == "from_preset":
            gan = GAN.from_preset("vanilla", **{**tiny, field: value})
        else:
            gan = GAN(get_preset("vanilla", **tiny), **{field: value})
    except ConfigError as err:
        assert str(err) and "\n" not in str(err)
        return
    _check_images(gan.sample(2, seed=0), 2, gan)
    if field in ("generator", "discriminator"):
        if via == "constructor":  # GAN(config, generator=...) takes a module, not a mapping
            return
        spec = getattr(gan.config, field)  # a mapping merges into the builder's kwargs
        kwargs = value.get("kwargs", {}) if "builder" in value else value
        assert spec.builder == value.get("builder", spec.builder)
        assert all(_listed(spec.kwargs[k]) == _listed(v) for k, v in kwargs.items())
    elif field in _FIELDS:
        assert _listed(getattr(gan.config, field)) == _listed(value)
    elif field == "precision":
        assert gan.precision == value
    elif field == "compile":
        assert gan.compile == bool(value)
    elif field in ("channels_last", "joint_d_pass") and isinstance(value, bool):
        assert getattr(gan, field) == value


def test_preset_names_must_be_strings() -> None:
    """GAN.from_preset with a non-str name raises ConfigError (not an unhashable TypeError)."""
    with pytest.raises(ConfigError, match="preset name"):
        GAN.from_preset(cast(Any, ["vanilla"]))
