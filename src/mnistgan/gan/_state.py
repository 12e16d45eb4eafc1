"""A GAN's persistence: what a checkpoint holds, and putting it back.

:func:`state_dict` and :func:`load_state_dict` are :meth:`GAN.state_dict
<mnistgan.gan.GAN.state_dict>` and :meth:`GAN.load_state_dict
<mnistgan.gan.GAN.load_state_dict>`; :func:`snapshot` and :func:`restore` copy and put
back what one training step changes (the loop's ``on_nonfinite`` guard uses them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import Tensor, nn

from .. import __version__
from ..checkpoint import load_checkpoint
from ..device import get_rng_state, set_rng_state
from ..errors import CheckpointError, ConfigError
from ..presets import GANConfig
from ..training.callbacks import unique_state_keys
from ..training.distributed import rank_rng_state
from ..training.history import History
from ._config import architecture
from ._validate import validate_state

if TYPE_CHECKING:
    from .model import GAN

_DAMAGED = (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError)


def snapshot(model: GAN) -> dict[str, Any]:
    """Copies of what a training step changes: weights, buffers, EMA, optimisers, scalers."""
    return {
        "generator": _clone_tree(model.generator.state_dict()),
        "discriminator": _clone_tree(model.discriminator.state_dict()),
        "ema": _clone_tree(model.ema.state_dict()) if model.ema is not None else None,
        "opt_g": _clone_tree(model.opt_g.state_dict()),
        "opt_d": _clone_tree(model.opt_d.state_dict()),
        "scalers": model._scaler_states(),
    }


def restore(model: GAN, state: Mapping[str, Any]) -> None:
    """Put back what :func:`snapshot` copied (in place; gradients are dropped)."""
    model.generator.load_state_dict(state["generator"])
    model.discriminator.load_state_dict(state["discriminator"])
    if model.ema is not None and state["ema"] is not None:
        model.ema.load_state_dict(state["ema"])
    for optimizer, key in ((model.opt_g, "opt_g"), (model.opt_d, "opt_d")):
        optimizer.load_state_dict(state[key])
        optimizer.zero_grad(set_to_none=True)
    model._load_scaler_states(state["scalers"], create=False)


def state_dict(model: GAN) -> dict[str, Any]:
    """Everything a checkpoint holds: config, weights, optimisers, counters, RNG, history."""
    callbacks = model.callbacks
    return {
        "mnistgan_version": __version__,
        "config": model.config.to_dict(),
        "custom_networks": model.custom_networks,
        "generator": model.generator.state_dict(),
        "discriminator": model.discriminator.state_dict(),
        "ema": model.ema.state_dict() if model.ema is not None else None,
        "opt_g": model.opt_g.state_dict(),
        "opt_d": model.opt_d.state_dict(),
        "scalers": model._scaler_states(),
        "epoch": model.epoch,
        "global_step": model.global_step,
        "rng": get_rng_state(),
        **({"rng_ranks": model.rank_rng_states} if model.rank_rng_states else {}),
        "history": model.history.state_dict(),
        "callbacks": {
            key: cb.state_dict()
            for key, cb in zip(unique_state_keys(callbacks), callbacks, strict=True)
        }
        or dict(model._pending_callback_states),
    }


def read_config(state: object, where: str = "the checkpoint") -> GANConfig:
    """The model config a checkpoint's content holds, or a CheckpointError saying why not."""
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"a checkpoint's content must be a dict (GAN.state_dict()), got {type(state).__name__}"
        )
    try:
        return GANConfig.from_dict(state["config"])
    except (KeyError, TypeError, AttributeError, ConfigError) as err:
        raise CheckpointError(
            f"{where}'s model config is missing or unreadable ({type(err).__name__}: "
            f"{one_line(err)}); it was not written by GAN.save, or it is damaged"
        ) from err


