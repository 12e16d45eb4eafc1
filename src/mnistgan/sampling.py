"""Sampling from a generator: latent vectors and labels in, images in [0, 1] out.

:class:`Sampler` is what :meth:`mnistgan.GAN.sample` and :meth:`mnistgan.GAN.generate`
run, and what a generator file loads into (:func:`mnistgan.export.load_sampler`), so
the same seed gives the same images either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ._checks import check_int
from .conditioning import check_labels
from .device import resolve_device
from .errors import CheckpointError, ConfigError, DataError
from .presets import GANConfig
from .pretrained._hub import fetch

__all__ = ["HasSampler", "Sampler"]

_UNCONDITIONAL = (
    "labels need a conditional model; build it with num_classes=10 (e.g. DCGAN(num_classes=10))"
)


@runtime_checkable
class HasSampler(Protocol):
    """Anything that can hand out its :class:`Sampler`, such as :class:`mnistgan.GAN`;
    :mod:`mnistgan.export` takes one of these or a :class:`Sampler`."""

    def sampler(self) -> Sampler:
        """The generator and what it takes to sample from it."""
        ...


class Sampler:
    """A generator with what it takes to sample from it, without a discriminator.

    :meth:`sample` and :meth:`generate` behave as those of :class:`mnistgan.GAN`:
    float images in [0, 1], shape ``(N, C, H, W)``, on the CPU; the same seed (and
    labels) gives the same images as the GAN the generator came from.

    Args:
        generator: The generator module; it maps ``(N, latent_dim)`` (and labels
            ``(N,)`` when conditional) to images in ``config.image_range``.
        config: The config the generator was built from.
        info: The generator file's metadata (see :mod:`mnistgan.export`), if any.

    Example:
        >>> from mnistgan import GAN
        >>> sampler = Sampler.from_gan(GAN.from_preset("vanilla"))
        >>> sampler.latent_dim, sampler.image_shape
        (100, (1, 28, 28))
        >>> sampler.sample(2, seed=0).shape
        torch.Size([2, 1, 28, 28])
    """

    def __init__(
        self,
        generator: nn.Module,
        config: GANConfig,
        *,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(generator, nn.Module):
            raise ConfigError(
                f"generator must be a torch.nn.Module, got {type(generator).__name__}"
            )
        if not isinstance(config, GANConfig):
            raise ConfigError(
                f"config must be a GANConfig (e.g. mnistgan.get_preset('default')), "
                f"got {type(config).__name__}"
            )
        self.generator = generator
        self.config = config
        self.info: dict[str, Any] = dict(info) if info is not None else {}

    @classmethod
    def from_gan(cls, gan: HasSampler) -> Sampler:
        """The sampling half of ``gan`` (anything with a ``sampler()`` method, such as
        :class:`mnistgan.GAN`): its EMA generator if it has one, else its generator.

        The module is shared, not copied.
        """
        return gan.sampler()

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        *,
        device: str | torch.device | None = None,
        revision: str | None = None,
    ) -> Sampler:
        """The generator of a pretrained folder, without a discriminator (see
        :meth:`mnistgan.GAN.from_pretrained` for the names and paths it takes).

        Example:
            >>> import tempfile
            >>> from mnistgan import GAN
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     _ = GAN.from_preset("vanilla").save_pretrained(folder)
            ...     Sampler.from_pretrained(folder).sample(2).shape
            torch.Size([2, 1, 28, 28])
        """
        found = fetch(name_or_path, revision=revision)
        generator = found.config.build_generator()
        if found.info.get("channels_last"):
            generator.to(memory_format=torch.channels_last)  # as the GAN sampled
        try:
            generator.load_state_dict(found.generator)
        except (RuntimeError, KeyError, ValueError) as err:
            raise CheckpointError(
                f"the weights in {found.source!r} do not fit the generator ({err})"
            ) from err
        sampler = cls(generator.eval(), found.config, info=found.info)
        return sampler.to(device) if device is not None else sampler

    @property
    def latent_dim(self) -> int:
        """Size of the latent vector."""
        return self.config.latent_dim

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape ``(C, H, W)`` of the images."""
        return self.config.image_shape

    @property
    def num_classes(self) -> int | None:
        """Number of classes of a conditional generator, else ``None``."""
        return self.config.num_classes

    @property
    def device(self) -> torch.device:
        """The device the generator is on."""
        for tensor in (*self.generator.parameters(), *self.generator.buffers()):
            return tensor.device
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> Sampler:
        """Move the generator to ``device`` (``"auto"`` allowed); returns ``self``."""
        self.generator.to(resolve_device(device))
        return self

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(preset={self.config.preset!r}, latent_dim={self.latent_dim}, "
            f"image_shape={self.image_shape}, num_classes={self.num_classes})"
        )

    def sample_latent(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """Standard normal latent vectors ``(n, latent_dim)`` on the generator's device."""
        if generator is not None:
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    @torch.no_grad()
    def generate(
        self, z: Tensor, labels: Tensor | None = None, *, batch_size: int = 1000
    ) -> Tensor:
        """Images from given latent vectors, float in [0, 1], ``(N, C, H, W)``, on the CPU.

        Runs the generator in eval mode and restores its mode afterwards.

        Args:
            z: Latent vectors ``(N, latent_dim)``.
            labels: Class labels ``(N,)`` for a conditional generator; by default
                0, 1, ..., K-1, 0, 1, ...
            batch_size: Vectors per forward pass.

        Raises:
            DataError: If ``z`` has the wrong shape or non-finite values, or labels are
                missing, out of range or given to an unconditional generator.
            ConfigError: If ``batch_size`` is not a positive int.
        """
        if not isinstance(z, Tensor) or z.dim() != 2 or z.size(1) != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise DataError(
                f"z must be a tensor of shape (N, {self.latent_dim}), got {got}; "
                f"draw it with sampler.sample_latent(N)"
            )
        if z.is_complex() or (z.is_floating_point() and not bool(torch.isfinite(z).all())):
            raise DataError(
                "z must hold finite real values; draw it with sampler.sample_latent(N)"
            )
        check_int(batch_size, "batch_size")
        device = self.device
        if self.num_classes is not None:
            if labels is None:
                labels = torch.arange(z.size(0)) % self.num_classes
            if isinstance(labels, Tensor):
                labels = labels.cpu()
            labels = check_labels(labels, z.size(0), self.num_classes).to(device)
        elif labels is not None:
            raise DataError(_UNCONDITIONAL)
        net = self.generator
        was_training = net.training
        net.eval()
        try:
            chunks = []
            for i, chunk in enumerate(torch.split(z, batch_size)):
                chunk = chunk.to(device, torch.float32)
                if labels is None:
                    chunks.append(net(chunk).float().cpu())
                else:
                    y = labels[i * batch_size : i * batch_size + chunk.size(0)]
                    chunks.append(net(chunk, y).float().cpu())
        finally:
            net.train(was_training)
        images = torch.cat(chunks) if chunks else torch.empty(0, *self.image_shape)
        low, high = self.config.image_range
        return images.sub_(low).div_(high - low).clamp_(0, 1)

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: int | Sequence[int] | Tensor | None = None,
    ) -> Tensor:
        """``n`` images, float in [0, 1], ``(n, C, H, W)``, on the CPU (as :meth:`GAN.sample`).

        Args:
            n: Number of images.
            seed: Draw the latents from a generator seeded with this, leaving the global
                random state alone; ``None`` uses the global state.
            labels: For a conditional generator, one digit for all images or ``n`` of
                them; by default 0, 1, ..., 9, 0, 1, ...

        Raises:
            ConfigError: If ``n`` is not an int >= 0 or ``seed`` is not a valid seed.
            DataError: If the labels do not fit the generator.

        Example:
            >>> from mnistgan import DCGAN
            >>> Sampler.from_gan(DCGAN(num_classes=10)).sample(3, labels=7).shape
            torch.Size([3, 1, 28, 28])
        """
        check_int(n, "n", minimum=0)
        gen = None
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise ConfigError(
                    f"seed must be an int or None, got {type(seed).__name__} {seed!r}"
                )
            try:
                gen = torch.Generator().manual_seed(seed)
            except (RuntimeError, ValueError, OverflowError) as err:
                raise ConfigError(
                    f"seed must be an int from -2**63 to 2**64 - 1, got {seed!r}"
                ) from err
        if labels is not None and self.num_classes is None:
            raise DataError(_UNCONDITIONAL)
        y = None if labels is None else _labels_for(n, labels, self.num_classes)
        return self.generate(self.sample_latent(n, generator=gen), y)


def _labels_for(n: int, labels: int | Sequence[int] | Tensor, num_classes: int | None) -> Tensor:
    """``labels`` as a tensor of ``n`` class indices (an int means all ``n`` the same)."""
    if isinstance(labels, bool):
        raise DataError(f"labels must be an int, a sequence of ints or a tensor, got {labels!r}")
    if isinstance(labels, int):
        classes = num_classes or 0
        if not 0 <= labels < classes:  # checked before a tensor is built (10**30 overflows)
            raise DataError(f"labels must lie in [0, {classes - 1}], got {labels}")
        return torch.full((n,), labels, dtype=torch.long)
    if isinstance(labels, Tensor):
        return labels.reshape(-1) if labels.dim() == 0 else labels
    try:
        return torch.tensor(list(labels))
    except (TypeError, ValueError, RuntimeError, OverflowError) as err:
        raise DataError(
            f"labels must be an int, a sequence of ints or a tensor, got {labels!r}"
        ) from err
