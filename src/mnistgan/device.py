"""Devices, seeding, random-number-generator state and mixed precision.

Everything that depends on the hardware lives here, so the rest of mnistgan can
stay device-agnostic: :func:`resolve_device` turns ``"auto"`` into CUDA, then
MPS, then CPU (nothing in mnistgan calls ``.cuda()``); :func:`get_rng_state` and
:func:`set_rng_state` capture every generator a training run draws from in a
form that ``torch.load(weights_only=True)`` accepts, so checkpoints can carry it;
:func:`autocast`, :func:`grad_scaler` and :func:`maybe_compile` switch the
optional speed-ups on and off from plain settings.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

import numpy as np
import torch
from torch import nn

from mnistgan.errors import ConfigError

__all__ = [
    "Precision",
    "autocast",
    "check_precision",
    "get_rng_state",
    "grad_scaler",
    "maybe_compile",
    "move_to_device",
    "resolve_device",
    "seed_everything",
    "set_rng_state",
]

_log = logging.getLogger(__name__)

_T = TypeVar("_T")
_M = TypeVar("_M", bound=nn.Module)

Precision = Literal["32", "bf16", "16"]
"""Numeric precision of the forward pass: full float32, bfloat16 or float16 autocast."""

_PRECISIONS: tuple[str, ...] = ("32", "bf16", "16")
_DEVICE_HINT = 'use "auto" (CUDA, then MPS, then CPU) or "cpu"'
_MAX_SEED = 2**32 - 1  # numpy's legacy generator takes seeds in [0, 2**32 - 1]


def _mps_available() -> bool:
    """Whether PyTorch was built with MPS and an Apple GPU is usable."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """Turn a device setting into a :class:`torch.device` that is usable on this machine.

    Args:
        device: ``"auto"`` or ``None`` picks CUDA if available, else MPS if available,
            else CPU. Otherwise ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a
            :class:`torch.device` of one of those types.

    Returns:
        The device to put models and batches on.

    Raises:
        ConfigError: If the setting is not a device name, or names a CUDA/MPS device
            that this machine does not have.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("auto").type in {"cuda", "mps", "cpu"}
        True
    """
    if device is None:
        device = "auto"
    if isinstance(device, str):
        text = device.strip().lower()
        if text == "auto":
            if torch.cuda.is_available():
                return torch.device("cuda")
            if _mps_available():
                return torch.device("mps")
            return torch.device("cpu")
        try:
            resolved = torch.device(text)
        except (RuntimeError, ValueError) as err:
            raise ConfigError(
                f'device must be "auto", "cpu", "cuda", "cuda:N" or "mps", got {device!r}; '
                f"{_DEVICE_HINT}"
            ) from err
    elif isinstance(device, torch.device):
        resolved = device
    else:
        raise ConfigError(
            f"device must be a str, a torch.device or None, got {type(device).__name__} "
            f"{device!r}; {_DEVICE_HINT}"
        )

    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {device!r} asks for CUDA, but CUDA is not available on this machine "
                f"(no NVIDIA GPU or a CPU-only PyTorch build); {_DEVICE_HINT}"
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ConfigError(
                f"device {device!r} asks for CUDA device {resolved.index}, but this machine "
                f"has {count} CUDA device(s) (indices 0 to {count - 1}); pick one of those "
                f"or {_DEVICE_HINT}"
            )
        return resolved
    if resolved.type == "mps":
        if not _mps_available():
            raise ConfigError(
                f"device {device!r} asks for MPS, but MPS is not available on this machine "
                f"(it needs an Apple-silicon Mac and a PyTorch build with MPS); {_DEVICE_HINT}"
            )
        return resolved
    raise ConfigError(
        f'device must be "auto", "cpu", "cuda", "cuda:N" or "mps", got {device!r} '
        f"(device type {resolved.type!r} is not supported by mnistgan); {_DEVICE_HINT}"
    )


def seed_everything(seed: int) -> None:
    """Seed Python's :mod:`random`, NumPy's global generator and PyTorch (CPU and all GPUs).

    Args:
        seed: An int in ``[0, 2**32 - 1]``.

    Raises:
        ConfigError: If ``seed`` is not an int in that range.

    Example:
        >>> seed_everything(0); a = torch.rand(2)
        >>> seed_everything(0); torch.equal(a, torch.rand(2))
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise ConfigError(
            f"seed must be an int between 0 and {_MAX_SEED}, got {seed!r}; "
            "pass a non-negative int such as 0 or 1234"
        )
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA and MPS device
    torch.cuda.manual_seed_all(seed)  # lazy: a no-op until CUDA is initialised


