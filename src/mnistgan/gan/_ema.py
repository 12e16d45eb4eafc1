"""The generator's exponential moving average, with a warm-up of its decay."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

_Params = tuple[Tensor, ...] | list[Tensor]


def ema_with_warmup(decay: float) -> Callable[[_Params, _Params, Tensor | int], None]:
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


def make_ema(generator: nn.Module, decay: float | None) -> AveragedModel | None:
    """An averaged copy of ``generator`` (weights and buffers), or ``None`` without a decay."""
    if decay is None:
        return None
    return AveragedModel(generator, multi_avg_fn=ema_with_warmup(decay), use_buffers=True)
