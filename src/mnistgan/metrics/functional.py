"""The metrics as pure functions of feature sets and class probabilities.

Every function takes plain tensors: features ``(N, D)`` (any float dtype; all statistics
are computed in float64) or class probabilities ``(N, C)``, checks them, and returns
Python floats. They know nothing about GANs or classifiers, so they work as well on
Inception features as on those of mnistgan's MNIST classifier.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from mnistgan.errors import ConfigError, DataError

__all__ = [
    "KIDResult",
    "ManifoldResult",
    "class_histogram",
    "classifier_score",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "kernel_distance",
    "kl_to_uniform",
    "manifold_metrics",
    "modes_covered",
    "precision_recall",
]

_CHUNK = 1024  # rows of a distance matrix computed at once (1024 x 10k float64 = 80 MB)


class KIDResult(NamedTuple):
    """Mean and standard deviation of the unbiased MMD² over the subsets."""

    mean: float
    std: float


class ManifoldResult(NamedTuple):
    """Precision and recall (Kynkäänniemi et al.), density and coverage (Naeem et al.)."""

    precision: float
    recall: float
    density: float
    coverage: float


# --------------------------------------------------------------------------- checks


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _features(x: object, name: str, *, min_rows: int = 2) -> Tensor:
    """Check a feature matrix and return it as float64 on its device."""
    if not isinstance(x, Tensor):
        raise DataError(f"{name} must be a tensor of features (N, D), got {type(x).__name__}")
    if x.dim() != 2:
        raise DataError(
            f"{name} must be a 2-d tensor of features (N, D), got shape {tuple(x.shape)}; "
            "flatten each sample's features to one row (x.flatten(1))"
        )
    if not (x.is_floating_point() or x.dtype in (torch.uint8, torch.int32, torch.int64)):
        raise DataError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.size(0) < min_rows:
        raise DataError(f"{name} needs at least {min_rows} samples, got {x.size(0)}")
    if x.size(1) < 1:
        raise DataError(f"{name} has no feature columns (shape {tuple(x.shape)})")
    x = x.detach().to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).any(1).sum())
        raise DataError(
            f"{name} holds NaN or infinite values in {bad} of {x.size(0)} rows; check the "
            "images (a diverged generator?) and the feature extractor"
        )
    return x


def _not_constant(x: Tensor, name: str) -> None:
    """Refuse a feature set whose rows are all the same (zero variance in every feature)."""
    spread = (x - x[:1]).abs().amax()
    scale = x.abs().amax().clamp_min(1.0)
    if spread <= 1e-12 * scale:
        raise DataError(
            f"{name} has zero variance: all {x.size(0)} samples have the same features "
            "(constant or identical images, e.g. a collapsed generator), so the metric is "
            "undefined; check the images"
        )


def _pair(real: object, fake: object, *, min_rows: int = 2) -> tuple[Tensor, Tensor]:
    a = _features(real, "real", min_rows=min_rows)
    b = _features(fake, "fake", min_rows=min_rows)
    if a.size(1) != b.size(1):
        raise DataError(
            f"real and fake must have the same feature size, got {a.size(1)} and "
            f"{b.size(1)}; extract both with the same feature extractor"
        )
    return a, b.to(a.device)


def _probabilities(p: object, name: str = "probs") -> Tensor:
    """Check class probabilities ``(N, C)``: finite, non-negative, rows summing to 1."""
    if not isinstance(p, Tensor) or p.dim() != 2 or p.size(0) < 1 or p.size(1) < 2:
        got = tuple(p.shape) if isinstance(p, Tensor) else type(p).__name__
        raise DataError(
            f"{name} must be class probabilities of shape (N, C) with N >= 1 and C >= 2, "
            f"got {got}; pass logits.softmax(1)"
        )
    p = p.detach().to(torch.float64)
    if not bool(torch.isfinite(p).all()):
        raise DataError(f"{name} holds NaN or infinite values")
    if bool((p < 0).any()) or not torch.allclose(
        p.sum(1), torch.ones((), dtype=torch.float64), atol=1e-3
    ):
        raise DataError(
            f"{name} rows must be non-negative and sum to 1 (got row sums in "
            f"[{float(p.sum(1).min()):.4f}, {float(p.sum(1).max()):.4f}]); pass "
            "logits.softmax(1), not logits"
        )
    return p


def _histogram(hist: object) -> Tensor:
    if not isinstance(hist, Tensor) or hist.dim() != 1 or hist.numel() < 1:
        got = tuple(hist.shape) if isinstance(hist, Tensor) else type(hist).__name__
        raise DataError(f"hist must be a 1-d tensor of class shares, got {got}")
    h = hist.detach().to(torch.float64)
    if not bool(torch.isfinite(h).all()) or bool((h < 0).any()) or abs(float(h.sum()) - 1) > 1e-6:
        raise DataError(
            "hist must hold non-negative shares summing to 1; build it with class_histogram()"
        )
    return h


# --------------------------------------------------------------------------- Fréchet


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``features`` ``(N, D)``, in float64.

    Example:
        >>> mu, sigma = gaussian_stats(torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
        >>> mu.tolist(), sigma.tolist()
        ([1.0, 2.0], [[2.0, 2.0], [2.0, 2.0]])
    """
    x = _features(features, "features")
    mu = x.mean(0)
    centred = x - mu
    sigma: Tensor = centred.T @ centred / (x.size(0) - 1)
    return mu, sigma


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix (float64)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    root: Tensor = (vectors * values.clamp_min(0).sqrt()) @ vectors.T
    return root


