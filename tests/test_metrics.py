"""Tests of mnistgan.metrics: metric functions, the shipped classifier, evaluate, callback, CLI."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mnistgan import GAN, CheckpointError, ConfigError, DataError
from mnistgan.cli import main
from mnistgan.data import load_tensors
from mnistgan.metrics import (
    CLASSIFIER_SHA256,
    FEATURE_DIM,
    METRIC_KEYS,
    REAL_FLOOR,
    FeatureSet,
    MetricsCallback,
    class_histogram,
    classifier_path,
    classifier_score,
    density_coverage,
    evaluate,
    extract_features,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_distance,
    kl_to_uniform,
    load_classifier,
    manifold_metrics,
    modes_covered,
    precision_recall,
    prepare_images,
)


def _gaussian(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return (
        torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        + shift
    )


def _spd(d: int, seed: int) -> torch.Tensor:
    a = _gaussian(d, d, seed)
    return a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)


@pytest.fixture(scope="module")
def real_small(mnist_root: Path) -> FeatureSet:
    """Features of the first 300 MNIST test images (real reference for small evaluations)."""
    images, _ = load_tensors("mnist", root=mnist_root, train=False, limit=300)
    return extract_features(images, device="cpu")


# --------------------------------------------------------------------------- Fréchet distance


def test_fd_of_a_set_with_itself_is_zero() -> None:
    """A feature set is at Fréchet distance ~0 from itself."""
    x = _gaussian(400, 16, 0)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


@given(seed=st.integers(0, 2**16), d=st.integers(1, 6), shift=st.floats(-3, 3))
def test_fd_is_symmetric_and_non_negative(seed: int, d: int, shift: float) -> None:
    """FD(a, b) == FD(b, a) >= 0 for any two feature sets."""
    a, b = _gaussian(50, d, seed), _gaussian(60, d, seed + 1, shift) * 2
    ab, ba = frechet_distance(a, b), frechet_distance(b, a)
    assert ab >= 0
    assert ab == pytest.approx(ba, rel=1e-7, abs=1e-9)


@given(seed=st.integers(0, 2**16), d=st.integers(1, 6), data=st.data())
def test_fd_is_invariant_under_row_permutations_and_common_shifts(
    seed: int, d: int, data: st.DataObject
) -> None:
    """Shuffling the samples or translating both sets alike leaves FD unchanged."""
    a, b = _gaussian(40, d, seed), _gaussian(30, d, seed + 1, 0.5)
    perm = torch.tensor(data.draw(st.permutations(range(40))))
    offset = torch.tensor(data.draw(st.lists(st.floats(-5, 5), min_size=d, max_size=d)))
    reference = frechet_distance(a, b)
    assert frechet_distance(a[perm], b) == pytest.approx(reference, rel=1e-7, abs=1e-9)
    assert frechet_distance(a + offset, b + offset) == pytest.approx(reference, rel=1e-6, abs=1e-8)


def test_fd_matches_the_closed_form_for_commuting_covariances() -> None:
    """With S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T: FD = |m1-m2|² + Σ(√a - √b)²."""
    d = 6
    q, _ = torch.linalg.qr(_gaussian(d, d, 3))
    a = torch.tensor([0.5, 1.0, 2.0, 3.0, 4.0, 9.0], dtype=torch.float64)
    b = torch.tensor([1.0, 1.0, 0.25, 5.0, 16.0, 1.0], dtype=torch.float64)
    m1, m2 = torch.zeros(d, dtype=torch.float64), torch.arange(d, dtype=torch.float64)
    expected = float((m1 - m2).square().sum() + (a.sqrt() - b.sqrt()).square().sum())
    s1, s2 = q @ torch.diag(a) @ q.T, q @ torch.diag(b) @ q.T
    assert frechet_distance_from_stats(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-10)


def test_fd_matches_an_independent_computation_for_general_covariances() -> None:
    """For non-commuting covariances FD agrees with tr sqrt from the eigenvalues of S1 S2."""
    d = 8
    s1, s2 = _spd(d, 1), _spd(d, 2)
    m1, m2 = _gaussian(1, d, 4)[0], _gaussian(1, d, 5)[0]
    eig = np.linalg.eigvals(s1.numpy() @ s2.numpy())  # real and positive for SPD products
    trace_sqrt = float(np.sqrt(eig.real).sum())
    expected = float((m1 - m2).square().sum() + s1.trace() + s2.trace()) - 2 * trace_sqrt
    assert frechet_distance_from_stats(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-9)


def test_fd_of_samples_approaches_the_population_value() -> None:
    """FD of large samples of two 1-d Gaussians is close to (m1-m2)² + (s1-s2)²."""
    a = _gaussian(20000, 1, 0)
    b = _gaussian(20000, 1, 1) * 3 + 2  # N(2, 3²): FD = 4 + 4 = 8
    assert frechet_distance(a, b) == pytest.approx(8.0, rel=0.05)


# --------------------------------------------------------------------------- KID


def test_kid_is_about_zero_for_one_distribution_and_positive_for_a_shift() -> None:
    """KID of two draws of one Gaussian is ~0; of a shifted Gaussian clearly > 0."""
    a, b = _gaussian(600, 8, 0), _gaussian(600, 8, 1)
    same = kernel_distance(a, b, subsets=20, subset_size=300)
    shifted = kernel_distance(a, b + 0.5, subsets=20, subset_size=300)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 10 * max(same.std, 1e-3)
    assert shifted.std >= 0


def test_kid_is_reproducible_from_its_seed_and_leaves_the_global_rng_alone() -> None:
    """The same seed gives the same KID, and the global torch RNG is not consumed."""
    a, b = _gaussian(200, 4, 0), _gaussian(200, 4, 1, 0.2)
    state = torch.get_rng_state()
    first = kernel_distance(a, b, subsets=5, subset_size=100, seed=7)
    assert torch.equal(state, torch.get_rng_state())
    assert first == kernel_distance(a, b, subsets=5, subset_size=100, seed=7)


# --------------------------------------------------------------------------- k-NN manifolds


def test_precision_recall_density_coverage_are_one_for_identical_sets() -> None:
    """A set against itself has precision, recall and coverage 1 and density (k+1)/k."""
    x = _gaussian(300, 5, 0)
    assert precision_recall(x, x) == (1.0, 1.0)
    density, coverage = density_coverage(x, x)
    assert coverage == 1.0
    assert density == pytest.approx(6 / 5)


def test_manifold_metrics_are_about_one_for_two_draws_of_one_distribution() -> None:
    """Two independent draws of one Gaussian score high on all four manifold metrics."""
    result = manifold_metrics(_gaussian(1000, 4, 0), _gaussian(1000, 4, 1))
    assert min(result.precision, result.recall, result.coverage) > 0.85
    assert 0.8 < result.density < 1.2


def test_manifold_metrics_are_zero_for_disjoint_sets() -> None:
    """Far-apart sets have precision, recall, density and coverage 0."""
    result = manifold_metrics(_gaussian(200, 5, 0), _gaussian(200, 5, 1, shift=50.0))
    assert tuple(result) == (0.0, 0.0, 0.0, 0.0)


def test_precision_drops_when_half_the_fakes_are_off_manifold() -> None:
    """Half the fakes far away: precision ~0.5 while recall stays high."""
    real = _gaussian(400, 3, 0)
    fake = torch.cat([_gaussian(200, 3, 1), _gaussian(200, 3, 2, shift=40.0)])
    precision, recall = precision_recall(real, fake)
    assert precision == pytest.approx(0.5, abs=0.05)
    assert recall > 0.8


# --------------------------------------------------------------------------- class statistics


def test_classifier_score_is_ten_for_uniform_one_hot_and_one_for_a_single_class() -> None:
    """One-hot predictions spread evenly over 10 classes score 10; a single class scores 1."""
    assert classifier_score(torch.eye(10).repeat(50, 1)) == pytest.approx(10.0)
    assert classifier_score(torch.eye(10)[[4] * 30]) == pytest.approx(1.0)
    assert classifier_score(torch.full((7, 10), 0.1)) == pytest.approx(1.0)
    soft = torch.eye(10).repeat(20, 1) * 0.9 + 0.01
    assert 1.0 < classifier_score(soft) < 10.0


def test_histogram_modes_and_kl_on_hand_made_inputs() -> None:
    """Histogram, modes (>= 1%) and KL to uniform match hand computations."""
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 19 + [3] * 1 + [4] * 0)
    hist = class_histogram(labels, num_classes=5)
    assert hist.tolist() == [0.5, 0.3, 0.19, 0.01, 0.0]
    assert modes_covered(hist) == 4
    assert modes_covered(hist, threshold=0.2) == 2
    expected = sum(p * math.log(p * 5) for p in (0.5, 0.3, 0.19, 0.01))
    assert kl_to_uniform(hist) == pytest.approx(expected)
    assert kl_to_uniform(torch.full((10,), 0.1, dtype=torch.float64)) == pytest.approx(0.0)
    assert kl_to_uniform(torch.eye(10)[2]) == pytest.approx(math.log(10))
    probs = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert class_histogram(probs).tolist() == pytest.approx([1 / 3, 2 / 3])


# --------------------------------------------------------------------------- degenerate inputs


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: frechet_distance(_gaussian(10, 16, 0), _gaussian(100, 16, 1)),
            DataError,
            "more samples than feature dimensions",
        ),
        (
            lambda: frechet_distance(torch.ones(50, 4), _gaussian(50, 4, 1)),
            DataError,
            "zero variance",
        ),
        (
            lambda: frechet_distance(_gaussian(50, 4, 0), torch.full((50, 4), math.nan)),
            DataError,
            "NaN",
        ),
        (lambda: frechet_distance(torch.zeros(50), _gaussian(50, 1, 0)), DataError, "(N, D)"),
        (
            lambda: frechet_distance(_gaussian(50, 4, 0), _gaussian(50, 5, 0)),
            DataError,
            "same feature size",
        ),
        (
            lambda: precision_recall(_gaussian(3, 2, 0), _gaussian(30, 2, 1)),
            DataError,
            "k_pr=3 needs more than 3 real samples",
        ),
        (
            lambda: density_coverage(_gaussian(30, 2, 0), _gaussian(30, 2, 1), k=30),
            DataError,
            "needs more than 30",
        ),
        (
            lambda: kernel_distance(_gaussian(30, 2, 0), _gaussian(30, 2, 1), subsets=0),
            ConfigError,
            "subsets must be",
        ),
        (lambda: classifier_score(torch.randn(5, 10)), DataError, "softmax"),
        (lambda: modes_covered(torch.tensor([0.5, 0.6])), DataError, "summing to 1"),
        (lambda: prepare_images(torch.rand(4, 1, 28, 28) * 2 - 1), DataError, "[0, 1]"),
        (lambda: prepare_images(torch.rand(4, 3, 28, 28)), DataError, "(N, 1, H, W)"),
        (lambda: prepare_images(torch.full((4, 1, 28, 28), math.nan)), DataError, "NaN"),
        (lambda: prepare_images([1, 2]), DataError, "tensor"),
        (lambda: evaluate(lambda z: z, 10), ConfigError, "latent_dim"),
    ],
)
def test_degenerate_inputs_raise_clear_errors(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    """Too few samples, constant or NaN features, bad shapes/ranges and k >= n are refused."""
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_constant_images_are_refused_by_evaluate(real_small: FeatureSet) -> None:
    """evaluate() on identical (constant) images says the features have zero variance."""
    with pytest.raises(DataError, match="zero variance"):
        evaluate(torch.zeros(200, 1, 28, 28), real=real_small, kid_subsets=2, device="cpu")


# --------------------------------------------------------------------------- shipped classifier


def test_shipped_classifier_loads_with_weights_only_and_matches_its_checksum() -> None:
    """classifier.pt is a plain state_dict (weights_only) whose SHA-256 is the constant."""
    path = classifier_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == CLASSIFIER_SHA256
    state = torch.load(path, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert path.stat().st_size < 3_000_000
    net = load_classifier()
    assert not net.training
    assert net.features(torch.rand(2, 1, 28, 28)).shape == (2, FEATURE_DIM)


def test_a_tampered_classifier_copy_is_refused(tmp_path: Path) -> None:
    """Changing one byte of the weights makes load_classifier raise CheckpointError."""
    copy = tmp_path / "classifier.pt"
    shutil.copyfile(classifier_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt") as info:
        load_classifier(copy)
    assert "python -m mnistgan.metrics.train" in str(info.value)


def test_shipped_classifier_is_accurate_on_real_test_images(mnist_root: Path) -> None:
    """The shipped classifier gets >= 99% of 2,000 MNIST test images right."""
    images, labels = load_tensors("mnist", root=mnist_root, train=False, limit=2000)
    probs = extract_features(images, device="cpu").probs
    assert probs is not None
    assert float((probs.argmax(1) == labels).double().mean()) >= 0.99


# --------------------------------------------------------------------------- evaluate


def test_evaluate_an_untrained_gan_returns_every_key(real_small: FeatureSet) -> None:
    """evaluate() on a small n with an untrained GAN returns every metric as a finite float."""
    result = evaluate(
        GAN.from_preset("vanilla"), 200, real=real_small, kid_subsets=3, device="cpu"
    )
    assert set(result) == {*METRIC_KEYS, "fd_train", *(f"class_{i}" for i in range(10))}
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    assert sum(result[f"class_{i}"] for i in range(10)) == pytest.approx(1.0)


def test_evaluate_takes_callables_tensors_and_64px_images(real_small: FeatureSet) -> None:
    """A generator callable, a tensor of images and 64 px images all work, seeded."""
    net = torch.nn.Sequential(
        torch.nn.Linear(8, 64 * 64), torch.nn.Sigmoid(), torch.nn.Unflatten(1, (1, 64, 64))
    )
    first = evaluate(net, 150, latent_dim=8, real=real_small, kid_subsets=2, device="cpu", seed=3)
    again = evaluate(net, 150, latent_dim=8, real=real_small, kid_subsets=2, device="cpu", seed=3)
    assert first == again
    images = torch.rand(150, 64, 64)
    assert prepare_images(images).shape == (150, 1, 28, 28)
    from_tensor = evaluate(images, real=real_small, kid_subsets=2, device="cpu")
    assert from_tensor["fd"] > 0


def test_metrics_callback_logs_into_history_and_leaves_the_global_rng_alone(
    real_small: FeatureSet,
) -> None:
    """MetricsCallback fills the epoch rows and training stays bit-for-bit reproducible."""
    batches = [
        torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(3)
    ]

    def run(with_metrics: bool) -> tuple[GAN, torch.Tensor]:
        torch.manual_seed(0)
        gan = GAN.from_preset("vanilla")
        callbacks = [MetricsCallback(n=150, real=real_small, kid_subsets=2, device="cpu")]
        gan.fit(
            batches,
            epochs=2,
            callbacks=callbacks if with_metrics else [],
            progress=False,
            device="cpu",
        )
        return gan, torch.get_rng_state()

    plain, plain_rng = run(False)
    measured, measured_rng = run(True)
    assert torch.equal(plain_rng, measured_rng)
    for p, q in zip(plain.generator.parameters(), measured.generator.parameters(), strict=True):
        assert torch.equal(p, q)
    for row in measured.history.epochs:
        assert set(METRIC_KEYS) <= set(row)
        assert "class_0" not in row
        assert math.isfinite(row["fd"])


# --------------------------------------------------------------------------- floor and CLI


def test_the_real_floor_is_documented_for_every_metric() -> None:
    """REAL_FLOOR holds every metric, with real-data values that make sense."""
    assert set(METRIC_KEYS) <= set(REAL_FLOOR)
    assert REAL_FLOOR["modes"] == 10
    assert REAL_FLOOR["score"] > 9.5
    assert min(REAL_FLOOR["precision"], REAL_FLOOR["recall"], REAL_FLOOR["coverage"]) > 0.5


def test_cli_eval_prints_json_and_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mnistgan eval CHECKPOINT --json` prints every metric of the checkpoint's generator
    against the shipped MNIST test features: the values evaluate() gives for that
    generator, in their ranges, an untrained generator far from the real floor; without
    --json a table."""
    import mnistgan.metrics

    torch.manual_seed(0)
    gan = GAN.from_preset("vanilla")
    path = gan.save(tmp_path / "g.pt")
    assert (
        main(["eval", str(path), "--n", "150", "--kid-subsets", "2", "--device", "cpu", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    (only,) = report["inputs"]
    assert only["kind"] == "checkpoint" and only["n"] == 150
    metrics = only["metrics"]
    assert set(METRIC_KEYS) <= set(metrics)
    direct = mnistgan.metrics.evaluate(gan, 150, kid_subsets=2, device="cpu")
    for key in METRIC_KEYS:
        assert metrics[key] == pytest.approx(direct[key], rel=1e-6, abs=1e-9), key
    for key in ("precision", "recall", "coverage"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["modes"] in range(11) and metrics["kid_std"] >= 0
    assert 1.0 <= metrics["score"] <= 10.0
    assert metrics["fd"] > 10 * REAL_FLOOR["fd"]  # untrained noise is no digit
    assert main(["eval", str(path), "--n", "150", "--kid-subsets", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "Fréchet distance" in out
    assert "real floor" in out


def test_cli_eval_reads_a_safetensors_generator_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mnistgan eval G.safetensors` gives the metrics of the GAN the file was saved from."""
    import mnistgan.metrics
    from mnistgan.export import save_generator

    gan = GAN.from_preset("vanilla")
    path = save_generator(gan, tmp_path / "g.safetensors")
    argv = ["eval", str(path), "--n", "150", "--kid-subsets", "2", "--device", "cpu", "--json"]
    assert main(argv) == 0
    metrics = json.loads(capsys.readouterr().out)["inputs"][0]["metrics"]
    direct = mnistgan.metrics.evaluate(gan, 150, kid_subsets=2, device="cpu")
    assert metrics["fd"] == pytest.approx(direct["fd"], rel=1e-9)
    assert metrics["score"] == pytest.approx(direct["score"], rel=1e-9)
