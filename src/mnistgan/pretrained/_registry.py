"""The pretrained models shipped inside the package, with the checksums of their files.

Each is made by ``scripts/train_pretrained.py`` (its model card states the command, the
budget and the seed); the digests below are checked before a shipped model is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

SHIPPED: Mapping[str, Mapping[str, str]] = MappingProxyType({})
"""Shipped name -> {file name: SHA-256} of its folder under :data:`WEIGHTS_DIR`."""


def list_pretrained() -> list[str]:
    """Names of the pretrained models shipped with mnistgan, sorted.

    Example:
        >>> isinstance(list_pretrained(), list)
        True
    """
    return sorted(SHIPPED)
