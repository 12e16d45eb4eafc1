"""The Hugging Face layout of a pretrained mnistgan model: a folder with ``config.json``,
``model.safetensors`` and a ``README.md`` model card.

``config.json`` is plain JSON: the :class:`~mnistgan.presets.GANConfig` and a few facts
about the weights. ``model.safetensors`` holds the generator's tensors under
``generator.*`` (the EMA generator's when the model keeps one) and, when saved, the
discriminator's under ``discriminator.*``. Neither file can run code when read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from .. import __version__
from .._io import atomic_write_bytes, atomic_write_text
from ..errors import CheckpointError, ConfigError
from ..presets import GANConfig

CONFIG_NAME = "config.json"
"""The file of a pretrained folder that holds the model config (plain JSON)."""
WEIGHTS_NAME = "model.safetensors"
"""The file of a pretrained folder that holds the weights (safetensors)."""
CARD_NAME = "README.md"
"""The file of a pretrained folder that holds the model card."""
FORMAT = "mnistgan-pretrained"
FORMAT_VERSION = 1
_MAX_CONFIG_BYTES = 1 << 20  # a config.json is a few kB; refuse anything huge unread


@dataclass
class Pretrained:
    """What a pretrained folder holds, read and checked.

    Attributes:
        config: The model config.
        generator: The generator's state dict (the EMA generator's if there was one).
        discriminator: The discriminator's state dict, or ``None`` if not saved.
        info: The rest of ``config.json``: ``weights`` (``"ema"`` or ``"generator"``),
            ``channels_last``, ``metrics`` and ``recipe`` when the card has them.
        source: Where it was read from.
    """

    config: GANConfig
    generator: dict[str, Tensor]
    discriminator: dict[str, Tensor] | None
    info: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _safetensors() -> Any:
    import safetensors.torch

    return safetensors.torch


def write_pretrained(
    directory: str | os.PathLike[str],
    *,
    config: GANConfig,
    generator: Mapping[str, Tensor],
    discriminator: Mapping[str, Tensor] | None,
    info: Mapping[str, Any],
    card: str,
) -> Path:
    """Write the three files into ``directory`` (created if missing), each atomically."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"directory must be a folder, got the file {str(folder)!r}")
    tensors = {f"generator.{k}": v.detach().cpu().contiguous() for k, v in generator.items()}
    if discriminator is not None:
        tensors |= {
            f"discriminator.{k}": v.detach().cpu().contiguous() for k, v in discriminator.items()
        }
    weights = _safetensors().save(tensors, metadata={"format": "pt", "library": "mnistgan"})
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mnistgan_version": __version__,
        **dict(info),
        "has_discriminator": discriminator is not None,
        "config": config.to_dict(),
        "sha256": {WEIGHTS_NAME: hashlib.sha256(weights).hexdigest()},
    }
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / WEIGHTS_NAME, weights)
    atomic_write_text(folder / CONFIG_NAME, json.dumps(document, indent=2, sort_keys=True) + "\n")
    atomic_write_text(folder / CARD_NAME, card)
    return folder


def read_pretrained(
    directory: str | os.PathLike[str], *, expected_sha256: Mapping[str, str] | None = None
) -> Pretrained:
    """Read and check a pretrained folder; nothing in it can run code.

    Args:
        directory: The folder.
        expected_sha256: Digests the files must have (the shipped models' are fixed in
            the package); without it, the weights are checked against the digest in
            ``config.json`` (which catches damage, not tampering).

    Raises:
        CheckpointError: If a file is missing, malformed, of a newer format, or does
            not match its checksum. The message names the file.
    """
    folder = Path(directory)
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise CheckpointError(
                f"{str(folder)!r} is not a pretrained mnistgan model: {path.name} is missing "
                f"(a pretrained folder holds {CONFIG_NAME} and {WEIGHTS_NAME}; write one "
                "with GAN.save_pretrained)"
            )
    for name, digest in (expected_sha256 or {}).items():
        if sha256_file(folder / name) != digest:
            raise CheckpointError(
                f"{str(folder / name)!r} does not match the checksum mnistgan ships for it: "
                "the file was changed or damaged; reinstall mnistgan "
                "(pip install --force-reinstall mnistgan)"
            )
    document = _read_config(config_path)
    if expected_sha256 is None:
        stated = document.get("sha256", {})
        stated_digest = stated.get(WEIGHTS_NAME) if isinstance(stated, dict) else None
        if stated_digest is not None and sha256_file(weights_path) != stated_digest:
            raise CheckpointError(
                f"{str(weights_path)!r} does not match the SHA-256 in {CONFIG_NAME}: the "
                "weights were changed or damaged since save_pretrained wrote them"
            )
    try:
        config = GANConfig.from_dict(document["config"])
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise CheckpointError(
            f"{str(config_path)!r}: its model config is missing or invalid "
            f"({type(err).__name__}: {' '.join(str(err).split())})"
        ) from err
    try:
        tensors = _safetensors().load_file(str(weights_path))
    except Exception as err:  # safetensors raises its own error type for bad headers
        raise CheckpointError(
            f"{str(weights_path)!r} is not a valid safetensors file ({err}); it is truncated "
            "or damaged"
        ) from err
    generator = _part(tensors, "generator")
    discriminator = _part(tensors, "discriminator") or None
    if not generator:
        raise CheckpointError(f"{str(weights_path)!r} holds no generator.* tensors")
    info = {k: v for k, v in document.items() if k not in ("config", "sha256")}
    return Pretrained(config, generator, discriminator, info, str(folder))


