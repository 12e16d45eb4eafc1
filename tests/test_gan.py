"""Tests of mnistgan.gan: building, data checks, sampling, saving and loading a GAN."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision  # type: ignore[import-untyped,unused-ignore]
from torch import Tensor, nn
from torch.utils.data import DataLoader, Subset
from torchvision import transforms

from mnistgan import (
    DCGAN,
    GAN,
    BatchTypeError,
    CheckpointError,
    ConfigError,
    DataError,
    get_preset,
    list_presets,
)
from mnistgan.checkpoint import load_checkpoint
from mnistgan.device import get_rng_state, set_rng_state
from states import assert_same, clone_state

STEP_KEYS = {"loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after"}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def mnist_test(mnist_root: Path) -> torchvision.datasets.MNIST:
    """The real MNIST test split as ``ToTensor`` images (10k, read once per module)."""
    return torchvision.datasets.MNIST(
        str(mnist_root), train=False, download=False, transform=transforms.ToTensor()
    )


def _mnist(root: Path, transform: Callable[[Any], Any] | None) -> torchvision.datasets.MNIST:
    return torchvision.datasets.MNIST(str(root), train=False, download=False, transform=transform)


def _snapshot(gan: GAN) -> dict[str, Any]:
    """Deep copies of every weight, buffer and optimiser state of ``gan``."""
    state = {
        "generator": gan.generator.state_dict(),
        "discriminator": gan.discriminator.state_dict(),
        "ema": gan.ema.state_dict() if gan.ema is not None else None,
        "opt_g": gan.opt_g.state_dict(),
        "opt_d": gan.opt_d.state_dict(),
    }
    return clone_state(state)


def _tiny(**overrides: Any) -> GAN:
    """The "vanilla" GAN shrunk to 16 hidden units, for tests where the networks do not matter."""
    return GAN.from_preset(
        "vanilla", generator={"hidden": (16,)}, discriminator={"hidden": (16,)}, **overrides
    )


def _batches(n: int = 2, size: int = 8, shape: tuple[int, ...] = (1, 28, 28)) -> list[Tensor]:
    return [torch.rand(size, *shape) for _ in range(n)]


def _tiny_networks(latent_dim: int = 8) -> tuple[nn.Module, nn.Module]:
    """A user's own G and D, built without mnistgan's builders."""
    generator = nn.Sequential(nn.Linear(latent_dim, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    return generator, discriminator


# --------------------------------------------------------------------------- acceptance


@pytest.mark.slow
def test_dcgan_fits_a_real_mnist_dataloader(
    mnist_test: torchvision.datasets.MNIST, capsys: pytest.CaptureFixture[str]
) -> None:
    """DCGAN().fit(loader, epochs=1) trains on real MNIST, shows a bar and logs finite history."""
    loader = DataLoader(Subset(mnist_test, range(128)), batch_size=64, shuffle=True)
    gan = DCGAN()
    history = gan.fit(loader, epochs=1)

    captured = capsys.readouterr()
    assert "epoch 1/1" in captured.err and "batch" in captured.err  # the tqdm bar
    number = r"-?\d+\.\d{4}"
    line = (
        rf"\[epoch 1/1\] Loss-D: {number}\s+Loss-G: {number}\s+D\(x\): {number}\s+"
        rf"D\(G\(z\)\): {number} / {number}\s+time: \d+\.\ds"
    )
    assert re.search(line, captured.out + captured.err), captured
    assert history is gan.history
    assert (gan.epoch, gan.global_step, len(history.steps)) == (1, 2, 2)
    for row in history.steps:
        assert set(row) == STEP_KEYS
        assert all(math.isfinite(v) for v in row.values()), row
    for key in ("d_real", "d_fake_before", "d_fake_after"):  # probabilities for BCE
        assert all(0 <= v <= 1 for v in history[key])
    (epoch_row,) = history.epochs
    assert epoch_row["seconds"] > 0 and math.isfinite(epoch_row["seconds"])
    assert epoch_row["images"] == 128
    assert all(math.isfinite(v) for v in epoch_row.values())


def test_fit_on_cpu_device() -> None:
    """fit(device="cpu") keeps the networks, the EMA and the optimiser state on the CPU."""
    gan = _tiny(ema_decay=0.9)
    gan.fit(_batches(1), epochs=1, device="cpu", progress=False)
    assert gan.device == torch.device("cpu")
    assert gan.ema is not None
    tensors = [*gan.ema.parameters()]
    tensors += [v for s in gan.opt_g.state.values() for v in s.values()]
    assert all(t.device.type == "cpu" for t in tensors)
    assert gan.sample(2).device.type == "cpu"


def test_progress_false_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """fit(progress=False) prints neither a bar nor the epoch line."""
    _tiny().fit(_batches(1), epochs=1, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# --------------------------------------------------------------------------- construction


def test_dcgan_applies_overrides() -> None:
    """DCGAN(**overrides) is the "default" preset with those fields changed."""
    gan = DCGAN(lr_g=1e-3, loss="hinge", ema_decay=None, d_steps=2)
    assert gan.config == get_preset("default", lr_g=1e-3, loss="hinge", ema_decay=None, d_steps=2)
    assert gan.config.preset == "default" and gan.loss.name == "hinge" and gan.ema is None
    assert gan.opt_g.param_groups[0]["lr"] == 1e-3
    assert gan.opt_d.param_groups[0]["lr"] == get_preset("default").lr_d


def test_dcgan_rejects_unknown_override() -> None:
    """An unknown override raises ConfigError listing the valid fields."""
    with pytest.raises(ConfigError, match=r"unknown config field.*'lr_g'"):
        DCGAN(learning_rate=1e-3)


def test_fit_rejects_bad_epochs_and_callbacks() -> None:
    """fit() refuses a negative epoch count and callbacks that are not Callback instances."""
    gan = GAN.from_preset("vanilla")
    with pytest.raises(ConfigError, match="epochs must be an int >= 0"):
        gan.fit(_batches(1), epochs=-1)
    with pytest.raises(ConfigError, match="Callback instances"):
        gan.fit(_batches(1), epochs=1, callbacks=[print])  # type: ignore[list-item]


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("preset", list_presets())
def test_sample_is_float_in_unit_range_for_every_preset(preset: str) -> None:
    """sample(n) returns float32 images in [0, 1] of shape (n, C, H, W) on the CPU."""
    gan = GAN.from_preset(preset)
    images = gan.sample(3)
    assert images.shape == (3, *gan.image_shape)
    assert images.dtype == torch.float32 and images.device.type == "cpu"
    assert images.min() >= 0 and images.max() <= 1


def test_sample_with_seed_is_reproducible_and_leaves_global_rng_alone() -> None:
    """sample(seed=s) gives the same images each time and draws nothing from the global RNG."""
    gan = GAN.from_preset("vanilla")
    before = torch.get_rng_state()
    first, second = gan.sample(5, seed=3), gan.sample(5, seed=3)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(first, second)
    assert not torch.equal(first, gan.sample(5, seed=4))


def test_sample_without_seed_follows_global_rng() -> None:
    """sample(n) draws its latents from the global RNG, so restoring that state repeats it."""
    gan = GAN.from_preset("vanilla")
    state = get_rng_state()
    first = gan.sample(4)
    set_rng_state(state)
    assert torch.equal(first, gan.sample(4))


def test_sample_leaves_training_mode_alone() -> None:
    """sample() runs the generator in eval mode (BatchNorm on its running statistics,
    which sampling leaves unchanged) and restores its training mode afterwards."""
    torch.manual_seed(0)
    gan = GAN.from_preset("dcgan", ema_decay=None)  # BatchNorm in G
    gan.train_step(torch.rand(8, 1, 28, 28))  # running statistics that are not (0, 1)
    gan.generator.train()
    buffers = {k: v.clone() for k, v in gan.generator.named_buffers()}
    z = torch.randn(4, gan.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gan.generator.eval()
        in_eval = (gan.generator(z) + 1) / 2
        gan.generator.train()
        in_train = (gan.generator(z) + 1) / 2
    for k, v in buffers.items():  # put back what the train-mode pass above updated
        gan.generator.get_buffer(k).copy_(v)
    assert not torch.allclose(in_eval, in_train, atol=1e-3)  # so the mode is visible
    samples = gan.sample(4, seed=0)
    torch.testing.assert_close(samples, in_eval.clamp(0, 1), rtol=1e-5, atol=1e-6)
    assert gan.generator.training
    for k, v in gan.generator.named_buffers():
        assert torch.equal(v, buffers[k]), f"sampling changed {k}"


@pytest.mark.parametrize(
    "z",
    [torch.zeros(2, 63), torch.zeros(64), torch.zeros(2, 64, 1), np.zeros((2, 64))],
    ids=["wrong-width", "1d", "3d", "numpy"],
)
def test_generate_rejects_wrong_z(z: Any) -> None:
    """generate() raises DataError naming the expected (N, latent_dim) shape."""
    gan = GAN.from_preset("dcgan")
    with pytest.raises(DataError, match=r"shape \(N, 64\).*sample_latent"):
        gan.generate(z)


# --------------------------------------------------------------------------- data


def test_uint8_and_nhw_batches_are_accepted() -> None:
    """uint8 (N, H, W) batches become (N, 1, H, W) floats in the generator's range, and train."""
    gan = _tiny()
    batch = torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8)
    batch[0, 0, 0], batch[0, 0, 1] = 0, 255
    images, labels = gan.prepare_batch((batch, torch.arange(6)))
    assert images.shape == (6, 1, 28, 28) and images.dtype == torch.float32
    assert labels is not None and labels.tolist() == list(range(6))
    assert images[0, 0, 0, 0] == -1 and images[0, 0, 0, 1] == 1  # tanh range
    history = gan.fit([batch, batch.float() / 255], epochs=1, progress=False)
    assert len(history.steps) == 2
    assert all(math.isfinite(v) for row in history.steps for v in row.values())


