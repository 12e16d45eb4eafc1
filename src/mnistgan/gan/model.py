"""The GAN model: two networks, their optimisers, a loss, and the public seams of its step.

Construction and settings, the step's seams, sampling and the method shells live here;
the default step (:mod:`._step`), ``fit``'s orchestration (:mod:`._fit`) and persistence
(:mod:`._state`) each have a module of their own.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from .._checks import check_images_range
from ..augment import DiffAugment
from ..checkpoint import save_checkpoint
from ..conditioning import check_labels
from ..device import Precision, autocast, check_precision, grad_scaler, resolve_device
from ..errors import BatchTypeError, ConfigError, DataError
from ..losses import GANLoss, Penalty, get_loss, r1
from ..presets import GANConfig, check_trainable, get_preset, preset_overrides
from ..sampling import Sampler
from ..training.callbacks import Callback
from ..training.distributed import Strategy, is_main_process
from ..training.history import History
from ..training.loop import NonFinite
from . import _fit, _pretrained, _state
from ._config import (
    apply_overrides,
    build_network,
    resolve_channels_last,
    resolve_joint_d_pass,
)
from ._ema import make_ema
from ._step import adversarial_step

__all__ = ["DCGAN", "GAN"]

_NORMALIZE_HINT = (
    "give images in [0, 1] (transforms.ToTensor()) or uint8 0–255, without "
    "transforms.Normalize: the model maps them to its generator's range itself"
)
_Network = Literal["generator", "discriminator"]  # what optimizer_step updates


class GAN:
    """A generative adversarial network ready to train, sample, save and load.

    The model holds a generator ``G`` and a discriminator ``D``, one Adam
    optimiser each, a loss (:mod:`mnistgan.losses`) and optionally an
    exponential moving average of ``G`` used for sampling. Training runs
    through :meth:`fit`, the library's one loop; variants override
    :meth:`train_step`, written against the step's public seams
    (:meth:`forward_g`, :meth:`forward_d`, :meth:`frozen_discriminator`,
    :meth:`optimizer_step`, :meth:`update_ema`), which run the networks as training
    does: in the model's precision, compiled, and under DDP.

    Args:
        config: What to build and how to train; by default the ``"default"``
            preset. Keyword ``overrides`` change its fields.
        generator: Use this module instead of building one from ``config``. It
            must map ``(N, latent_dim)`` to ``(N, *image_shape)`` in the range of
            ``config.output``.
        discriminator: Use this module instead of building one; it must map
            images to logits of shape ``(N,)`` or ``(N, 1)``.
        precision: ``"32"``, ``"bf16"`` or ``"16"`` (CUDA only) mixed precision
            for the forward passes.
        compile: Run both networks through ``torch.compile`` when training.
        fused: Use PyTorch's fused Adam kernels (the default: about 3x faster
            optimiser steps on a CPU). Results match the plain implementation to
            float rounding, not bit for bit; ``False`` selects the plain
            multi-tensor kernel.
        channels_last: Keep convolution weights and image batches in the
            channels-last memory layout, which trains the convolutional presets
            faster on a CPU (it moves transposed convolutions onto oneDNN; see the
            performance guide for the measurements). ``"auto"`` (the
            default) does so for networks built from the config that hold 2-D
            convolutions, never for networks passed in (their code may
            ``view()`` activations); ``True`` or ``False`` decides for all.
            The layout changes float rounding, not the maths.
        joint_d_pass: Score the real and the fake batch in one pass of the
            discriminator over both, stacked, instead of one pass each: one
            larger matrix product per layer instead of two and a sum of their
            weight gradients (about a third faster on the ``mlp`` preset on a
            CPU). The maths is the same only when ``D`` treats every sample on its
            own, so ``"auto"`` (the default) does so only when every layer of
            ``D`` is one known to (linear, convolution, pooling, activation,
            layer or group norm, embedding; no BatchNorm, dropout, spectral norm
            or hooks). ``True`` always does (a ``D`` with BatchNorm is refused),
            ``False`` never. An R1 penalty always takes two passes. Rounding
            differs between the two ways, not the maths.
        **overrides: :class:`~mnistgan.presets.GANConfig` fields, e.g.
            ``lr_g=1e-3`` or ``loss="hinge"``.

    Example:
        >>> gan = GAN.from_preset("vanilla", ema_decay=0.99)
        >>> gan.latent_dim, gan.image_shape
        (100, (1, 28, 28))
        >>> images = gan.sample(4, seed=0)
        >>> images.shape, bool(images.min() >= 0), bool(images.max() <= 1)
        (torch.Size([4, 1, 28, 28]), True, True)
    """

    def __init__(
        self,
        config: GANConfig | None = None,
        *,
        generator: nn.Module | None = None,
        discriminator: nn.Module | None = None,
        precision: Precision = "32",
        compile: bool = False,
        fused: bool = True,
        channels_last: bool | Literal["auto"] = "auto",
        joint_d_pass: bool | Literal["auto"] = "auto",
        **overrides: Any,
    ) -> None:
        config = config if config is not None else get_preset("default")
        if not isinstance(config, GANConfig):
            raise ConfigError(
                f"config must be a GANConfig (e.g. mnistgan.get_preset('default')), "
                f"got {type(config).__name__}"
            )
        self.config = apply_overrides(config, overrides)
        self.loss: GANLoss = get_loss(self.config.loss)
        self.penalties: tuple[tuple[Penalty, float], ...] = _weighted_penalties(self)
        self.num_classes = self.config.num_classes
        self.custom_networks = generator is not None or discriminator is not None
        self.generator = (
            generator if generator is not None else build_network(self.config, "generator")
        )
        self.discriminator = (
            discriminator
            if discriminator is not None
            else build_network(self.config, "discriminator")
        )
        for name, net in (("generator", self.generator), ("discriminator", self.discriminator)):
            if not isinstance(net, nn.Module):
                raise ConfigError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
        self.channels_last = resolve_channels_last(
            channels_last, self.custom_networks, self.generator, self.discriminator
        )
        if self.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        self.joint_d_pass = resolve_joint_d_pass(joint_d_pass, self.discriminator)
        self.ema: AveragedModel | None = make_ema(self.generator, self.config.ema_decay)
        self.augment: DiffAugment | None = (
            DiffAugment(self.config.augment, self.config.image_range)
            if self.config.augment
            else None
        )
        kernel = {"fused": True} if fused else {"foreach": True}
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=self.config.lr_g, betas=self.config.betas, **kernel
        )
        self.opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=self.config.lr_d, betas=self.config.betas, **kernel
        )
        check_precision(precision)
        self.precision: Precision = precision
        self.compile = bool(compile)
        self._scalers: dict[str, torch.amp.GradScaler | None] = {}
        # The networks as training runs them (compiled, DDP-wrapped); see set_training_networks.
        self._train_g: nn.Module = self.generator
        self._train_d: nn.Module = self.discriminator
        self._train_d_frozen: nn.Module = self.discriminator
        self._d_frozen = False
        self.rank_rng_states: list[Any] | None = None
        """Every process's random state at the last epoch end of a DDP run (rank 0 only)."""
        self.epoch = 0
        self.global_step = 0
        self.history = History()
        self.stop_training = False
        self.callbacks: list[Callback] = []
        self._pending_callback_states: dict[str, Any] = {}
        self._check_values = True
        self.pretrained_info: dict[str, Any] = {}
        """What a pretrained folder's ``config.json`` said (see :meth:`from_pretrained`)."""

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GAN:
        """A GAN built from a named preset (see :func:`mnistgan.list_presets`).

        Example:
            >>> GAN.from_preset("mlp").config.preset
            'mlp'
        """
        runtime = {k: overrides.pop(k) for k in _runtime_keys() if k in overrides}
        if not isinstance(name, str):
            raise ConfigError(f"name must be a preset name (str), got {type(name).__name__}")
        config = apply_overrides(get_preset(name), preset_overrides(name, overrides))
        check_trainable(config)
        return cls(config, **runtime)

    @property
    def latent_dim(self) -> int:
        """Size of the latent vector."""
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, H, W)`` of the images."""
        return self.config.image_shape

    @property
    def is_main_process(self) -> bool:
        """Whether this process writes files and prints: rank 0 of a distributed run,
        or the only process (see :mod:`mnistgan.training.distributed`).

        Example:
            >>> GAN.from_preset("vanilla").is_main_process
            True
        """
        return is_main_process()

    @property
    def device(self) -> torch.device:
        """The device the networks are on."""
        return next(self.generator.parameters()).device

    def to(self, device: str | torch.device) -> GAN:
        """Move networks and optimiser state to ``device`` (``"auto"`` allowed).

        Example:
            >>> GAN.from_preset("vanilla").to("cpu").device
            device(type='cpu')
        """
        target = resolve_device(device)
        if target == self.device:
            return self
        self.generator.to(target)
        self.discriminator.to(target)
        if self.ema is not None:
            self.ema.to(target)
        for opt in (self.opt_g, self.opt_d):
            for state in opt.state.values():
                for key, value in state.items():
                    if isinstance(value, Tensor) and key != "step":
                        state[key] = value.to(target)
        self._scalers.clear()
        return self

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(preset={self.config.preset!r}, loss={self.config.loss!r}, "
            f"epoch={self.epoch}, device={self.device})"
        )

    # ------------------------------------------------------------------ data

    def prepare_batch(self, batch: Any) -> tuple[Tensor, Tensor | None]:
        """Check a batch and map its images to the generator's range, on the model's device.

        Accepts ``x`` or ``(x, y)`` where ``x`` is float in [0, 1] or uint8 0–255 with
        shape ``(N, C, H, W)`` (or ``(N, H, W)`` for one channel).

        Returns:
            ``(images, labels)``; ``labels`` is ``None`` for unlabelled batches.

        Raises:
            BatchTypeError: If the batch is not a tensor or an ``(x, y)`` pair.
            DataError: If the shape or the value range does not fit the model, or a
                conditional model gets no labels or labels out of range.
        """
        x, y = _split_batch(batch)
        if x.dim() == 3 and self.image_shape[0] == 1:
            x = x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            c, h, w = self.image_shape
            if x.dim() in (3, 4):
                fix = (
                    f"resize the data (e.g. mnistgan.data.load_dataset(..., image_size={h})) "
                    f"or build the model with image_shape=({x.shape[1] if x.dim() == 4 else 1}, "
                    f"{x.shape[-2]}, {x.shape[-1]})"
                )
            else:
                fix = "give a batch of images (N, C, H, W), or (N, H, W) for one channel"
            raise DataError(
                f"images must have shape (N, {c}, {h}, {w}) for this model, got "
                f"{tuple(x.shape)}; {fix}"
            )
        if x.size(0) < 1:
            raise DataError("a batch holds no images; check the loader's batch_size")
        x = x.to(self.device, non_blocking=True)
        if x.dtype == torch.uint8:
            x = x.float().div_(255)
        elif not x.is_floating_point():
            raise DataError(
                f"images must be float or uint8, got dtype {x.dtype}; {_NORMALIZE_HINT}"
            )
        elif self._check_values or self.device.type == "cpu":
            # On accelerators only the first batch of a fit() is checked: the check
            # reads values back to the host, which would stall every step.
            check_images_range(x, _NORMALIZE_HINT)
        x = x.float()  # float64 (e.g. from NumPy) or float16 -> the networks' float32
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.config.output != "sigmoid":
            x = x.mul(2).sub_(1)  # [0, 1] -> [-1, 1]
        if self.num_classes is None:
            return x, y
        if y is None:
            raise DataError(
                f"this model is conditional (num_classes={self.num_classes}) and needs "
                f"(images, labels) batches, got images alone; pass a labelled loader"
            )
        y = check_labels(y, x.size(0), self.num_classes, argument="batch labels")
        return x, y.to(self.device, non_blocking=True)

    def batch_size_of(self, batch: Any) -> int:
        """Number of images in ``batch``."""
        return int(_split_batch(batch)[0].size(0))

    # ------------------------------------------------------------------ the step's seams

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Standard normal latent vectors ``(n, latent_dim)`` on the model's device."""
        if generator is not None:
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    def random_labels(self, n: int, *, generator: torch.Generator | None = None) -> Tensor | None:
        """Uniform class labels ``(n,)`` on the model's device, or ``None`` if unconditional."""
        if self.num_classes is None:
            return None
        if generator is not None:
            return torch.randint(self.num_classes, (n,), generator=generator).to(self.device)
        return torch.randint(self.num_classes, (n,), device=self.device)

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """The mixed-precision context of the model's ``precision`` on its device.

        :meth:`forward_g` and :meth:`forward_d` enter it themselves; use it for other
        forward computations of an overridden step.
        """
        return autocast(self.device, self.precision)

    def forward_g(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Run the generator as training runs it: compiled (``compile=True``), wrapped in
        DistributedDataParallel under DDP, in the model's precision.

        Use this, not ``self.generator(z)``, inside :meth:`train_step`: the bare module
        trains without gradient synchronisation under ``torchrun`` and without mixed
        precision or compilation.

        Args:
            z: Latent vectors ``(N, latent_dim)`` (see :meth:`sample_latent`).
            labels: Class labels ``(N,)`` for a conditional model.

        Returns:
            Images ``(N, C, H, W)`` in the generator's range (``[-1, 1]`` for tanh).

        Example:
            >>> gan = GAN.from_preset("vanilla")
            >>> gan.forward_g(gan.sample_latent(2)).shape
            torch.Size([2, 1, 28, 28])
        """
        with self.autocast():
            out: Tensor = self._train_g(z) if labels is None else self._train_g(z, labels)
        return out

    def forward_d(
        self, images: Tensor, labels: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Run the discriminator as training runs it (compiled, DDP, precision).

        Inside :meth:`frozen_discriminator` (the generator's update) it runs the
        network without DDP's wrapper: its weights are not trained there, so no
        gradient synchronisation may wait for them. With ``config.augment`` set,
        the images are augmented first (:mod:`mnistgan.augment`), differentiably,
        each with its own random draw: pass real and generated images through here
        alike.

        Args:
            images: A batch in the generator's range, e.g. from :meth:`prepare_batch`.
            labels: Class labels ``(N,)`` for a conditional model.

        Returns:
            ``(logits, class_logits)``: real/fake logits ``(N,)`` and, for an
            auxiliary-classifier (``"acgan"``) discriminator, class logits
            ``(N, num_classes)``, else ``None``.

        Example:
            >>> gan = GAN.from_preset("vanilla")
            >>> logits, classes = gan.forward_d(torch.zeros(3, 1, 28, 28))
            >>> logits.shape, classes
            (torch.Size([3]), None)
        """
        net = self._train_d_frozen if self._d_frozen else self._train_d
        if self.augment is not None:
            images = self.augment(images)
        with self.autocast():
            out = net(images) if self.num_classes is None else net(images, labels)
        if isinstance(out, tuple):
            return out[0], out[1]
        return out, None

    @contextlib.contextmanager
    def frozen_discriminator(self) -> Iterator[None]:
        """Freeze the discriminator for the generator's update.

        Its trainable parameters stop requiring grad (so the generator's backward pass
        computes no gradient for them) and :meth:`forward_d` runs it outside DDP's
        wrapper; both are undone on exit. Parameters the user froze stay frozen.

        Example:
            >>> gan = GAN.from_preset("vanilla")
            >>> with gan.frozen_discriminator():
            ...     any(p.requires_grad for p in gan.discriminator.parameters())
            False
            >>> all(p.requires_grad for p in gan.discriminator.parameters())
            True
        """
        trainable = [p for p in self.discriminator.parameters() if p.requires_grad]
        for p in trainable:
            p.requires_grad_(False)
        self._d_frozen = True
        try:
            yield
        finally:
            self._d_frozen = False
            for p in trainable:
                p.requires_grad_(True)

    def optimizer_step(self, loss: Tensor, network: _Network) -> None:
        """Update ``network`` from ``loss``: zero its gradients, backpropagate, step its
        optimiser (with loss scaling where ``precision="16"`` needs it).

        Under DDP the backward pass through :meth:`forward_g`/:meth:`forward_d`
        averages the gradients over the processes.

        Args:
            loss: A scalar tensor.
            network: ``"generator"`` or ``"discriminator"``.

        Raises:
            ConfigError: If ``network`` is neither.
        """
        if network == "generator":
            optimizer, key = self.opt_g, "g"
        elif network == "discriminator":
            optimizer, key = self.opt_d, "d"
        else:
            raise ConfigError(f'network must be "generator" or "discriminator", got {network!r}')
        optimizer.zero_grad(set_to_none=True)
        scaler = self._scaler(key)
        if scaler is None:
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        else:
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimizer)
            scaler.update()

    def update_ema(self) -> None:
        """Move the EMA generator (if any) one step towards the generator's weights."""
        if self.ema is not None:
            self.ema.update_parameters(self.generator)

    @property
    def training_networks(self) -> tuple[nn.Module, nn.Module]:
        """The generator and discriminator modules :meth:`forward_g` and :meth:`forward_d`
        run: compiled with ``compile=True`` (they stay so after a single-process
        :meth:`fit`), DDP-wrapped during a distributed one, else the bare networks.

        Example:
            >>> gan = GAN.from_preset("vanilla")
            >>> gan.training_networks == (gan.generator, gan.discriminator)
            True
        """
        return self._train_g, self._train_d

    def set_training_networks(
        self,
        generator: nn.Module | None = None,
        discriminator: nn.Module | None = None,
        frozen_discriminator: nn.Module | None = None,
    ) -> None:
        """Set the modules :meth:`forward_g` and :meth:`forward_d` run; ``None`` means
        the bare network. :meth:`fit` sets compiled or DDP-wrapped modules here for the
        run and puts the bare ones back afterwards.
        """
        self._train_g = generator if generator is not None else self.generator
        self._train_d = discriminator if discriminator is not None else self.discriminator
        self._train_d_frozen = (
            frozen_discriminator if frozen_discriminator is not None else self._train_d
        )

    def _scaler(self, key: str) -> torch.amp.GradScaler | None:
        if key not in self._scalers:
            self._scalers[key] = grad_scaler(self.device, self.precision)
        return self._scalers[key]

    def _scaler_states(self) -> dict[str, Any]:
        return {k: s.state_dict() for k, s in self._scalers.items() if s is not None}

    def _load_scaler_states(self, states: Mapping[str, Any], *, create: bool) -> None:
        for key, state in states.items():
            scaler = self._scaler(key) if create else self._scalers.get(key)
            if scaler is not None:
                scaler.load_state_dict(state)

    # ------------------------------------------------------------------ training

    def train_step(self, batch: Any) -> dict[str, Tensor]:
        """One training step: ``d_steps`` discriminator, then ``g_steps`` generator updates.

        As in the reference implementations, the discriminator sees a real batch
        and a detached fake batch; the generator then learns from the same fake
        batch re-scored by the updated discriminator. The loss's penalties
        (:attr:`mnistgan.losses.GANLoss.penalties`, and R1 when ``r1_gamma > 0``)
        are added to the discriminator's loss. Override it to train another way,
        through the seams (:meth:`forward_g`, :meth:`forward_d`,
        :meth:`frozen_discriminator`, :meth:`optimizer_step`, :meth:`update_ema`).

        Args:
            batch: ``x`` or ``(x, y)`` (see :meth:`prepare_batch`).

        Returns:
            0-d tensors ``loss_d``, ``loss_g``, ``d_real``, ``d_fake_before`` and
            ``d_fake_after`` (probabilities for the BCE losses, mean critic output
            otherwise).
        """
        return adversarial_step(self, batch)

    def fit(
        self,
        loader: Iterable[Any],
        epochs: int | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        device: str | torch.device | None = "auto",
        resume: str | os.PathLike[str] | None = None,
        progress: bool = True,
        on_nonfinite: NonFinite = "raise",
        strategy: Strategy = "auto",
        sync_batchnorm: bool = False,
    ) -> History:
        """Train on ``loader`` for ``epochs`` more epochs.

        Args:
            loader: Any iterable of ``x`` or ``(x, y)`` batches (a ``DataLoader``,
                :class:`mnistgan.data.InMemoryLoader`, a list of tensors), images
                in [0, 1] or uint8.
            epochs: Epochs to train; by default ``config.epochs``. With ``resume``
                it counts the whole run, the checkpointed epochs included, so
                rerunning an interrupted call finishes it.
            callbacks: Hooks (:mod:`mnistgan.training.callbacks`).
            device: ``"auto"`` (CUDA, then MPS, then CPU), a device, or ``None`` to
                stay where the model is.
            resume: A checkpoint path, or ``"auto"`` for the newest good checkpoint
                of the :class:`~mnistgan.training.ModelCheckpoint` callback's folder
                (starting fresh when there is none).
            progress: Add a :class:`~mnistgan.training.ProgressBar` unless one is
                among ``callbacks``.
            on_nonfinite: What to do when a step's loss is NaN or infinite:
                ``"raise"`` a :class:`~mnistgan.errors.TrainingError` naming the step
                and the last good checkpoint; ``"skip"`` the step (its weight and
                optimiser changes are undone, a warning is logged and each epoch row
                counts ``skipped_steps``); or ``"stop"`` training cleanly with the
                weights from before the step. Checking costs one host sync per step
                on an accelerator; see :func:`mnistgan.training.run_epochs`.
            strategy: ``"ddp"`` trains with DistributedDataParallel, one process per
                device, started by ``torchrun``; every process calls ``fit`` with the
                same arguments and its batches are its share of the global batch
                (an :class:`~mnistgan.data.InMemoryLoader` is sharded here, a
                ``DataLoader`` needs a ``DistributedSampler``). ``"auto"`` (the default)
                does so when launched by ``torchrun`` with several processes,
                ``"single"`` never. See :mod:`mnistgan.training.distributed`.
            sync_batchnorm: Under DDP, turn BatchNorm layers into SyncBatchNorm
                (statistics over the global batch; CUDA only). Ignored in one process.

        Returns:
            The :class:`~mnistgan.training.History` of every step and epoch so far.

        Raises:
            BatchTypeError: If ``loader`` is not an iterable of batches, or a batch
                is not a tensor (before any weight changes).
            DataError: If a batch does not fit the model (before any weight changes).
            ConfigError: If ``epochs``, ``callbacks``, ``device``, ``resume``,
                ``on_nonfinite`` or ``strategy`` is invalid, or a ``DataLoader`` is not
                sharded under DDP (before any weight changes).
            CheckpointError: If ``resume`` names a bad or mismatched checkpoint, or a
                :class:`~mnistgan.training.ModelCheckpoint` cannot write (the model
                is left as it was before the load; earlier checkpoints stay intact).
            TrainingError: If a loss becomes NaN or infinite (``on_nonfinite="raise"``),
                or ModelCheckpoint is asked to save non-finite weights.

        Example:
            >>> import torch
            >>> gan = GAN.from_preset("vanilla")
            >>> batches = [torch.rand(16, 1, 28, 28) for _ in range(3)]
            >>> history = gan.fit(batches, epochs=2, progress=False)
            >>> gan.epoch, gan.global_step, len(history.epochs)
            (2, 6, 2)
        """
        return _fit.fit(
            self,
            loader,
            epochs,
            callbacks=callbacks,
            device=device,
            resume=resume,
            progress=progress,
            on_nonfinite=on_nonfinite,
            strategy=strategy,
            sync_batchnorm=sync_batchnorm,
        )

    # ------------------------------------------------------------------ sampling

    def sampler(self) -> Sampler:
        """The sampling half of this model: its EMA generator if it has one, else its generator.

        The module is shared, not copied. :meth:`sample` and :meth:`generate` run it.
        """
        net = self.ema.module if self.ema is not None else self.generator
        info = {
            "weights": "ema" if self.ema is not None else "generator",
            "custom_network": bool(self.custom_networks),
            "channels_last": bool(self.channels_last),
        }
        return Sampler(net, self.config, info=info)

    def generate(
        self, z: Tensor, labels: Tensor | None = None, *, batch_size: int = 1000
    ) -> Tensor:
        """Images from given latent vectors, in [0, 1], on the CPU.

        Uses the EMA generator when the model has one, in eval mode; the
        networks' training mode is restored afterwards.

        Args:
            z: Latent vectors ``(N, latent_dim)``.
            labels: Class labels ``(N,)`` for a conditional model; by default
                0, 1, ..., K-1, 0, 1, ... (rows of a K-wide grid are then digits).
            batch_size: Vectors per forward pass.

        Returns:
            Float images ``(N, C, H, W)`` in [0, 1].

        Raises:
            DataError: If ``z`` has the wrong shape, is complex or holds NaN or
                infinity, or labels are missing, out of range or not integers.
            ConfigError: If ``batch_size`` is not a positive int.

        Example:
            >>> gan = GAN.from_preset("dcgan")
            >>> gan.generate(torch.zeros(2, 64)).shape
            torch.Size([2, 1, 28, 28])
        """
        return self.sampler().generate(z, labels, batch_size=batch_size)

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: int | Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """``n`` generated images, float in [0, 1], shape ``(n, C, H, W)``, on the CPU.

        Args:
            n: Number of images.
            seed: Draw the latents from a generator seeded with this, leaving the
                global random state alone; ``None`` uses the global state.
            labels: For a conditional model, the digit(s) to draw: one int for all,
                or ``n`` of them (list or tensor); by default 0, 1, ..., 9, 0, 1, ...

        Raises:
            ConfigError: If ``n`` is not an int >= 0, or ``seed`` is not an int that
                :meth:`torch.Generator.manual_seed` takes (``-2**63`` to ``2**64 - 1``).
            DataError: If labels are given to an unconditional model, or are out of
                range, of the wrong length or not integers.

        Example:
            >>> gan = GAN.from_preset("vanilla")
            >>> torch.equal(gan.sample(8, seed=1), gan.sample(8, seed=1))
            True
            >>> DCGAN(num_classes=10).sample(3, labels=7).shape
            torch.Size([3, 1, 28, 28])
        """
        return self.sampler().sample(n, seed=seed, labels=labels)

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict[str, Any]:
        """Copies of what a training step changes: weights, buffers, EMA, optimisers and
        loss scalers (what ``fit(on_nonfinite="skip")`` puts back after a bad step)."""
        return _state.snapshot(self)

    def restore(self, state: Mapping[str, Any]) -> None:
        """Put back what :meth:`snapshot` copied (in place; gradients are dropped)."""
        _state.restore(self, state)

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds: config, weights, optimisers, counters, RNG, history."""
        return _state.state_dict(self)

    def load_state_dict(self, state: Mapping[str, Any], *, restore_rng: bool = True) -> None:
        """Restore :meth:`state_dict` into this model (same architecture).

        Args:
            state: A checkpoint's content.
            restore_rng: Also restore the global random states, so that training
                continues exactly as the saved run would have.

        Raises:
            CheckpointError: If the checkpoint was written for another architecture,
                or an entry is missing or damaged. The model is then left as it was.
        """
        _state.load_state_dict(self, state, restore_rng=restore_rng)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a checkpoint atomically (see :mod:`mnistgan.checkpoint`).

        Example:
            >>> import tempfile, pathlib
            >>> gan = GAN.from_preset("vanilla")
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     path = gan.save(pathlib.Path(tmp) / "g.pt")
            ...     torch.equal(GAN.load(path).sample(2, seed=0), gan.sample(2, seed=0))
            True
        """
        return save_checkpoint(self.state_dict(), path)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        generator: nn.Module | None = None,
        discriminator: nn.Module | None = None,
        device: str | torch.device | None = None,
        restore_rng: bool = True,
    ) -> GAN:
        """Rebuild a model from a checkpoint written by :meth:`save`.

        The networks are rebuilt from the stored config; checkpoints of custom
        networks need the same ``generator``/``discriminator`` modules passed in.
        The file is read with ``torch.load(weights_only=True)``: it cannot run code.

        Args:
            path: The checkpoint.
            generator: The generator module, for checkpoints of custom networks.
            discriminator: The discriminator module, ditto.
            device: Where to put the model (``None``: the CPU).
            restore_rng: Restore the saved global random states, so that further
                training continues exactly (see :meth:`load_state_dict`).

        Raises:
            CheckpointError: If the file is missing, corrupt, unsafe or does not fit.
        """
        return _state.load(
            cls,
            path,
            generator=generator,
            discriminator=discriminator,
            device=device,
            restore_rng=restore_rng,
        )

    # ------------------------------------------------------------------ pretrained

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        *,
        device: str | torch.device | None = None,
        revision: str | None = None,
    ) -> GAN:
        """A model from a pretrained folder: a shipped name, a path, or a Hub id.

        Reads the Hugging Face layout that :meth:`save_pretrained` writes
        (``config.json``, ``model.safetensors``, ``README.md``); nothing in it can run
        code. The generator (and its EMA copy, if the config keeps one) gets the saved
        sampling weights; the discriminator gets the saved one if the folder has it
        (else it starts fresh, for sampling only).

        Args:
            name_or_path: A name from :func:`mnistgan.pretrained.list_pretrained`
                (shipped in the package, checksum-verified), a folder, or a Hugging Face
                Hub repository id ``"owner/name"`` (needs ``pip install "mnistgan[hub]"``;
                honours ``HF_HUB_OFFLINE`` and the local Hugging Face cache).
            device: Where to put the model (``None``: the CPU).
            revision: A Hub revision (branch, tag or commit); Hub ids only.

        Raises:
            ConfigError: If ``name_or_path`` is none of those (the message lists the
                shipped names).
            CheckpointError: If a file is missing, malformed or fails its checksum.

        Example:
            >>> import tempfile
            >>> gan = GAN.from_preset("vanilla")
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     _ = gan.save_pretrained(folder)
            ...     again = GAN.from_pretrained(folder)
            >>> torch.equal(again.sample(4, seed=0), gan.sample(4, seed=0))
            True
        """
        return _pretrained.from_pretrained(cls, name_or_path, device=device, revision=revision)

    def save_pretrained(
        self,
        directory: str | os.PathLike[str],
        *,
        name: str | None = None,
        discriminator: bool = True,
        half_discriminator: bool = False,
        card: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write this model in the Hugging Face layout: ``config.json``,
        ``model.safetensors`` (the sampling generator's weights, and the discriminator's)
        and a ``README.md`` model card. Each file is written atomically.

        Args:
            directory: The folder (created if missing).
            name: The model's name in the card (default: the folder's name).
            discriminator: Also save the discriminator, for fine-tuning.
            half_discriminator: Store the discriminator in float16 (half the bytes; it
                only seeds fine-tuning).
            card: Facts for ``config.json`` and the card: ``"recipe"`` and ``"metrics"``
                (and ``"floor"``, the real-data figures) dicts, for example.

        Returns:
            The folder.
        """
        return _pretrained.save_pretrained(
            self,
            directory,
            name=name,
            discriminator=discriminator,
            half_discriminator=half_discriminator,
            card=card,
        )

    def push_to_hub(
        self,
        repo_id: str,
        *,
        token: str | None = None,
        private: bool = False,
        commit_message: str = "Upload mnistgan model",
        card: Mapping[str, Any] | None = None,
    ) -> str:
        """Upload :meth:`save_pretrained`'s folder to the Hugging Face Hub repository
        ``repo_id`` (created if missing; needs ``pip install "mnistgan[hub]"`` and a
        token, from ``token`` or ``huggingface-cli login``). Returns the commit's URL."""
        return _pretrained.push_to_hub(
            self,
            repo_id,
            token=token,
            private=private,
            commit_message=commit_message,
            card=card,
        )


