"""Property tests for mnistgan.builders: shapes, ranges, gradients, seeding, argument checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from mnistgan.builders import (
    BUILDERS,
    conv_discriminator,
    conv_generator,
    conv_pool_discriminator,
    fc_conv_generator,
    mlp_discriminator,
    mlp_generator,
)
from mnistgan.errors import ConfigError
from strategies import (
    FAMILIES,
    GanCase,
    bad_sizes,
    builder_kwargs,
    output_range,
    seeds,
)

GENERATOR_BUILDERS = [mlp_generator, conv_generator, fc_conv_generator]
CONV_FAMILY = [conv_generator, conv_discriminator, fc_conv_generator]  # square, derived depth
SMALL: dict[Any, dict[str, Any]] = {  # small but otherwise default arguments per builder
    mlp_generator: {"hidden": (4,)},
    mlp_discriminator: {"hidden": (4,)},
    conv_generator: {"base_width": 2},
    conv_discriminator: {"base_width": 2},
    fc_conv_generator: {"fc_width": 4, "base_width": 2},
    conv_pool_discriminator: {"widths": (2, 2), "fc_width": 4},
}


@pytest.fixture(autouse=True)
def _one_thread(_fixed_threads: None) -> Iterator[None]:
    """Run these tiny networks on one thread: OpenMP hand-offs cost more than they save."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _raises(builder: Callable[..., nn.Module], argument: str, **kwargs: Any) -> None:
    """``builder(**SMALL, **kwargs)`` raises ConfigError (a ValueError) naming ``argument``."""
    with pytest.raises(ValueError, match=re.escape(argument)) as info:
        builder(**{**SMALL[builder], **kwargs})
    assert isinstance(info.value, ConfigError)


def _check_gradients(net: nn.Module, what: str) -> None:
    for name, param in net.named_parameters():
        assert param.grad is not None, f"{what}.{name} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{what}.{name} has a non-finite gradient"
        assert param.grad.abs().sum() > 0, f"{what}.{name} has an all-zero gradient"


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
def test_generator_shape_range_finite(family: str, data: st.DataObject) -> None:
    """G maps (N, latent) to finite (N, C, H, W) images inside its output range."""
    case: GanCase = data.draw(builder_kwargs(family))
    torch.manual_seed(data.draw(seeds))
    g = case.build_generator()
    bounds = output_range(case.generator["out_act"])
    for train in (True, False):
        g.train(train)
        with torch.no_grad():
            images = g(case.latents())
        assert images.shape == (case.batch_size, *case.image_shape)
        assert torch.isfinite(images).all()
        if bounds is not None:
            assert images.min() >= bounds[0] and images.max() <= bounds[1]


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
def test_discriminator_returns_finite_logits(family: str, data: st.DataObject) -> None:
    """D maps (N, C, H, W) images to finite logits of shape (N,)."""
    case: GanCase = data.draw(builder_kwargs(family))
    torch.manual_seed(data.draw(seeds))
    d = case.build_discriminator()
    for train in (True, False):
        d.train(train)
        with torch.no_grad():
            logits = d(case.real_batch())
        assert logits.shape == (case.batch_size,)
        assert torch.isfinite(logits).all()


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
def test_every_parameter_gets_a_gradient(family: str, data: st.DataObject) -> None:
    """A BCE GAN step gives every D and G parameter a finite non-zero gradient (G's via D)."""
    case: GanCase = data.draw(builder_kwargs(family, trainable=True))
    torch.manual_seed(data.draw(seeds))
    # float64: at init D's logits can be ~1e-7, where float32 rounds σ(l) to exactly ½ and
    # the bias gradient σ(l_fake) - σ(-l_real) to exactly 0.
    g, d = case.build_generator().double().train(), case.build_discriminator().double().train()
    # D step: real vs detached fake, non-saturating BCE on logits.
    fake = g(case.latents().double())
    real = case.real_batch().double()
    loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
    loss_d.backward()
    _check_gradients(d, "D")
    assert all(p.grad is None for p in g.parameters()), "the D step leaked into G"
    # G step: the same fake batch re-scored by D; the gradient must flow through D.
    d.zero_grad(set_to_none=True)
    F.softplus(-d(fake)).mean().backward()
    _check_gradients(g, "G")


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
def test_in_place_activations_change_nothing(family: str, data: st.DataObject) -> None:
    """Blocks run ReLU and LeakyReLU in place; the same networks with out-of-place
    activations give bit-identical outputs and gradients for a D step and a G step."""
    case: GanCase = data.draw(builder_kwargs(family))
    seed = data.draw(seeds)
    results = []
    for inplace in (True, False):
        torch.manual_seed(seed)
        g, d = case.build_generator().train(), case.build_discriminator().train()
        acts = [
            m for net in (g, d) for m in net.modules() if isinstance(m, nn.ReLU | nn.LeakyReLU)
        ]
        assert all(m.inplace for m in acts)
        for m in acts:
            m.inplace = inplace
        fake = g(case.latents())
        real = case.real_batch()
        (F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()).backward()
        F.softplus(-d(fake)).mean().backward()
        grads = [p.grad for net in (g, d) for p in net.parameters()]
        results.append((fake.detach(), grads))
    assert torch.equal(results[0][0], results[1][0])
    for first, second in zip(results[0][1], results[1][1], strict=True):
        assert (first is None and second is None) or torch.equal(first, second)