def test_sigmoid_models_train_on_unit_range() -> None:
    """A sigmoid generator's model keeps real images in [0, 1] instead of [-1, 1]."""
    gan = GAN.from_preset("vanilla", output="sigmoid")
    batch = torch.rand(4, 1, 28, 28)
    images, _ = gan.prepare_batch(batch)
    assert torch.equal(images, batch)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16], ids=str)
def test_other_float_dtypes_train(dtype: torch.dtype) -> None:
    """float64 (e.g. from NumPy) and float16 batches are cast to float32 and train."""
    gan = _tiny()
    history = gan.fit([torch.rand(4, 1, 28, 28, dtype=dtype)], epochs=1, progress=False)
    assert len(history.steps) == 1
    assert all(math.isfinite(v) for v in history.steps[0].values())


def test_fit_leaves_the_callers_batches_untouched() -> None:
    """Training (even with R1 on a sigmoid model) neither changes nor attaches grads to data."""
    gan = _tiny(output="sigmoid", r1_gamma=1.0)
    batch = torch.rand(4, 1, 28, 28)
    copy = batch.clone()
    gan.fit([batch], epochs=2, progress=False)
    assert torch.equal(batch, copy)
    assert not batch.requires_grad and batch.grad is None


def _normalized(root: Path) -> DataLoader[Any]:
    normalize = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    return DataLoader(Subset(_mnist(root, normalize), range(8)), batch_size=4)


