"""Tests of distributed (DDP) training on the CPU: gloo processes against one process.

The multi-process tests start two processes once per module (``torch.multiprocessing``
with gloo), which train a tiny "vanilla" GAN on a few hundred real MNIST images and
save what they ended with; the tests then compare the ranks with each other, with a
single-process run on the global batch and with a resumed run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from mnistgan import (
    DCGAN,
    GAN,
    ConfigError,
    HistoryWriter,
    ModelCheckpoint,
    ProgressBar,
    SampleGrid,
)
from mnistgan.data import InMemoryLoader, load_tensors
from mnistgan.device import seed_everything
from mnistgan.presets import GANConfig, get_preset
from mnistgan.training.callbacks import Callback
from mnistgan.training.distributed import DistributedContext, is_main_process

_WORLD, _BATCH, _IMAGES, _EPOCHS = 2, 16, 200, 2  # 200 = 6 full per-rank batches + 4 padded
_SEED = 3  # seed of the loaders' permutations


def _config() -> GANConfig:
    """The "vanilla" preset (no BatchNorm) shrunk to 16 hidden units, with an EMA."""
    return get_preset(
        "vanilla", generator={"hidden": (16,)}, discriminator={"hidden": (16,)}, ema_decay=0.9
    )


class _PreDrawn(GAN):
    """A GAN whose training latents come from one fixed stream sliced by rank.

    Each call draws ``n * world_size`` vectors and keeps this rank's rows, so one process
    training on the global batch (``world_size`` 1, ``n`` the global batch) gets exactly
    the vectors of all ranks put together.
    """

    def __init__(self, config: GANConfig) -> None:
        super().__init__(config)
        self._stream = torch.Generator().manual_seed(1234)

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        if generator is not None:
            return super().sample_latent(n, generator=generator)
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        rows = torch.randn(n * world, self.latent_dim, generator=self._stream)
        return rows[rank * n : (rank + 1) * n].to(self.device)


class _Concatenated:
    """One-process loader whose batches are the ranks' shards side by side, batch by batch."""

    def __init__(self, images: Tensor) -> None:
        self.shards = [
            InMemoryLoader(images, batch_size=_BATCH, seed=_SEED, rank=r, world_size=_WORLD)
            for r in range(_WORLD)
        ]

    def set_epoch(self, epoch: int) -> None:
        for shard in self.shards:
            shard.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.shards[0])

    def __iter__(self) -> Iterator[Tensor]:
        for parts in zip(*self.shards, strict=True):
            yield torch.cat(parts)  # (WORLD * BATCH, 1, 28, 28)


class _StopAt(Callback):
    """Stop after ``step`` steps, on rank 1 only: every rank must stop with it."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        if not model.is_main_process and model.global_step >= self.step:
            model.stop_training = True


_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "training.rst"


def _guide_override() -> type[GAN]:
    """The ``SmoothedGAN`` of the training guide, executed from the guide's own text."""
    text = _GUIDE.read_text()
    section = text[text.index("Overriding the step") :]
    lines = section[section.index(">>> import torch") :].splitlines()
    code = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(">>> gan = SmoothedGAN"):
            break
        if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
            code.append(stripped[4:])
    namespace: dict[str, Any] = {}
    exec("\n".join(code), namespace)
    smoothed: type[GAN] = namespace["SmoothedGAN"]
    return smoothed


def _smoothed_predrawn() -> type[GAN]:
    """The guide's override with :class:`_PreDrawn`'s rank-sliced latents."""
    return type("SmoothedPreDrawn", (_guide_override(), _PreDrawn), {})


def _weights(gan: GAN) -> dict[str, Any]:
    """G, D and EMA state dicts plus the counters, for saving and comparing."""
    assert gan.ema is not None
    return {
        "generator": gan.generator.state_dict(),
        "discriminator": gan.discriminator.state_dict(),
        "ema": gan.ema.state_dict(),
        "global_step": gan.global_step,
        "steps": gan.history.steps,
    }


def _join(rank: int, port: int) -> None:
    """Set a spawned rank up as pytest's parent runs: warnings are errors, one thread, and
    the torchrun-style environment for a two-process gloo group on this machine."""
    warnings.simplefilter("error")
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(_WORLD),
    )


