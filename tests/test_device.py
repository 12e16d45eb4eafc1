"""Tests for mnistgan.device: device choice, seeding, RNG state, moving, precision."""

from __future__ import annotations

import collections
import io
import random
from collections.abc import Callable
from typing import Any, NamedTuple, cast

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from mnistgan import device as dev
from mnistgan.device import (
    autocast,
    get_rng_state,
    grad_scaler,
    maybe_compile,
    move_to_device,
    resolve_device,
    seed_everything,
    set_rng_state,
)
from mnistgan.errors import ConfigError

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def no_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this machine has neither CUDA nor MPS."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)


def _draw() -> tuple[float, float, torch.Tensor]:
    """One draw from each of Python's, NumPy's and PyTorch's global generators."""
    return random.random(), float(np.random.rand()), torch.rand(5)


def _assert_same_draws(
    a: tuple[float, float, torch.Tensor], b: tuple[float, float, torch.Tensor]
) -> None:
    """Assert two results of ``_draw`` are identical."""
    assert a[0] == b[0]
    assert a[1] == b[1]
    assert torch.equal(a[2], b[2])


# --------------------------------------------------------------------------- resolve_device


@pytest.mark.usefixtures("no_accelerator")
@pytest.mark.parametrize("setting", ["auto", None, " AUTO "])
def test_auto_resolves_to_cpu_without_accelerators(setting: str | None) -> None:
    """ "auto" (and None) pick the CPU when neither CUDA nor MPS is available."""
    assert resolve_device(setting) == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "auto" picks CUDA when it is available, else MPS when that is."""
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("mps")


def test_auto_matches_this_machine() -> None:
    """ "auto" resolves to CUDA, MPS or CPU in that order of preference on this machine."""
    expected = "cuda" if torch.cuda.is_available() else "mps" if dev._mps_available() else "cpu"
    assert resolve_device().type == expected


@pytest.mark.parametrize("setting", ["cpu", "CPU", torch.device("cpu")])
def test_explicit_cpu_is_returned(setting: str | torch.device) -> None:
    """An explicit CPU setting, as a string or a torch.device, resolves to the CPU."""
    assert resolve_device(setting) == torch.device("cpu")


@pytest.mark.usefixtures("no_accelerator")
@pytest.mark.parametrize("setting", ["cuda", "cuda:1", torch.device("cuda:0"), "mps"])
def test_unavailable_accelerator_raises(setting: str | torch.device) -> None:
    """Asking for a CUDA or MPS device this machine lacks raises, suggesting "auto"/"cpu"."""
    with pytest.raises(ConfigError, match="not available") as info:
        resolve_device(setting)
    assert '"auto"' in str(info.value)
    assert '"cpu"' in str(info.value)


def test_cuda_index_out_of_range_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CUDA index beyond the machine's device count raises, naming the count."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match="has 1 CUDA device"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("setting", ["gpu", "", "cuda:x", "auto:0", "tpu", "meta", 0, 1.5])
def test_garbage_device_raises(setting: object) -> None:
    """Strings that are not supported device names, and non-strings, raise ConfigError."""
    with pytest.raises(ConfigError, match="device"):
        resolve_device(cast(Any, setting))


@needs_cuda
def test_explicit_cuda_resolves_on_a_gpu_machine() -> None:
    """On a machine with CUDA, "cuda" and "cuda:0" resolve to CUDA devices."""
    assert resolve_device("cuda").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")


# --------------------------------------------------------------------------- seeding


def test_seed_everything_makes_all_generators_reproducible() -> None:
    """Seeding twice with the same seed repeats Python, NumPy and PyTorch draws."""
    seed_everything(123)
    first = _draw()
    seed_everything(123)
    _assert_same_draws(first, _draw())
    seed_everything(124)
    assert not torch.equal(first[2], _draw()[2])


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "1", True, None])
def test_seed_everything_rejects_bad_seeds(seed: object) -> None:
    """Seeds that are not ints in [0, 2**32 - 1] raise ConfigError naming the seed."""
    with pytest.raises(ConfigError, match="seed must be an int"):
        seed_everything(cast(Any, seed))


# --------------------------------------------------------------------------- RNG state


def test_rng_state_round_trip_restores_every_generator() -> None:
    """Restoring a captured state repeats the draws of Python, NumPy and PyTorch exactly."""
    seed_everything(7)
    np.random.standard_normal()  # leaves a cached Gaussian in NumPy's state
    random.gauss(0.0, 1.0)  # and in Python's
    state = get_rng_state()
    first = _draw()
    _draw()
    set_rng_state(state)
    _assert_same_draws(first, _draw())


def test_rng_state_survives_weights_only_load() -> None:
    """A state saved with torch.save loads with weights_only=True and still restores exactly."""
    seed_everything(11)
    buffer = io.BytesIO()
    torch.save({"rng": get_rng_state()}, buffer)
    first = _draw()
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["rng"]
    set_rng_state(loaded)
    _assert_same_draws(first, _draw())
    assert isinstance(loaded["torch"], torch.Tensor)
    assert loaded["torch"].dtype == torch.uint8


def test_rng_state_has_the_documented_keys() -> None:
    """The state holds torch, cuda (one entry per CUDA device), numpy and python entries."""
    state = get_rng_state()
    assert set(state) == {"torch", "cuda", "numpy", "python"}
    expected_cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert len(state["cuda"]) == expected_cuda


def test_set_rng_state_tolerates_missing_cuda_entry() -> None:
    """A state without a "cuda" entry (e.g. written on a CPU machine) restores the rest."""
    state = {key: value for key, value in get_rng_state().items() if key != "cuda"}
    first = _draw()
    set_rng_state(state)
    _assert_same_draws(first, _draw())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("numpy"), "lacks"),
        (lambda s: s.update(torch=torch.zeros(3)), "uint8"),
        (lambda s: s.update(numpy={"key": [1]}), "numpy"),
        (lambda s: s.update(python="abc"), "python"),
        (lambda s: s.update(cuda="abc"), "cuda"),
        (lambda s: s.update(python=(3, (1, 2), None)), "could not be restored"),
    ],
)
def test_set_rng_state_rejects_malformed_state(
    change: Callable[[dict[str, Any]], object], match: str
) -> None:
    """Malformed states raise ConfigError naming the bad entry and leave generators alone."""
    state = get_rng_state()
    change(state)
    before = get_rng_state()
    with pytest.raises(ConfigError, match=match):
        set_rng_state(state)
    after = get_rng_state()
    assert torch.equal(before["torch"], after["torch"])
    assert before["python"] == after["python"]
    assert torch.equal(before["numpy"]["key"], after["numpy"]["key"])


@needs_cuda
def test_cuda_rng_state_round_trip() -> None:
    """On a GPU machine the CUDA generators are captured and restored too."""
    state = get_rng_state()
    first = torch.rand(4, device="cuda")
    set_rng_state(state)
    assert torch.equal(first, torch.rand(4, device="cuda"))


# --------------------------------------------------------------------------- move_to_device


class _Pair(NamedTuple):
    """A namedtuple batch, as some loaders yield."""

    x: Any
    y: Any


_leaves = st.one_of(
    st.integers(-5, 5).map(lambda n: torch.full((2,), float(n))),
    st.integers(),
    st.text(max_size=3),
    st.none(),
)
_structures = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
        st.tuples(children, children).map(lambda t: _Pair(*t)),
    ),
    max_leaves=10,
)


def _assert_moved(original: object, moved: object, device: torch.device) -> None:
    """Assert ``moved`` mirrors ``original`` with every tensor on ``device``."""
    if isinstance(original, torch.Tensor):
        assert isinstance(moved, torch.Tensor)
        assert moved.device == device
        assert moved.shape == original.shape
        return
    assert type(moved) is type(original)
    if isinstance(original, dict):
        assert isinstance(moved, dict)
        assert list(moved) == list(original)
        for key in original:
            _assert_moved(original[key], moved[key], device)
    elif isinstance(original, (list, tuple)):
        assert isinstance(moved, (list, tuple))
        assert len(moved) == len(original)
        for a, b in zip(original, moved, strict=True):
            _assert_moved(a, b, device)
    else:
        assert moved is original


@given(_structures)
def test_move_to_device_keeps_structure(obj: object) -> None:
    """Every tensor moves; containers keep their types and order; other values stay as is."""
    meta = torch.device("meta")
    _assert_moved(obj, move_to_device(obj, meta), meta)


def test_move_to_device_keeps_dict_subclasses() -> None:
    """OrderedDict and defaultdict come back as themselves, default_factory included."""
    ordered = collections.OrderedDict(b=torch.ones(1), a=torch.zeros(1))
    default: collections.defaultdict[str, Any] = collections.defaultdict(list, x=torch.ones(1))
    meta = torch.device("meta")
    moved_ordered = move_to_device(ordered, meta)
    moved_default = move_to_device(default, meta)
    assert type(moved_ordered) is collections.OrderedDict
    assert list(moved_ordered) == ["b", "a"]
    assert type(moved_default) is collections.defaultdict
    assert moved_default.default_factory is list
    assert moved_default["x"].device == meta


def test_move_to_device_leaves_inputs_untouched() -> None:
    """The input structure is not modified in place."""
    batch = {"x": torch.ones(2)}
    move_to_device(batch, torch.device("meta"))
    assert batch["x"].device == torch.device("cpu")


# --------------------------------------------------------------------------- precision


def test_autocast_bf16_on_cpu_gives_bf16_matmul() -> None:
    """With "bf16" on the CPU a float32 matmul produces bfloat16."""
    a = torch.randn(4, 4)
    with autocast(torch.device("cpu"), "bf16"):
        out = a @ a
    assert out.dtype == torch.bfloat16


def test_autocast_32_changes_nothing() -> None:
    """With "32" a float32 matmul stays float32."""
    a = torch.randn(4, 4)
    with autocast(torch.device("cpu"), "32"):
        out = a @ a
    assert out.dtype == torch.float32


def test_autocast_fp16_on_cpu_raises() -> None:
    """ "16" (float16 autocast) needs CUDA: on the CPU it raises ConfigError."""
    with pytest.raises(ConfigError, match="CUDA"):
        autocast(torch.device("cpu"), "16")


@pytest.mark.parametrize("precision", ["64", "fp16", 16, "bf 16"])
def test_unknown_precision_raises(precision: object) -> None:
    """Precisions other than "32", "bf16" and "16" raise ConfigError for both helpers."""
    with pytest.raises(ConfigError, match="precision"):
        autocast(torch.device("cpu"), cast(Any, precision))
    with pytest.raises(ConfigError, match="precision"):
        grad_scaler(torch.device("cpu"), cast(Any, precision))


@pytest.mark.parametrize("precision", ["32", "bf16", "16"])
def test_no_grad_scaler_on_cpu(precision: dev.Precision) -> None:
    """No gradient scaler is needed on the CPU, whatever the precision."""
    assert grad_scaler(torch.device("cpu"), precision) is None


@needs_cuda
def test_fp16_on_cuda_gives_half_matmul_and_a_scaler() -> None:
    """On CUDA, "16" autocasts matmuls to float16 and comes with a GradScaler."""
    cuda = torch.device("cuda")
    a = torch.randn(4, 4, device=cuda)
    with autocast(cuda, "16"):
        out = a @ a
    assert out.dtype == torch.float16
    assert isinstance(grad_scaler(cuda, "16"), torch.amp.GradScaler)
    assert grad_scaler(cuda, "bf16") is None


# --------------------------------------------------------------------------- maybe_compile


def test_maybe_compile_disabled_returns_module_itself() -> None:
    """With enabled=False the very same module comes back."""
    net = nn.Linear(2, 2)
    assert maybe_compile(net, enabled=False) is net


def test_maybe_compile_enabled_returns_compiled_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """With enabled=True the module goes through torch.compile and its result is returned."""
    calls: list[nn.Module] = []
    sentinel = nn.Identity()

    def fake_compile(module: nn.Module) -> nn.Module:
        calls.append(module)
        return sentinel

    monkeypatch.setattr(torch, "compile", fake_compile)
    net = nn.Linear(2, 2)
    compiled: nn.Module = maybe_compile(net, enabled=True)
    assert compiled is sentinel
    assert calls == [net]


def test_maybe_compile_rejects_non_bool() -> None:
    """A non-bool ``enabled`` raises ConfigError instead of being read as truthy."""
    with pytest.raises(ConfigError, match="enabled"):
        maybe_compile(nn.Linear(2, 2), enabled=cast(Any, "yes"))
