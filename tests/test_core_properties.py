"""Properties of the core that a read of the suite found untested (issue 25): the EMA's
warm-up ramp, the training step against textbook maths for every loss family and step
count, conditional sampling alignment, checkpoint rotation and a real ``torch.compile``.

The textbook steps are written out here in plain PyTorch, independently of the library,
and compared with ``GAN.train_step`` from the same initial weights and random streams.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mnistgan import GAN, Callback, ConfigError, DataError, ModelCheckpoint, get_preset
from mnistgan.presets import GANConfig
from mnistgan.sampling import Sampler

# --------------------------------------------------------------------------- EMA


def _float_state(net: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("decay", [0.999, 0.3])
def test_ema_follows_the_warm_up_ramp_for_weights_and_batchnorm_buffers(decay: float) -> None:
    """After k steps the EMA generator is the textbook average of G's k snapshots with decay
    ``min(decay, (1 + n) / (10 + n))`` at the n-th update (the first update copies G), for
    weights and BatchNorm's running statistics alike; BatchNorm's integer batch counter is
    G's own."""
    torch.manual_seed(0)
    gan = GAN.from_preset("dcgan", ema_decay=decay)  # BatchNorm in G
    assert gan.ema is not None
    batch = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    snapshots = []
    for _ in range(6):
        gan.train_step(batch)
        snapshots.append(_float_state(gan.generator))
    expected = dict(snapshots[0])
    for n, snapshot in enumerate(snapshots[1:], start=1):
        d = min(decay, (1 + n) / (10 + n))
        for key, value in snapshot.items():
            if value.is_floating_point():
                expected[key] = d * expected[key] + (1 - d) * value
            else:
                expected[key] = value.clone()
    averaged = gan.ema.module.state_dict()
    assert int(gan.ema.n_averaged) == 6
    assert averaged.keys() == expected.keys()
    assert any("running_mean" in k for k in expected)
    for key, value in expected.items():
        if value.is_floating_point():
            torch.testing.assert_close(averaged[key], value, rtol=1e-5, atol=1e-6, msg=key)
        else:
            assert torch.equal(averaged[key], value), key
    # The ramp matters: the capped and the uncapped averages differ at this point.
    last = snapshots[-1]["block0.1.running_mean"]
    assert not torch.allclose(averaged["block0.1.running_mean"], last)