def _worker(rank: int, port: int, tmp: Path, images: Tensor) -> None:
    """One rank of the two-process run: every phase of the module's multi-process tests."""
    _join(rank, port)
    result: dict[str, Any] = {}
    try:
        # 1. Pre-drawn latents; "auto" detects the torchrun-style environment.
        seed_everything(0)
        gan = _PreDrawn(_config())
        out = tmp / f"rank{rank}"
        callbacks = [
            ModelCheckpoint(out / "checkpoints"),
            SampleGrid(out / "samples", n=4),
            HistoryWriter(out / "history.json"),
        ]
        loader = InMemoryLoader(images, batch_size=_BATCH, seed=_SEED)
        gan.fit(loader, epochs=_EPOCHS, callbacks=callbacks, device="cpu", progress=False)
        result["predrawn"] = _weights(gan)
        result["is_main"] = gan.is_main_process

        # 2. Global random streams: a straight run, and one split by a checkpoint.
        ckpt = tmp / "resume"
        seed_everything(0)
        straight = GAN(_config())
        straight.fit(loader, epochs=2, device="cpu", strategy="ddp", progress=False)
        result["straight"] = _weights(straight)
        seed_everything(0)
        first = GAN(_config())
        first.fit(loader, epochs=1, callbacks=[ModelCheckpoint(ckpt)], progress=False)
        seed_everything(99)  # the resumed run must not depend on the seed it starts with
        resumed = GAN(_config())
        resumed.fit(
            loader, epochs=2, callbacks=[ModelCheckpoint(ckpt)], resume="auto", progress=False
        )
        result["resumed"] = _weights(resumed)

        # 3. A stop set on rank 1 only stops both ranks after the same step.
        stopping = GAN(_config())
        stopping.fit(loader, epochs=2, callbacks=[_StopAt(3)], progress=False)
        result["stopped_at"] = stopping.global_step

        # 4. The training guide's train_step override, through the public seams.
        seed_everything(0)
        override = _smoothed_predrawn()(_config())
        override.fit(loader, epochs=_EPOCHS, device="cpu", progress=False)
        result["override"] = _weights(override)
    finally:
        dist.destroy_process_group()
    torch.save(result, tmp / f"result{rank}.pt")


class _BufferSpy(Callback):
    """Keep copies of G's, D's and the EMA's buffers after the epoch's last step (before
    fit aligns them) and at the epoch's end (after)."""

    def __init__(self) -> None:
        self.before: dict[str, Tensor] = {}
        self.after: dict[str, Tensor] = {}

    @staticmethod
    def _buffers(model: GAN) -> dict[str, Tensor]:
        nets = {"generator": model.generator, "discriminator": model.discriminator}
        if model.ema is not None:
            nets["ema"] = model.ema
        return {
            f"{name}.{key}": value.detach().clone().contiguous()
            for name, net in nets.items()
            for key, value in net.named_buffers()
        }

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        self.before = self._buffers(model)

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        self.after = self._buffers(model)


