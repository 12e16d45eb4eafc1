"""A GAN to and from the Hugging Face layout (:mod:`mnistgan.pretrained`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import CheckpointError, ConfigError
from ..pretrained._format import half, model_card, state_to, write_pretrained
from ..pretrained._hub import fetch, push_folder
from ._state import one_line

if TYPE_CHECKING:
    from .model import GAN

logger = logging.getLogger("mnistgan.gan")


def from_pretrained(
    cls: type[GAN],
    name_or_path: str | os.PathLike[str],
    *,
    device: str | torch.device | None,
    revision: str | None,
) -> GAN:
    """See :meth:`GAN.from_pretrained <mnistgan.gan.GAN.from_pretrained>`."""
    found = fetch(name_or_path, revision=revision)
    try:
        model = cls(found.config)
    except ConfigError as err:
        raise CheckpointError(
            f"{found.source!r}: its config does not build a model ({one_line(err)}); it may "
            "name a builder or loss registered in another module: import that module first"
        ) from err
    try:
        model.generator.load_state_dict(found.generator)
        if model.ema is not None:
            model.ema.module.load_state_dict(found.generator)
        if found.discriminator is not None:
            own = model.discriminator.state_dict()
            model.discriminator.load_state_dict(state_to(found.discriminator, own))
    except (RuntimeError, KeyError, ValueError) as err:
        raise CheckpointError(
            f"the weights in {found.source!r} do not fit the networks its config builds "
            f"({one_line(err)})"
        ) from err
    if found.discriminator is None:
        logger.info("%s holds no discriminator; fit() would start D from scratch", found.source)
    model.pretrained_info = dict(found.info)
    if device is not None:
        model.to(device)
    return model


def save_pretrained(
    model: GAN,
    directory: str | os.PathLike[str],
    *,
    name: str | None,
    discriminator: bool,
    half_discriminator: bool,
    card: Mapping[str, Any] | None,
) -> Path:
    """See :meth:`GAN.save_pretrained <mnistgan.gan.GAN.save_pretrained>`."""
    if model.custom_networks:
        raise ConfigError(
            "save_pretrained needs networks its config can rebuild; this model was built from "
            "custom modules: use mnistgan.export.save_generator for them"
        )
    sampler = model.sampler()
    d_state = model.discriminator.state_dict() if discriminator else None
    if d_state is not None and half_discriminator:
        d_state = half(d_state)
    info = {**sampler.info, **dict(card or {})}
    folder = Path(directory)
    text = model_card(name or folder.resolve().name, model.config, info, d_state is not None)
    return write_pretrained(
        folder,
        config=model.config,
        generator=sampler.generator.state_dict(),
        discriminator=d_state,
        info=info,
        card=text,
    )


def push_to_hub(
    model: GAN,
    repo_id: str,
    *,
    token: str | None,
    private: bool,
    commit_message: str,
    card: Mapping[str, Any] | None,
) -> str:
    """See :meth:`GAN.push_to_hub <mnistgan.gan.GAN.push_to_hub>`."""
    return push_folder(
        lambda folder: save_pretrained(
            model,
            folder,
            name=repo_id,
            discriminator=True,
            half_discriminator=False,
            card=card,
        ),
        repo_id,
        token=token,
        private=private,
        commit_message=commit_message,
    )
