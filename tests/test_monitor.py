"""HealthMonitor: real detection on real MNIST digits, noise and label-blind generators."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from mnistgan import GAN, HealthMonitor, ModelCheckpoint, get_preset
from mnistgan.checkpoint import load_checkpoint
from mnistgan.data import load_tensors
from mnistgan.errors import ConfigError
from mnistgan.metrics.monitor import PROBLEMS
from mnistgan.viz.plots import metric_keys

BATCH = 8


@pytest.fixture(scope="module")
def digits(mnist_root: Path) -> tuple[Tensor, Tensor]:
    """2,000 real MNIST test digits (uint8) and their labels."""
    return load_tensors("mnist", root=mnist_root, train=False, limit=2000)


class StoredImages(nn.Module):
    """A stand-in generator that returns stored images (uint8 MNIST mapped to [-1, 1]).

    Which image a latent vector gets depends only on the vector, so the monitor's fixed
    latents always give the same images. Labels are ignored. With ``switch_after`` set,
    it returns ``later`` instead once it has run that many training-mode passes.
    """

    def __init__(
        self, images: Tensor, *, later: Tensor | None = None, switch_after: int | None = None
    ) -> None:
        super().__init__()
        self.register_buffer("images", images.float() / 127.5 - 1)  # (K, 1, 28, 28)
        self.register_buffer("later", (later if later is not None else images).float() / 127.5 - 1)
        self.weight = nn.Parameter(torch.zeros(()))
        self.switch_after = switch_after
        self.calls = 0

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.training:
            self.calls += 1
        late = self.switch_after is not None and self.calls > self.switch_after
        pool: Tensor = self.later if late else self.images
        index = (z[:, 0].abs() * 9973).long() % pool.size(0)  # (N,) from the vector alone
        return pool[index] + 0 * self.weight  # (N, 1, 28, 28), differentiable in weight


def _gan(generator: nn.Module, **overrides: Any) -> GAN:
    """The vanilla preset's small discriminator with a stand-in generator."""
    config = get_preset("vanilla", discriminator={"hidden": (32,)}, **overrides)
    return GAN(config, generator=generator)


def _batches(images: Tensor, steps: int) -> list[Tensor]:
    return [images[i * BATCH : (i + 1) * BATCH] for i in range(steps)]


def _labelled(images: Tensor, labels: Tensor, steps: int) -> list[tuple[Tensor, Tensor]]:
    return [
        (images[i * BATCH : (i + 1) * BATCH], labels[i * BATCH : (i + 1) * BATCH])
        for i in range(steps)
    ]


def _fit(gan: GAN, images: Tensor, steps: int, monitor: HealthMonitor, **kw: Any) -> None:
    gan.fit(_batches(images, steps), epochs=1, callbacks=[monitor], progress=False, **kw)


def test_one_digit_class_is_mode_collapse_within_two_checks(
    digits: tuple[Tensor, Tensor], caplog: pytest.LogCaptureFixture
) -> None:
    """A generator that only draws real 3s is reported as mode collapse by the second check
    (with no warmup: training has already gone on long enough)."""
    images, labels = digits
    monitor = HealthMonitor(every=2, n=64, warmup=0)
    with caplog.at_level(logging.WARNING, logger="mnistgan.metrics.monitor"):
        _fit(_gan(StoredImages(images[labels == 3])), images, 6, monitor)
    first = monitor.problems[0]
    assert first.kind == "mode_collapse"
    assert first.step <= 2 * monitor.every and first.since == monitor.every
    assert "digit 3 is 100%" in first.message and "Try:" in first.message
    assert any("mode collapse at step 4" in r.getMessage() for r in caplog.records)
    assert len(monitor.problems) == 1, "one warning per episode, not one per check"