@pytest.mark.parametrize("family", FAMILIES)
@given(data=st.data())
def test_same_seed_same_networks(family: str, data: st.DataObject) -> None:
    """torch.manual_seed(s) then building twice gives identical state_dicts."""
    case: GanCase = data.draw(builder_kwargs(family))
    seed = data.draw(seeds)
    states = []
    for _ in range(2):
        torch.manual_seed(seed)
        states.append(
            (case.build_generator().state_dict(), case.build_discriminator().state_dict())
        )
    for first, second in zip(*states, strict=True):
        assert first.keys() == second.keys()
        for key in first:
            assert torch.equal(first[key], second[key]), key


@given(data=st.data())
def test_conv_generator_refuses_other_sides(data: st.DataObject) -> None:
    """An explicit conv geometry raises for every image side other than the one it produces."""
    case: GanCase = data.draw(builder_kwargs("conv", explicit=True))
    side = case.image_shape[1]
    other = data.draw(st.integers(1, 79).map(lambda s: s + (s >= side)))  # any side but side
    with pytest.raises(ConfigError, match="image_shape"):
        conv_generator(**{**case.generator, "image_shape": (case.image_shape[0], other, other)})


def test_builders_registry_is_complete() -> None:
    """BUILDERS names every public builder under its own name."""
    assert {fn.__name__: fn for fn in SMALL} == BUILDERS


# --------------------------------------------------------------------------- invalid arguments

INT_ARGS = [
    (mlp_generator, "latent_dim"),
    (conv_generator, "latent_dim"),
    (conv_generator, "base_width"),
    (conv_discriminator, "base_width"),
    (fc_conv_generator, "latent_dim"),
    (fc_conv_generator, "fc_width"),
    (fc_conv_generator, "base_width"),
    (conv_pool_discriminator, "kernel_size"),
    (conv_pool_discriminator, "fc_width"),
]
WIDTH_ARGS = [
    (mlp_generator, "hidden"),
    (mlp_discriminator, "hidden"),
    (conv_generator, "widths"),
    (conv_discriminator, "widths"),
    (fc_conv_generator, "widths"),
    (conv_pool_discriminator, "widths"),
]


def _id(value: object) -> str:
    return getattr(value, "__name__", str(value))


@pytest.mark.parametrize(("builder", "argument"), INT_ARGS, ids=_id)
@given(bad=bad_sizes)
def test_sizes_must_be_positive_ints(
    builder: Callable[..., nn.Module], argument: str, bad: int
) -> None:
    """Zero, negative or bool sizes raise ConfigError naming the argument."""
    _raises(builder, argument, **{argument: bad})


@pytest.mark.parametrize(("builder", "argument"), WIDTH_ARGS, ids=_id)
@given(bad=bad_sizes, position=st.integers(0, 1))
def test_widths_must_be_positive_ints(
    builder: Callable[..., nn.Module], argument: str, bad: int, position: int
) -> None:
    """A zero, negative or bool width raises ConfigError naming the argument and index."""
    widths = [2, 2]
    widths[position] = bad
    _raises(builder, f"{argument}[{position}]", **{argument: widths})


@pytest.mark.parametrize(("builder", "argument"), WIDTH_ARGS, ids=_id)
@pytest.mark.parametrize("bad", [(), "64"], ids=["empty", "str"])
def test_widths_must_be_a_sequence(
    builder: Callable[..., nn.Module], argument: str, bad: object
) -> None:
    """Empty or string widths raise ConfigError naming the argument."""
    _raises(builder, argument, **{argument: bad})


