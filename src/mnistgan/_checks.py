"""Input checks shared by the whole library: integers, image batches, class labels.

Each kind of mistake raises one exception type wherever it is made: a bad setting
(a count, a size) is a :class:`~mnistgan.errors.ConfigError`; images or labels that do
not fit are a :class:`~mnistgan.errors.DataError` (a non-tensor batch a
:class:`~mnistgan.errors.BatchTypeError`). Messages say what was expected, what came
and how to fix it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .errors import ConfigError, DataError, MnistganError

__all__ = ["check_images_range", "check_int"]


def check_int(
    value: object,
    name: str,
    *,
    minimum: int = 1,
    error: type[MnistganError] | None = None,
    hint: str = "",
) -> int:
    """Return ``value`` if it is an int (not a bool) ``>= minimum``, else raise.

    Args:
        value: What the caller was given.
        name: The argument's name, as the user wrote it (``"batch_size"``, ``"--n"``).
        minimum: The smallest value allowed (1: "a positive int").
        error: The exception type; :class:`~mnistgan.errors.ConfigError` by default.
        hint: Appended to the message, e.g. ``"pass e.g. batch_size=64"``.

    Example:
        >>> check_int(3, "n")
        3
        >>> check_int(0, "n")
        Traceback (most recent call last):
        ...
        mnistgan.errors.ConfigError: n must be a positive int, got 0
        >>> check_int(-1, "seed", minimum=0)
        Traceback (most recent call last):
        ...
        mnistgan.errors.ConfigError: seed must be an int >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        message = f"{name} must be {kind}, got {value!r}"
        raise (error or ConfigError)(f"{message}; {hint}" if hint else message)
    return value


def check_images_range(images: Tensor, hint: str) -> None:
    """Raise a :class:`~mnistgan.errors.DataError` unless float ``images`` are finite and in
    [0, 1] (one fused min/max: one host sync on an accelerator).

    Example:
        >>> check_images_range(torch.full((1, 1, 2, 2), 2.0), "give images in [0, 1]")
        Traceback (most recent call last):
        ...
        mnistgan.errors.DataError: images must be in [0, 1], got values in [2.000, 2.000]; ...
    """
    low, high = torch.aminmax(images)
    if not torch.isfinite(low) or not torch.isfinite(high):
        raise DataError("images contain NaN or infinite values; clean the data first")
    if low < 0 or high > 1:
        raise DataError(f"images must be in [0, 1], got values in [{low:.3f}, {high:.3f}]; {hint}")
