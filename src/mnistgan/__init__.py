"""mnistgan: train, study and reuse GANs on MNIST-style digits, in plain PyTorch.

>>> from mnistgan import DCGAN
>>> gan = DCGAN()
>>> gan.sample(4, seed=0).shape
torch.Size([4, 1, 28, 28])
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    BatchTypeError,
    CheckpointError,
    ConfigError,
    DataError,
    DatasetNotFoundError,
    MnistganError,
    TrainingError,
)
from .gan import DCGAN, GAN
from .presets import GANConfig, NetworkSpec, get_preset, list_presets, register_preset
from .training import (
    Callback,
    History,
    HistoryWriter,
    ModelCheckpoint,
    ProgressBar,
    SampleGrid,
)

__all__ = [
    "DCGAN",
    "GAN",
    "BatchTypeError",
    "Callback",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DatasetNotFoundError",
    "GANConfig",
    "History",
    "HistoryWriter",
    "MnistganError",
    "ModelCheckpoint",
    "NetworkSpec",
    "ProgressBar",
    "SampleGrid",
    "TrainingError",
    "__version__",
    "get_preset",
    "list_presets",
    "register_preset",
]