@pytest.mark.parametrize("builder", list(SMALL), ids=_id)
@given(bad=bad_sizes, position=st.integers(0, 2))
def test_image_shape_entries_must_be_positive(
    builder: Callable[..., nn.Module], bad: int, position: int
) -> None:
    """A zero, negative or bool image_shape entry raises ConfigError naming image_shape."""
    shape = [1, 28, 28]
    shape[position] = bad
    _raises(builder, "image_shape", image_shape=tuple(shape))


@pytest.mark.parametrize("builder", list(SMALL), ids=_id)
@pytest.mark.parametrize("bad", [(28, 28), (1, 28, 28, 1), "1x28x28", 28])
def test_image_shape_must_be_three_ints(builder: Callable[..., nn.Module], bad: object) -> None:
    """An image_shape that is not (C, H, W) raises ConfigError naming image_shape."""
    _raises(builder, "image_shape", image_shape=bad)


@pytest.mark.parametrize("builder", CONV_FAMILY, ids=_id)
@given(side=st.integers(0, 32).map(lambda k: 2 * k + 1) | st.sampled_from((2, 4, 6)))
def test_conv_family_refuses_unsupported_sides(
    builder: Callable[..., nn.Module], side: int
) -> None:
    """Odd sides and sides below 8 raise ConfigError naming image_shape (derived geometry)."""
    _raises(builder, "image_shape", image_shape=(1, side, side))


@pytest.mark.parametrize("builder", CONV_FAMILY, ids=_id)
def test_conv_family_refuses_non_square(builder: Callable[..., nn.Module]) -> None:
    """Non-square images raise ConfigError naming image_shape."""
    _raises(builder, "image_shape", image_shape=(1, 28, 32))


@pytest.mark.parametrize("builder", list(SMALL), ids=_id)
def test_unknown_norm_and_act_names(builder: Callable[..., nn.Module]) -> None:
    """Unknown norm and act names raise ConfigError naming the argument."""
    _raises(builder, "norm", norm="instance")
    _raises(builder, "act", act="relu6")
    _raises(builder, "init", init="xavier")


@pytest.mark.parametrize("builder", GENERATOR_BUILDERS, ids=_id)
def test_unknown_out_act_names_out_act(builder: Callable[..., nn.Module]) -> None:
    """An unknown output activation raises ConfigError naming out_act (not act)."""
    _raises(builder, "out_act", out_act="relu6")


@pytest.mark.parametrize(
    "builder", [mlp_discriminator, conv_discriminator, conv_pool_discriminator]
)
def test_norm_names_are_case_insensitive(builder: Callable[..., nn.Module]) -> None:
    """'Spectral' builds the same network as 'spectral', as the layer lookups promise."""
    lower = builder(**SMALL[builder], norm="spectral").state_dict()
    upper = builder(**SMALL[builder], norm="Spectral").state_dict()
    assert list(upper) == list(lower)


@pytest.mark.parametrize("builder", [conv_generator, conv_discriminator], ids=_id)
@pytest.mark.parametrize("missing", ["strides", "paddings"])
def test_explicit_geometry_comes_whole(builder: Callable[..., nn.Module], missing: str) -> None:
    """Giving only some of kernels/strides/paddings raises ConfigError naming them."""
    geometry = {"kernels": (4, 4), "strides": (2, 2), "paddings": (1, 1)}
    del geometry[missing]
    _raises(builder, missing, widths=(4,), **geometry)


@pytest.mark.parametrize("wrong", ["kernels", "strides", "paddings"])
def test_explicit_geometry_lengths_must_match(wrong: str) -> None:
    """kernels/strides/paddings of the wrong length raise ConfigError naming the argument."""
    g_geometry = {"kernels": [4, 4], "strides": [2, 2], "paddings": [1, 1]}
    g_geometry[wrong] = [*g_geometry[wrong], 1]
    _raises(conv_generator, wrong, widths=(4,), image_shape=(1, 4, 4), **g_geometry)
    d_geometry = {"kernels": [4], "strides": [2], "paddings": [1]}
    d_geometry[wrong] = [1, 1]
    _raises(conv_discriminator, wrong, widths=(4,), **d_geometry)


@pytest.mark.parametrize(
    ("argument", "geometry"),
    [
        ("kernels[0]", {"kernels": (0, 4), "strides": (1, 2), "paddings": (0, 1)}),
        ("kernels[1]", {"kernels": (4, True), "strides": (1, 2), "paddings": (0, 1)}),
        ("strides[0]", {"kernels": (4, 4), "strides": (0, 2), "paddings": (0, 1)}),
        ("paddings[1]", {"kernels": (4, 4), "strides": (1, 2), "paddings": (0, -1)}),
        ("paddings[0]", {"kernels": (4, 4), "strides": (1, 2), "paddings": (False, 1)}),
    ],
)
def test_explicit_geometry_entries(argument: str, geometry: dict[str, tuple[int, ...]]) -> None:
    """Bad kernel/stride/padding entries raise ConfigError naming the entry."""
    _raises(conv_generator, argument, widths=(4,), image_shape=(1, 8, 8), **geometry)