def _batchnorm_worker(rank: int, port: int, tmp: Path, images: Tensor) -> None:
    """One rank of DCGAN() (BatchNorm in G and D) under DDP for one epoch, then a
    sync_batchnorm=True fit on the CPU, which must refuse."""
    _join(rank, port)
    result: dict[str, Any] = {}
    try:
        seed_everything(0)
        gan = DCGAN()
        spy = _BufferSpy()
        loader = InMemoryLoader(images, batch_size=_BATCH, seed=_SEED)
        gan.fit(loader, epochs=1, callbacks=[spy], device="cpu", progress=False)
        result["before"], result["after"] = spy.before, spy.after
        result["params"] = {
            **{f"generator.{k}": v for k, v in gan.generator.named_parameters()},
            **{f"discriminator.{k}": v for k, v in gan.discriminator.named_parameters()},
        }
        result["params"] = {k: v.detach().contiguous() for k, v in result["params"].items()}
        try:
            DCGAN().fit(loader, epochs=1, device="cpu", progress=False, sync_batchnorm=True)
        except ConfigError as err:
            result["sync_error"] = str(err)
    finally:
        dist.destroy_process_group()
    torch.save(result, tmp / f"bn{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def images(mnist_root: Path) -> Tensor:
    """The first real MNIST test images, uint8 (N, 1, 28, 28)."""
    x, _ = load_tensors("mnist", root=mnist_root, train=False, limit=_IMAGES)
    return x


@pytest.fixture(scope="module")
def ddp_run(images: Tensor, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run :func:`_worker` on two gloo processes; the folder and each rank's results."""
    tmp = tmp_path_factory.mktemp("ddp")
    context = mp.spawn(_worker, args=(_free_port(), tmp, images), nprocs=_WORLD, join=False)
    deadline = time.monotonic() + 600  # a deadlock between the ranks fails, never hangs
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two DDP processes did not finish within 10 minutes")
    results = [torch.load(tmp / f"result{r}.pt", weights_only=True) for r in range(_WORLD)]
    return {"tmp": tmp, "ranks": results}


@pytest.fixture(scope="module")
def ddp_batchnorm_run(images: Tensor, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Run :func:`_batchnorm_worker` on two gloo processes (96 real images: 3 steps of
    16 per rank); each rank's results."""
    tmp = tmp_path_factory.mktemp("ddp-bn")
    context = mp.spawn(
        _batchnorm_worker, args=(_free_port(), tmp, images[:96]), nprocs=_WORLD, join=False
    )
    deadline = time.monotonic() + 600
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two DDP processes did not finish within 10 minutes")
    return [torch.load(tmp / f"bn{r}.pt", weights_only=True) for r in range(_WORLD)]


def _assert_equal(a: Any, b: Any, where: str, atol: float = 0.0) -> None:
    """Nested dicts/lists of tensors and numbers are equal (tensors within ``atol``)."""
    if isinstance(a, Tensor):
        if atol == 0.0:
            assert torch.equal(a, b), f"{where} differs"
        else:
            assert torch.allclose(a, b, rtol=0.0, atol=atol), (
                f"{where} differs by {(a - b).abs().max().item():.3g}"
            )
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_equal(a[key], b[key], f"{where}[{key!r}]", atol)
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_equal(x, y, f"{where}[{i}]", atol)
    elif isinstance(a, float) and atol:
        assert abs(a - b) <= 10 * atol, f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# --------------------------------------------------------------------------- two processes


def test_ddp_ranks_end_with_identical_weights(ddp_run: dict[str, Any]) -> None:
    """After DDP training, G, D, EMA and the logged history are bit-identical on both ranks."""
    rank0, rank1 = ddp_run["ranks"]
    assert rank0["is_main"] and not rank1["is_main"]
    _assert_equal(rank0["predrawn"], rank1["predrawn"], "predrawn")
    _assert_equal(rank0["straight"], rank1["straight"], "straight")


def test_ddp_equals_one_process_on_the_global_batch(
    ddp_run: dict[str, Any], images: Tensor
) -> None:
    """Two ranks of batch B end where one process with batch 2B and the same noise does."""
    seed_everything(0)
    single = _PreDrawn(_config())
    single.fit(_Concatenated(images), epochs=_EPOCHS, strategy="single", progress=False)
    expected = _weights(single)
    got = ddp_run["ranks"][0]["predrawn"]
    assert got["global_step"] == expected["global_step"] == _EPOCHS * 7
    _assert_equal(got, expected, "ddp vs single", atol=1e-6)


def test_guide_override_trains_in_sync_under_ddp(ddp_run: dict[str, Any], images: Tensor) -> None:
    """The training guide's train_step override ends with identical G, D and EMA on both
    ranks, equal to one process on the global batch (it goes through the public seams)."""
    rank0, rank1 = ddp_run["ranks"]
    _assert_equal(rank0["override"], rank1["override"], "override ranks")
    seed_everything(0)
    single = _smoothed_predrawn()(_config())
    single.fit(_Concatenated(images), epochs=_EPOCHS, strategy="single", progress=False)
    expected = _weights(single)
    assert rank0["override"]["global_step"] == expected["global_step"] == _EPOCHS * 7
    _assert_equal(rank0["override"], expected, "override ddp vs single", atol=1e-6)
    seed_everything(0)
    fresh = _weights(_smoothed_predrawn()(_config()))
    for net in ("generator", "discriminator"):  # and it trained
        assert any(not torch.equal(fresh[net][k], expected[net][k]) for k in expected[net]), net


def test_ddp_writes_files_from_rank_zero_only(ddp_run: dict[str, Any]) -> None:
    """Checkpoints, sample grids and history files come from rank 0; rank 1 writes nothing."""
    tmp: Path = ddp_run["tmp"]
    assert not (tmp / "rank1").exists()
    out = tmp / "rank0"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "epoch_0001.pt",
        "epoch_0002.pt",
    ]
    assert (out / "samples" / "epoch_0002.png").is_file()
    history = json.loads((out / "history.json").read_text())
    assert [row["images"] for row in history["epochs"]] == [_IMAGES] * _EPOCHS


def test_ddp_checkpoint_holds_each_ranks_random_state(ddp_run: dict[str, Any]) -> None:
    """A DDP checkpoint carries one distinct RNG state per rank (ranks draw different noise)."""
    state = torch.load(ddp_run["tmp"] / "resume" / "epoch_0001.pt", weights_only=True)
    per_rank = state["rng_ranks"]
    assert len(per_rank) == _WORLD
    assert not torch.equal(per_rank[0]["torch"], per_rank[1]["torch"])


def test_ddp_resume_continues_exactly(ddp_run: dict[str, Any]) -> None:
    """1 DDP epoch, checkpoint, resume to 2 equals 2 straight DDP epochs on every rank."""
    for rank, result in enumerate(ddp_run["ranks"]):
        _assert_equal(result["resumed"], result["straight"], f"rank {rank}")


def test_ddp_stop_on_one_rank_stops_all(ddp_run: dict[str, Any]) -> None:
    """stop_training set by a callback on rank 1 only ends both ranks after the same step."""
    assert [r["stopped_at"] for r in ddp_run["ranks"]] == [3, 3]


@pytest.mark.slow
def test_cli_train_under_torchrun(tmp_path: Path, mnist_root: Path) -> None:
    """`torchrun --nproc_per_node 2 -m mnistgan train` trains; rank 0 alone writes and prints."""
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "mnistgan", "train", "--preset", "vanilla", "--epochs", "1", "--limit", "256",
        "--device", "cpu", "--out", str(out), "--quiet",
    ]  # fmt: skip
    env = {
        **os.environ,
        "MNISTGAN_DATA_ROOT": str(mnist_root),
        "OMP_NUM_THREADS": "1",
        "PYTHONWARNINGS": "error",  # as pytest does here
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("trained vanilla for 1 epochs") == 1, done.stdout
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"][0]["images"] == 256
    assert len(history["steps"]) == 2  # 128 images per rank, the preset's batch of 64
    assert (out / "checkpoints" / "epoch_0001.pt").is_file()
    assert "rng_ranks" in torch.load(out / "checkpoints" / "epoch_0001.pt", weights_only=True)


# --------------------------------------------------------------------------- one process


@pytest.mark.slow  # two processes importing torch and training DCGAN(): ~50 s on a busy CPU
def test_ddp_default_model_aligns_batchnorm_buffers_at_epoch_end(
    ddp_batchnorm_run: list[Any],
) -> None:
    """DCGAN() under DDP: after the last step each rank's BatchNorm statistics are its
    own (they saw different images); at the epoch's end every buffer (G, D and the EMA's)
    is rank 0's on both ranks, and the weights are identical."""
    rank0, rank1 = ddp_batchnorm_run
    running = [k for k in rank0["before"] if k.endswith("running_mean")]
    assert any(k.startswith("generator.") for k in running)
    assert any(k.startswith("discriminator.") for k in running)
    differing = [k for k in running if not torch.equal(rank0["before"][k], rank1["before"][k])]
    assert differing, "the ranks' BatchNorm statistics never differed: nothing was tested"
    _assert_equal(rank0["after"], rank1["after"], "buffers at epoch end")
    _assert_equal(rank0["after"], rank0["before"], "rank 0's buffers")
    _assert_equal(rank0["params"], rank1["params"], "weights")


@pytest.mark.slow  # shares the two-process run above
def test_ddp_sync_batchnorm_on_cpu_is_refused_clearly(ddp_batchnorm_run: list[Any]) -> None:
    """fit(sync_batchnorm=True) under DDP on the CPU raises ConfigError on every rank,
    saying it needs CUDA and to pass sync_batchnorm=False."""
    for rank in ddp_batchnorm_run:
        message = rank.get("sync_error", "")
        assert "sync_batchnorm=True needs CUDA" in message, message
        assert "pass sync_batchnorm=False" in message


def test_in_memory_shards_split_each_epoch_evenly() -> None:
    """Shards of one permutation are disjoint, cover it, and have equal lengths (pad/drop)."""
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    loader = InMemoryLoader(images, batch_size=2, seed=5)
    full = loader.permutation(4).tolist()
    shards = [loader.shard(r, 3).permutation(4).tolist() for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    padded = full + full[:2]  # padded with its own first two images
    assert sorted(i for s in shards for i in s) == sorted(padded)
    assert [len(loader.shard(r, 3)) for r in range(3)] == [2, 2, 2]
    dropped = InMemoryLoader(images, batch_size=2, seed=5, drop_last=True)
    parts = [dropped.shard(r, 3).permutation(4).tolist() for r in range(3)]
    assert sorted(i for p in parts for i in p) == sorted(full[:9])  # the tail is dropped
    assert len(dropped.shard(0, 3)) == 1
    with pytest.raises(ConfigError, match="rank must be in"):
        loader.shard(3, 3)


def test_shard_loader_refuses_an_unsharded_dataloader() -> None:
    """Under DDP a DataLoader without a DistributedSampler is refused with the fix named."""
    ctx = DistributedContext(1, 1, 2, torch.device("cpu"), "gloo")
    dataset = TensorDataset(torch.rand(8, 1, 28, 28))
    with pytest.raises(ConfigError, match="DistributedSampler"):
        ctx.shard_loader(DataLoader(dataset, batch_size=2, shuffle=True))
    with pytest.raises(ConfigError, match="num_replicas=3"):
        sampler = DistributedSampler(dataset, num_replicas=3, rank=1)
        ctx.shard_loader(DataLoader(dataset, batch_size=2, sampler=sampler))
    sampler = DistributedSampler(dataset, num_replicas=2, rank=1)
    sharded: Any = ctx.shard_loader(DataLoader(dataset, batch_size=2, sampler=sampler))
    sharded.set_epoch(7)
    assert sampler.epoch == 7 and len(sharded) == 2


def test_shard_loader_shards_an_in_memory_loader_natively() -> None:
    """An unsharded InMemoryLoader becomes this rank's shard; a wrongly sharded one is refused."""
    ctx = DistributedContext(1, 1, 2, torch.device("cpu"), "gloo")
    loader = InMemoryLoader(torch.zeros(6, 1, 2, 2, dtype=torch.uint8), batch_size=2)
    shard: Any = ctx.shard_loader(loader)
    assert (shard.rank, shard.world_size, len(shard)) == (1, 2, 2)
    with pytest.raises(ConfigError, match="rank 0 of 3"):
        ctx.shard_loader(loader.shard(0, 3))


def test_side_effect_callbacks_run_on_rank_zero_only() -> None:
    """File and terminal callbacks are main-process-only; user callbacks run on every rank."""
    callbacks = [ModelCheckpoint("c"), SampleGrid("s"), HistoryWriter("h.json"), ProgressBar()]
    callbacks.append(_StopAt(1))
    rank1 = DistributedContext(1, 1, 2, torch.device("cpu"), "gloo")
    rank0 = DistributedContext(0, 0, 2, torch.device("cpu"), "gloo")
    assert rank1.active_callbacks(callbacks) == callbacks[-1:]
    assert rank0.active_callbacks(callbacks) == callbacks


def test_strategy_is_checked_and_single_process_by_default() -> None:
    """Unknown strategies and "ddp" outside torchrun raise; "auto" trains in one process."""
    gan = GAN(_config())
    batches = [torch.rand(4, 1, 28, 28)]
    with pytest.raises(ConfigError, match="strategy must be one of"):
        gan.fit(batches, epochs=1, progress=False, strategy="fsdp")  # type: ignore[arg-type]
    if "RANK" not in os.environ:
        with pytest.raises(ConfigError, match="torchrun"):
            gan.fit(batches, epochs=1, progress=False, strategy="ddp")
    gan.fit(batches, epochs=1, progress=False)
    assert gan.global_step == 1 and is_main_process() and "rng_ranks" not in gan.state_dict()


def test_bf16_training_on_cpu_changes_weights_with_finite_losses() -> None:
    """precision="bf16" on the CPU trains: finite losses and weights that move."""
    seed_everything(0)
    gan = GAN(_config(), precision="bf16")
    before = [p.detach().clone() for p in gan.generator.parameters()]
    history = gan.fit([torch.rand(8, 1, 28, 28)] * 3, epochs=1, device="cpu", progress=False)
    assert all(torch.isfinite(torch.tensor(history["loss_d"] + history["loss_g"])))
    after = list(gan.generator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
