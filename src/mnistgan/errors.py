"""The exceptions mnistgan raises, in one place.

Every error names the argument or input at fault, what was expected, what came,
and how to fix it. Each class also derives from the built-in exception that
fits it, so ``except ValueError`` keeps working::

    MnistganError
    ├── ConfigError          (ValueError)         bad builder, preset or model settings
    ├── DataError            (ValueError)         a batch or dataset that cannot be used
    │   ├── BatchTypeError   (DataError, TypeError) a batch that is not a tensor
    │   └── DatasetNotFoundError (DataError, FileNotFoundError) files missing, no download
    ├── CheckpointError      (ValueError)         unreadable, unsafe or mismatched checkpoint
    └── TrainingError        (RuntimeError)       training cannot go on (e.g. non-finite loss)
        └── FolderInUseError (TrainingError)      another process holds the run folder
"""

from __future__ import annotations

__all__ = [
    "BatchTypeError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "DatasetNotFoundError",
    "FolderInUseError",
    "MnistganError",
    "TrainingError",
]


class MnistganError(Exception):
    """Base class of every error mnistgan raises on purpose."""


class ConfigError(MnistganError, ValueError):
    """An argument of a builder, preset, loss or model is invalid."""


class DataError(MnistganError, ValueError):
    """A batch or a dataset does not have the form the model needs."""


class BatchTypeError(DataError, TypeError):
    """A batch is not a tensor (or an ``(x, y)`` pair whose ``x`` is a tensor)."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """The dataset files are not on disk and could not be downloaded."""


class CheckpointError(MnistganError, ValueError):
    """A checkpoint cannot be read, is unsafe, or does not fit the model."""


class TrainingError(MnistganError, RuntimeError):
    """Training cannot continue, for example because a loss became non-finite."""


class FolderInUseError(TrainingError):
    """A run folder is held by another process (see :class:`mnistgan.training.RunLock`)."""
