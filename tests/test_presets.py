"""Tests for mnistgan.presets: the reference architectures, the registry and GANConfig."""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrize

from mnistgan import presets
from mnistgan.errors import ConfigError
from mnistgan.presets import GANConfig, NetworkSpec, get_preset, list_presets, register_preset
from strategies import config_overrides

# DESIGN.md §2: (G params, D params) of the five reference write-ups.
REFERENCE_PARAMS = {
    "infogan": (6_679_105, 1_102_721),
    "dcgan64": (3_574_656, 2_763_520),
    "mlp": (1_486_352, 1_460_225),
    "dcgan": (747_841, 64_545),
    "vanilla": (114_064, 100_609),
}
UNREFERENCED = {"default"}  # the library's own tuned preset has no write-up to match

# Leaf layers in order (containers skipped), as the write-ups describe them.
_CBR, _CBL = ["ConvTranspose2d", "BatchNorm2d", "ReLU"], ["Conv2d", "BatchNorm2d", "LeakyReLU"]
_HEAD = ["Flatten", "Linear", "Flatten"]  # flatten, linear to one logit, (N, 1) -> (N,)
REFERENCE_LAYERS = {
    "infogan": (
        [*["Linear", "BatchNorm1d", "ReLU"] * 2, "Unflatten", *_CBR, "ConvTranspose2d", "Sigmoid"],
        [*["Conv2d", "LeakyReLU", "MaxPool2d"] * 2, "Flatten", "Linear", "LeakyReLU", *_HEAD[1:]],
    ),
    "dcgan64": (
        ["Unflatten", *_CBR * 4, "ConvTranspose2d", "Tanh"],
        ["Conv2d", "LeakyReLU", *_CBL * 3, *_HEAD],
    ),
    "mlp": (
        [*["Linear", "ReLU"] * 3, "Linear", "Tanh", "Unflatten"],
        ["Flatten", *["Linear", "LeakyReLU"] * 3, *_HEAD[1:]],
    ),
    "dcgan": (
        ["Unflatten", *_CBR * 3, "ConvTranspose2d", "Tanh"],
        [*_CBL * 3, *_HEAD],
    ),
    "vanilla": (
        ["Linear", "LeakyReLU", "Linear", "Tanh", "Unflatten"],
        ["Flatten", "Linear", "LeakyReLU", *_HEAD[1:]],
    ),
}
PLAIN = (str, int, float, bool, type(None))