def get_rng_state() -> dict[str, Any]:
    """Capture the state of every random-number generator a training run draws from.

    The result holds only tensors, lists, tuples, dicts, strings, ints, floats and
    ``None``, so it can go into a checkpoint that ``torch.load(weights_only=True)`` reads.

    Returns:
        ``{"torch": ByteTensor, "cuda": [ByteTensor per CUDA device] (empty without CUDA),
        "numpy": {...}, "python": (...)}``; give it back to :func:`set_rng_state`.

    Example:
        >>> sorted(get_rng_state())
        ['cuda', 'numpy', 'python', 'torch']
    """
    name, key, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    numpy_state = {
        "bit_generator": str(name),
        "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),  # (624,) uint32 as int64
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached_gaussian),
    }
    cuda = list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else []
    return {
        "torch": torch.get_rng_state(),
        "cuda": cuda,
        "numpy": numpy_state,
        "python": random.getstate(),  # (version, tuple of 625 ints, gauss_next)
    }


def _bad_state(key: str, expected: str, got: object) -> ConfigError:
    """Build the error for a malformed entry of an RNG state mapping."""
    return ConfigError(
        f"state[{key!r}] must be {expected}, got {type(got).__name__}; pass the dict that "
        "get_rng_state() returned (for example from a checkpoint written by mnistgan)"
    )


