"""The shape check of a checkpoint's content, before any of it is loaded into a model.

:meth:`GAN.load_state_dict <mnistgan.GAN.load_state_dict>` calls :func:`validate_state`
first: every entry the model's config says must exist is there and has the form
:meth:`GAN.state_dict <mnistgan.GAN.state_dict>` writes, or a
:class:`~mnistgan.errors.CheckpointError` names the entry, so nothing loads half and no
entry is silently skipped (an EMA that stays at its initial weights, a random state
left as it was).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from ..errors import CheckpointError
from ..presets import GANConfig

__all__ = ["validate_state"]

_HINT = "it was not written by GAN.save, or changed since: resume from another checkpoint"


def _kind(value: object) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def _fail(key: str, expected: str, value: object) -> CheckpointError:
    what = "is missing" if value is _MISSING else f"is {_kind(value)}"
    return CheckpointError(f"the checkpoint's {key!r} entry {what}; expected {expected}: {_HINT}")


_MISSING = object()


def _tensors(state: Mapping[str, Any], key: str, expected: str) -> None:
    """``state[key]`` is a non-empty mapping of names to tensors (a module's state dict)."""
    value = state.get(key, _MISSING)
    if (
        not isinstance(value, Mapping)
        or not value
        or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in value.items())
    ):
        raise _fail(key, expected, value)


def _counter(state: Mapping[str, Any], key: str) -> None:
    value = state.get(key, _MISSING)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(key, "an int >= 0", value)


def _optional_states(state: Mapping[str, Any], key: str, expected: str) -> None:
    """``state[key]``, if there, maps names to dicts (callback or scaler states)."""
    if key not in state:
        return
    value = state[key]
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Mapping) for k, v in value.items()
    ):
        raise _fail(key, expected, value)


def _rng(value: object) -> bool:
    return isinstance(value, Mapping) and all(k in value for k in ("torch", "numpy", "python"))


def validate_state(state: object, config: GANConfig, *, restore_rng: bool) -> None:
    """Check that ``state`` holds every entry ``config`` needs, each of the right form.

    Only the form is checked (types, required keys, counters >= 0); whether the weights
    fit the networks is for ``load_state_dict`` itself, which rolls back if not.

    Args:
        state: A checkpoint's content (what :meth:`GAN.state_dict` returned).
        config: The config of the model it is about to be loaded into: an EMA
            (``ema_decay``) needs the ``"ema"`` entry.
        restore_rng: Whether the random states will be restored (then ``"rng"`` is
            needed).

    Raises:
        CheckpointError: Naming the first entry that is missing or malformed.

    Example:
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla", ema_decay=0.9)
        >>> state = gan.state_dict()
        >>> validate_state(state, gan.config, restore_rng=True)
        >>> validate_state({**state, "ema": None}, gan.config, restore_rng=True)
        Traceback (most recent call last):
        ...
        mnistgan.errors.CheckpointError: the checkpoint's 'ema' entry is NoneType; ...
    """
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f"a checkpoint's content must be a dict (GAN.state_dict()), got {_kind(state)}"
        )
    config_entry = state.get("config", _MISSING)
    try:
        GANConfig.from_dict(config_entry)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise CheckpointError(
            f"the checkpoint's 'config' entry is missing or unreadable ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); expected the model config "
            f"(GANConfig.to_dict()): {_HINT}"
        ) from err
    for key in ("generator", "discriminator"):
        _tensors(state, key, f"the {key}'s state dict (names to tensors)")
    if config.ema_decay is not None:
        _tensors(
            state,
            "ema",
            f"the EMA generator's state dict, as this model averages its generator "
            f"(ema_decay={config.ema_decay}); to load a checkpoint without one, build the "
            "model with ema_decay=None",
        )
    for key in ("opt_g", "opt_d"):
        value = state.get(key, _MISSING)
        if not (
            isinstance(value, Mapping)
            and isinstance(value.get("state"), Mapping)
            and isinstance(value.get("param_groups"), list)
        ):
            raise _fail(key, "an optimizer's state dict (with 'state' and 'param_groups')", value)
    _counter(state, "epoch")
    _counter(state, "global_step")
    history = state.get("history", _MISSING)
    if not (
        isinstance(history, Mapping)
        and all(
            isinstance(history.get(part), list)
            and all(isinstance(r, Mapping) for r in history[part])
            for part in ("steps", "epochs")
        )
    ):
        raise _fail("history", "History.state_dict(): {'steps': [...], 'epochs': [...]}", history)
    if restore_rng:
        rng = state.get("rng", _MISSING)
        if not _rng(rng):
            raise _fail(
                "rng",
                "the random states (get_rng_state(): 'torch', 'numpy', 'python'); pass "
                "restore_rng=False to load the weights without them",
                rng,
            )
        ranks = state.get("rng_ranks")
        if ranks is not None and not (
            isinstance(ranks, (list, tuple)) and all(_rng(r) for r in ranks)
        ):
            raise _fail("rng_ranks", "a list of every rank's random states", ranks)
    _optional_states(state, "callbacks", "callback states by name (dicts)")
    _optional_states(state, "scalers", "gradient scaler states by name (dicts)")
    custom = state.get("custom_networks", False)
    if not isinstance(custom, bool):
        raise _fail("custom_networks", "True or False", custom)
