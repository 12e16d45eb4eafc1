"""The pretrained models shipped inside the package, with the checksums of their files.

Each is made by ``scripts/train_pretrained.py`` (its model card states the command, the
budget and the seed); the digests below are checked before a shipped model is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

SHIPPED: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "mnist": MappingProxyType(
            {
                "config.json": "1159d66ff031071c9c7f8728776d732d10c610f2d06e68a9bc5787a5dc08d931",
                "model.safetensors": (
                    "ca7b2d130e7c47cd03eb1af841ef0dd6462aba0bad6e8c6044f366749401fbb3"
                ),
            }
        ),
        "mnist-conditional": MappingProxyType(
            {
                "config.json": "a2c68e48930ecdf742dc801f1027b17b5a20cf3795b0a1ce6691869adfd4be4a",
                "model.safetensors": (
                    "ae46d50b16e20a7a4e0ad4cbe4872ed985b6f61eff4080f32706b911fbf4a275"
                ),
            }
        ),
    }
)
"""Shipped name -> {file name: SHA-256} of its folder under :data:`WEIGHTS_DIR`."""


def list_pretrained() -> list[str]:
    """Names of the pretrained models shipped with mnistgan, sorted.

    Example:
        >>> isinstance(list_pretrained(), list)
        True
    """
    return sorted(SHIPPED)