def frechet_distance_from_stats(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Fréchet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``|mu1 - mu2|² + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^½)``, in float64. The
    trace of the matrix square root is the sum of the square roots of the eigenvalues of
    the symmetric PSD matrix ``sigma1^½ sigma2 sigma1^½`` (which has the eigenvalues of
    ``sigma1 sigma2``), so no general ``sqrtm`` (and no SciPy) is needed.

    Args:
        mu1: Mean ``(D,)``.
        sigma1: Covariance ``(D, D)``, symmetric positive semi-definite.
        mu2: Mean ``(D,)``.
        sigma2: Covariance ``(D, D)``.

    Returns:
        The distance (>= 0).

    Raises:
        DataError: If the shapes do not fit or values are not finite.

    Example:
        >>> one = torch.eye(2)
        >>> frechet_distance_from_stats(torch.zeros(2), one, torch.ones(2), 4 * one)
        4.0
    """
    tensors = [mu1, sigma1, mu2, sigma2]
    if not all(isinstance(t, Tensor) for t in tensors):
        raise DataError("mu1, sigma1, mu2 and sigma2 must be tensors")
    d = mu1.numel()
    if (
        mu1.dim() != 1
        or mu2.shape != mu1.shape
        or sigma1.shape != (d, d)
        or sigma2.shape != (d, d)
    ):
        raise DataError(
            "expected means of shape (D,) and covariances of shape (D, D), got "
            f"{tuple(mu1.shape)}, {tuple(sigma1.shape)}, {tuple(mu2.shape)}, {tuple(sigma2.shape)}"
        )
    m1, s1, m2, s2 = (t.detach().to(torch.float64) for t in tensors)
    s1, s2 = s1.to(m1.device), s2.to(m1.device)
    m2 = m2.to(m1.device)
    if not all(bool(torch.isfinite(t).all()) for t in (m1, s1, m2, s2)):
        raise DataError("the means and covariances must be finite (no NaN or inf)")
    root1 = _sqrt_psd(s1)
    middle = root1 @ s2 @ root1
    eigenvalues = torch.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = eigenvalues.clamp_min(0).sqrt().sum()
    value = (m1 - m2).square().sum() + torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt
    return max(float(value), 0.0)


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID's formula).

    Args:
        real: Features ``(N1, D)``.
        fake: Features ``(N2, D)``.

    Returns:
        The distance (>= 0; 0 for identical sets).

    Raises:
        DataError: If a set has no more samples than feature dimensions (its covariance
            would be singular), zero variance, NaNs, or the shapes do not fit.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> a = torch.randn(500, 4, generator=g)
        >>> round(frechet_distance(a, a), 6)
        0.0
        >>> round(frechet_distance(a, a + 1), 3)  # the means differ by 1 in 4 dimensions
        4.0
    """
    a, b = _pair(real, fake)
    for x, name in ((a, "real"), (b, "fake")):
        if x.size(0) <= x.size(1):
            raise DataError(
                f"the Fréchet distance needs more samples than feature dimensions, got "
                f"{x.size(0)} {name} samples of {x.size(1)} features (the covariance would be "
                f"singular); use at least {x.size(1) + 1} samples (10,000 is standard)"
            )
        _not_constant(x, name)
    return frechet_distance_from_stats(*gaussian_stats(a), *gaussian_stats(b))


