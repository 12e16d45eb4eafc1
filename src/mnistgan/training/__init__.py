"""Training: the fit loop, its history and callbacks.

>>> from mnistgan.training import ModelCheckpoint, SampleGrid, HistoryWriter, ProgressBar
"""

from __future__ import annotations

from .callbacks import Callback, HistoryWriter, ModelCheckpoint, ProgressBar, SampleGrid
from .history import History
from .lock import RunLock
from .loop import run_epochs
from .protocol import Replicated, Trainable

__all__ = [
    "Callback",
    "History",
    "HistoryWriter",
    "ModelCheckpoint",
    "ProgressBar",
    "Replicated",
    "RunLock",
    "SampleGrid",
    "Trainable",
    "run_epochs",
]