def _as_byte_tensor(value: object, key: str) -> torch.Tensor:
    """Return ``value`` as a CPU uint8 tensor, the form PyTorch's ``set_rng_state`` needs."""
    if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8:
        raise _bad_state(key, "a uint8 tensor (ByteTensor)", value)
    return value.detach().to("cpu")


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the generators captured by :func:`get_rng_state`.

    Args:
        state: The mapping :func:`get_rng_state` returned (possibly after a round trip
            through ``torch.save``/``torch.load``). A missing or empty ``"cuda"`` entry is
            fine; CUDA states are skipped (with a log warning) when CUDA is not available.

    Raises:
        ConfigError: If ``state`` lacks ``"torch"``, ``"numpy"`` or ``"python"`` or an
            entry has the wrong form.

    Example:
        >>> saved = get_rng_state(); a = torch.rand(3)
        >>> set_rng_state(saved); torch.equal(a, torch.rand(3))
        True
    """
    if not isinstance(state, Mapping):
        raise ConfigError(
            f"state must be a mapping, got {type(state).__name__}; pass the dict that "
            "get_rng_state() returned"
        )
    missing = [key for key in ("torch", "numpy", "python") if key not in state]
    if missing:
        raise ConfigError(
            f"state lacks the entries {missing} (it has {sorted(map(str, state))}); pass the "
            "dict that get_rng_state() returned"
        )

    torch_state = _as_byte_tensor(state["torch"], "torch")

    numpy_state = state["numpy"]
    try:
        key = numpy_state["key"]
        numpy_tuple = (
            str(numpy_state["bit_generator"]),
            np.asarray(key.cpu().numpy() if isinstance(key, torch.Tensor) else key).astype(
                np.uint32
            ),
            int(numpy_state["pos"]),
            int(numpy_state["has_gauss"]),
            float(numpy_state["cached_gaussian"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise _bad_state(
            "numpy",
            'a dict with "bit_generator", "key", "pos", "has_gauss" and "cached_gaussian"',
            numpy_state,
        ) from err

    python_state = state["python"]
    try:
        version, internal, gauss_next = python_state
        python_tuple = (
            int(version),
            tuple(int(x) for x in internal),
            None if gauss_next is None else float(gauss_next),
        )
    except (TypeError, ValueError) as err:
        raise _bad_state(
            "python", "a (version, tuple of ints, gauss_next) tuple", python_state
        ) from err

    cuda_states = state.get("cuda") or []
    if not isinstance(cuda_states, (list, tuple)):
        raise _bad_state("cuda", "a list of uint8 tensors", cuda_states)
    cuda_tensors = [_as_byte_tensor(s, f"cuda[{i}]") for i, s in enumerate(cuda_states)]

    # Everything is validated; if a generator still refuses its state, undo the others so
    # a bad state never leaves a half-restored run.
    backup = (np.random.get_state(), random.getstate(), torch.get_rng_state())
    try:
        np.random.set_state(numpy_tuple)
        random.setstate(python_tuple)
        torch.set_rng_state(torch_state)
    except (TypeError, ValueError, RuntimeError) as err:
        np.random.set_state(backup[0])
        random.setstate(backup[1])
        torch.set_rng_state(backup[2])
        raise ConfigError(
            f"state could not be restored ({err}); pass the dict that get_rng_state() returned"
        ) from err
    if cuda_tensors:
        if torch.cuda.is_available():
            count = torch.cuda.device_count()
            if len(cuda_tensors) != count:
                _log.warning(
                    "RNG state holds %d CUDA generator(s) but this machine has %d CUDA "
                    "device(s); restoring the first %d",
                    len(cuda_tensors),
                    count,
                    min(count, len(cuda_tensors)),
                )
            for index, cuda_state in enumerate(cuda_tensors[:count]):
                torch.cuda.set_rng_state(cuda_state, device=index)
        else:
            _log.warning(
                "RNG state holds %d CUDA generator(s) but CUDA is not available; "
                "they are not restored (CPU, NumPy and Python generators are)",
                len(cuda_tensors),
            )


def _move(obj: Any, device: torch.device, non_blocking: bool) -> Any:
    """Recursive worker of :func:`move_to_device`."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=non_blocking)
    if isinstance(obj, tuple):
        items = [_move(item, device, non_blocking) for item in obj]
        if hasattr(obj, "_fields"):  # namedtuple: rebuild from positional fields
            return type(obj)(*items)
        return tuple(items) if type(obj) is tuple else type(obj)(items)
    if isinstance(obj, list):
        items = [_move(item, device, non_blocking) for item in obj]
        return items if type(obj) is list else type(obj)(items)
    if isinstance(obj, dict):
        pairs = [(key, _move(value, device, non_blocking)) for key, value in obj.items()]
        if type(obj) is dict:
            return dict(pairs)
        copy = obj.copy()  # keeps the subclass and e.g. a defaultdict's default_factory
        copy.update(pairs)
        return copy
    return obj


def move_to_device(obj: _T, device: torch.device, *, non_blocking: bool = False) -> _T:
    """Move every tensor inside (nested) tuples, lists, dicts and namedtuples to ``device``.

    Containers are rebuilt with the same types (namedtuples and dict subclasses
    included); anything that is not a tensor or one of those containers is returned
    unchanged, as the same object.

    Args:
        obj: A tensor, or a structure of containers holding tensors and other values.
        device: Where the tensors should go (see :func:`resolve_device`).
        non_blocking: Passed to :meth:`torch.Tensor.to`; useful with pinned memory.

    Returns:
        A structure like ``obj`` whose tensors live on ``device``.

    Example:
        >>> batch = {"x": torch.zeros(2, 1, 28, 28), "y": [torch.tensor(3)], "tag": "train"}
        >>> moved = move_to_device(batch, torch.device("meta"))
        >>> moved["x"].device, moved["y"][0].device, moved["tag"]
        (device(type='meta'), device(type='meta'), 'train')
    """
    return cast(_T, _move(obj, device, non_blocking))