def load_state_dict(model: GAN, state: Mapping[str, Any], *, restore_rng: bool = True) -> None:
    """See :meth:`GAN.load_state_dict <mnistgan.gan.GAN.load_state_dict>`."""
    validate_state(state, model.config, restore_rng=restore_rng)  # names a damaged entry
    saved = read_config(state)
    if architecture(saved) != architecture(model.config):
        raise CheckpointError(
            f"the checkpoint was written for another model (preset {saved.preset!r}, "
            f"latent_dim {saved.latent_dim}, image_shape {saved.image_shape}) than this one "
            f"(preset {model.config.preset!r}, latent_dim {model.latent_dim}, image_shape "
            f"{model.image_shape}); load it with GAN.load(path) instead"
        )
    # Read every plain entry before touching the model, so a damaged one changes nothing.
    try:
        epoch, global_step = int(state["epoch"]), int(state["global_step"])
        if epoch < 0 or global_step < 0:
            raise ValueError(f"epoch {epoch} and global_step {global_step} must be >= 0")
        history = History()
        history.load_state_dict(state["history"])
        callback_states = dict(state.get("callbacks") or {})
        scaler_states = dict(state.get("scalers") or {})
        rng = rank_rng_state(state) if restore_rng else None
    except _DAMAGED as err:
        raise CheckpointError(
            f"the checkpoint is damaged or incomplete ({type(err).__name__}: "
            f"{one_line(err)}); it was not written by GAN.save, or changed since: resume "
            "from another checkpoint"
        ) from err
    backup = snapshot(model)
    try:
        model.generator.load_state_dict(state["generator"])
        model.discriminator.load_state_dict(state["discriminator"])
        if model.ema is not None and state.get("ema") is not None:
            model.ema.load_state_dict(state["ema"])
        model.opt_g.load_state_dict(state["opt_g"])
        model.opt_d.load_state_dict(state["opt_d"])
        model._load_scaler_states(scaler_states, create=True)
    except _DAMAGED as err:
        restore(model, backup)
        raise CheckpointError(
            f"the checkpoint's weights do not fit this model's networks ({one_line(err)}); "
            "load it with GAN.load(path), or build the same networks it was saved with"
        ) from err
    if rng is not None:
        try:
            set_rng_state(rng)
        except (ConfigError, *_DAMAGED) as err:
            restore(model, backup)
            raise CheckpointError(
                f"the checkpoint's random-number states are damaged ({one_line(err)}); "
                "pass restore_rng=False to load the weights without them"
            ) from err
    model.epoch = epoch
    model.global_step = global_step
    model.history.load_state_dict(history.state_dict())
    model._pending_callback_states = callback_states


def load(
    cls: type[GAN],
    path: str | os.PathLike[str],
    *,
    generator: nn.Module | None,
    discriminator: nn.Module | None,
    device: Any,
    restore_rng: bool,
) -> GAN:
    """See :meth:`GAN.load <mnistgan.gan.GAN.load>`."""
    state = load_checkpoint(path)
    try:
        config = GANConfig.from_dict(state["config"])
    except (KeyError, TypeError, AttributeError, ConfigError) as err:
        raise CheckpointError(
            f"{path}: the checkpoint's model config is unreadable ({one_line(err)})"
        ) from err
    custom = state.get("custom_networks", False)
    if not isinstance(custom, bool):
        raise CheckpointError(
            f"{path}: the checkpoint is damaged: custom_networks must be True or False, "
            f"got {type(custom).__name__}"
        )
    if custom and (generator is None or discriminator is None):
        raise CheckpointError(
            f"{path} was saved from custom networks; pass the same modules: "
            f"GAN.load(path, generator=..., discriminator=...)"
        )
    try:
        model = cls(config, generator=generator, discriminator=discriminator)
    except ConfigError as err:
        raise CheckpointError(
            f"{path}: the checkpoint's model config does not build a model ({one_line(err)})"
        ) from err
    if device is not None:
        model.to(device)
    model.load_state_dict(state, restore_rng=restore_rng)
    return model


def one_line(err: BaseException) -> str:
    """``err``'s message on one line (PyTorch's state-dict errors span several)."""
    return " ".join(str(err).split())


def _clone_tree(value: Any) -> Any:
    """A copy of nested dicts/lists/tuples whose tensors are cloned (detached)."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_tree(v) for v in value)
    return value
