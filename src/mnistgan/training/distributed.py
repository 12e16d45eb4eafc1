"""Distributed data-parallel training: several processes, one model, launched by ``torchrun``.

``GAN.fit(loader, strategy="ddp")`` (or the default ``strategy="auto"`` inside a
``torchrun`` launch) trains one copy of the model per process. Each process works on
its own share of every batch and the processes average their gradients, so the
result is that of one process training on the global batch (every process's batch
put together), up to float rounding, when the networks have no BatchNorm. This module
holds the machinery:

* :func:`init_distributed` joins (or starts) the process group from the environment
  ``torchrun`` sets and pins the process to its device: ``cuda:LOCAL_RANK`` with the
  ``nccl`` backend, or the CPU with ``gloo``.
* :class:`DistributedContext` knows the process's rank and shards the data: an
  :class:`~mnistgan.data.InMemoryLoader` natively, a ``DataLoader`` through its
  :class:`~torch.utils.data.distributed.DistributedSampler`.
* Inside ``fit``, both networks are wrapped with
  :class:`~torch.nn.parallel.DistributedDataParallel`. The generator step scores the
  fakes with the *bare* discriminator (``ddp.module``), whose parameters are frozen
  there, so no gradient synchronisation waits for a network that is not updated.
  BatchNorm running statistics stay per process during an epoch and are copied from
  rank 0 at its end (or kept identical throughout with ``sync_batchnorm=True``). The
  EMA generator is updated from the bare generator on every rank, so it stays identical.
* The step's logged values are averaged over the processes, so every rank records the
  same history and reacts alike to a non-finite loss; a stop requested by a callback
  on any rank stops every rank at the same step.
* Callbacks whose only effects are files or the terminal
  (:attr:`Callback.main_process_only <mnistgan.training.callbacks.Callback.main_process_only>`:
  checkpoints, sample grids, GIFs, history files, the progress bar) run on rank 0 only;
  the others run everywhere.
* Checkpoints carry every rank's random-number state (gathered to rank 0 at each epoch
  end); resuming restores each rank's own, so a resumed run continues exactly.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import datetime
import hashlib
import inspect
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, IterableDataset
from torch.utils.data.distributed import DistributedSampler

from ..device import get_rng_state, resolve_device
from ..errors import ConfigError
from .callbacks import Callback

if TYPE_CHECKING:
    from .protocol import Replicated

__all__ = [
    "STRATEGIES",
    "DistributedContext",
    "Strategy",
    "context_for",
    "init_distributed",
    "is_main_process",
    "launched_by_torchrun",
    "rank_rng_state",
    "shutdown_distributed",
]

logger = logging.getLogger(__name__)

Strategy = Literal["auto", "ddp", "single"]
"""How :meth:`mnistgan.GAN.fit` uses several processes.