@pytest.fixture(autouse=True)
def _one_thread(_fixed_threads: None) -> Iterator[None]:
    """Run these small networks on one thread: OpenMP hand-offs cost more than they save."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _leaves(net: nn.Module) -> list[str]:
    return [type(m).__name__ for m in net.modules() if not list(m.children())]


def _map_sizes(net: nn.Module, x: torch.Tensor) -> list[int]:
    """Spatial side after each block of a Sequential that holds a convolution."""
    sides = []
    for block in net:
        x = block(x)
        if any(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in block.modules()):
            sides.append(x.shape[-1])
    return sides


def _pre_batch_norm_biases(net: nn.Module) -> set[int]:
    """ids of biases that feed a batch norm directly (their gradient is exactly zero)."""
    found = set()
    for seq in net.modules():
        if isinstance(seq, nn.Sequential):
            layers = list(seq)
            for layer, after in itertools.pairwise(layers):
                bias = getattr(layer, "bias", None)
                if isinstance(after, nn.modules.batchnorm._BatchNorm) and bias is not None:
                    found.add(id(bias))
    return found


def _assert_plain(value: Any, where: str = "config") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{where} has a non-str key {key!r}"
            _assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _assert_plain(item, f"{where}[{i}]")
    else:
        assert isinstance(value, PLAIN), f"{where} is a {type(value).__name__}: {value!r}"


# --------------------------------------------------------------------------- every preset


def test_reference_presets_are_registered() -> None:
    """Every reference write-up of DESIGN.md §2 is a registered preset."""
    assert set(REFERENCE_PARAMS) <= set(list_presets())


@pytest.mark.parametrize("name", list_presets())
def test_parameter_counts(name: str) -> None:
    """A preset is a reference whose G and D parameter counts match DESIGN.md §2, or 'default'."""
    assert name in REFERENCE_PARAMS or name in UNREFERENCED, f"add {name!r} to REFERENCE_PARAMS"
    config = get_preset(name)
    counts = (_count(config.build_generator()), _count(config.build_discriminator()))
    assert all(c > 0 for c in counts)
    if name in REFERENCE_PARAMS:
        assert counts == REFERENCE_PARAMS[name]


@pytest.mark.parametrize("name", list_presets())
def test_networks_map_shapes_and_range(name: str) -> None:
    """G maps (N, latent) into config.image_range as (N, C, H, W); D maps images to (N,)."""
    torch.manual_seed(0)
    config = get_preset(name)
    g, d = config.build_generator(), config.build_discriminator()
    lo, hi = config.image_range
    assert (lo, hi) == ((0.0, 1.0) if config.output == "sigmoid" else (-1.0, 1.0))
    z = torch.randn(2, config.latent_dim)
    real = torch.rand(2, *config.image_shape) * (hi - lo) + lo
    with torch.no_grad():
        for train in (True, False):
            images = g.train(train)(z)
            assert images.shape == (2, *config.image_shape)
            assert torch.isfinite(images).all()
            if config.output != "none":
                assert lo <= images.min() and images.max() <= hi
            logits = d.train(train)(images if train else real)
            assert logits.shape == (2,)
            assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", list_presets())
def test_gan_step_reaches_every_parameter(name: str) -> None:
    """A BCE step gives all G/D params finite gradients, non-zero save biases feeding BN."""
    # infogan and dcgan keep a bias before batch norm, as their write-ups did; batch norm
    # subtracts the batch mean, so such a bias has an exactly zero gradient.
    torch.manual_seed(0)
    config = get_preset(name)
    g, d = config.build_generator().train(), config.build_discriminator().train()
    lo, hi = config.image_range
    fake = g(torch.randn(3, config.latent_dim))  # 3: batch norm over 2 values is constant
    real = torch.rand(3, *config.image_shape) * (hi - lo) + lo
    (F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()).backward()
    grads = {("D", n): p.grad for n, p in d.named_parameters()}
    d.zero_grad(set_to_none=True)
    F.softplus(-d(fake)).mean().backward()  # G's gradient flows through D
    grads.update({("G", n): p.grad for n, p in g.named_parameters()})
    exempt = _pre_batch_norm_biases(g) | _pre_batch_norm_biases(d)
    params = {("D", n): p for n, p in d.named_parameters()}
    params.update({("G", n): p for n, p in g.named_parameters()})
    for key, param in params.items():
        grad = grads[key]
        assert grad is not None, f"{name}: {key} got no gradient"
        assert torch.isfinite(grad).all(), f"{name}: {key} has a non-finite gradient"
        if id(param) not in exempt:
            assert grad.abs().sum() > 0, f"{name}: {key} has an all-zero gradient"


@pytest.mark.parametrize("name", sorted(REFERENCE_LAYERS))
def test_reference_layer_sequences(name: str) -> None:
    """G and D of each reference hold exactly the write-up's layers, in order."""
    config = get_preset(name)
    g_layers, d_layers = REFERENCE_LAYERS[name]
    assert _leaves(config.build_generator()) == g_layers
    assert _leaves(config.build_discriminator()) == d_layers


def test_dcgan_feature_map_sizes() -> None:
    """dcgan: G grows 3→6→13→28 through 256/128/64/1 channels; D shrinks 13→5→1."""
    config = get_preset("dcgan")
    g, d = config.build_generator().eval(), config.build_discriminator().eval()
    with torch.no_grad():
        assert _map_sizes(g, torch.randn(2, 64)) == [3, 6, 13, 28]
        assert _map_sizes(d, torch.rand(2, 1, 28, 28) * 2 - 1) == [13, 5, 1]
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (64, 256, 3, 2),
        (256, 128, 4, 1),
        (128, 64, 3, 2),
        (64, 1, 4, 2),
    ]