def test_ema_samples_come_from_the_averaged_generator() -> None:
    """With an EMA, sample() runs the averaged generator, not the trained one."""
    torch.manual_seed(0)
    gan = GAN.from_preset("vanilla", ema_decay=0.5)
    assert gan.ema is not None
    batch = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        gan.train_step(batch)
    z = torch.randn(4, gan.latent_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        from_ema = (gan.ema.module(z) + 1) / 2
        from_g = (gan.generator(z) + 1) / 2
    torch.testing.assert_close(gan.generate(z), from_ema.clamp(0, 1))
    assert not torch.allclose(from_ema, from_g)


# --------------------------------------------------------------------------- train_step


def _flat(out: Tensor) -> Tensor:
    return out.reshape(out.size(0))


class _Textbook:
    """The GAN recipes of the papers, written out in plain PyTorch (two Adams)."""

    def __init__(self, config: GANConfig, seed: int) -> None:
        torch.manual_seed(seed)
        self.config = config
        self.G, self.D = config.build_generator(), config.build_discriminator()
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=config.lr_d, betas=config.betas)

    def d(self, x: Tensor, y: Tensor | None) -> tuple[Tensor, Tensor | None]:
        out = self.D(x) if y is None else self.D(x, y)
        if isinstance(out, tuple):
            return _flat(out[0]), out[1]
        return _flat(out), None

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        name = self.config.loss
        if name == "bce":  # -log D(x) - log(1 - D(G(z)))
            return F.binary_cross_entropy_with_logits(
                real, torch.ones_like(real)
            ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        if name == "hinge":  # E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]
            return torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean()
        if name == "wgan-gp":  # E[D(G(z))] - E[D(x)]
            return fake.mean() - real.mean()
        raise AssertionError(name)

    def g_loss(self, fake: Tensor) -> Tensor:
        if self.config.loss == "bce":  # non-saturating: -log D(G(z))
            return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
        return -fake.mean()  # hinge and WGAN: -E[D(G(z))]

    def step(self, x: Tensor, y_real: Tensor | None) -> tuple[float, float]:
        cfg = self.config
        n, k = x.size(0), cfg.num_classes
        w = cfg.aux_weight
        for _ in range(cfg.d_steps):
            z = torch.randn(n, cfg.latent_dim)
            y = None if k is None else torch.randint(k, (n,))
            fake = self.G(z) if y is None else self.G(z, y)
            real = x.clone().requires_grad_(cfg.r1_gamma > 0)
            real_logits, real_classes = self.d(real, y_real)
            fake_logits, fake_classes = self.d(fake.detach(), y)
            loss_d = self.d_loss(real_logits, fake_logits)
            if real_classes is not None and fake_classes is not None:  # ACGAN
                # D's classifier learns from real digits only; G is pushed to be read as y.
                assert y_real is not None and y is not None
                loss_d = loss_d + w * F.cross_entropy(real_classes, y_real)
            if cfg.loss == "wgan-gp":  # Gulrajani et al.: lambda E[(||grad D(x_hat)|| - 1)^2]
                eps = torch.rand(n, 1, 1, 1)
                x_hat = (eps * x + (1 - eps) * fake.detach()).requires_grad_(True)
                (grad,) = torch.autograd.grad(
                    self.d(x_hat, y_real)[0].sum(), x_hat, create_graph=True
                )
                loss_d = loss_d + cfg.gp_weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            if cfg.r1_gamma > 0:  # Mescheder et al.: gamma / 2 E[||grad D(x)||^2]
                (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
                loss_d = loss_d + cfg.r1_gamma / 2 * grad.flatten(1).pow(2).sum(1).mean()
            self.opt_d.zero_grad()
            loss_d.backward()
            self.opt_d.step()
        for step in range(cfg.g_steps):
            if step > 0:
                y = None if k is None else torch.randint(k, (n,))
                z = torch.randn(n, cfg.latent_dim)
                fake = self.G(z) if y is None else self.G(z, y)
            logits, classes = self.d(fake, y)
            loss_g = self.g_loss(logits)
            if classes is not None:
                assert y is not None
                loss_g = loss_g + w * F.cross_entropy(classes, y)
            self.opt_g.zero_grad()
            loss_g.backward()
            self.opt_g.step()
        return float(loss_d.detach()), float(loss_g.detach())


STEP_CASES = {
    "wgan-gp": {"loss": "wgan-gp", "gp_weight": 5.0, "d_steps": 2},
    "r1": {"loss": "bce", "r1_gamma": 3.0},
    "hinge": {"loss": "hinge"},
    "acgan": {"num_classes": 10, "conditioning": "acgan", "aux_weight": 0.3},
    "steps": {"loss": "bce", "d_steps": 3, "g_steps": 2},
    "acgan-steps": {
        "num_classes": 10,
        "conditioning": "acgan",
        "aux_weight": 2.0,
        "g_steps": 2,
        "loss": "hinge",
    },
}


@pytest.mark.parametrize("case", list(STEP_CASES))
def test_train_step_matches_the_textbook_maths(case: str) -> None:
    """Two train_steps of the vanilla networks give the textbook recipe's losses and
    weights (WGAN-GP with its gradient penalty, R1, hinge, ACGAN's aux_weight,
    d_steps/g_steps), from the same initial weights and random streams."""
    config = get_preset(
        "vanilla",
        generator={"hidden": (32,)},
        discriminator={"hidden": (32,)},
        ema_decay=None,
        **STEP_CASES[case],
    )
    data = torch.Generator().manual_seed(5)
    batches = [torch.rand(8, 1, 28, 28, generator=data) for _ in range(2)]
    labels = [torch.randint(10, (8,), generator=data) for _ in range(2)]
    conditional = config.num_classes is not None

    book = _Textbook(config, seed=0)
    torch.manual_seed(0)
    # The textbook's kernels and passes (the fast paths have their own tests): with hinge and
    # WGAN losses D's last bias has a gradient of exactly 0 (-1 + 1), which Adam would turn
    # into a step of the sign of whatever rounding another summation order leaves.
    gan = GAN(config, fused=False, joint_d_pass=False)
    torch.testing.assert_close(gan.generator.state_dict(), book.G.state_dict(), rtol=0, atol=0)
    for i, (x, y) in enumerate(zip(batches, labels, strict=True)):
        torch.manual_seed(100 + i)
        logs = gan.train_step((x, y) if conditional else x)
        torch.manual_seed(100 + i)
        loss_d, loss_g = book.step(x * 2 - 1, y if conditional else None)
        assert float(logs["loss_d"]) == pytest.approx(loss_d, rel=1e-5, abs=1e-6), "loss_d"
        assert float(logs["loss_g"]) == pytest.approx(loss_g, rel=1e-5, abs=1e-6), "loss_g"
    for ours, theirs in ((gan.generator, book.G), (gan.discriminator, book.D)):
        torch.testing.assert_close(ours.state_dict(), theirs.state_dict(), rtol=1e-4, atol=1e-6)


def test_train_step_runs_d_steps_and_g_steps_updates() -> None:
    """d_steps=3, g_steps=2 take exactly 3 Adam steps of D and 2 of G per train_step."""
    gan = GAN.from_preset("vanilla", d_steps=3, g_steps=2, ema_decay=0.9)
    gan.train_step(torch.rand(4, 1, 28, 28))
    d_state = next(iter(gan.opt_d.state.values()))
    g_state = next(iter(gan.opt_g.state.values()))
    assert float(d_state["step"]) == 3 and float(g_state["step"]) == 2
    assert gan.ema is not None and int(gan.ema.n_averaged) == 2


# --------------------------------------------------------------------------- sampling


def _conditional(**overrides: Any) -> GAN:
    torch.manual_seed(0)
    gan = GAN.from_preset("default", num_classes=10, **overrides)
    # Train a step so BatchNorm's running statistics are not the identity.
    gan.train_step((torch.rand(8, 1, 28, 28), torch.randint(10, (8,))))
    return gan


@pytest.mark.parametrize("label", [0, 7])
def test_conditional_sample_is_generate_on_the_seeded_latents(label: int) -> None:
    """sample(n, labels=k, seed=s) equals generate(z_s, [k]*n), z_s = randn(n, nz) drawn
    from a generator seeded with s; other labels give other images."""
    gan = _conditional()
    z = torch.randn(6, gan.latent_dim, generator=torch.Generator().manual_seed(11))
    expected = gan.generate(z, torch.full((6,), label))
    assert torch.equal(gan.sample(6, labels=label, seed=11), expected)
    assert torch.equal(gan.sample(6, labels=[label] * 6, seed=11), expected)
    other = gan.generate(z, torch.full((6,), (label + 1) % 10))
    assert not torch.allclose(expected, other)


def test_chunked_generation_keeps_each_label_with_its_latent() -> None:
    """generate() in chunks (batch_size 3 of 10) gives each image from its own latent and
    label, as generating it alone does."""
    gan = _conditional()
    z = torch.randn(10, gan.latent_dim, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    whole = gan.generate(z, labels)
    chunked = gan.generate(z, labels, batch_size=3)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-5)
    for i in range(10):
        alone = gan.generate(z[i : i + 1], labels[i : i + 1])
        torch.testing.assert_close(chunked[i : i + 1], alone, rtol=0, atol=1e-5)
    default = gan.generate(z, batch_size=4)  # labels 0..9 by default, chunked too
    torch.testing.assert_close(default, gan.generate(z, torch.arange(10)), rtol=0, atol=1e-5)


# --------------------------------------------------------------------------- rotation


def _tiny() -> GAN:
    torch.manual_seed(0)
    return GAN.from_preset(
        "vanilla", generator={"hidden": (8,)}, discriminator={"hidden": (8,)}, ema_decay=None
    )


def _batches() -> list[Tensor]:
    return [torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))]