def _part(tensors: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    start = f"{prefix}."
    return {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}


def _read_config(path: Path) -> dict[str, Any]:
    if path.stat().st_size > _MAX_CONFIG_BYTES:
        raise CheckpointError(f"{str(path)!r} is too large for a model config")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{str(path)!r} is not valid JSON ({err})") from err
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(
            f'{str(path)!r} does not describe a pretrained mnistgan model (its "format" is '
            f"not {FORMAT!r})"
        )
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{str(path)!r}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{str(path)!r} has format version {version}, but this mnistgan reads version "
            f"{FORMAT_VERSION} at most; upgrade mnistgan to read it"
        )
    return document


def model_card(
    name: str, config: GANConfig, info: Mapping[str, Any], has_discriminator: bool
) -> str:
    """A Hugging Face model card (``README.md``) from what ``config.json`` says."""
    metrics = info.get("metrics") or {}
    floor = info.get("floor") or {}
    recipe = info.get("recipe") or {}
    conditional = config.num_classes is not None
    lines = [
        "---",
        "license: mit",
        "library_name: mnistgan",
        "tags:",
        "- gan",
        "- mnist",
        "- image-generation",
        "- pytorch",
        "---",
        "",
        f"# {name}",
        "",
        (
            f"A {'conditional ' if conditional else ''}GAN generator for 28x28 MNIST digits, "
            f"trained with mnistgan "
            f"(preset `{config.preset}`, {config.latent_dim}-dimensional latents"
            f"{', ten digit labels' if conditional else ''})."
        ),
        "",
        "## Use",
        "",
        "```python",
        "from mnistgan import GAN",
        f'gan = GAN.from_pretrained("{name}")',
        f"images = gan.sample(16{', labels=7' if conditional else ''})"
        "  # (16, 1, 28, 28), floats in [0, 1]",
        "```",
        "",
        f"`{CONFIG_NAME}` holds the model config; `{WEIGHTS_NAME}` the generator's weights"
        + (" (its exponential moving average)" if info.get("weights") == "ema" else "")
        + (" and the discriminator's, for fine-tuning" if has_discriminator else "")
        + ". Loading runs no code: plain JSON and safetensors.",
    ]
    if recipe:
        lines += ["", "## Recipe", ""]
        lines += [f"- {key}: {value}" for key, value in recipe.items()]
    if metrics:
        lines += [
            "",
            "## Metrics",
            "",
            "In the features of mnistgan's shipped MNIST classifier, against the 10,000 MNIST "
            "test images; the real-data floor is 10,000 training images measured the same way.",
            "",
            "| metric | this model | real data |",
            "| --- | --- | --- |",
        ]
        for key, value in metrics.items():
            real = floor.get(key)
            lines.append(f"| {key} | {_number(value)} | {_number(real)} |")
    lines += ["", "## License", "", "MIT, as mnistgan.", ""]
    return "\n".join(lines)


def _number(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def state_to(tensors: Mapping[str, Tensor], like: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``tensors`` cast to the dtypes of ``like`` (e.g. a half-precision discriminator)."""
    return {k: v.to(like[k].dtype) if k in like else v for k, v in tensors.items()}


def half(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Floating tensors of ``state`` in float16 (to ship a discriminator lean)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
