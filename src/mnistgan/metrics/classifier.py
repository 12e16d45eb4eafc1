"""The shipped MNIST classifier whose penultimate features the metrics use.

:class:`MnistClassifier` is a compact CNN: three 3x3 conv blocks (32, 64 and 128 channels,
each conv → BatchNorm → ReLU → 2x2 max-pool: 28 → 14 → 7 → 3 pixels), a 128-unit feature
layer (Linear → BatchNorm → ReLU) and a 10-way head (Dropout 0.2 → Linear). It has
241,898 parameters; the shipped weights (``classifier.pt``, about 1 MB, a plain
``state_dict`` that ``torch.load(weights_only=True)`` reads) were trained by
:mod:`mnistgan.metrics.train` and are checked against :data:`CLASSIFIER_SHA256` whenever
they are loaded.

**Test accuracy of the shipped weights: 99.52 % (9,952 of the 10,000 MNIST test images)**
(:data:`TEST_ACCURACY`; the training command and its output are recorded in
:mod:`mnistgan.metrics.train`).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
import io
import os
from importlib import resources
from pathlib import Path
from typing import Final

import torch
from torch import Tensor, nn

from mnistgan.errors import CheckpointError

__all__ = [
    "CLASSIFIER_SHA256",
    "FEATURE_DIM",
    "TEST_ACCURACY",
    "MnistClassifier",
    "classifier_path",
    "load_classifier",
]

FEATURE_DIM: Final = 128
"""Size of the classifier's penultimate feature layer."""

CLASSIFIER_SHA256: Final = "e1031440de8d8e3aeea90825fcfc0fc3bbb775e599444eebfd5eb4cce0e53081"
"""SHA-256 of the shipped ``classifier.pt``; :func:`load_classifier` refuses any other file."""

TEST_ACCURACY: Final = 0.9952
"""Accuracy of the shipped weights on the 10,000 MNIST test images."""

_REGENERATE = (
    "python -m mnistgan.metrics.train --out src/mnistgan/metrics/classifier.pt "
    "(then put the SHA-256 it prints into mnistgan.metrics.classifier.CLASSIFIER_SHA256)"
)


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv (no bias) → BatchNorm → ReLU → 2x2 max-pool: halves the image side."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class MnistClassifier(nn.Module):
    """A compact CNN for 28x28 digits with a 128-dim penultimate feature layer.

    Inputs are float images ``(N, 1, 28, 28)`` in [0, 1] (as :mod:`mnistgan` produces
    them); no normalisation is needed.

    Example:
        >>> net = MnistClassifier().eval()
        >>> x = torch.rand(2, 1, 28, 28)
        >>> net.features(x).shape, net(x).shape
        (torch.Size([2, 128]), torch.Size([2, 10]))
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_block(1, 32),  # (N, 32, 14, 14)
            _conv_block(32, 64),  # (N, 64, 7, 7)
            _conv_block(64, 128),  # (N, 128, 3, 3)
            nn.Flatten(),  # (N, 1152)
            nn.Linear(128 * 3 * 3, FEATURE_DIM, bias=False),
            nn.BatchNorm1d(FEATURE_DIM),
            nn.ReLU(inplace=True),  # (N, 128): the penultimate features
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(FEATURE_DIM, 10))

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features ``(N, 128)`` of images ``(N, 1, 28, 28)`` in [0, 1]."""
        out: Tensor = self.body(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Class logits ``(N, 10)``."""
        out: Tensor = self.head(self.features(x))
        return out


def classifier_path() -> Path:
    """Where the shipped weights live inside the installed package.

    Example:
        >>> classifier_path().name
        'classifier.pt'
    """
    return Path(str(resources.files("mnistgan.metrics").joinpath("classifier.pt")))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def state_dict_bytes(model: nn.Module) -> bytes:
    """The bytes of ``torch.save(model.state_dict())``, independent of any file name."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def load_classifier(
    path: str | os.PathLike[str] | None = None,
    *,
    sha256: str | None = CLASSIFIER_SHA256,
    device: str | torch.device = "cpu",
) -> MnistClassifier:
    """Load the classifier in eval mode, checking the weights file's SHA-256 first.

    Args:
        path: A weights file; ``None`` loads the one shipped with mnistgan.
        sha256: The checksum the file must have; ``None`` skips the check (for weights
            you trained yourself with :mod:`mnistgan.metrics.train`).
        device: Where to put the network.

    Returns:
        The classifier, in eval mode, with gradients switched off.

    Raises:
        CheckpointError: If the file is missing, its checksum differs (corrupt or
            tampered), or it does not hold this network's weights.

    Example:
        >>> net = load_classifier()
        >>> net.training, net(torch.zeros(1, 1, 28, 28)).shape
        (False, torch.Size([1, 10]))
    """
    file = classifier_path() if path is None else Path(path)
    try:
        data = file.read_bytes()
    except OSError as err:
        raise CheckpointError(
            f"cannot read the classifier weights {file} ({err}); reinstall mnistgan or "
            f"regenerate them with {_REGENERATE}"
        ) from err
    if sha256 is not None and _sha256(data) != sha256:
        raise CheckpointError(
            f"the classifier weights {file} are corrupt: their SHA-256 is {_sha256(data)}, "
            f"expected {sha256}; reinstall mnistgan, or regenerate them with {_REGENERATE}"
        )
    model = MnistClassifier()
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as err:  # unpickling and shape errors come in many types
        raise CheckpointError(
            f"the classifier weights {file} cannot be loaded ({type(err).__name__}: {err}); "
            f"regenerate them with {_REGENERATE}"
        ) from err
    model.requires_grad_(False)
    return model.to(device).eval()