def _names(folder: Path) -> list[str]:
    """The visible files of ``folder`` (a run's ``.lock`` is hidden while it trains)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_keep_last_one_keeps_only_the_newest_file(tmp_path: Path) -> None:
    """keep_last=1 leaves exactly the newest checkpoint after every epoch."""
    seen = []

    class Spy(ModelCheckpoint):
        def on_checkpoint(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
            super().on_checkpoint(model, epoch, logs)
            seen.append(_names(tmp_path))

    _tiny().fit(_batches(), epochs=3, callbacks=[Spy(tmp_path, keep_last=1)], progress=False)
    assert seen == [["epoch_0001.pt"], ["epoch_0002.pt"], ["epoch_0003.pt"]]
    assert GAN.load(tmp_path / "epoch_0003.pt").epoch == 3


def test_every_and_keep_last_rotate_only_saved_epochs(tmp_path: Path) -> None:
    """every=2, keep_last=2 over 7 epochs saves epochs 2, 4, 6 and the last (7), keeping
    the two newest."""
    cb = ModelCheckpoint(tmp_path, every=2, keep_last=2)
    _tiny().fit(_batches(), epochs=7, callbacks=[cb], progress=False)
    assert _names(tmp_path) == ["epoch_0006.pt", "epoch_0007.pt"]


def test_rotation_never_deletes_the_file_it_just_wrote(tmp_path: Path) -> None:
    """Higher-numbered files left by an earlier, longer run are older than the file just
    written: with keep_last=1 a fresh run keeps its own newest file, not theirs."""
    old = _tiny()
    old.fit(_batches(), epochs=1, progress=False)
    old.save(tmp_path / "epoch_0009.pt")
    old.save(tmp_path / "epoch_0005.pt")
    _tiny().fit(
        _batches(), epochs=2, callbacks=[ModelCheckpoint(tmp_path, keep_last=1)], progress=False
    )
    assert _names(tmp_path) == ["epoch_0002.pt"]
    assert GAN.load(tmp_path / "epoch_0002.pt").epoch == 2


def test_rotation_keeps_the_newest_good_file_when_a_newer_one_is_corrupt(
    tmp_path: Path,
) -> None:
    """Resuming from a named checkpoint in a folder whose newest file is corrupt, the
    rotation (keep_last=1) keeps the good file it writes, never the corrupt one."""
    gan = _tiny()
    gan.fit(_batches(), epochs=1, callbacks=[ModelCheckpoint(tmp_path)], progress=False)
    (tmp_path / "epoch_0003.pt").write_bytes(b"not a checkpoint")  # the newest, corrupt
    cb = ModelCheckpoint(tmp_path, keep_last=1)
    resumed = _tiny()
    resumed.fit(
        _batches(), epochs=2, callbacks=[cb], resume=tmp_path / "epoch_0001.pt", progress=False
    )
    assert _names(tmp_path) == ["epoch_0002.pt"]
    assert cb.latest() == tmp_path / "epoch_0002.pt"


def test_resume_auto_skips_a_corrupt_newest_file_and_rotation_keeps_the_good_one(
    tmp_path: Path,
) -> None:
    """resume="auto" passes over a corrupt newest file to the newest good one, and the
    rotation after the next epoch leaves good files only."""
    _tiny().fit(
        _batches(), epochs=2, callbacks=[ModelCheckpoint(tmp_path, keep_last=2)], progress=False
    )
    (tmp_path / "epoch_0003.pt").write_bytes(b"\0" * 100)
    cb = ModelCheckpoint(tmp_path, keep_last=2)
    resumed = _tiny()
    resumed.fit(_batches(), epochs=3, callbacks=[cb], resume="auto", progress=False)
    assert resumed.epoch == 3
    assert _names(tmp_path) == ["epoch_0002.pt", "epoch_0003.pt"]
    assert GAN.load(tmp_path / "epoch_0003.pt").epoch == 3


# --------------------------------------------------------------------------- compile


@pytest.mark.slow
# Dynamo itself touches a non-leaf tensor's .grad while tracing (PyTorch 2.14); harmless.
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.skipif(shutil.which(os.environ.get("CC", "gcc")) is None, reason="needs a C compiler")
def test_compile_true_really_compiles_and_matches_eager(tmp_path: Path) -> None:
    """compile=True runs torch.compile (inductor, on the CPU) for real, and two training
    steps of a tiny MLP GAN end where eager mode does, to float32 rounding."""
    import torch._dynamo

    torch._dynamo.reset()
    batches = [
        torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(2)
    ]
    weights = []
    compiled_modules = []
    for compile in (False, True):
        torch.manual_seed(0)
        gan = GAN.from_preset(
            "vanilla",
            generator={"hidden": (16,)},
            discriminator={"hidden": (16,)},
            ema_decay=None,
            compile=compile,
        )
        gan.fit(batches, epochs=1, progress=False, device="cpu")
        compiled_modules.append(gan.training_networks[0])
        weights.append({**gan.generator.state_dict(), **gan.discriminator.state_dict()})
    assert not hasattr(compiled_modules[0], "_orig_mod")
    assert hasattr(compiled_modules[1], "_orig_mod")  # an OptimizedModule
    counters = torch._dynamo.utils.counters
    assert counters["stats"]["unique_graphs"] > 0, "torch.compile never captured a graph"
    torch.testing.assert_close(weights[1], weights[0], rtol=1e-4, atol=1e-5)


def test_sample_label_and_seed_errors_say_what_came() -> None:
    """sample() refuses n < 0, non-int or bool seeds and labels outside [0, 9] with errors
    that quote the range and the value; a 0-d label tensor counts as one label."""
    gan = _conditional()
    with pytest.raises(ConfigError, match=r"n must be an int >= 0, got -1"):
        gan.sample(-1)
    for seed in (1.5, True):
        with pytest.raises(ConfigError, match="seed must be an int or None"):
            gan.sample(2, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"labels must lie in \[0, 9\], got 10"):
        gan.sample(2, labels=10)
    with pytest.raises(DataError, match="labels must be an int, a sequence of ints"):
        gan.sample(2, labels=True)
    assert torch.equal(gan.sample(2, labels=9, seed=0), gan.sample(2, labels=[9, 9], seed=0))
    one = gan.sample(1, labels=torch.tensor(3), seed=4)
    assert torch.equal(one, gan.sample(1, labels=3, seed=4))
    with pytest.raises(DataError, match=r"shape \(2,\)"):
        gan.sample(2, labels=torch.tensor(3))
    with pytest.raises(DataError, match=r"shape \(2,\), got \(2, 1\)"):
        gan.sample(2, labels=torch.zeros(2, 1, dtype=torch.long))


@pytest.mark.parametrize("ema", [None, 0.9])
def test_sampler_describes_its_weights(ema: float | None) -> None:
    """GAN.sampler().info says whether the EMA or the trained generator draws, whether the
    network was passed in and its memory layout; a bare Sampler's info is empty."""
    gan = GAN.from_preset("dcgan", ema_decay=ema)
    info = gan.sampler().info
    assert info == {
        "weights": "generator" if ema is None else "ema",
        "custom_network": False,
        "channels_last": True,
    }
    sampler = gan.sampler()
    assert sampler.generator is (gan.generator if ema is None else gan.ema.module)  # type: ignore[union-attr]
    assert Sampler(gan.generator, gan.config).info == {}
    custom = GAN(gan.config, generator=gan.config.build_generator()).sampler().info
    assert custom["custom_network"] is True and custom["channels_last"] is False
    info_in = {"a": 1}
    copy = Sampler(gan.generator, gan.config, info=info_in).info
    assert copy == info_in and copy is not info_in


