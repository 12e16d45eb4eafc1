"""Tests of differentiable augmentation: what each transformation does to the pixels, that
gradients pass through it, that D sees it in training, and that runs with it resume exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from mnistgan import GAN
from mnistgan.augment import AUGMENTATIONS, DiffAugment, parse_policy
from mnistgan.device import seed_everything
from mnistgan.errors import ConfigError
from states import assert_same

LOW = -1.0


def _shifted(image: Tensor, dy: int, dx: int) -> Tensor:
    """``image`` (C, H, W) moved down by dy and right by dx, the border filled with LOW."""
    _, h, w = image.shape
    out = torch.full_like(image, LOW)
    src_rows = slice(max(0, -dy), min(h, h - dy))
    dst_rows = slice(max(0, dy), min(h, h + dy))
    src_cols = slice(max(0, -dx), min(w, w - dx))
    dst_cols = slice(max(0, dx), min(w, w + dx))
    out[:, dst_rows, dst_cols] = image[:, src_rows, src_cols]
    return out


def _images(n: int = 16, side: int = 28, channels: int = 1) -> Tensor:
    """Distinct pixel values in (-1, 1), so a moved pixel can be told apart."""
    return torch.rand(n, channels, side, side) * 1.8 - 0.9


@settings(max_examples=25, deadline=None)
@given(side=st.integers(4, 32), n=st.integers(1, 6), channels=st.integers(1, 3))
def test_translation_moves_each_image_by_a_whole_shift_within_an_eighth(
    side: int, n: int, channels: int
) -> None:
    x = _images(n, side, channels)
    y = DiffAugment("translation")(x)
    limit = max(1, int(side * 0.125 + 0.5))
    for before, after in zip(x, y, strict=True):
        matches = [
            (dy, dx)
            for dy in range(-limit, limit + 1)
            for dx in range(-limit, limit + 1)
            if torch.equal(after, _shifted(before, dy, dx))
        ]
        assert matches, "the output is not a shifted copy of the input"


def test_translation_draws_a_shift_per_image() -> None:
    x = _images(1).repeat(64, 1, 1, 1)
    y = DiffAugment("translation")(x)
    assert len({tuple(img.flatten()[:200].tolist()) for img in y}) > 10


@settings(max_examples=25, deadline=None)
@given(side=st.integers(4, 32), n=st.integers(1, 6))
def test_cutout_blanks_one_clipped_square_of_half_the_side(side: int, n: int) -> None:
    x = _images(n, side)
    y = DiffAugment("cutout")(x)
    half = int(side * 0.5 + 0.5)
    for before, after in zip(x, y, strict=True):
        changed = (after != before)[0]
        assert torch.all(after[0][changed] == LOW)
        rows = changed.any(dim=1).nonzero().flatten()
        cols = changed.any(dim=0).nonzero().flatten()
        assert len(rows) > 0 and len(rows) <= half and len(cols) <= half
        # One solid rectangle: every pixel in the bounding box was blanked.
        box = changed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert bool(box.all())
        assert changed.sum() == len(rows) * len(cols)


def test_color_changes_brightness_and_contrast_per_image() -> None:
    x = _images(1).repeat(32, 1, 1, 1)
    y = DiffAugment("color")(x)
    means, stds = y.mean(dim=(1, 2, 3)), y.std(dim=(1, 2, 3))
    assert means.std() > 0.1  # brightness: up to ±0.5 of the range of 2
    ratio = stds / x[0].std()
    assert bool(((ratio > 0.49) & (ratio < 1.51)).all()) and ratio.std() > 0.1


@pytest.mark.parametrize("policy", ["translation", "cutout", "color", "translation,cutout,color"])
def test_gradients_pass_through_to_every_kept_pixel(policy: str) -> None:
    x = _images(8).requires_grad_(True)
    y = DiffAugment(policy)(x)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # Each output pixel comes from at most one input pixel (or is background): the
    # gradient of the sum is non-zero exactly where an input pixel survives.
    assert float(x.grad.abs().sum()) > 0
    if policy != "color":
        survived = (x.grad != 0).flatten(1).sum(1)
        assert bool((survived <= 28 * 28).all()) and bool((survived > 28 * 28 // 4).all())


def test_same_seed_same_augmentation() -> None:
    x = _images(8)
    augment = DiffAugment("translation,cutout,color")
    torch.manual_seed(3)
    a = augment(x)
    torch.manual_seed(3)
    b = augment(x)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("translation, cutout", ("translation", "cutout")), (["color"], ("color",)), (None, ())],
)
def test_policy_parsing(policy: object, expected: tuple[str, ...]) -> None:
    assert parse_policy(policy) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", ["flip", "translation,translation", ",", 3])
def test_a_bad_policy_is_refused_naming_the_choices(policy: object) -> None:
    with pytest.raises(ConfigError, match="augment must") as info:
        GAN.from_preset("vanilla", augment=policy)
    if isinstance(policy, str) and policy != ",":
        assert all(name in str(info.value) for name in AUGMENTATIONS)


def test_the_config_keeps_a_normalised_policy_that_round_trips(tmp_path: Path) -> None:
    gan = GAN.from_preset("dcgan", augment=" cutout , translation ")
    assert gan.config.augment == "cutout,translation"
    path = gan.save(tmp_path / "aug.pt")
    loaded = GAN.load(path)
    assert loaded.config.augment == "cutout,translation" and loaded.augment is not None


def test_the_discriminator_sees_augmented_real_and_generated_images() -> None:
    seen: list[Tensor] = []
    gan = GAN.from_preset("default", augment="cutout")
    gan.discriminator.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    real = torch.full((8, 1, 28, 28), 0.5)  # a flat grey batch: any blank square shows
    gan.train_step(real)
    assert len(seen) >= 3  # D's update on real and fake, G's update on fake
    first = seen[0]
    blanked = (first == LOW).flatten(1).sum(1)
    assert bool((blanked > 0).all()), "every real image gets its own cutout"
    for fake_pass in seen[1:]:
        assert bool(((fake_pass == LOW).flatten(1).sum(1) > 0).all())


def test_without_augment_the_discriminator_sees_the_images_unchanged() -> None:
    seen: list[Tensor] = []
    gan = GAN.from_preset("default")
    assert gan.augment is None
    gan.discriminator.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    real = torch.full((8, 1, 28, 28), 0.5)
    gan.train_step(real)
    assert torch.equal(seen[0], real * 2 - 1)


def test_a_run_with_augmentation_resumes_bit_identically(tmp_path: Path) -> None:
    data = [torch.rand(8, 1, 28, 28) for _ in range(2)]

    def make() -> GAN:
        return GAN.from_preset(
            "vanilla",
            generator={"hidden": (16,)},
            discriminator={"hidden": (16,)},
            augment="translation,cutout,color",
        )

    seed_everything(0)
    straight = make()
    straight.fit(data, epochs=2, progress=False)
    seed_everything(0)
    half = make()
    half.fit(data, epochs=1, progress=False)
    checkpoint = half.save(tmp_path / "half.pt")
    seed_everything(99)
    resumed = GAN.load(checkpoint)
    resumed.fit(data, epochs=1, progress=False)
    a, b = straight.state_dict(), resumed.state_dict()
    for key in ("generator", "discriminator", "opt_g", "opt_d", "rng"):
        assert_same(a[key], b[key])