def test_dcgan64_follows_the_paper() -> None:
    """dcgan64: 4→64 in G, no norm on D's first conv, no biases, N(0, 0.02) conv weights."""
    torch.manual_seed(0)
    config = get_preset("dcgan64")
    g, d = config.build_generator().eval(), config.build_discriminator()
    with torch.no_grad():
        assert _map_sizes(g, torch.randn(2, 100)) == [4, 8, 16, 32, 64]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d[0].modules())
    assert all(isinstance(block[1], nn.BatchNorm2d) for block in list(d)[1:4])
    convs = [
        m for m in [*g.modules(), *d.modules()] if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    assert all(c.bias is None and c.kernel_size == (4, 4) for c in convs)
    assert all(
        abs(c.weight.std().item() - 0.02) < 0.002 for c in convs if c.weight.numel() > 10_000
    )
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))


def test_infogan_ends_in_sigmoid() -> None:
    """infogan: G reshapes 6272 features to 128x7x7 and ends in Sigmoid (images in [0, 1])."""
    config = get_preset("infogan")
    g = config.build_generator()
    assert isinstance(list(g.modules())[-1], nn.Sigmoid)
    assert config.output == "sigmoid" and config.image_range == (0.0, 1.0)
    unflatten = next(m for m in g.modules() if isinstance(m, nn.Unflatten))
    assert tuple(unflatten.unflattened_size) == (128, 7, 7)


# --------------------------------------------------------------------------- registry


def test_list_presets_is_sorted() -> None:
    """list_presets returns sorted, unique names and a fresh list each call."""
    names = list_presets()
    assert names == sorted(set(names))
    names.append("mutated")
    assert "mutated" not in list_presets()


def test_unknown_preset_lists_known_names() -> None:
    """get_preset with an unknown name raises ConfigError listing every known preset."""
    with pytest.raises(ConfigError, match="dcgan-128") as info:
        get_preset("dcgan-128")
    for name in list_presets():
        assert repr(name) in str(info.value)


def test_duplicate_registration_is_refused() -> None:
    """Registering an existing name raises ConfigError and leaves the registry unchanged."""
    before = {name: presets._PRESETS[name] for name in list_presets()}
    with pytest.raises(ConfigError, match="vanilla"):
        register_preset("vanilla")(lambda: get_preset("mlp"))
    assert before == presets._PRESETS


def test_registration_adds_a_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registered function becomes a preset by name, then a second registration is refused."""
    monkeypatch.setattr(presets, "_PRESETS", dict(presets._PRESETS))  # undone after the test
    monkeypatch.setattr(presets, "_WITH_LABELS", dict(presets._WITH_LABELS))

    @register_preset("test-vanilla-tiny")
    def _tiny() -> GANConfig:
        return get_preset("vanilla", latent_dim=8)

    assert "test-vanilla-tiny" in list_presets()
    config = get_preset("test-vanilla-tiny")
    assert config.latent_dim == 8 and config.preset == "test-vanilla-tiny"
    with pytest.raises(ConfigError, match="test-vanilla-tiny"):
        register_preset("test-vanilla-tiny")(_tiny)


@pytest.mark.parametrize("name", ["infogan", "mlp", "vanilla"])
@pytest.mark.parametrize("conditioning", ["projection", "acgan"])
def test_reference_presets_sample_from_an_ema_with_labels(name: str, conditioning: str) -> None:
    """With labels the reference presets get a generator EMA (robustness benchmark); the
    caller's own value wins, and without labels the write-up's recipe is unchanged."""
    from mnistgan import GAN

    for build in (get_preset, lambda *a, **k: GAN.from_preset(*a, **k).config):
        assert build(name).ema_decay is None
        assert build(name, num_classes=10, conditioning=conditioning).ema_decay == 0.999
        assert build(name, num_classes=10, ema_decay=None).ema_decay is None
        assert build(name, num_classes=10, ema_decay=0.99).ema_decay == 0.99
        assert build(name, num_classes=None).ema_decay is None
    assert GAN.from_preset(name, num_classes=10).ema is not None
    # infogan's conditional generator ignored its noise without R1; vanilla learns labels
    # at 1e-3; neither changes their unconditional recipes.
    labelled, plain = get_preset(name, num_classes=10), get_preset(name)
    assert labelled.r1_gamma == (1.0 if name in ("infogan", "mlp") else 0.0)
    assert plain.r1_gamma == (1.0 if name == "mlp" else 0.0)
    assert labelled.lr_g == labelled.lr_d == (1e-3 if name == "vanilla" else 2e-4)
    assert plain.lr_g == plain.lr_d == 2e-4


def test_default_weighs_its_acgan_loss_lower_with_labels() -> None:
    """The default as an ACGAN drew one image per digit from seed 0 at aux_weight 1.0
    (robustness benchmark); with labels every entry point gives 0.3, the caller's wins."""
    from mnistgan import DCGAN, GAN

    builds = (
        get_preset,
        lambda *a, **k: GAN.from_preset(*a, **k).config,
        lambda _, **k: DCGAN(**k).config,
    )
    for build in builds:
        assert build("default").aux_weight == 1.0
        assert build("default", num_classes=10, conditioning="acgan").aux_weight == 0.3
        assert build("default", num_classes=10, aux_weight=2.0).aux_weight == 2.0
        labelled = build("default", num_classes=10)  # projection ignores the weight
        assert labelled.replace(aux_weight=1.0) == get_preset("default").replace(num_classes=10)
    assert DCGAN(get_preset("default"), num_classes=10).config.aux_weight == 1.0  # as given