def test_a_saved_sampler_file_samples_alike(tmp_path: Path) -> None:
    """save_generator(sampler) writes a generator file that loads into a sampler drawing
    the same images for a seed."""
    from mnistgan.export import load_sampler, save_generator

    gan = _conditional()
    path = save_generator(gan.sampler(), tmp_path / "g.safetensors")
    assert path.exists()
    loaded = load_sampler(path)
    assert torch.equal(loaded.sample(3, labels=5, seed=2), gan.sample(3, labels=5, seed=2))


# --------------------------------------------------------------------------- the loop


class _Recorder(Callback):
    """Records which model and logs every hook receives."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, dict[str, Any]]] = []

    def on_epoch_start(self, model: GAN, epoch: int, logs: dict[str, Any]) -> None:
        self.calls.append(("epoch_start", model, dict(logs)))

    def on_fit_end(self, model: GAN, logs: dict[str, Any]) -> None:
        self.calls.append(("fit_end", model, dict(logs)))

    def on_exception(self, model: GAN, error: BaseException) -> None:
        self.calls.append(("exception", model, {"error": error}))


def test_every_hook_receives_the_model_and_an_unsized_loader_trains() -> None:
    """on_epoch_start, on_fit_end and on_exception get the model itself; a loader without
    len() (a generator of batches) trains, with batches=None in on_epoch_start."""
    gan, rec = _tiny(), _Recorder()
    gan.fit((b for b in _batches() * 2), epochs=1, callbacks=[rec], progress=False)
    assert [(name, model) for name, model, _ in rec.calls] == [
        ("epoch_start", gan),
        ("fit_end", gan),
    ]
    assert rec.calls[0][2] == {"batches": None} and gan.global_step == 2
    rec.calls.clear()
    with pytest.raises(ConfigError):
        gan.fit([torch.rand(4, 1, 28, 28)], epochs=1, callbacks=[rec, "x"], progress=False)  # type: ignore[list-item]
    bad = torch.full((4, 1, 28, 28), 2.0)
    with pytest.raises(DataError):
        gan.fit([bad], epochs=1, callbacks=[rec], progress=False)
    assert rec.calls[-1][0] == "exception" and rec.calls[-1][1] is gan


class _NaNFirst(GAN):
    """A GAN whose train_step reports a NaN loss at its first call."""

    calls = 0

    def train_step(self, batch: Any) -> dict[str, Tensor]:
        self.calls += 1
        logs = super().train_step(batch)
        if self.calls == 1:
            logs["loss_d"] = torch.tensor(float("nan"))
        return logs


def test_skip_goes_on_with_the_epochs_remaining_batches() -> None:
    """on_nonfinite="skip" skips the step whose loss is NaN and trains on the rest of the
    epoch; the epoch row counts one skipped step and its wall time lies within fit's."""
    import time

    torch.manual_seed(0)
    gan = _NaNFirst(get_preset("vanilla", generator={"hidden": (8,)}, ema_decay=None))
    batches = [
        torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(3)
    ]
    start = time.perf_counter()
    history = gan.fit(batches, epochs=1, progress=False, on_nonfinite="skip")
    elapsed = time.perf_counter() - start
    assert gan.calls == 3 and gan.global_step == 2 and len(history.steps) == 2
    row = history.epochs[0]
    assert row["skipped_steps"] == 1.0
    assert 0 < row["seconds"] <= elapsed