def _resized(root: Path) -> DataLoader[Any]:
    resize = transforms.Compose([transforms.Resize(32), transforms.ToTensor()])
    return DataLoader(Subset(_mnist(root, resize), range(8)), batch_size=4)


def _pil_list(root: Path) -> list[list[Any]]:
    raw = _mnist(root, None)
    return [[raw[0][0], raw[1][0]]]


def _pil_dataloader(root: Path) -> DataLoader[Any]:
    return DataLoader(Subset(_mnist(root, None), range(8)), batch_size=4)


def _empty_dataloader(root: Path) -> DataLoader[Any]:
    return DataLoader(Subset(_mnist(root, transforms.ToTensor()), []), batch_size=4)


def _too_small_for_drop_last(root: Path) -> DataLoader[Any]:
    dataset = Subset(_mnist(root, transforms.ToTensor()), range(3))
    return DataLoader(dataset, batch_size=4, drop_last=True)


# case: (make the loader from the MNIST root, error type, words the message must hold)
_BAD_LOADERS: dict[str, tuple[Callable[[Path], Any], type[Exception], list[str]]] = {
    "normalized": (_normalized, DataError, ["Normalize", "[0, 1]", "ToTensor"]),
    "wrong-size": (_resized, DataError, ["(N, 1, 28, 28)", "(4, 1, 32, 32)", "image_size"]),
    "wrong-channels": (lambda _: [torch.rand(4, 3, 28, 28)], DataError, ["(N, 1, 28, 28)"]),
    "nan": (lambda _: [torch.full((4, 1, 28, 28), math.nan)], DataError, ["NaN"]),
    "int64": (lambda _: [torch.ones(4, 1, 28, 28, dtype=torch.int64)], DataError, ["uint8"]),
    "pil-list": (_pil_list, BatchTypeError, ["Image", "ToTensor"]),
    "pil-dataloader": (_pil_dataloader, BatchTypeError, ["PIL", "ToTensor"]),
    "numpy": (
        lambda _: [np.zeros((4, 1, 28, 28), np.float32)],
        BatchTypeError,
        ["ndarray", "ToTensor"],
    ),
    "empty-list": (lambda _: [], DataError, ["no batches"]),
    "empty-dataloader": (_empty_dataloader, DataError, ["no batches"]),
    "drop-last": (_too_small_for_drop_last, DataError, ["no batches", "drop_last"]),
    "single-tensor": (
        lambda _: torch.rand(8, 1, 28, 28),
        BatchTypeError,
        ["single tensor", "DataLoader(TensorDataset(images)"],
    ),
}


