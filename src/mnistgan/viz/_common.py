"""Helpers shared by the viz modules: input checks, uint8 conversion, atomic writes."""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_int
from .._io import atomic_write
from ..errors import ConfigError


def _check_images(images: object, name: str = "images") -> Tensor:
    """Return ``images`` if it is a float or uint8 tensor ``(N, C, H, W)`` with N >= 1."""
    if not isinstance(images, Tensor) or images.dim() != 4 or images.size(0) < 1:
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ConfigError(
            f"{name} must be a tensor of shape (N, C, H, W) with N >= 1, got {got}; "
            f"e.g. gan.sample(16)"
        )
    if images.size(1) not in (1, 3):
        raise ConfigError(
            f"{name} must have 1 or 3 channels, got {images.size(1)} (shape {tuple(images.shape)})"
        )
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise ConfigError(f"{name} must be float in [0, 1] or uint8, got dtype {images.dtype}")
    return images


def _positive_int(value: object, name: str) -> int:
    return check_int(value, name)


def _non_negative_int(value: object, name: str) -> int:
    return check_int(value, name, minimum=0)


def _to_uint8(image: Tensor) -> Tensor:
    """A ``(C, H, W)`` image in [0, 1] (or uint8) as uint8 ``(H, W)`` or ``(H, W, 3)``."""
    if image.dtype != torch.uint8:
        # The rounding of torchvision's save_image: x * 255 + 0.5, clamped, truncated.
        image = image.detach().float().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    image = image.cpu()
    if image.size(0) == 1:
        return image[0].contiguous()  # (H, W)
    if image.size(0) == 3 and bool((image[0] == image[1]).all() and (image[1] == image[2]).all()):
        return image[0].contiguous()  # grey RGB (make_grid repeats one channel): (H, W)
    return image.permute(1, 2, 0).contiguous()  # (H, W, 3)


_atomic_write = atomic_write  # the viz modules import it from here