# --------------------------------------------------------------------------- step corners


def test_conditional_wgan_gp_scores_the_interpolates_with_the_real_labels() -> None:
    """A projection-conditioned critic with WGAN-GP trains: the penalty's critic passes the
    real batch's labels (without them the projection cannot score the interpolates)."""
    torch.manual_seed(0)
    gan = GAN.from_preset(
        "vanilla", generator={"hidden": (8,)}, discriminator={"hidden": (8,)},
        loss="wgan-gp", num_classes=10,
    )  # fmt: skip
    logs = gan.train_step((torch.rand(8, 1, 28, 28), torch.arange(8)))
    assert torch.isfinite(logs["loss_d"]) and torch.isfinite(logs["loss_g"])


def test_r1_with_several_d_steps_keeps_the_real_batch() -> None:
    """With R1 and d_steps=2 every D update sees the real batch (and the caller's tensor
    does not end up requiring grad)."""
    torch.manual_seed(0)
    gan = GAN.from_preset(
        "vanilla", generator={"hidden": (8,)}, discriminator={"hidden": (8,)},
        r1_gamma=1.0, d_steps=2,
    )  # fmt: skip
    batch = torch.rand(8, 1, 28, 28)
    logs = gan.train_step(batch)
    assert torch.isfinite(logs["loss_d"]) and not batch.requires_grad


@pytest.mark.parametrize(("loss", "squash"), [("bce", True), ("hinge", False)])
def test_logged_d_outputs_are_probabilities_only_for_the_bce_family(
    loss: str, squash: bool
) -> None:
    """d_real is the mean of sigmoid(D(real)) for BCE losses and the raw critic mean else."""
    torch.manual_seed(0)
    gan = GAN.from_preset(
        "vanilla", generator={"hidden": (8,)}, discriminator={"hidden": (8,)}, loss=loss
    )
    batch = torch.rand(8, 1, 28, 28)
    real = gan.prepare_batch(batch)[0]
    with torch.no_grad():
        logits = gan.discriminator(real).float()
    expected = (torch.sigmoid(logits) if squash else logits).mean()
    logs = gan.train_step(batch)
    torch.testing.assert_close(logs["d_real"], expected, rtol=1e-5, atol=1e-6)
