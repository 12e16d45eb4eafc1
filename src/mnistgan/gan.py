"""The GAN model: two networks, their optimisers, a loss, and the training step."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from . import __version__
from ._validate_state import validate_state
from .checkpoint import load_checkpoint, save_checkpoint
from .conditioning import ConditionalDiscriminator, check_labels
from .device import Precision, autocast, get_rng_state, grad_scaler, resolve_device, set_rng_state
from .errors import BatchTypeError, CheckpointError, ConfigError, DataError
from .losses import GANLoss, get_loss, gradient_penalty, r1_penalty
from .presets import GANConfig, NetworkSpec, get_preset
from .sampling import Sampler
from .training import distributed as _distributed
from .training.callbacks import Callback, ModelCheckpoint, ProgressBar, unique_state_keys
from .training.history import History
from .training.loop import NONFINITE_ACTIONS, NonFinite, run_epochs

__all__ = ["DCGAN", "GAN"]

logger = logging.getLogger(__name__)

_NORMALIZE_HINT = (
    "give images in [0, 1] (transforms.ToTensor()) or uint8 0–255, without "
    "transforms.Normalize: the model maps them to its generator's range itself"
)


class GAN:
    """A generative adversarial network ready to train, sample, save and load.

    The model holds a generator ``G`` and a discriminator ``D``, one Adam
    optimiser each, a loss (:mod:`mnistgan.losses`) and optionally an
    exponential moving average of ``G`` used for sampling. Training runs
    through :meth:`fit`, the library's one loop; variants override
    :meth:`train_step`.

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
        self.config = _apply_overrides(config, overrides)
        self.loss: GANLoss = get_loss(self.config.loss)
        self.num_classes = self.config.num_classes
        self.custom_networks = generator is not None or discriminator is not None
        self.generator = generator if generator is not None else _build(self.config, "generator")
        self.discriminator = (
            discriminator if discriminator is not None else _build(self.config, "discriminator")
        )
        for name, net in (("generator", self.generator), ("discriminator", self.discriminator)):
            if not isinstance(net, nn.Module):
                raise ConfigError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
        if channels_last == "auto":
            channels_last = not self.custom_networks and _has_conv2d(
                self.generator, self.discriminator
            )
        elif not isinstance(channels_last, bool):
            raise ConfigError(
                f'channels_last must be True, False or "auto", got {channels_last!r}'
            )
        self.channels_last = channels_last
        if self.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        self.joint_d_pass = _joint_d_pass(joint_d_pass, self.discriminator)
        self.ema: AveragedModel | None = None
        if self.config.ema_decay is not None:
            self.ema = AveragedModel(
                self.generator,
                multi_avg_fn=_ema_with_warmup(self.config.ema_decay),
                use_buffers=True,
            )
        kernel = {"fused": True} if fused else {"foreach": True}
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=self.config.lr_g, betas=self.config.betas, **kernel
        )
        self.opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=self.config.lr_d, betas=self.config.betas, **kernel
        )
        if precision not in ("32", "bf16", "16"):
            raise ConfigError(f'precision must be "32", "bf16" or "16", got {precision!r}')
        self.precision: Precision = precision
        self.compile = bool(compile)
        self._scalers: dict[str, torch.amp.GradScaler | None] = {}
        self._forward_g: nn.Module = self.generator
        self._forward_d: nn.Module = self.discriminator
        # D as the G step runs it: _forward_d in one process, the bare D under DDP.
        self._scoring_d: nn.Module = self.discriminator
        self._rank_rng_states: list[Any] | None = None  # every rank's, on rank 0 (DDP)
        self.epoch = 0
        self.global_step = 0
        self.history = History()
        self.stop_training = False
        self.callbacks: list[Callback] = []
        self._pending_callback_states: dict[str, Any] = {}
        self._check_values = True

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GAN:
        """A GAN built from a named preset (see :func:`mnistgan.list_presets`).

        Example:
            >>> GAN.from_preset("mlp").config.preset
            'mlp'
        """
        runtime_keys = ("precision", "compile", "fused", "channels_last", "joint_d_pass")
        runtime = {k: overrides.pop(k) for k in runtime_keys if k in overrides}
        if not isinstance(name, str):
            raise ConfigError(f"name must be a preset name (str), got {type(name).__name__}")
        return cls(_apply_overrides(get_preset(name), overrides), **runtime)

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
        return _distributed.is_main_process()

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
            low, high = torch.aminmax(x)
            if not torch.isfinite(low) or not torch.isfinite(high):
                raise DataError("images contain NaN or infinite values; clean the dataset")
            if low < 0 or high > 1:
                raise DataError(
                    f"images must be in [0, 1], got values in [{low:.3f}, {high:.3f}]; "
                    f"{_NORMALIZE_HINT}"
                )
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

    # ------------------------------------------------------------------ training

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Standard normal latent vectors ``(n, latent_dim)`` on the model's device."""
        if generator is not None:
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    def _scaler(self, name: str) -> torch.amp.GradScaler | None:
        if name not in self._scalers:
            self._scalers[name] = grad_scaler(self.device, self.precision)
        return self._scalers[name]

    def _update(self, loss: Tensor, optimizer: torch.optim.Optimizer, name: str) -> None:
        optimizer.zero_grad(set_to_none=True)
        scaler = self._scaler(name)
        if scaler is None:
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        else:
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimizer)
            scaler.update()

    def random_labels(self, n: int, *, generator: torch.Generator | None = None) -> Tensor | None:
        """Uniform class labels ``(n,)`` on the model's device, or ``None`` if unconditional."""
        if self.num_classes is None:
            return None
        if generator is not None:
            return torch.randint(self.num_classes, (n,), generator=generator).to(self.device)
        return torch.randint(self.num_classes, (n,), device=self.device)

    def _g(self, z: Tensor, y: Tensor | None) -> Tensor:
        out: Tensor = self._forward_g(z) if y is None else self._forward_g(z, y)
        return out

    def _d(
        self, x: Tensor, y: Tensor | None, *, scoring: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Real/fake logits and, for an auxiliary-classifier D, class logits.

        ``scoring=True`` is the G step's pass, through the bare D under DDP (D is frozen
        there and must not wait for a gradient synchronisation).
        """
        net = self._scoring_d if scoring else self._forward_d
        out = net(x) if self.num_classes is None else net(x, y)
        if isinstance(out, tuple):
            return out[0], out[1]
        return out, None

    def _d_real_fake(
        self, real: Tensor, y_real: Tensor | None, fake: Tensor, y_fake: Tensor | None
    ) -> tuple[tuple[Tensor, Tensor | None], tuple[Tensor, Tensor | None]]:
        """D's outputs for the real and the fake batch, in one pass over both
        (:attr:`joint_d_pass`) or one pass each.

        R1 differentiates the real logits with respect to the real batch alone, which
        would carry the fake half of a joint pass through its double backward.
        """
        if not self.joint_d_pass or self.config.r1_gamma > 0:
            return self._d(real, y_real), self._d(fake, y_fake)
        y = None if y_real is None or y_fake is None else torch.cat((y_real, y_fake))
        logits, classes = self._d(torch.cat((real, fake)), y)
        n = real.size(0)
        if classes is None:
            return (logits[:n], None), (logits[n:], None)
        return (logits[:n], classes[:n]), (logits[n:], classes[n:])

    def _aux(self, class_logits: Tensor | None, y: Tensor | None) -> Tensor | float:
        """The auxiliary classifier's loss (ACGAN), 0 for other discriminators."""
        if class_logits is None or y is None:
            return 0.0
        return self.config.aux_weight * F.cross_entropy(class_logits.float(), y)

    def _score(self, logits: Tensor) -> Tensor:
        """Mean of D's output for logging: a probability for the BCE family."""
        logits = logits.detach().float()
        return (torch.sigmoid(logits) if self.loss.probabilities else logits).mean()

    def train_step(self, batch: Any) -> dict[str, Tensor]:
        """One training step: ``d_steps`` discriminator, then ``g_steps`` generator updates.

        As in the reference implementations, the discriminator sees a real batch
        and a detached fake batch; the generator then learns from the same fake
        batch re-scored by the updated discriminator.

        Args:
            batch: ``x`` or ``(x, y)`` (see :meth:`prepare_batch`).

        Returns:
            0-d tensors ``loss_d``, ``loss_g``, ``d_real``, ``d_fake_before`` and
            ``d_fake_after`` (probabilities for the BCE losses, mean critic output
            otherwise).
        """
        real, y_real = self.prepare_batch(batch)
        self._check_values = False
        n = real.size(0)
        cfg, loss = self.config, self.loss
        amp = autocast(self.device, self.precision)
        for _ in range(cfg.d_steps):
            z, y_fake = self.sample_latent(n), self.random_labels(n)
            with amp:
                fake = self._g(z, y_fake)
            if cfg.r1_gamma > 0:
                # detach() first: ``real`` may be the caller's own tensor, which must
                # not end up requiring grad (or holding a .grad) after fit().
                real = real.detach().requires_grad_(True)
            with amp:
                (real_logits, real_classes), (fake_logits, fake_classes) = self._d_real_fake(
                    real, y_real, fake.detach(), y_fake
                )
                loss_d = loss.d_loss(real_logits.float(), fake_logits.float())
            loss_d = loss_d + self._aux(real_classes, y_real) + self._aux(fake_classes, y_fake)
            if loss.gradient_penalty:
                loss_d = loss_d + cfg.gp_weight * gradient_penalty(
                    lambda x: self._d(x, y_real)[0], real.detach(), fake.detach()
                )
            if cfg.r1_gamma > 0:
                loss_d = loss_d + cfg.r1_gamma / 2 * r1_penalty(real_logits, real)
                real = real.detach()
            self._update(loss_d, self.opt_d, "d")
        # G's update needs no gradient for D's weights; parameters the user froze stay frozen.
        d_trainable = [p for p in self.discriminator.parameters() if p.requires_grad]
        for p in d_trainable:
            p.requires_grad_(False)
        try:
            for step in range(cfg.g_steps):
                if step > 0:
                    y_fake = self.random_labels(n)
                    with amp:
                        fake = self._g(self.sample_latent(n), y_fake)
                with amp:
                    after_logits, after_classes = self._d(fake, y_fake, scoring=True)
                    loss_g = loss.g_loss(after_logits.float())
                loss_g = loss_g + self._aux(after_classes, y_fake)
                self._update(loss_g, self.opt_g, "g")
                if self.ema is not None:
                    self.ema.update_parameters(self.generator)
        finally:
            for p in d_trainable:
                p.requires_grad_(True)
        return {
            "loss_d": loss_d.detach(),
            "loss_g": loss_g.detach(),
            "d_real": self._score(real_logits),
            "d_fake_before": self._score(fake_logits),
            "d_fake_after": self._score(after_logits),
        }

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
        strategy: _distributed.Strategy = "auto",
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
        if isinstance(loader, Tensor):
            raise BatchTypeError(
                "loader must be an iterable of batches, got a single tensor; wrap it: "
                "DataLoader(TensorDataset(images), batch_size=64), or [images] for one batch"
            )
        if not _iterable(loader):
            raise BatchTypeError(
                f"loader must be an iterable of batches (a DataLoader, a list of tensors), "
                f"got {type(loader).__name__}"
            )
        epochs = self.config.epochs if epochs is None else epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ConfigError(f"epochs must be an int >= 0, got {epochs!r}")
        if on_nonfinite not in NONFINITE_ACTIONS:
            raise ConfigError(
                f"on_nonfinite must be one of {list(NONFINITE_ACTIONS)}, got {on_nonfinite!r}"
            )
        if resume is not None and not isinstance(resume, (str, os.PathLike)):
            raise ConfigError(
                f'resume must be a checkpoint path, "auto" or None, got '
                f"{type(resume).__name__} {resume!r}"
            )
        if not _iterable(callbacks) or isinstance(callbacks, (str, bytes, Callback)):
            raise ConfigError(
                f"callbacks must be a list of mnistgan Callback instances, got "
                f"{type(callbacks).__name__}; pass e.g. callbacks=[ModelCheckpoint('ckpt')]"
            )
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise ConfigError(
                    f"callbacks must be mnistgan Callback instances, got {type(cb).__name__}"
                )
        if progress and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar())
        ctx = _distributed._setup(strategy, device if device is not None else self.device)
        if ctx is not None:
            device = ctx.device
            loader = ctx.shard_loader(loader)
        elif sync_batchnorm:
            logger.info("sync_batchnorm=True has no effect in a single process")
        self._rank_rng_states = None
        if device is not None:
            self.to(device)
        target = self.epoch + epochs
        if resume is not None:
            path = self._resume_path(resume, callbacks)
            if ctx is not None:  # rank 0 decides, so that every rank loads the same file
                path = ctx.broadcast_object(path)
            if path is not None:
                self.load_state_dict(load_checkpoint(path, map_location=self.device))
                logger.info("resumed from %s at epoch %d", path, self.epoch)
                target = epochs
        self.callbacks = callbacks
        for key, cb in zip(unique_state_keys(callbacks), callbacks, strict=True):
            if key in self._pending_callback_states:
                cb.load_state_dict(self._pending_callback_states.pop(key))
        self.generator.train()
        self.discriminator.train()
        if ctx is None:
            self._forward_g, self._forward_d = self._compiled()
            self._scoring_d = self._forward_d
        else:
            ctx._fork_rng()
            wrapped = ctx._wrap(self, sync_batchnorm=sync_batchnorm)
            self._forward_g, self._forward_d, self._scoring_d = wrapped
        try:
            return run_epochs(
                self,
                loader,
                target_epoch=target,
                callbacks=callbacks,
                on_nonfinite=on_nonfinite,
                distributed=ctx,
            )
        finally:
            self._check_values = True
            if ctx is not None:  # no DDP wrappers outside fit
                self._forward_g, self._forward_d = self.generator, self.discriminator
                self._scoring_d = self.discriminator

    def _compiled(self) -> tuple[nn.Module, nn.Module]:
        if not self.compile:
            return self.generator, self.discriminator
        return torch.compile(self.generator), torch.compile(self.discriminator)  # type: ignore[return-value]

    @staticmethod
    def _resume_path(resume: str | os.PathLike[str], callbacks: Sequence[Callback]) -> Path | None:
        if str(resume) != "auto":
            return Path(resume)
        checkpointers = [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)]
        if not checkpointers:
            raise ConfigError(
                'resume="auto" looks in the ModelCheckpoint callback\'s folder, but no '
                "ModelCheckpoint is among callbacks; add one or pass a checkpoint path"
            )
        path = checkpointers[0].latest()
        if path is None:
            logger.info("no checkpoint in %s; starting fresh", checkpointers[0].directory)
        return path

    # ------------------------------------------------------------------ sampling

    def sampler(self) -> Sampler:
        """The sampling half of this model: its EMA generator if it has one, else its generator.

        The module is shared, not copied. :meth:`sample` and :meth:`generate` run it.
        """
        return Sampler.from_gan(self)

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

    def _training_state(self) -> dict[str, Any]:
        """Copies of what a training step changes: weights, buffers, EMA, optimisers, scalers."""
        return {
            "generator": _clone_tree(self.generator.state_dict()),
            "discriminator": _clone_tree(self.discriminator.state_dict()),
            "ema": _clone_tree(self.ema.state_dict()) if self.ema is not None else None,
            "opt_g": _clone_tree(self.opt_g.state_dict()),
            "opt_d": _clone_tree(self.opt_d.state_dict()),
            "scalers": {k: s.state_dict() for k, s in self._scalers.items() if s is not None},
        }

    def _load_training_state(self, state: Mapping[str, Any]) -> None:
        """Put back what :meth:`_training_state` copied (in place; gradients are dropped)."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        for optimizer, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            optimizer.load_state_dict(state[key])
            optimizer.zero_grad(set_to_none=True)
        for key, scaler_state in state["scalers"].items():
            scaler = self._scalers.get(key)
            if scaler is not None:
                scaler.load_state_dict(scaler_state)

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds: config, weights, optimisers, counters, RNG, history."""
        return {
            "mnistgan_version": __version__,
            "config": self.config.to_dict(),
            "custom_networks": self.custom_networks,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scalers": {k: s.state_dict() for k, s in self._scalers.items() if s is not None},
            "epoch": self.epoch,
            "global_step": self.global_step,
            "rng": get_rng_state(),
            **({"rng_ranks": self._rank_rng_states} if self._rank_rng_states else {}),
            "history": self.history.state_dict(),
            "callbacks": {
                key: cb.state_dict()
                for key, cb in zip(unique_state_keys(self.callbacks), self.callbacks, strict=True)
            }
            or dict(self._pending_callback_states),
        }

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
        validate_state(state, self.config, restore_rng=restore_rng)
        if not isinstance(state, Mapping):
            raise CheckpointError(
                f"a checkpoint's content must be a dict (GAN.state_dict()), got "
                f"{type(state).__name__}"
            )
        try:
            saved = GANConfig.from_dict(state["config"])
        except (KeyError, TypeError, AttributeError, ConfigError) as err:
            raise CheckpointError(
                f"the checkpoint's model config is missing or unreadable ({type(err).__name__}: "
                f"{_one_line(err)}); it was not written by GAN.save, or it is damaged"
            ) from err
        if _architecture(saved) != _architecture(self.config):
            raise CheckpointError(
                f"the checkpoint was written for another model (preset {saved.preset!r}, "
                f"latent_dim {saved.latent_dim}, image_shape {saved.image_shape}) than this one "
                f"(preset {self.config.preset!r}, latent_dim {self.latent_dim}, image_shape "
                f"{self.image_shape}); load it with GAN.load(path) instead"
            )
        # Read every plain entry before touching the model, so a damaged one changes nothing.
        damaged = (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError)
        try:
            epoch, global_step = int(state["epoch"]), int(state["global_step"])
            if epoch < 0 or global_step < 0:
                raise ValueError(f"epoch {epoch} and global_step {global_step} must be >= 0")
            history = History()
            history.load_state_dict(state["history"])
            callback_states = dict(state.get("callbacks") or {})
            scaler_states = dict(state.get("scalers") or {})
            rng = _distributed._rank_rng_state(state) if restore_rng else None
        except damaged as err:
            raise CheckpointError(
                f"the checkpoint is damaged or incomplete ({type(err).__name__}: "
                f"{_one_line(err)}); it was not written by GAN.save, or changed since: resume "
                "from another checkpoint"
            ) from err
        backup = self._training_state()
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            if self.ema is not None and state.get("ema") is not None:
                self.ema.load_state_dict(state["ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            for key, scaler_state in scaler_states.items():
                scaler = self._scaler(key)
                if scaler is not None:
                    scaler.load_state_dict(scaler_state)
        except damaged as err:
            self._load_training_state(backup)
            raise CheckpointError(
                f"the checkpoint's weights do not fit this model's networks ({_one_line(err)}); "
                "load it with GAN.load(path), or build the same networks it was saved with"
            ) from err
        if rng is not None:
            try:
                set_rng_state(rng)
            except (ConfigError, *damaged) as err:
                self._load_training_state(backup)
                raise CheckpointError(
                    f"the checkpoint's random-number states are damaged ({_one_line(err)}); "
                    "pass restore_rng=False to load the weights without them"
                ) from err
        self.epoch = epoch
        self.global_step = global_step
        self.history.load_state_dict(history.state_dict())
        self._pending_callback_states = callback_states

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
        state = load_checkpoint(path)
        try:
            config = GANConfig.from_dict(state["config"])
        except (KeyError, TypeError, AttributeError, ConfigError) as err:
            raise CheckpointError(
                f"{path}: the checkpoint's model config is unreadable ({_one_line(err)})"
            ) from err
        custom = state.get("custom_networks", False)
        if not isinstance(custom, bool):
            raise CheckpointError(
                f"{path}: the checkpoint is damaged: custom_networks must be True or False, "
                f"got {type(custom).__name__}"
            )
        if custom and (generator is None or discriminator is None):
            raise CheckpointError(
                f"{path} was saved from custom networks; pass the same modules: "
                f"GAN.load(path, generator=..., discriminator=...)"
            )
        try:
            model = cls(config, generator=generator, discriminator=discriminator)
        except ConfigError as err:
            raise CheckpointError(
                f"{path}: the checkpoint's model config does not build a model ({_one_line(err)})"
            ) from err
        if device is not None:
            model.to(device)
        model.load_state_dict(state, restore_rng=restore_rng)
        return model


class DCGAN(GAN):
    """The default GAN: a small 28x28 DCGAN tuned to train well on MNIST on a CPU.

    Same as ``GAN.from_preset("default", **overrides)``.

    Example:
        >>> gan = DCGAN(lr_g=1e-3)
        >>> gan.config.preset, gan.config.lr_g
        ('default', 0.001)
    """

    def __init__(self, config: GANConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config if config is not None else get_preset("default"), **kwargs)


_Params = tuple[Tensor, ...] | list[Tensor]


def _ema_with_warmup(decay: float) -> Callable[[_Params, _Params, Tensor | int], None]:
    """EMA update whose decay ramps up to ``decay``: ``min(decay, (1 + n) / (10 + n))``
    after ``n`` updates, so the average follows the generator early in training instead
    of holding on to its random initial weights for thousands of steps."""

    @torch.no_grad()
    def update(ema: _Params, current: _Params, num_averaged: Tensor | int) -> None:
        n = float(num_averaged)  # AveragedModel has read it on the host already
        d = min(decay, (1 + n) / (10 + n))
        if torch.is_floating_point(ema[0]):
            torch._foreach_lerp_(list(ema), list(current), 1 - d)
        else:  # integer buffers (BatchNorm's batch count) follow the generator
            for averaged, value in zip(ema, current, strict=True):
                averaged.copy_(value)

    return update


def _architecture(config: GANConfig) -> tuple[Any, ...]:
    return (
        config.generator,
        config.discriminator,
        config.latent_dim,
        config.image_shape,
        config.output,
        config.num_classes,
        config.conditioning,
    )


_FLOAT_FIELDS = ("lr_g", "lr_d", "gp_weight", "r1_gamma", "aux_weight", "ema_decay")


def _apply_overrides(config: GANConfig, overrides: Mapping[str, Any]) -> GANConfig:
    """``config.replace(**overrides)``, with every failure a ConfigError naming the fields."""
    try:
        config = config.replace(**overrides) if overrides else config
    except (TypeError, AttributeError) as err:  # e.g. image_shape=3: tuple(3) fails
        raise ConfigError(
            f"config overrides {dict(overrides)!r} do not make a valid config "
            f"({type(err).__name__}: {err}); see mnistgan.GANConfig for each field's type"
        ) from err
    for name in ("generator", "discriminator"):
        spec = getattr(config, name)
        if not isinstance(spec, NetworkSpec):
            raise ConfigError(
                f"{name} must be a NetworkSpec or a mapping of builder arguments such as "
                f"{{'hidden': (128,)}}, got {type(spec).__name__} {spec!r}"
            )
    numbers = [(name, getattr(config, name)) for name in _FLOAT_FIELDS]
    numbers += [(f"betas[{i}]", beta) for i, beta in enumerate(config.betas)]
    for name, value in numbers:
        if isinstance(value, (int, float)) and not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return config


def _build(config: GANConfig, name: str) -> nn.Module:
    """Build the config's generator or discriminator; a builder's TypeError is a ConfigError."""
    spec: NetworkSpec = getattr(config, name)
    try:
        net: nn.Module = getattr(config, f"build_{name}")()
    except (TypeError, AttributeError) as err:  # e.g. an argument the builder does not take
        raise ConfigError(
            f"could not build the {name} with {spec.builder}(**{dict(spec.kwargs)!r}) "
            f"({type(err).__name__}: {err}); check the {name} override against "
            f"mnistgan.builders.{spec.builder}"
        ) from err
    return net


def _has_conv2d(*nets: nn.Module) -> bool:
    """Whether any of ``nets`` holds a 2-D (transposed) convolution."""
    kinds = (nn.Conv2d, nn.ConvTranspose2d)
    return any(isinstance(m, kinds) for net in nets for m in net.modules())


# Layers whose training-mode output for a sample depends on that sample alone, with no
# random draws and no state that changes per call: a joint D pass computes what two do.
_PER_SAMPLE_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.Identity, nn.Flatten, nn.Unflatten,
    nn.Linear, nn.Bilinear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
    nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.ZeroPad2d,
    nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Softplus,
    nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.PReLU,
    nn.LayerNorm, nn.GroupNorm, nn.Embedding, ConditionalDiscriminator,
)  # fmt: skip


def _per_sample(net: nn.Module) -> bool:
    """Whether every module of ``net`` is exactly one of :data:`_PER_SAMPLE_LAYERS`,
    with no hooks (the old ``spectral_norm`` is a hook that steps a power iteration)."""
    return all(
        type(m) in _PER_SAMPLE_LAYERS and not (m._forward_hooks or m._forward_pre_hooks)
        for m in net.modules()
    )


def _joint_d_pass(choice: object, discriminator: nn.Module) -> bool:
    """Resolve ``GAN(joint_d_pass=...)`` for ``discriminator``."""
    if choice == "auto":
        return _per_sample(discriminator)
    if not isinstance(choice, bool):
        raise ConfigError(f'joint_d_pass must be True, False or "auto", got {choice!r}')
    if choice and any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules()
    ):
        raise ConfigError(
            "joint_d_pass=True needs a discriminator without BatchNorm, which would "
            'normalise real and fake images together; use joint_d_pass="auto" or False'
        )
    return choice


def _iterable(value: object) -> bool:
    """Whether ``iter(value)`` can work, without calling it (a DataLoader would start)."""
    kind = type(value)
    return hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")


def _one_line(err: BaseException) -> str:
    """``err``'s message on one line (PyTorch's state-dict errors span several)."""
    return " ".join(str(err).split())


def _clone_tree(value: Any) -> Any:
    """A copy of nested dicts/lists/tuples whose tensors are cloned (detached)."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_tree(v) for v in value)
    return value


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