@pytest.mark.parametrize("case", list(_BAD_LOADERS))
def test_bad_loader_is_refused_before_any_weight_changes(mnist_root: Path, case: str) -> None:
    """A loader the model cannot use raises an error naming the fix, and no weight changes."""
    make_loader, error, words = _BAD_LOADERS[case]
    loader = make_loader(mnist_root)
    gan = _tiny(ema_decay=0.9)
    before = _snapshot(gan)
    with pytest.raises(error) as info:
        gan.fit(loader, epochs=1, progress=False)
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    if error is BatchTypeError:
        assert isinstance(info.value, TypeError)
    assert_same(_snapshot(gan), before)
    assert (gan.epoch, gan.global_step, len(gan.history)) == (0, 0, 0)


def test_single_tensor_with_resume_is_refused_before_loading(tmp_path: Path) -> None:
    """fit(tensor, resume=path) raises BatchTypeError before the checkpoint replaces weights."""
    trained = _tiny()
    trained.fit(_batches(1), epochs=1, progress=False)
    path = trained.save(tmp_path / "trained.pt")
    gan = _tiny()
    before = _snapshot(gan)
    with pytest.raises(BatchTypeError, match="single tensor"):
        gan.fit(torch.rand(8, 1, 28, 28), epochs=2, resume=path, progress=False)
    assert_same(_snapshot(gan), before)
    assert gan.epoch == 0