# --------------------------------------------------------------------------- KID


def kernel_distance(
    real: Tensor,
    fake: Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> KIDResult:
    """Kernel distance (KID): unbiased MMD² with the cubic polynomial kernel.

    The kernel is ``k(x, y) = (x·y / D + 1)³`` (Bińkowski et al. 2018). The unbiased
    estimate is averaged over ``subsets`` random pairs of subsets of ``subset_size``
    samples each (drawn without replacement, from a generator seeded with ``seed``; the
    global random state is not touched). Sets smaller than ``subset_size`` are used whole.

    Args:
        real: Features ``(N1, D)``.
        fake: Features ``(N2, D)``.
        subsets: Number of subset pairs.
        subset_size: Samples per subset.
        seed: Seed of the subset draws.

    Returns:
        ``(mean, std)`` of the per-subset estimates; ``mean`` can be slightly negative
        when the distributions are equal (the estimator is unbiased).

    Raises:
        ConfigError: If ``subsets`` or ``subset_size`` is not a positive int (>= 2 for
            the size).
        DataError: If the features are malformed.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> a, b = torch.randn(300, 8, generator=g), torch.randn(300, 8, generator=g)
        >>> abs(kernel_distance(a, b, subsets=10, subset_size=200).mean) < 0.05
        True
        >>> kernel_distance(a, b + 1, subsets=10, subset_size=200).mean > 0.5
        True
    """
    _check_int(subsets, "subsets", 1)
    _check_int(subset_size, "subset_size", 2)
    _check_int(seed, "seed", 0)
    a, b = _pair(real, fake)
    m = min(subset_size, a.size(0), b.size(0))
    d = a.size(1)
    generator = torch.Generator().manual_seed(seed)
    values = torch.empty(subsets, dtype=torch.float64)
    off_diagonal = m * (m - 1)
    for i in range(subsets):
        x = a[torch.randperm(a.size(0), generator=generator)[:m].to(a.device)]
        y = b[torch.randperm(b.size(0), generator=generator)[:m].to(a.device)]
        k_xx = (x @ x.T / d + 1).pow(3)
        k_yy = (y @ y.T / d + 1).pow(3)
        k_xy = (x @ y.T / d + 1).pow(3)
        values[i] = (
            (k_xx.sum() - k_xx.diagonal().sum()) / off_diagonal
            + (k_yy.sum() - k_yy.diagonal().sum()) / off_diagonal
            - 2 * k_xy.sum() / (m * m)
        ).cpu()
    std = float(values.std()) if subsets > 1 else 0.0
    return KIDResult(float(values.mean()), std)


# --------------------------------------------------------------------------- k-NN manifolds


def _squared_distances(x: Tensor, y: Tensor) -> Tensor:
    """Squared Euclidean distances ``(len(x), len(y))`` in float64."""
    return (
        x.square().sum(1, keepdim=True) + y.square().sum(1)[None, :] - 2 * (x @ y.T)
    ).clamp_min_(0)


def _knn_radii(x: Tensor, ks: tuple[int, ...]) -> list[Tensor]:
    """Squared distance of each row to its ``k``-th nearest neighbour in ``x`` (self excluded).

    One pass over the distance matrix serves every ``k`` in ``ks``.
    """
    radii = torch.empty(len(ks), x.size(0), dtype=torch.float64, device=x.device)
    index = torch.tensor(ks, device=x.device)
    for start in range(0, x.size(0), _CHUNK):
        block = _squared_distances(x[start : start + _CHUNK], x)  # (chunk, N)
        rows = torch.arange(block.size(0), device=x.device)
        block[rows, rows + start] = -1.0  # self: always the smallest, then skipped
        nearest = block.topk(max(ks) + 1, dim=1, largest=False).values  # (chunk, max k + 1)
        radii[:, start : start + _CHUNK] = nearest[:, index].T
    return list(radii)


def _check_k(k: object, name: str, sizes: dict[str, int]) -> int:
    k = _check_int(k, name, 1)
    for label, n in sizes.items():
        if k >= n:
            raise DataError(
                f"{name}={k} needs more than {k} {label} samples, got {n}; use more samples "
                f"or a smaller {name}"
            )
    return k


def manifold_metrics(
    real: Tensor, fake: Tensor, *, k_pr: int = 3, k_dc: int = 5
) -> ManifoldResult:
    """Precision, recall, density and coverage in one pass over the distance matrices.

    * Precision: share of fake samples inside the real manifold, the union of balls
      around each real sample reaching its ``k_pr``-th nearest real neighbour; recall:
      share of real samples inside the fake manifold (Kynkäänniemi et al. 2019).
    * Density: mean number of real ``k_dc``-balls holding a fake sample, divided by
      ``k_dc`` (about 1 for matching distributions; can exceed 1); coverage: share of
      real samples whose ``k_dc``-ball holds at least one fake sample (Naeem et al. 2020).
      Two independent draws of one distribution give a density near 1; a set compared
      with itself gives exactly ``(k_dc + 1) / k_dc``, since each sample also lies in its
      own ball.

    Args:
        real: Features ``(N1, D)``.
        fake: Features ``(N2, D)``.
        k_pr: Neighbour count for precision and recall.
        k_dc: Neighbour count for density and coverage.

    Returns:
        A :class:`ManifoldResult`.

    Raises:
        DataError: If ``k >= N`` for a set, or the features are malformed.

    Example:
        >>> a = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
        >>> manifold_metrics(a, a)  # density counts each sample's own ball: (k + 1) / k
        ManifoldResult(precision=1.0, recall=1.0, density=1.2, coverage=1.0)
        >>> manifold_metrics(a, a + 100)
        ManifoldResult(precision=0.0, recall=0.0, density=0.0, coverage=0.0)
    """
    a, b = _pair(real, fake)
    sizes = {"real": a.size(0), "fake": b.size(0)}
    _check_k(k_pr, "k_pr", sizes)
    _check_k(k_dc, "k_dc", {"real": a.size(0)})
    real_pr, real_dc = _knn_radii(a, (k_pr, k_dc))
    (fake_pr,) = _knn_radii(b, (k_pr,))
    in_real = torch.zeros(b.size(0), dtype=torch.bool, device=a.device)  # fake j in real manifold
    in_fake = torch.zeros(a.size(0), dtype=torch.bool, device=a.device)  # real i in fake manifold
    covered = torch.zeros(a.size(0), dtype=torch.bool, device=a.device)
    density_count = 0
    for start in range(0, a.size(0), _CHUNK):
        block = _squared_distances(a[start : start + _CHUNK], b)  # (chunk of real, N2)
        in_real |= (block <= real_pr[start : start + _CHUNK, None]).any(0)
        in_fake[start : start + _CHUNK] = (block <= fake_pr[None, :]).any(1)
        inside_dc = block <= real_dc[start : start + _CHUNK, None]
        density_count += int(inside_dc.sum())
        covered[start : start + _CHUNK] = inside_dc.any(1)
    return ManifoldResult(
        precision=float(in_real.double().mean()),
        recall=float(in_fake.double().mean()),
        density=density_count / (k_dc * b.size(0)),
        coverage=float(covered.double().mean()),
    )


def precision_recall(real: Tensor, fake: Tensor, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with ``k`` neighbours.

    Example:
        >>> a = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
        >>> precision_recall(a, a)
        (1.0, 1.0)
    """
    result = manifold_metrics(real, fake, k_pr=k, k_dc=k)
    return result.precision, result.recall


def density_coverage(real: Tensor, fake: Tensor, *, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) with ``k`` neighbours.

    Example:
        >>> a = torch.randn(100, 2, generator=torch.Generator().manual_seed(0))
        >>> density_coverage(a, a + 50)
        (0.0, 0.0)
    """
    result = manifold_metrics(real, fake, k_pr=k, k_dc=k)
    return result.density, result.coverage


# --------------------------------------------------------------------------- classes


def classifier_score(probs: Tensor) -> float:
    """``exp(E_x KL(p(y|x) || p(y)))``, the Inception score's formula, over the whole set.

    It ranges from 1 (every sample gets the same class distribution) to the number of
    classes (confident predictions spread evenly over all classes).

    Args:
        probs: Class probabilities ``(N, C)`` (rows sum to 1).

    Raises:
        DataError: If ``probs`` are not probabilities.

    Example:
        >>> round(classifier_score(torch.eye(10).repeat(3, 1)), 6)
        10.0
        >>> classifier_score(torch.full((5, 10), 0.1))
        1.0
    """
    p = _probabilities(probs)
    marginal = p.mean(0, keepdim=True)
    kl = (torch.special.xlogy(p, p) - torch.special.xlogy(p, marginal)).sum(1)
    return float(torch.exp(kl.mean()))


def class_histogram(predictions: Tensor, num_classes: int = 10) -> Tensor:
    """Share of samples predicted as each class (argmax of probabilities, or labels).

    Args:
        predictions: Probabilities ``(N, C)`` or integer labels ``(N,)``.
        num_classes: Number of classes ``C`` (for labels).

    Returns:
        float64 shares ``(C,)`` summing to 1.

    Example:
        >>> class_histogram(torch.tensor([0, 0, 1, 3]), num_classes=4).tolist()
        [0.5, 0.25, 0.0, 0.25]
    """
    _check_int(num_classes, "num_classes", 1)
    if isinstance(predictions, Tensor) and predictions.dim() == 2:
        labels = _probabilities(predictions, "predictions").argmax(1)
        num_classes = predictions.size(1)
    elif (
        isinstance(predictions, Tensor)
        and predictions.dim() == 1
        and predictions.numel() > 0
        and not predictions.is_floating_point()
    ):
        labels = predictions.long()
        if int(labels.min()) < 0 or int(labels.max()) >= num_classes:
            raise DataError(
                f"labels must be in [0, {num_classes - 1}], got values in "
                f"[{int(labels.min())}, {int(labels.max())}]"
            )
    else:
        got = tuple(predictions.shape) if isinstance(predictions, Tensor) else type(predictions)
        raise DataError(
            f"predictions must be probabilities (N, C) or integer labels (N,), N >= 1, got {got}"
        )
    counts = torch.bincount(labels.cpu(), minlength=num_classes).to(torch.float64)
    return counts / counts.sum()


def modes_covered(hist: Tensor, threshold: float = 0.01) -> int:
    """Number of classes holding at least ``threshold`` of the samples.

    Example:
        >>> modes_covered(torch.tensor([0.5, 0.495, 0.005]))
        2
    """
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise ConfigError(f"threshold must be a number in [0, 1], got {threshold!r}")
    return int((_histogram(hist) >= threshold - 1e-12).sum())


def kl_to_uniform(hist: Tensor) -> float:
    """``KL(hist || uniform)`` in nats: 0 for equal shares, ``log C`` for a single class.

    Example:
        >>> kl_to_uniform(torch.full((10,), 0.1))
        0.0
        >>> import math
        >>> round(kl_to_uniform(torch.eye(10)[3]), 4) == round(math.log(10), 4)
        True
    """
    h = _histogram(hist)
    h = h / h.sum()  # exact shares, also for float32 input
    value = float(torch.special.xlogy(h, h * h.numel()).sum())
    return max(value, 0.0)