``"auto"`` trains with DDP when the process belongs to a distributed run (launched by
``torchrun`` with more than one process, or an initialised process group of more than
one), else in a single process; ``"ddp"`` insists on DDP; ``"single"`` never uses it.
"""

STRATEGIES: tuple[str, ...] = ("auto", "ddp", "single")
"""The values ``strategy`` accepts."""

_LAUNCH_HINT = (
    "launch the script with torchrun (e.g. torchrun --nproc_per_node 2 train.py), or call "
    "torch.distributed.init_process_group() before fit()"
)


def _env_int(name: str, default: int) -> int:
    """An integer environment variable set by ``torchrun``; a malformed one is a ConfigError."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError as err:
        raise ConfigError(
            f"environment variable {name} must be an integer, got {text!r}; it is set by "
            "torchrun: launch with torchrun rather than setting it by hand"
        ) from err


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (``LOCAL_RANK`` is set).

    Example:
        >>> import os
        >>> launched_by_torchrun() == ("LOCAL_RANK" in os.environ)
        True
    """
    return "LOCAL_RANK" in os.environ


def _group_ready() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    """Whether this is rank 0 of a distributed run, or the only process.

    Example:
        >>> is_main_process()  # no process group here
        True
    """
    return not _group_ready() or dist.get_rank() == 0


def _distributed_device(device: str | torch.device | None, local_rank: int) -> torch.device:
    """The device of the process with ``local_rank``: ``cuda:LOCAL_RANK`` or the CPU."""
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    target = resolve_device(device)
    if target.type == "cuda":
        if target.index is None:
            count = torch.cuda.device_count()
            if local_rank >= count:
                raise ConfigError(
                    f"this process has LOCAL_RANK {local_rank}, but only {count} CUDA "
                    f"device(s) are visible; start at most {count} processes per node "
                    "(torchrun --nproc_per_node) or pass device='cpu'"
                )
            target = torch.device("cuda", local_rank)
        return target
    if target.type != "cpu":
        raise ConfigError(
            f"distributed training runs on CUDA devices (nccl) or the CPU (gloo), got device "
            f"{str(target)!r}; pass device='cuda' or device='cpu'"
        )
    return target


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a distributed run, and the collectives ``fit`` uses.

    Get one from :func:`init_distributed`; ``fit(strategy="ddp")`` makes its own.

    Attributes:
        rank: This process's index among all processes (0 is the main one).
        local_rank: Its index on this machine (the GPU it uses).
        world_size: Number of processes.
        device: The device this process trains on.
        backend: The process group's backend (``"nccl"`` or ``"gloo"``).

    Example:
        >>> ctx = DistributedContext(0, 0, 1, torch.device("cpu"), "gloo")
        >>> ctx.is_main
        True
    """

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the process that writes files and prints."""
        return self.rank == 0

    # ------------------------------------------------------------------ collectives

    def mean_logs(self, logs: Mapping[str, Any]) -> dict[str, Any]:
        """``logs`` with every scalar value averaged over the processes (one all-reduce).

        Tensors stay tensors (on this process's device), Python numbers stay numbers;
        other values are left as they are. Every process must call it with the same keys.
        """
        keys = sorted(
            key
            for key, value in logs.items()
            if (isinstance(value, Tensor) and value.numel() == 1)
            or (isinstance(value, (int, float)) and not isinstance(value, bool))
        )
        out = dict(logs)
        if not keys:
            return out
        values = torch.stack(
            [
                torch.as_tensor(logs[k], device=self.device).detach().float().reshape(())
                for k in keys
            ]
        )  # (K,)
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        values = values / self.world_size
        host = values.tolist() if any(not isinstance(logs[k], Tensor) for k in keys) else None
        for i, key in enumerate(keys):
            original = logs[key]
            if isinstance(original, Tensor):
                out[key] = values[i].to(original.dtype)
            else:
                assert host is not None
                out[key] = host[i]
        return out

    def any_rank(self, flag: bool) -> bool:
        """Whether ``flag`` is true on at least one process (every process must call it)."""
        value = torch.tensor([1 if flag else 0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process (a picklable value; every process must call it)."""
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    # ------------------------------------------------------------------ data

    def shard_loader(self, loader: Iterable[Any]) -> Iterable[Any]:
        """The loader this process trains on: its own share of every epoch.

        * An :class:`~mnistgan.data.InMemoryLoader` over all the data is sharded
          natively (:meth:`~mnistgan.data.InMemoryLoader.shard`); one built with this
          process's ``rank`` and ``world_size`` is used as it is.
        * A ``DataLoader`` must draw through a
          :class:`~torch.utils.data.distributed.DistributedSampler` of this world size and
          rank; its ``set_epoch`` is then called before every epoch.
        * Any other iterable (a list of batches, a ``DataLoader`` over an
          ``IterableDataset``) cannot be checked: it is used as it is, with a logged
          warning. Each process must then yield its own batches, the same number on each.

        Raises:
            ConfigError: If an ``InMemoryLoader`` is sharded for another rank or world
                size, or a ``DataLoader`` over a map-style dataset is not sharded.
        """
        from ..data import InMemoryLoader

        if isinstance(loader, InMemoryLoader):
            if loader.world_size == 1 and self.world_size > 1:
                return loader.shard(self.rank, self.world_size)
            if (loader.rank, loader.world_size) != (self.rank, self.world_size):
                raise ConfigError(
                    f"the InMemoryLoader is sharded for rank {loader.rank} of "
                    f"{loader.world_size}, but this process is rank {self.rank} of "
                    f"{self.world_size}; build it with rank=0, world_size=1 and let fit() "
                    "shard it"
                )
            return loader
        if isinstance(loader, DataLoader):
            if isinstance(loader.dataset, IterableDataset):
                logger.warning(
                    "fit(strategy='ddp') cannot shard a DataLoader over an IterableDataset; "
                    "make each process's dataset yield its own share, the same number of "
                    "batches on every process"
                )
                return loader
            sampler = _distributed_sampler(loader)
            if sampler is None:
                raise ConfigError(
                    f"under DDP every process must load its own share of the data, but this "
                    f"DataLoader draws with a {type(loader.sampler).__name__}; build it as "
                    "DataLoader(dataset, batch_size=B, sampler=DistributedSampler(dataset)) "
                    "(without shuffle=True: the sampler shuffles), or use "
                    "mnistgan.data.make_loader, which fit() shards itself"
                )
            replicas, rank = getattr(sampler, "num_replicas", None), getattr(sampler, "rank", None)
            if (replicas, rank) != (self.world_size, self.rank):
                raise ConfigError(
                    f"the DataLoader's DistributedSampler has num_replicas={replicas}, "
                    f"rank={rank}, but this process is rank {self.rank} of "
                    f"{self.world_size}; create the sampler after the process group "
                    "(mnistgan.training.distributed.init_distributed()) with its defaults"
                )
            return _SamplerEpochs(loader, sampler)
        logger.warning(
            "fit(strategy='ddp') cannot shard a %s; every process trains on what its own "
            "loader yields, so give each its own share of the data (the same number of "
            "batches on each)",
            type(loader).__name__,
        )
        return loader

    # ------------------------------------------------------------------ used by fit and the loop

    def active_callbacks(self, callbacks: Sequence[Callback]) -> list[Callback]:
        """The callbacks this process runs: all on rank 0, elsewhere the state-changing ones."""
        return [cb for cb in callbacks if self.is_main or not cb.main_process_only]

    def wrap(
        self, model: Replicated, *, sync_batchnorm: bool
    ) -> tuple[nn.Module, nn.Module, nn.Module]:
        """The generator, the discriminator (both DDP) and the bare D for the G step.

        Converts BatchNorm layers to SyncBatchNorm first when asked; compiles each bare
        network when ``model.compile`` (DDP then wraps the compiled module, and the G
        step's scoring D is that same compiled module, ``ddp.module``).
        """
        if sync_batchnorm:
            if self.device.type != "cuda":
                raise ConfigError(
                    f"sync_batchnorm=True needs CUDA devices (PyTorch's SyncBatchNorm runs on "
                    f"GPUs only), but this process trains on {str(self.device)!r}; pass "
                    "sync_batchnorm=False"
                )
            convert = nn.SyncBatchNorm.convert_sync_batchnorm
            model.generator = convert(model.generator)  # type: ignore[no-untyped-call]
            model.discriminator = convert(model.discriminator)  # type: ignore[no-untyped-call]
        generator: nn.Module = model.generator
        discriminator: nn.Module = model.discriminator
        if model.compile:
            generator = torch.compile(generator)  # type: ignore[assignment]
            discriminator = torch.compile(discriminator)  # type: ignore[assignment]
        ddp_g, ddp_d = self._ddp(generator), self._ddp(discriminator)
        self._sync_state(model, parameters=True)
        scoring = ddp_d.module if isinstance(ddp_d, DistributedDataParallel) else ddp_d
        return ddp_g, ddp_d, scoring

    def _ddp(self, module: nn.Module) -> nn.Module:
        """``module`` in DistributedDataParallel (as it is if nothing in it trains)."""
        if not any(p.requires_grad for p in module.parameters()):
            return module
        options: dict[str, Any] = {}
        if self.device.type == "cuda":
            options["device_ids"] = [self.device.index]
        # Buffers are not broadcast before every forward pass: the discriminator runs
        # several times per step (real, fake, penalties) before one backward, and a
        # broadcast between them would change BatchNorm buffers in place that autograd
        # may still need. fit() copies rank 0's buffers at each epoch end instead.
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters:
            options["forward_sync_buffers"] = False  # still synced once, at construction
        else:  # PyTorch before forward_sync_buffers
            options["broadcast_buffers"] = False
        return DistributedDataParallel(module, **options)

    def _sync_state(self, model: Replicated, *, parameters: bool = False) -> None:
        """Copy rank 0's buffers (and with ``parameters`` the EMA's weights) to every rank."""
        tensors = [b for net in (model.generator, model.discriminator) for b in net.buffers()]
        if model.ema is not None:
            tensors += list(model.ema.buffers())
            if parameters:
                tensors += [p.data for p in model.ema.parameters()]
        for tensor in tensors:
            if tensor.is_contiguous():
                dist.broadcast(tensor, src=0)
            else:  # e.g. channels-last weights
                flat = tensor.contiguous()
                dist.broadcast(flat, src=0)
                tensor.copy_(flat)

    def fork_rng(self) -> None:
        """Give each rank its own torch random stream if some ranks share one.

        Processes seeded alike would otherwise draw the same latent vectors. The new seed
        derives from the current state and the rank, so a run stays reproducible; ranks
        already distinct (e.g. restored from a checkpoint) are left alone.
        """
        state = get_rng_state()["torch"]
        digest = hashlib.sha256(state.numpy().tobytes()).digest()
        digests: list[Any] = [None] * self.world_size
        dist.all_gather_object(digests, digest)
        if len(set(digests)) == self.world_size:
            return
        seed = int.from_bytes(hashlib.sha256(digest + b"rank").digest()[:7], "little")
        torch.manual_seed(seed + self.rank)

    def end_epoch(self, model: Replicated) -> list[Any] | None:
        """Align BatchNorm buffers on rank 0's; return every rank's RNG state on rank 0
        (``None`` elsewhere), for the checkpoint."""
        self._sync_state(model)
        states: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(get_rng_state(), states, dst=0)
        return states


def _distributed_sampler(loader: DataLoader[Any]) -> Any:
    """The loader's DistributedSampler-like sampler (with ``set_epoch``), or ``None``."""
    candidates = [loader.sampler, getattr(loader.batch_sampler, "sampler", None)]
    for sampler in candidates:
        if isinstance(sampler, DistributedSampler):
            return sampler
    for sampler in candidates:  # duck-typed distributed samplers
        if all(hasattr(sampler, a) for a in ("set_epoch", "num_replicas", "rank")):
            return sampler
    return None


class _SamplerEpochs:
    """A DataLoader whose ``set_epoch`` reaches its DistributedSampler."""

    def __init__(self, loader: DataLoader[Any], sampler: Any) -> None:
        self.loader = loader
        self.sampler = sampler

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.loader)


