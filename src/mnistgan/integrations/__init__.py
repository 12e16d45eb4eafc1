"""Bridges to other tools. Each needs an optional extra and imports it only when used.

* :class:`TensorBoardLogger` (:mod:`mnistgan.integrations.tensorboard`): a training
  callback writing TensorBoard event files; ``pip install "mnistgan[tensorboard]"``.

Generator files (safetensors), ``torch.export`` and ONNX live in :mod:`mnistgan.export`.

>>> from mnistgan.integrations import TensorBoardLogger

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from .tensorboard import TensorBoardLogger, flatten_hparams

__all__ = ["TensorBoardLogger", "flatten_hparams"]