def check_precision(precision: object) -> None:
    """Raise :class:`ConfigError` unless ``precision`` is one of ``"32"``, ``"bf16"``, ``"16"``.

    Example:
        >>> check_precision("bf16")
        >>> check_precision("fp8")
        Traceback (most recent call last):
        ...
        mnistgan.errors.ConfigError: precision must be one of "32", "bf16" or "16", got 'fp8'; ...
    """
    if not isinstance(precision, str) or precision not in _PRECISIONS:
        raise ConfigError(
            f'precision must be one of "32", "bf16" or "16", got {precision!r}; use "32" '
            'for full precision, "bf16" on CPU or recent GPUs, "16" on CUDA GPUs'
        )


def autocast(
    device: torch.device, precision: Precision
) -> contextlib.AbstractContextManager[None]:
    """Return the mixed-precision context for forward passes at ``precision`` on ``device``.

    Args:
        device: The device the model runs on.
        precision: ``"32"`` (no autocast), ``"bf16"`` (bfloat16 autocast on CPU or CUDA)
            or ``"16"`` (float16 autocast, CUDA only; pair it with :func:`grad_scaler`).

    Returns:
        A context manager; ``"32"`` gives :func:`contextlib.nullcontext`.

    Raises:
        ConfigError: If ``precision`` is unknown, or not supported on ``device``.

    Example:
        >>> a = torch.ones(2, 2)
        >>> with autocast(torch.device("cpu"), "bf16"):
        ...     (a @ a).dtype
        torch.bfloat16
    """
    check_precision(precision)
    if precision == "32":
        return contextlib.nullcontext()
    if precision == "bf16":
        if device.type not in ("cpu", "cuda"):
            raise ConfigError(
                f'precision "bf16" is supported on CPU and CUDA devices, got device '
                f'{str(device)!r}; use precision "32" there'
            )
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError(
                f'precision "bf16" needs a GPU with bfloat16 support, and {str(device)!r} '
                'has none; use precision "16" (with grad_scaler) or "32"'
            )
        return cast(
            "contextlib.AbstractContextManager[None]",
            torch.autocast(device.type, dtype=torch.bfloat16),
        )
    if device.type != "cuda":
        raise ConfigError(
            f'precision "16" (float16 autocast) needs a CUDA device, got device '
            f'{str(device)!r}; use precision "bf16" or "32" there'
        )
    return cast(
        "contextlib.AbstractContextManager[None]",
        torch.autocast(device.type, dtype=torch.float16),
    )


def grad_scaler(device: torch.device, precision: Precision) -> torch.amp.GradScaler | None:
    """Return the gradient scaler that ``precision`` needs on ``device``, if any.

    Only float16 autocast on CUDA needs loss scaling; bfloat16 and float32 do not.

    Args:
        device: The device the model runs on.
        precision: ``"32"``, ``"bf16"`` or ``"16"``.

    Returns:
        A :class:`torch.amp.GradScaler` for ``"16"`` on CUDA, else ``None``.

    Raises:
        ConfigError: If ``precision`` is unknown.

    Example:
        >>> grad_scaler(torch.device("cpu"), "bf16") is None
        True
    """
    check_precision(precision)
    if precision == "16" and device.type == "cuda":
        return torch.amp.GradScaler(device.type)
    return None


def maybe_compile(module: _M, enabled: bool) -> _M:
    """Wrap ``module`` with :func:`torch.compile` when ``enabled``, else return it as is.

    The compiled wrapper forwards attribute access to ``module`` and shares its
    parameters, so it can be used (and its ``state_dict`` saved) in its place.

    Args:
        module: The module to compile.
        enabled: Whether to compile.

    Returns:
        The compiled module, or ``module`` itself.

    Raises:
        ConfigError: If ``enabled`` is not a bool.

    Example:
        >>> net = nn.Linear(2, 2)
        >>> maybe_compile(net, enabled=False) is net
        True
    """
    if not isinstance(enabled, bool):
        raise ConfigError(f"enabled must be a bool, got {enabled!r}; pass True or False")
    if not enabled:
        return module
    return cast(_M, torch.compile(module))