def test_uniform_noise_is_not_digits(digits: tuple[Tensor, Tensor]) -> None:
    """Uniform noise (which the classifier reads confidently as one digit) is reported as
    not digits, not as collapse."""
    images, _ = digits
    noise = (torch.rand(256, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 255).to(
        torch.uint8
    )
    monitor = HealthMonitor(every=2, n=64, warmup=0)
    _fit(_gan(StoredImages(noise)), images, 4, monitor)
    kinds = [p.kind for p in monitor.problems]
    assert "not_digits" in kinds and "mode_collapse" not in kinds
    assert monitor.readings[-1]["digits"] < 0.1
    assert monitor.readings[-1]["roughness"] > 0.5


def test_real_digits_raise_no_warning(
    digits: tuple[Tensor, Tensor], caplog: pytest.LogCaptureFixture
) -> None:
    """Real MNIST digits as the generator's output: every check passes, nothing is logged."""
    images, _ = digits
    monitor = HealthMonitor(every=2, n=128, warmup=0)
    with caplog.at_level(logging.WARNING, logger="mnistgan.metrics.monitor"):
        _fit(_gan(StoredImages(images[1000:])), images, 8, monitor)
    assert monitor.problems == [] and not caplog.records
    last = monitor.readings[-1]
    assert last["digits"] > 0.9 and last["modes"] == 10 and last["diversity"] > 0.3


def test_label_blind_conditional_generator_is_reported(digits: tuple[Tensor, Tensor]) -> None:
    """A conditional generator that ignores its labels is reported as labels ignored."""
    images, labels = digits
    monitor = HealthMonitor(every=2, n=100, warmup=0)
    gan = _gan(StoredImages(images[1000:]), num_classes=10)
    gan.fit(
        _labelled(images, labels, 4),
        epochs=1,
        callbacks=[monitor],
        progress=False,
    )
    assert [p.kind for p in monitor.problems] == ["labels_ignored"]
    assert monitor.readings[-1]["label_accuracy"] < 0.3


def test_label_following_generator_is_not_reported(digits: tuple[Tensor, Tensor]) -> None:
    """A conditional generator that draws the asked digit passes the label check."""
    images, labels = digits

    class ByLabel(StoredImages):
        def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
            assert y is not None
            out = torch.empty(z.size(0), 1, 28, 28)
            for k in range(10):
                pool = self.images[labels[:1000] == k]
                pick = (z[y == k, 0].abs() * 9973).long() % pool.size(0)
                out[y == k] = pool[pick]
            return out + 0 * self.weight

    monitor = HealthMonitor(every=2, n=100, warmup=0)
    gan = _gan(ByLabel(images[:1000]), num_classes=10)
    gan.fit(
        _labelled(images, labels, 4),
        epochs=1,
        callbacks=[monitor],
        progress=False,
    )
    assert monitor.problems == []
    assert monitor.readings[-1]["label_accuracy"] > 0.9
    assert monitor.readings[-1]["label_diversity"] > 0.2  # real digits of a class: 0.32


def test_one_image_per_label_is_mode_collapse(digits: tuple[Tensor, Tensor]) -> None:
    """A conditional generator that ignores its noise (one real image per asked digit:
    right labels, ten different images) is reported as collapse within labels."""
    images, labels = digits
    firsts = torch.stack([images[labels == k][0] for k in range(10)])  # (10, 1, 28, 28)

    class OnePerLabel(StoredImages):
        def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
            assert y is not None
            return self.images[y] + 0 * self.weight

    monitor = HealthMonitor(every=2, n=100, warmup=0)
    gan = _gan(OnePerLabel(firsts), num_classes=10)
    gan.fit(_labelled(images, labels, 4), epochs=1, callbacks=[monitor], progress=False)
    assert [p.kind for p in monitor.problems] == ["mode_collapse"]
    assert "asked for the same label are near-identical" in monitor.problems[0].message
    reading = monitor.readings[-1]
    assert reading["label_accuracy"] > 0.9 and reading["modes"] == 10
    assert reading["diversity"] > 0.3 and reading["label_diversity"] == 0.0


@pytest.mark.parametrize("monitor_first", [True, False], ids=["monitor-first", "checkpoint-first"])
def test_stop_ends_the_run_and_keeps_the_last_good_checkpoint(
    digits: tuple[Tensor, Tensor], tmp_path: Path, monitor_first: bool
) -> None:
    """on_problem="stop": the run ends in the flagged epoch, which is not saved; the newest
    checkpoint is the last healthy epoch's and loads, whatever the order of the callbacks
    (checkpoints are written in the save phase, after every on_epoch_end)."""
    images, labels = digits
    steps_per_epoch = 4

    def make() -> StoredImages:
        """Healthy digits for the first epoch, then only 7s."""
        return StoredImages(images[1000:], later=images[labels == 7], switch_after=steps_per_epoch)

    gan = _gan(make())
    monitor = HealthMonitor(every=2, n=64, warmup=0, patience=1, on_problem="stop")
    ckpt = ModelCheckpoint(tmp_path, keep_last=1)
    gan.fit(
        _batches(images, steps_per_epoch),
        epochs=3,
        callbacks=[monitor, ckpt] if monitor_first else [ckpt, monitor],
        progress=False,
    )
    assert gan.stop_training and gan.epoch == 2 and gan.global_step == 6
    assert [p.kind for p in monitor.problems] == ["mode_collapse"]
    assert gan.history.epochs[-1]["health_stop"] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0001.pt"]
    state = load_checkpoint(tmp_path / "epoch_0001.pt")
    fresh = _gan(make())
    fresh.load_state_dict(state)
    assert fresh.epoch == 1 and fresh.global_step == steps_per_epoch


@pytest.mark.parametrize(
    "preset", [("vanilla", {"ema_decay": 0.9}), ("dcgan", {}), ("vanilla", {"num_classes": 10})]
)
def test_monitor_leaves_training_and_global_rng_bit_identical(
    preset: tuple[str, dict[str, Any]],
) -> None:
    """A run with a monitor checking every step equals one without it, bit for bit."""
    name, overrides = preset
    images = torch.rand(24, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(24) % 10
    batches: list[Any] = [
        (images[i : i + 8], labels[i : i + 8]) if "num_classes" in overrides else images[i : i + 8]
        for i in range(0, 24, 8)
    ]
    results = []
    for callbacks in ([], [HealthMonitor(every=1, n=16, warmup=0)]):
        torch.manual_seed(0)
        gan = GAN.from_preset(name, **overrides)
        gan.fit(batches, epochs=2, callbacks=callbacks, progress=False, device="cpu")
        results.append((gan.state_dict(), torch.get_rng_state()))
    (a, rng_a), (b, rng_b) = results
    assert torch.equal(rng_a, rng_b)
    for key in ("generator", "discriminator", "ema", "opt_g", "opt_d"):
        _assert_same(a[key], b[key])


def _assert_same(a: Any, b: Any) -> None:
    if isinstance(a, Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    else:
        assert a == b


def test_readings_go_into_the_epoch_rows_for_plots(digits: tuple[Tensor, Tensor]) -> None:
    """Each epoch row gets the epoch's last readings as health_* keys, which plots pick up."""
    images, _ = digits
    gan = _gan(StoredImages(images[1000:]))
    monitor = HealthMonitor(every=2, n=32, warmup=0)
    gan.fit(_batches(images, 4), epochs=2, callbacks=[monitor], progress=False)
    row = gan.history.epochs[-1]
    assert row["health_digits"] == monitor.readings[-1]["digits"]
    assert {"health_modes", "health_diversity", "health_roughness"} <= set(row)
    assert "health_modes" in metric_keys(gan.history)


def test_non_digit_dataset_gets_only_dataset_free_checks(digits: tuple[Tensor, Tensor]) -> None:
    """With dataset="fashion-mnist" the classifier is not used; noise is still reported."""
    images, _ = digits
    noise = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(2)) * 255).to(
        torch.uint8
    )
    monitor = HealthMonitor(every=2, n=32, warmup=0, dataset="fashion-mnist")
    _fit(_gan(StoredImages(noise)), images, 4, monitor)
    assert "digits" not in monitor.readings[-1] and "modes" not in monitor.readings[-1]
    assert [p.kind for p in monitor.problems] == ["not_digits"]
    assert "noise" in monitor.problems[0].message


def test_near_identical_samples_are_collapse_on_any_dataset(digits: tuple[Tensor, Tensor]) -> None:
    """One image repeated is reported as collapse without the classifier, too."""
    images, _ = digits
    monitor = HealthMonitor(every=2, n=32, warmup=0, dataset="kmnist")
    _fit(_gan(StoredImages(images[:1])), images, 4, monitor)
    assert [p.kind for p in monitor.problems] == ["mode_collapse"]
    assert "near-identical" in monitor.problems[0].message


@pytest.mark.parametrize(
    ("limits", "kind"),
    [({"loss_limit": 0.05}, "divergence"), ({"d_fake_floor": 0.999}, "d_wins")],
)
def test_step_log_checks_read_the_real_losses(
    digits: tuple[Tensor, Tensor], limits: dict[str, float], kind: str
) -> None:
    """The divergence and D-wins checks read the logged losses and D outputs (limits set
    so that an ordinary run crosses them)."""
    images, _ = digits
    monitor = HealthMonitor(every=2, n=32, warmup=0, **limits)  # type: ignore[arg-type]
    _fit(_gan(StoredImages(images[1000:])), images, 4, monitor)
    assert kind in [p.kind for p in monitor.problems]


def test_every_problem_kind_has_advice() -> None:
    """Each problem kind has a why and a what-to-try text."""
    from mnistgan.metrics import monitor

    assert set(PROBLEMS) == set(monitor._TRY) == set(monitor._WHY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"every": 0},
        {"n": 1},
        {"warmup": -1},
        {"on_problem": "explode"},
        {"dataset": "cifar10"},
        {"min_digit_share": 1.5},
        {"loss_limit": float("nan")},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    """Invalid arguments raise a ConfigError naming the argument."""
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        HealthMonitor(**kwargs)