def _context(device: str | torch.device | None) -> DistributedContext:
    """The context of the initialised process group, with this process's device."""
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = _env_int("LOCAL_RANK", rank % max(torch.cuda.device_count(), 1))
    target = _distributed_device(device, local_rank)
    backend = str(dist.get_backend())
    if target.type == "cpu" and backend == "nccl":
        raise ConfigError(
            "the process group uses the nccl backend, which cannot train on the CPU; "
            "pass a CUDA device, or initialise the group with backend='gloo'"
        )
    if target.type == "cuda":
        torch.cuda.set_device(target)
    return DistributedContext(rank, local_rank, world, target, backend)


def init_distributed(
    device: str | torch.device | None = "auto", *, backend: str | None = None
) -> DistributedContext:
    """Join the process group ``torchrun`` describes and pin this process to its device.

    Uses the group if one is initialised already; otherwise starts it from the
    environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``). The device is
    ``cuda:LOCAL_RANK`` for ``"auto"`` or ``"cuda"`` on a machine with GPUs (made the
    current CUDA device), else the CPU; the backend is ``nccl`` on CUDA and ``gloo`` on
    the CPU. Call it before building loaders on the GPU, so they use this process's GPU.

    Args:
        device: ``"auto"``, ``"cuda"``, ``"cuda:N"`` or ``"cpu"``.
        backend: Override the backend (e.g. ``"gloo"`` with CUDA tensors).

    Returns:
        This process's :class:`DistributedContext`.

    Raises:
        ConfigError: If ``torch.distributed`` is unavailable, the environment does not
            describe a distributed run, or the device cannot be used.

    Example:
        >>> import os
        >>> if "LOCAL_RANK" in os.environ:  # under torchrun
        ...     ctx = init_distributed()
        ...     loader = make_loader("mnist", device=ctx.device)  # doctest: +SKIP
    """
    if not dist.is_available():
        raise ConfigError(
            "this PyTorch build has no torch.distributed; install a build with it to "
            "train on several processes"
        )
    if dist.is_initialized():
        return _context(device)
    missing = [
        k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
    ]
    if missing:
        raise ConfigError(
            f"no process group is initialised and the environment lacks {missing}; {_LAUNCH_HINT}"
        )
    local_rank = _env_int("LOCAL_RANK", 0)
    target = _distributed_device(device, local_rank)
    if target.type == "cuda":
        torch.cuda.set_device(target)
    chosen = backend or ("nccl" if target.type == "cuda" else "gloo")
    dist.init_process_group(backend=chosen)
    logger.info(
        "joined the process group as rank %d of %d (%s, %s)",
        dist.get_rank(),
        dist.get_world_size(),
        chosen,
        target,
    )
    return _context(target)