def test_registration_with_labels_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """``with_labels`` fields reach a conditional config of the registered preset only."""
    monkeypatch.setattr(presets, "_PRESETS", dict(presets._PRESETS))
    monkeypatch.setattr(presets, "_WITH_LABELS", dict(presets._WITH_LABELS))

    @register_preset("test-vanilla-aux", with_labels={"aux_weight": 2.0, "lr_d": 1e-3})
    def _aux() -> GANConfig:
        return get_preset("vanilla")

    plain = get_preset("test-vanilla-aux")
    assert (plain.aux_weight, plain.lr_d) == (1.0, 2e-4)
    labelled = get_preset("test-vanilla-aux", num_classes=10, conditioning="acgan", lr_d=5e-4)
    assert (labelled.aux_weight, labelled.lr_d, labelled.num_classes) == (2.0, 5e-4, 10)
    assert get_preset("vanilla", num_classes=10).aux_weight == 1.0  # others unchanged
    with pytest.raises(ConfigError, match=r"with_labels of preset 'x' names unknown .*'emma'"):
        register_preset("x", with_labels={"emma": 0.9})
    assert "x" not in list_presets()


# --------------------------------------------------------------------------- overrides


def test_latent_override_changes_only_the_generator_input() -> None:
    """get_preset('dcgan', latent_dim=16) changes G's input layer and nothing else."""
    base, small = get_preset("dcgan"), get_preset("dcgan", latent_dim=16)
    assert small == dataclasses.replace(base, latent_dim=16)
    g_base, g_small = base.build_generator(), small.build_generator()
    shapes = {k: v.shape for k, v in g_base.state_dict().items()}
    small_shapes = {k: v.shape for k, v in g_small.state_dict().items()}
    changed = {k for k in shapes if shapes[k] != small_shapes[k]}
    assert changed == {"block0.0.weight"}
    assert small_shapes["block0.0.weight"][0] == 16  # ConvTranspose2d weight is (in, out, k, k)
    assert g_small(torch.randn(2, 16)).shape == (2, 1, 28, 28)
    d_base, d_small = base.build_discriminator(), small.build_discriminator()
    assert {k: v.shape for k, v in d_base.state_dict().items()} == {
        k: v.shape for k, v in d_small.state_dict().items()
    }


def test_network_override_merges_builder_kwargs() -> None:
    """generator={'norm': 'spectral'} merges into the builder kwargs and takes effect."""
    base = get_preset("dcgan")
    config = get_preset("dcgan", generator={"norm": "spectral"})
    assert config.generator.builder == base.generator.builder
    assert config.generator.kwargs == {**base.generator.kwargs, "norm": "spectral"}
    assert config.discriminator == base.discriminator
    g = config.build_generator()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in g.modules())
    hidden = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)][:-1]
    assert hidden and all(parametrize.is_parametrized(m, "weight") for m in hidden)


def test_network_override_with_builder_replaces_spec() -> None:
    """A mapping that names a builder replaces the network spec instead of merging."""
    config = get_preset(
        "dcgan", discriminator={"builder": "mlp_discriminator", "kwargs": {"hidden": [8]}}
    )
    assert config.discriminator == NetworkSpec("mlp_discriminator", {"hidden": (8,)})
    assert config.build_discriminator()(torch.rand(2, 1, 28, 28)).shape == (2,)


