"""mnistgan: train, study and reuse GANs on MNIST-style digits, in plain PyTorch.

The names below load their module on first use, so ``import mnistgan.builders`` in
another project brings in the builders alone, not the training code.

>>> from mnistgan import DCGAN
>>> gan = DCGAN()
>>> gan.sample(4, seed=0).shape
torch.Size([4, 1, 28, 28])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .errors import (
        BatchTypeError,
        CheckpointError,
        ConfigError,
        DataError,
        DatasetNotFoundError,
        FolderInUseError,
        MnistganError,
        TrainingError,
    )
    from .gan import DCGAN, GAN
    from .metrics import HealthMonitor
    from .presets import GANConfig, NetworkSpec, get_preset, list_presets, register_preset
    from .pretrained import list_pretrained
    from .training import (
        Callback,
        History,
        HistoryWriter,
        ModelCheckpoint,
        ProgressBar,
        RunLock,
        SampleGrid,
    )

_LAZY = {
    "BatchTypeError": "errors",
    "CheckpointError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "DatasetNotFoundError": "errors",
    "FolderInUseError": "errors",
    "MnistganError": "errors",
    "TrainingError": "errors",
    "DCGAN": "gan",
    "GAN": "gan",
    "GANConfig": "presets",
    "NetworkSpec": "presets",
    "get_preset": "presets",
    "list_presets": "presets",
    "register_preset": "presets",
    "list_pretrained": "pretrained",
    "Callback": "training",
    "History": "training",
    "HistoryWriter": "training",
    "ModelCheckpoint": "training",
    "ProgressBar": "training",
    "SampleGrid": "training",
    "RunLock": "training",
    "HealthMonitor": "metrics",
}

__all__ = [
    "DCGAN",
    "GAN",
    "BatchTypeError",
    "Callback",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DatasetNotFoundError",
    "FolderInUseError",
    "GANConfig",
    "HealthMonitor",
    "History",
    "HistoryWriter",
    "MnistganError",
    "ModelCheckpoint",
    "NetworkSpec",
    "ProgressBar",
    "RunLock",
    "SampleGrid",
    "TrainingError",
    "__version__",
    "get_preset",
    "list_presets",
    "list_pretrained",
    "register_preset",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mnistgan' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