# --------------------------------------------------------------------------- custom networks


def test_custom_networks_train_and_need_the_modules_to_load(tmp_path: Path) -> None:
    """A GAN of user-built modules trains; loading it without those modules is refused."""
    generator, discriminator = _tiny_networks()
    config = get_preset("vanilla", latent_dim=8)
    gan = GAN(config, generator=generator, discriminator=discriminator)
    assert gan.generator is generator and gan.discriminator is discriminator
    before = _snapshot(gan)
    history = gan.fit(_batches(2), epochs=1, progress=False)
    assert all(math.isfinite(v) for row in history.steps for v in row.values())
    for net in ("generator", "discriminator"):
        after = _snapshot(gan)[net]
        assert all(not torch.equal(after[k], before[net][k]) for k in after), net

    path = gan.save(tmp_path / "custom.pt")
    with pytest.raises(CheckpointError, match=r"custom networks.*generator=\.\.\., discrim"):
        GAN.load(path)
    with pytest.raises(CheckpointError, match="custom networks"):
        GAN.load(path, generator=_tiny_networks()[0])
    loaded = GAN.load(path, generator=_tiny_networks()[0], discriminator=_tiny_networks()[1])
    assert_same(_snapshot(loaded), _snapshot(gan))
    assert torch.equal(loaded.sample(3, seed=0), gan.sample(3, seed=0))


def test_frozen_discriminator_parameters_stay_frozen() -> None:
    """Parameters the user froze in D keep requires_grad=False and their values after fit."""
    generator, discriminator = _tiny_networks()
    frozen = discriminator[1].bias
    frozen.requires_grad_(False)
    value = frozen.detach().clone()
    gan = GAN(
        get_preset("vanilla", latent_dim=8), generator=generator, discriminator=discriminator
    )
    gan.fit(_batches(1), epochs=2, progress=False)
    assert not frozen.requires_grad and torch.equal(frozen, value)
    assert discriminator[1].weight.requires_grad


def test_load_state_dict_of_another_architecture_raises(tmp_path: Path) -> None:
    """Loading a checkpoint into a model of another architecture raises CheckpointError."""
    path = GAN.from_preset("vanilla").save(tmp_path / "vanilla.pt")
    state = load_checkpoint(path)
    for other in (GAN.from_preset("mlp"), GAN.from_preset("vanilla", latent_dim=16)):
        before = _snapshot(other)
        with pytest.raises(CheckpointError, match=r"another model.*GAN\.load\(path\)"):
            other.load_state_dict(state)
        assert_same(_snapshot(other), before)


def test_load_state_dict_into_mismatched_custom_networks_raises(tmp_path: Path) -> None:
    """Weights that do not fit the model's own custom networks raise CheckpointError."""
    path = GAN.from_preset("vanilla").save(tmp_path / "vanilla.pt")
    generator, discriminator = _tiny_networks(latent_dim=100)
    gan = GAN(get_preset("vanilla"), generator=generator, discriminator=discriminator)
    with pytest.raises(CheckpointError, match="do not fit this model's networks"):
        gan.load_state_dict(load_checkpoint(path))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """GAN.load(gan.save(path)) restores config, weights, EMA, optimisers and counters."""
    gan = _tiny(ema_decay=0.9, loss="lsgan")
    gan.fit(_batches(2), epochs=1, progress=False)
    loaded = GAN.load(gan.save(tmp_path / "g.pt"))
    assert loaded.config == gan.config
    assert (loaded.epoch, loaded.global_step) == (1, 2)
    assert_same(_snapshot(loaded), _snapshot(gan))
    assert loaded.history.steps == gan.history.steps


def test_load_missing_file_raises(tmp_path: Path) -> None:
    """GAN.load of a missing file raises CheckpointError naming the path."""
    with pytest.raises(CheckpointError, match="does not exist"):
        GAN.load(tmp_path / "missing.pt")
