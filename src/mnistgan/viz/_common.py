"""Helpers shared by the viz modules: input checks, uint8 conversion, atomic writes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import torch
from torch import Tensor

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
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")
    return value


def _non_negative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be an int >= 0, got {value!r}")
    return value


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


def _default_mode() -> int:
    """Permissions of a newly created file: ``0o666`` minus the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file so that readers see the old or the new version, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode())  # mkstemp makes 0600 files; use the usual 0666 & ~umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