class DCGAN(GAN):
    """The default GAN: a small 28x28 DCGAN tuned to train well on MNIST on a CPU.

    Same as ``GAN.from_preset("default", **overrides)``, settings for training with
    labels included.

    Example:
        >>> gan = DCGAN(lr_g=1e-3)
        >>> gan.config.preset, gan.config.lr_g
        ('default', 0.001)
        >>> DCGAN(num_classes=10, conditioning="acgan").config.aux_weight
        0.3
    """

    def __init__(self, config: GANConfig | None = None, **kwargs: Any) -> None:
        if config is None:
            config, kwargs = get_preset("default"), preset_overrides("default", kwargs)
        super().__init__(config, **kwargs)


@functools.cache
def _runtime_keys() -> frozenset[str]:
    """GAN.__init__'s keyword-only settings that are not config fields or networks."""
    parameters = inspect.signature(GAN.__init__).parameters.values()
    return frozenset(
        p.name
        for p in parameters
        if p.kind is p.KEYWORD_ONLY and p.name not in ("generator", "discriminator")
    )


def _weighted_penalties(model: GAN) -> tuple[tuple[Penalty, float], ...]:
    """The loss's penalties (and R1 when ``r1_gamma > 0``) with their weights resolved."""
    config = model.config
    penalties = list(model.loss.penalties)
    if config.r1_gamma > 0:
        penalties.append(r1(config.r1_gamma))
    weighted = []
    for penalty in penalties:
        weight = penalty.weight
        if isinstance(weight, str):
            if not hasattr(config, weight):
                raise ConfigError(
                    f"penalty {penalty.name!r} of loss {model.loss.name!r} takes its weight "
                    f"from config field {weight!r}, which GANConfig does not have; give a "
                    "number or one of GANConfig's fields"
                )
            weight = getattr(config, weight)
        weighted.append((penalty, float(weight)))
    return tuple(weighted)


def _split_batch(batch: Any) -> tuple[Tensor, Tensor | None]:
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], Tensor):
        y = batch[1] if len(batch) > 1 and isinstance(batch[1], Tensor) else None
        return batch[0], y
    described = type(batch).__name__
    if isinstance(batch, (tuple, list)) and batch:
        described += f" whose first item is {type(batch[0]).__name__}"
    raise BatchTypeError(
        f"a batch must be a tensor of images or an (images, labels) pair of tensors, got "
        f"{described}; use transforms.ToTensor() in the dataset so the DataLoader yields tensors"
    )