def test_explicit_geometry_must_produce_image_size() -> None:
    """A generator geometry producing another size raises ConfigError naming image_shape."""
    geometry = {"kernels": (4, 4), "strides": (2, 2), "paddings": (1, 1)}  # 1 -> 2 -> 4
    _raises(conv_generator, "image_shape", widths=(4,), image_shape=(1, 28, 28), **geometry)
    conv_generator(widths=(4,), image_shape=(1, 4, 4), **geometry)  # the right size builds


def test_explicit_geometry_intermediate_sizes_must_be_positive() -> None:
    """A geometry whose intermediate map has no pixels raises ConfigError at build time."""
    # 1x1 -(k1 s1 p1)-> -1x-1 -(k5 s1 p0)-> 3x3: the end size fits but layer 0 cannot run.
    geometry = {"kernels": (1, 5), "strides": (1, 1), "paddings": (1, 0)}
    _raises(conv_generator, "paddings", widths=(2,), image_shape=(1, 3, 3), **geometry)


def test_discriminator_geometry_must_not_vanish() -> None:
    """Convolutions that shrink the image to nothing raise ConfigError naming the geometry."""
    geometry = {"kernels": (5, 5), "strides": (1, 1), "paddings": (0, 0)}  # 5 -> 1 -> -3
    _raises(conv_discriminator, "kernels", widths=(2, 2), image_shape=(1, 5, 5), **geometry)
    _raises(conv_pool_discriminator, "kernel_size", image_shape=(1, 8, 8), kernel_size=5)


def test_widths_must_fit_the_depth() -> None:
    """widths of the wrong length for the derived depth raise ConfigError naming widths."""
    _raises(conv_generator, "widths", widths=(4, 4, 4))  # 28 = 7·2² needs two
    _raises(conv_discriminator, "widths", widths=(4,))
    _raises(fc_conv_generator, "widths", widths=(4, 4, 4))  # 28 is not divisible by 8


@pytest.mark.parametrize("bad", [1.0, -0.1, True, "0.5"])
def test_dropout_must_be_a_probability(bad: object) -> None:
    """Dropout outside [0, 1) raises ConfigError naming dropout."""
    _raises(mlp_discriminator, "dropout", dropout=bad)
    _raises(conv_discriminator, "dropout", dropout=bad)


def test_conv_discriminator_dropout_is_active_in_training_only() -> None:
    """dropout adds one Dropout per block: random in train mode, a no-op in eval mode."""
    torch.manual_seed(0)
    d = conv_discriminator(widths=(8, 16), dropout=0.5)
    assert sum(isinstance(m, nn.Dropout) for m in d.modules()) == 2
    x = torch.rand(4, 1, 28, 28)
    d.eval()
    assert torch.equal(d(x), d(x))
    d.train()
    assert not torch.equal(d(x), d(x))
    plain = conv_discriminator(widths=(8, 16))
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())


@pytest.mark.parametrize(
    ("norm_first", "norm_last", "normed"),
    [
        (False, True, [False, True, True]),
        (False, False, [False, True, False]),
        (True, False, [True, True, False]),
        (True, True, [True, True, True]),
    ],
)
def test_conv_discriminator_norm_first_and_last_choose_the_normalised_blocks(
    norm_first: bool, norm_last: bool, normed: list[bool]
) -> None:
    """Each block has batch norm exactly where asked; a block without it has a conv bias."""
    d = conv_discriminator(
        image_shape=(1, 32, 32), widths=(8, 16, 32), norm_first=norm_first, norm_last=norm_last
    )
    for i, want in enumerate(normed):
        block = getattr(d, f"block{i}")
        conv = block[0]
        assert isinstance(conv, nn.Conv2d)
        assert any(isinstance(m, nn.BatchNorm2d) for m in block) == want, i
        assert (conv.bias is None) == want, i


def test_conv_discriminator_single_block_needs_both_flags_for_norm() -> None:
    """With one convolution, it is both first and last: normalised only if both say so."""
    for first, last in [(True, True), (True, False), (False, True)]:
        d = conv_discriminator(
            widths=(8,),
            kernels=(4,),
            strides=(2,),
            paddings=(1,),
            norm_first=first,
            norm_last=last,
        )
        has_bn = any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
        assert has_bn == (first and last)
