"""Pretrained generators: shipped in the package, or any folder in the Hugging Face layout.

A pretrained model is a folder with ``config.json`` (plain JSON: the model config),
``model.safetensors`` (the weights) and ``README.md`` (a model card), the layout of the
Hugging Face Hub. :meth:`mnistgan.GAN.from_pretrained` reads one by shipped name
(:func:`list_pretrained`), by path, or by Hub id (``"owner/name"``, with the optional
``huggingface_hub`` package); :meth:`mnistgan.GAN.save_pretrained` writes one and
:meth:`mnistgan.GAN.push_to_hub` uploads one. Nothing in a pretrained folder can run
code, and a shipped model's files are checked against the digests in the package.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from ._format import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, Pretrained, read_pretrained
from ._registry import list_pretrained

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "Pretrained",
    "list_pretrained",
    "read_pretrained",
]
