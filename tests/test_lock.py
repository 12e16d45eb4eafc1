"""One run, one writer: RunLock, ModelCheckpoint's hold on its folder and `mnistgan train`'s."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch

from mnistgan import GAN, Callback, FolderInUseError, ModelCheckpoint, RunLock
from mnistgan.training.lock import _process_start

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


@contextmanager
def _holder(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """Another live process that holds ``folder`` until the block ends."""
    code = (
        "import sys, time\n"
        "from mnistgan.training.lock import RunLock\n"
        "RunLock(sys.argv[1]).acquire()\n"
        "print('HELD', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _tiny_gan() -> GAN:
    return GAN.from_preset("vanilla", generator={"hidden": (8,)}, discriminator={"hidden": (8,)})


def test_lock_held_by_another_live_process_is_refused_naming_its_pid(tmp_path: Path) -> None:
    """A folder held by a running process is refused, by RunLock and by fit's ModelCheckpoint,
    with that process's PID in the message and before any training step."""
    with _holder(tmp_path) as proc:
        with pytest.raises(FolderInUseError, match=f"process {proc.pid} on host"):
            RunLock(tmp_path).acquire()
        gan = _tiny_gan()
        with pytest.raises(FolderInUseError, match=str(proc.pid)):
            gan.fit(
                [torch.rand(4, 1, 28, 28)],
                epochs=1,
                callbacks=[ModelCheckpoint(tmp_path)],
                progress=False,
            )
        assert gan.global_step == 0
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == proc.pid
    assert not list(tmp_path.glob("epoch_*.pt"))


def test_stale_lock_of_a_dead_process_is_taken_over(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A lock whose process has exited is taken over, with a log line naming it."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {"pid": dead.pid, "host": socket.gethostname(), "since": time.time(), "token": "x"}
    (tmp_path / ".lock").write_text(json.dumps(stale))
    with caplog.at_level(logging.WARNING, logger="mnistgan.training.lock"):
        lock = RunLock(tmp_path).acquire()
    assert lock.held and lock.holder()["pid"] == os.getpid()  # type: ignore[index]
    assert any(f"process {dead.pid}" in r.getMessage() for r in caplog.records)
    lock.release()
    assert not (tmp_path / ".lock").exists()


@pytest.mark.skipif(_process_start(os.getpid()) is None, reason="needs /proc start times")
def test_lock_of_a_recycled_pid_is_stale(tmp_path: Path) -> None:
    """A lock naming a live PID whose process started at another time (a reused PID) is stale."""
    reused = {"pid": os.getpid(), "host": socket.gethostname(), "start": "1", "token": "x"}
    (tmp_path / ".lock").write_text(json.dumps(reused))
    with RunLock(tmp_path) as lock:
        assert lock.holder()["token"] != "x"  # type: ignore[index]


def test_lock_of_another_host_is_refused(tmp_path: Path) -> None:
    """A lock from another host cannot be checked from here, so it is refused."""
    other = {"pid": 1, "host": "elsewhere.example", "token": "x"}
    (tmp_path / ".lock").write_text(json.dumps(other))
    with pytest.raises(FolderInUseError, match=r"elsewhere\.example"):
        RunLock(tmp_path).acquire()


def test_model_checkpoint_releases_the_folder_on_exception(tmp_path: Path) -> None:
    """A fit that raises gives the folder back; the next fit into it runs."""

    class Boom(Callback):
        def on_batch_end(self, model: Any, batch_index: int, logs: Any) -> None:
            assert (tmp_path / ".lock").exists()
            raise RuntimeError("boom")

    gan = _tiny_gan()
    batches = [torch.rand(4, 1, 28, 28) for _ in range(2)]
    with pytest.raises(RuntimeError, match="boom"):
        gan.fit(batches, epochs=1, callbacks=[ModelCheckpoint(tmp_path), Boom()], progress=False)
    assert not (tmp_path / ".lock").exists()
    gan.fit(batches, epochs=1, callbacks=[ModelCheckpoint(tmp_path)], progress=False)
    assert not (tmp_path / ".lock").exists() and (tmp_path / "epoch_0001.pt").exists()


def test_release_never_removes_a_newer_holders_lock(tmp_path: Path) -> None:
    """Releasing after the lock was taken over by someone else leaves their lock alone."""
    lock = RunLock(tmp_path).acquire()
    newer = {"pid": 1, "host": "elsewhere.example", "token": "newer"}
    (tmp_path / ".lock").write_text(json.dumps(newer))
    lock.release()
    assert json.loads((tmp_path / ".lock").read_text())["token"] == "newer"


def _train_cmd(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mnistgan",
        "train",
        "--preset",
        "vanilla",
        "--limit",
        "256",
        "--device",
        "cpu",
        "--quiet",
        "--no-monitor",
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.slow  # three CLI processes: about two minutes on a busy 2-core machine
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_two_concurrent_trains_on_one_folder(tmp_path: Path, mnist_root: Path) -> None:
    """A second `mnistgan train` on a folder in use exits 1 naming the holder's PID and leaves
    its files alone; after kill -9 of the holder, `--resume auto` takes the folder over."""
    out = tmp_path / "run"
    env = {**_env(), "MNISTGAN_DATA_ROOT": str(mnist_root)}
    # Epochs of 256 images take milliseconds: enough of them that the first run is still
    # going when the second has started and ended, and wait for any epoch's checkpoint
    # (rotation may already have removed the first one when the loop looks).
    first = subprocess.Popen(_train_cmd(out, "--epochs", "1000000"), env=env, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "checkpoints").glob("epoch_*.pt")):
            assert first.poll() is None and time.monotonic() < deadline, "first run did not start"
            time.sleep(0.2)
        config = (out / "config.json").read_bytes()
        second = subprocess.run(
            _train_cmd(out, "--epochs", "1", "--preset", "mlp"),
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
        assert second.returncode == 1, second.stderr
        assert f"in use by process {first.pid}" in second.stderr
        assert first.poll() is None, "the first run must go on"
        assert (out / "config.json").read_bytes() == config
        assert json.loads(config)["preset"] == "vanilla"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert json.loads((out / ".lock").read_text())["pid"] == first.pid  # left by the kill
    done = len(list((out / "checkpoints").glob("epoch_*.pt")))
    resumed = subprocess.run(
        [*_train_cmd(out, "--epochs", "1"), "--resume", "auto"],
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.count("taking over") == 2  # the run folder and the checkpoint folder
    assert not (out / ".lock").exists() and not (out / "checkpoints" / ".lock").exists()
    assert done >= 1