def test_unknown_override_lists_fields() -> None:
    """An unknown override raises ConfigError naming it and listing the valid fields."""
    with pytest.raises(ConfigError, match="learning_rate") as info:
        get_preset("mlp", learning_rate=1e-3)
    for field in dataclasses.fields(GANConfig):
        assert field.name in str(info.value)


# --------------------------------------------------------------------------- serialisation


@given(name=st.sampled_from(list_presets()), overrides=config_overrides())
def test_to_dict_round_trips(name: str, overrides: dict[str, Any]) -> None:
    """from_dict(to_dict()) equals the config, and to_dict holds only plain values."""
    config = get_preset(name, **overrides)
    data = config.to_dict()
    _assert_plain(data)
    assert GANConfig.from_dict(data) == config
    assert set(data) == {f.name for f in dataclasses.fields(GANConfig)}


@pytest.mark.parametrize("name", list_presets())
def test_to_dict_survives_weights_only_load(name: str) -> None:
    """to_dict survives torch.save + torch.load(weights_only=True) and rebuilds the config."""
    config = get_preset(name)
    buffer = io.BytesIO()
    torch.save(config.to_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    assert loaded == config.to_dict()
    assert GANConfig.from_dict(loaded) == config


def test_round_trip_with_list_valued_override() -> None:
    """A list-valued builder override (as from JSON or a CLI) survives to_dict/from_dict."""
    config = get_preset("mlp", generator={"hidden": [64, 32]})
    assert GANConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr_g", 0.0),
        ("lr_g", -2e-4),
        ("lr_g", math.nan),
        ("lr_d", 0),
        ("lr_d", "2e-4"),
        ("betas", (1.0, 0.999)),
        ("betas", (0.5, -0.1)),
        ("betas", (0.5,)),
        ("betas", 0.5),
        ("ema_decay", 1.0),
        ("ema_decay", 0.0),
        ("loss", "wasserstein"),
        ("output", "relu"),
        ("latent_dim", 0),
        ("latent_dim", True),
        ("batch_size", -1),
        ("epochs", 0),
        ("d_steps", 1.5),
        ("gp_weight", -1.0),
        ("r1_gamma", -0.1),
        ("image_shape", (1, 28)),
        ("generator", 3),
        ("discriminator", "conv_discriminator"),
    ],
)
def test_invalid_config_values(field: str, value: object) -> None:
    """Invalid config values raise ConfigError (a ValueError) naming the field."""
    with pytest.raises(ValueError, match=field) as info:
        get_preset("vanilla", **{field: value})
    assert isinstance(info.value, ConfigError)


def test_unknown_builder_is_refused() -> None:
    """A NetworkSpec naming no builder raises ConfigError listing the builders."""
    with pytest.raises(ConfigError, match="mlp_generator"):
        NetworkSpec("resnet_generator")


@pytest.mark.parametrize("conditioning", ["projection", "acgan"])
def test_dcgan_with_labels_is_refused_naming_one_that_trains(conditioning: str) -> None:
    """The dcgan preset with labels and its own discriminator does not train (robustness
    benchmark): get_preset and GAN.from_preset refuse it, naming the default preset."""
    from mnistgan import GAN

    for build in (get_preset, GAN.from_preset):
        with pytest.raises(ConfigError, match="does not train with labels") as info:
            build("dcgan", num_classes=10, conditioning=conditioning)
        assert "get_preset('default', num_classes=10)" in str(info.value)
    # The alternative it names builds and is conditional.
    assert get_preset("default", num_classes=10, conditioning=conditioning).num_classes == 10


def test_dcgan_with_labels_and_another_discriminator_is_allowed() -> None:
    """The refusal is about dcgan's discriminator: swapping it (or dropping the labels)
    builds, and a config loaded from a file is not refused."""
    from mnistgan import GAN

    other = get_preset("default").discriminator
    config = get_preset("dcgan", num_classes=10, discriminator=other)
    assert config.num_classes == 10 and config.discriminator == other
    gan = GAN.from_preset("dcgan", num_classes=10, discriminator=other)
    assert gan.num_classes == 10
    assert get_preset("dcgan").num_classes is None
    refused = dataclasses.replace(get_preset("dcgan"), num_classes=10)
    assert GANConfig.from_dict(refused.to_dict()).num_classes == 10  # reading is not refused
