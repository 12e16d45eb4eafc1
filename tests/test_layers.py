"""Tests for mnistgan.layers: name→layer lookups, blocks and DCGAN initialisation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrize

from mnistgan.errors import ConfigError
from mnistgan.layers import (
    ACTIVATIONS,
    NORMS,
    conv_block,
    dcgan_init,
    get_act_layer,
    get_norm_layer,
    linear_block,
)


@pytest.fixture(autouse=True)
def _one_thread(_fixed_threads: None) -> Iterator[None]:
    """Run these small networks on one thread: OpenMP hand-offs cost more than they save."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


NORM_LAYERS = ("batch", "layer")  # the names that add a layer after the weight


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_act_names_build_fresh_modules(name: str) -> None:
    """Every activation name builds a new nn.Module each call (no shared instances)."""
    first, second = get_act_layer(name), get_act_layer(name)
    assert isinstance(first, nn.Module)
    assert first is not second


def test_act_accepts_classes_and_none() -> None:
    """An nn.Module class is instantiated and None means identity."""
    assert isinstance(get_act_layer(nn.Tanh), nn.Tanh)
    assert isinstance(get_act_layer(None), nn.Identity)
    assert get_act_layer("leaky_relu").negative_slope == pytest.approx(0.2)


@pytest.mark.parametrize("bad", ["relu6", "", "batch"])
def test_act_unknown_name_lists_choices(bad: str) -> None:
    """An unknown activation name raises ConfigError naming the argument and every choice."""
    with pytest.raises(ConfigError, match="out_act") as info:
        get_act_layer(bad, argument="out_act")
    for name in ACTIVATIONS:
        assert repr(name) in str(info.value)


def test_act_rejects_instances() -> None:
    """An instance (not a class) is refused with a hint to pass the class."""
    with pytest.raises(ConfigError, match="class"):
        get_act_layer(nn.ReLU())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("norm", "dims", "expected"),
    [
        ("batch", 1, nn.BatchNorm1d),
        ("batch", 2, nn.BatchNorm2d),
        ("layer", 1, nn.LayerNorm),
        ("layer", 2, nn.GroupNorm),
        ("spectral", 2, nn.Identity),
        ("none", 1, nn.Identity),
        (None, 2, nn.Identity),
        (nn.InstanceNorm2d, 2, nn.InstanceNorm2d),
    ],
)
def test_norm_names_and_classes(
    norm: str | type[nn.Module] | None, dims: int, expected: type
) -> None:
    """Norm names map to the right layer for linear (1) and conv (2) inputs; classes get C."""
    layer = get_norm_layer(norm, 8, dims=dims)  # type: ignore[arg-type]
    assert type(layer) is expected
    if isinstance(layer, nn.GroupNorm):
        assert (layer.num_groups, layer.num_channels) == (1, 8)
    elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d)):
        assert layer.num_features == 8


def test_norm_unknown_name_lists_choices() -> None:
    """An unknown norm name raises ConfigError naming the argument and every choice."""
    with pytest.raises(ConfigError, match="norm") as info:
        get_norm_layer("instance", 8)
    for name in NORMS:
        assert repr(name) in str(info.value)


@given(
    norm=st.sampled_from(NORMS),
    act=st.sampled_from([*sorted(ACTIVATIONS), None]),
    transposed=st.booleans(),
    linear=st.booleans(),
)
def test_blocks_omit_identities(
    norm: str, act: str | None, transposed: bool, linear: bool
) -> None:
    """Blocks hold weight, then a norm layer only for batch/layer, then an act only if not none."""
    if linear:
        block = linear_block(4, 5, norm=norm, act=act)
        weight_type: type = nn.Linear
    else:
        block = conv_block(4, 5, 3, transposed=transposed, norm=norm, act=act)
        weight_type = nn.ConvTranspose2d if transposed else nn.Conv2d
    assert not any(isinstance(m, nn.Identity) for m in block)
    assert isinstance(block[0], weight_type)
    has_act = act not in (None, "none")
    assert len(block) == 1 + (norm in NORM_LAYERS) + has_act
    # The default bias is off exactly when a norm layer with its own shift follows.
    assert (block[0].bias is None) == (norm in NORM_LAYERS)


@pytest.mark.parametrize("bias", [True, False])
def test_explicit_bias_wins(bias: bool) -> None:
    """bias=True/False overrides the norm-dependent default."""
    assert (linear_block(3, 4, norm="batch", bias=bias)[0].bias is not None) == bias
    assert (conv_block(3, 4, 3, norm="none", bias=bias)[0].bias is not None) == bias


@pytest.mark.parametrize("transposed", [False, True])
def test_spectral_wraps_weight(transposed: bool) -> None:
    """'spectral' parametrizes the weight and adds no norm layer."""
    block = conv_block(3, 4, 3, transposed=transposed, norm="spectral", act="leaky_relu")
    assert parametrize.is_parametrized(block[0], "weight")
    assert [type(m) for m in block[1:]] == [nn.LeakyReLU]
    assert parametrize.is_parametrized(linear_block(3, 4, norm="spectral")[0], "weight")
    assert not parametrize.is_parametrized(conv_block(3, 4, 3, norm="batch")[0], "weight")


@given(
    cin=st.integers(1, 4),
    cout=st.integers(1, 4),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    side=st.integers(5, 12),
    transposed=st.booleans(),
)
def test_conv_block_output_size(
    cin: int, cout: int, k: int, s: int, p: int, side: int, transposed: bool
) -> None:
    """conv_block follows the (transposed) convolution size formula."""
    expected = (side - 1) * s - 2 * p + k if transposed else (side + 2 * p - k) // s + 1
    assume(expected >= 1)
    block = conv_block(cin, cout, k, s, p, transposed=transposed, norm="layer")
    assert block(torch.zeros(2, cin, side, side)).shape == (2, cout, expected, expected)


def test_dcgan_init_statistics() -> None:
    """dcgan_init: weights ~ N(0, 0.02), BN weights ~ N(1, 0.02), biases zero."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(64, 128, 4),  # 131,072 weights
        nn.BatchNorm2d(4096),
        nn.ConvTranspose2d(128, 64, 4),
        nn.Linear(512, 256),
        nn.BatchNorm1d(4096),
    )
    net.apply(dcgan_init)
    for i in (0, 2, 3):
        assert net[i].weight.mean().item() == pytest.approx(0.0, abs=1e-3)
        assert net[i].weight.std().item() == pytest.approx(0.02, rel=0.02)
        assert torch.count_nonzero(net[i].bias) == 0
    for i in (1, 4):
        assert net[i].weight.mean().item() == pytest.approx(1.0, abs=2e-3)
        assert net[i].weight.std().item() == pytest.approx(0.02, rel=0.05)
        assert torch.count_nonzero(net[i].bias) == 0


def test_dcgan_init_reaches_spectral_weight() -> None:
    """dcgan_init sets the trainable weight behind a spectral-norm parametrization."""
    torch.manual_seed(0)
    block = conv_block(64, 128, 4, norm="spectral")
    block.apply(dcgan_init)
    original = block[0].parametrizations["weight"].original
    assert original.std().item() == pytest.approx(0.02, rel=0.02)
    assert torch.count_nonzero(block[0].bias) == 0


def test_dcgan_init_leaves_other_norms() -> None:
    """dcgan_init does not touch layer/group norms (ones and zeros stay)."""
    net = nn.Sequential(nn.LayerNorm(16), nn.GroupNorm(1, 16)).apply(dcgan_init)
    for m in net:
        assert torch.equal(m.weight, torch.ones(16))
        assert torch.equal(m.bias, torch.zeros(16))