def shutdown_distributed(*, timeout: float = 60.0) -> None:
    """Destroy the process group if one is initialised (at the end of a torchrun script).

    The ranks first meet at a barrier, so none tears its connections down while another
    still talks to it (with gloo, a rank whose peer left first can abort with "terminate
    called without an active exception"). On gloo the barrier gives up after ``timeout``
    seconds, so a rank whose peer died does not hang; the group is destroyed either way.

    Example:
        >>> shutdown_distributed()  # nothing to do in a single process
    """
    if not _group_ready():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=timeout))
        else:
            dist.barrier()
    except RuntimeError as err:  # a peer is gone: nothing left to wait for
        logger.warning("ranks did not meet before shutting down: %s", err)
    dist.destroy_process_group()


def context_for(strategy: str, device: str | torch.device | None) -> DistributedContext | None:
    """The context ``fit`` trains under for ``strategy``, or ``None`` for one process.

    Example:
        >>> context_for("single", "cpu") is None
        True
    """
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
    if strategy == "single":
        return None
    if strategy == "auto":
        if _group_ready():
            world = dist.get_world_size()
        elif launched_by_torchrun():
            world = _env_int("WORLD_SIZE", 1)
        else:
            return None
        if world < 2:
            return None
    return init_distributed(device)


def rank_rng_state(state: Mapping[str, Any]) -> Any:
    """The RNG state this process restores from a checkpoint: its own rank's if saved.

    Example:
        >>> rank_rng_state({"rng": "state", "rng_ranks": ["r0", "r1"]})  # one process
        'state'
    """
    if not _group_ready():
        return state["rng"]
    per_rank = state.get("rng_ranks")
    if not isinstance(per_rank, (list, tuple)) or not per_rank:
        return state["rng"]
    rank, world = dist.get_rank(), dist.get_world_size()
    if len(per_rank) != world:
        if rank == 0:
            logger.warning(
                "the checkpoint holds the random states of %d processes, this run has %d; "
                "the random streams will differ from the saved run's",
                len(per_rank),
                world,
            )
        return state["rng"]
    return per_rank[rank]
