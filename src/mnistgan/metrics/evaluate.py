"""Feature extraction and :func:`evaluate`: every metric of a generator in one call.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final, TypeAlias

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mnistgan._checks import check_int
from mnistgan.data import data_root, load_tensors
from mnistgan.device import resolve_device
from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics.classifier import MnistClassifier, load_classifier
from mnistgan.metrics.features import FeatureSet
from mnistgan.metrics.functional import (
    class_histogram,
    classifier_score,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    kernel_distance,
    kl_to_uniform,
    manifold_metrics,
    modes_covered,
)

if TYPE_CHECKING:
    from mnistgan.gan import GAN
    from mnistgan.sampling import Sampler

__all__ = [
    "METRIC_KEYS",
    "REAL_FLOOR",
    "ClassifierFeatures",
    "FeatureExtractor",
    "FeatureSet",
    "evaluate",
    "extract_features",
    "format_table",
    "prepare_images",
    "real_features",
]

FeatureExtractor: TypeAlias = Callable[[Tensor], "Tensor | tuple[Tensor, Tensor]"]
"""Images ``(N, 1, 28, 28)`` in [0, 1] → features ``(N, D)``, or ``(features, probs (N, C))``."""

METRIC_KEYS: Final[tuple[str, ...]] = (
    "fd",
    "kid",
    "kid_std",
    "precision",
    "recall",
    "density",
    "coverage",
    "score",
    "modes",
    "kl_uniform",
)
"""The keys :func:`evaluate` returns (``score`` to ``kl_uniform`` need probabilities),
followed by ``class_0`` … ``class_9``, the share of generated samples per class."""

REAL_FLOOR: Final[dict[str, float]] = {
    "fd": 0.17540455033676494,
    "kid": 6.801263523272815e-05,
    "kid_std": 0.008951078572869009,
    "precision": 0.8556,
    "recall": 0.8802,
    "density": 0.9143,
    "coverage": 0.943,
    "score": 9.80139397572159,
    "modes": 10.0,
    "kl_uniform": 0.002554299282053942,
    "class_0": 0.0952,
    "class_1": 0.1158,
    "class_2": 0.1019,
    "class_3": 0.1068,
    "class_4": 0.0971,
    "class_5": 0.0925,
    "class_6": 0.0917,
    "class_7": 0.1047,
    "class_8": 0.0936,
    "class_9": 0.1007,
}
"""The real-data floor: :func:`evaluate`'s result for 10,000 MNIST training images (drawn
with seed 0) against the 10,000 test images, with the shipped classifier and the defaults
(KID seed 0). Measure it again with ``python -m mnistgan.metrics.floor``."""

logger = logging.getLogger(__name__)

_SIDE: Final = 28  # the classifier's input size; other sizes are resized to it


class ClassifierFeatures:
    """The default feature extractor: mnistgan's shipped MNIST classifier.

    Calling it returns the 128-dim penultimate features and the softmax probabilities.

    Args:
        model: A classifier; ``None`` loads the shipped one (checksum verified).
        device: Where the classifier runs.

    Example:
        >>> features, probs = ClassifierFeatures()(torch.rand(3, 1, 28, 28))
        >>> features.shape, probs.shape
        (torch.Size([3, 128]), torch.Size([3, 10]))
    """

    def __init__(
        self, model: MnistClassifier | None = None, *, device: str | torch.device = "cpu"
    ) -> None:
        self.device = resolve_device(device)
        self.model = (model if model is not None else load_classifier()).to(self.device).eval()

    @torch.no_grad()
    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Features ``(N, 128)`` and probabilities ``(N, 10)`` of images ``(N, 1, 28, 28)``."""
        features = self.model.features(images.to(self.device, torch.float32))
        probs = self.model.head(features).softmax(1)
        return features, probs


_DEFAULT_EXTRACTORS: dict[str, ClassifierFeatures] = {}
_REAL_CACHE: dict[tuple[str, str, int | None], FeatureSet] = {}


def _default_extractor(device: torch.device) -> ClassifierFeatures:
    key = str(device)
    if key not in _DEFAULT_EXTRACTORS:
        _DEFAULT_EXTRACTORS[key] = ClassifierFeatures(device=device)
    return _DEFAULT_EXTRACTORS[key]


def prepare_images(images: object, name: str = "images") -> Tensor:
    """Check images and bring them to what the extractors take: float ``(N, 1, 28, 28)`` in [0, 1].

    Accepts uint8 (0–255) or float images in [0, 1], shape ``(N, 1, H, W)`` or
    ``(N, H, W)``; other sizes (e.g. the 64 px preset's) are resized to 28x28
    (bilinear, antialiased).

    Raises:
        DataError: On a wrong type, shape, dtype, NaNs or values outside [0, 1].

    Example:
        >>> prepare_images(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 1, 28, 28])
    """
    if not isinstance(images, Tensor):
        raise DataError(f"{name} must be a tensor (N, 1, H, W), got {type(images).__name__}")
    x = images.detach()
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if x.dim() != 4 or x.size(1) != 1 or x.size(0) < 1:
        raise DataError(
            f"{name} must have shape (N, 1, H, W) with N >= 1 (one-channel digits), got "
            f"{tuple(images.shape)}; convert colour images to grey first"
        )
    if x.dtype == torch.uint8:
        x = x.float().div_(255)
    elif not x.is_floating_point():
        raise DataError(f"{name} must be float in [0, 1] or uint8, got dtype {x.dtype}")
    else:
        x = x.float()
        if not bool(torch.isfinite(x).all()):
            raise DataError(f"{name} contain NaN or infinite values")
        low, high = float(x.min()), float(x.max())
        if low < -1e-6 or high > 1 + 1e-6:
            raise DataError(
                f"{name} must be in [0, 1], got values in [{low:.3f}, {high:.3f}]; map a "
                "tanh generator's output with (x + 1) / 2"
            )
        x = x.clamp(0, 1)
    if x.shape[-2:] != (_SIDE, _SIDE):
        x = F.interpolate(
            x, size=(_SIDE, _SIDE), mode="bilinear", antialias=True, align_corners=False
        ).clamp_(0, 1)  # (N, 1, 28, 28)
    return x.cpu()


def _check_output(out: object, n: int) -> FeatureSet:
    features, probs = out if isinstance(out, tuple) else (out, None)
    if not isinstance(features, Tensor) or features.dim() < 2 or features.size(0) != n:
        got = tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__
        raise DataError(
            f"the feature extractor must return features (N, D) for N={n} images, got {got}"
        )
    features = features.detach().flatten(1).cpu()
    if probs is not None:
        if not isinstance(probs, Tensor) or probs.dim() != 2 or probs.size(0) != n:
            raise DataError(
                f"the feature extractor's probabilities must have shape (N, C) for N={n}"
            )
        probs = probs.detach().cpu()
    return FeatureSet(features, probs)


@torch.no_grad()
def extract_features(
    images: Tensor,
    extractor: FeatureExtractor | None = None,
    *,
    batch_size: int = 500,
    device: str | torch.device = "auto",
) -> FeatureSet:
    """Features (and probabilities) of ``images`` in batches.

    Args:
        images: uint8 or [0, 1] float images, ``(N, 1, H, W)`` or ``(N, H, W)``;
            resized to 28x28 if needed.
        extractor: A :data:`FeatureExtractor`; ``None`` uses :class:`ClassifierFeatures`.
        batch_size: Images per call of the extractor.
        device: Where the default extractor runs (``"auto"``: CUDA, MPS, then CPU).

    Returns:
        A :class:`FeatureSet` on the CPU.

    Example:
        >>> extract_features(torch.rand(5, 1, 28, 28), device="cpu").features.shape
        torch.Size([5, 128])
    """
    check_int(batch_size, "batch_size")
    x = prepare_images(images)
    run = extractor if extractor is not None else _default_extractor(resolve_device(device))
    if not callable(run):
        raise ConfigError(f"extractor must be callable, got {type(run).__name__}")
    parts = [_check_output(run(chunk), chunk.size(0)) for chunk in torch.split(x, batch_size)]
    features = torch.cat([p.features for p in parts])
    probs = [p.probs for p in parts]
    if any(p is None for p in probs):
        return FeatureSet(features)
    return FeatureSet(features, torch.cat([p for p in probs if p is not None]))


def real_features(
    *,
    root: str | os.PathLike[str] | None = None,
    train: bool = False,
    limit: int | None = None,
    batch_size: int = 500,
    device: str | torch.device = "auto",
) -> FeatureSet:
    """The default classifier's features of real MNIST (the 10k test set by default), cached.

    Args:
        root: MNIST folder (see :func:`mnistgan.data.data_root`).
        train: Use the training split instead of the test split.
        limit: Use only the first ``limit`` images.
        batch_size: Images per forward pass.
        device: Where the classifier runs.

    Example:
        >>> len(real_features(limit=200, device="cpu"))
        200
    """
    dev = resolve_device(device)
    key = (f"{data_root(root)}|{'train' if train else 'test'}", str(dev), limit)
    if key not in _REAL_CACHE:
        images, _ = load_tensors("mnist", root=root, train=train, limit=limit)
        _REAL_CACHE[key] = extract_features(images, batch_size=batch_size, device=dev)
    return _REAL_CACHE[key]


@torch.no_grad()
def _generate(
    source: object, n: int, latent_dim: int | None, seed: int, batch_size: int
) -> tuple[Tensor, Tensor | None]:
    """Images from a GAN, a callable ``z -> images`` or a tensor (see :func:`evaluate`),
    and the labels they were asked for (a conditional GAN: 0, 1, ..., 9, 0, ...)."""
    from mnistgan.gan import GAN
    from mnistgan.sampling import Sampler

    if isinstance(source, Tensor):
        return source, None
    generator = torch.Generator().manual_seed(seed)
    if isinstance(source, (GAN, Sampler)):
        z = source.sample_latent(n, generator=generator)
        if source.num_classes is None:
            return source.generate(z, batch_size=batch_size), None
        labels = torch.arange(n) % source.num_classes  # balanced classes
        return source.generate(z, labels, batch_size=batch_size), labels
    if not callable(source):
        raise ConfigError(
            "source must be a mnistgan GAN, a callable z -> images (with latent_dim=) or a "
            f"tensor of images, got {type(source).__name__}"
        )
    if latent_dim is None:
        raise ConfigError(
            "latent_dim is needed to draw latent vectors for a generator callable; pass "
            "evaluate(G, n, latent_dim=100), or pass a GAN or a tensor of images"
        )
    check_int(latent_dim, "latent_dim")
    z = torch.randn(n, latent_dim, generator=generator)  # (n, latent_dim)
    was_training = source.training if isinstance(source, nn.Module) else False
    device = torch.device("cpu")
    if isinstance(source, nn.Module):
        source.eval()
        param = next(iter(source.parameters()), None)
        device = param.device if param is not None else device
    try:
        chunks = [source(chunk.to(device)) for chunk in torch.split(z, batch_size)]
    finally:
        if isinstance(source, nn.Module):
            source.train(was_training)
    if not all(isinstance(c, Tensor) for c in chunks):
        raise DataError("the generator callable must return a tensor of images")
    return torch.cat([c.detach().float().cpu() for c in chunks]), None


def evaluate(
    source: GAN | Sampler | Callable[[Tensor], Tensor] | Tensor,
    n: int = 10000,
    *,
    real: Tensor | FeatureSet | None = None,
    real_labels: Tensor | None = None,
    labels: Tensor | None = None,
    latent_dim: int | None = None,
    seed: int = 0,
    batch_size: int = 500,
    device: str | torch.device = "auto",
    extractor: FeatureExtractor | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    k_pr: int = 3,
    k_dc: int = 5,
) -> dict[str, float]:
    """Every quality metric of a generator (or a set of images) against real MNIST.

    Generated images are drawn from latents of a generator seeded with ``seed`` (the
    global random state is not touched), resized to 28x28 if needed, and mapped to the
    extractor's features; the statistics are computed in float64.

    Args:
        source: A :class:`mnistgan.GAN` (its EMA generator if it has one), a
            :class:`~mnistgan.sampling.Sampler` (e.g. from a ``.safetensors``
            generator file, :func:`mnistgan.export.load_sampler`), a callable
            ``z (N, latent_dim) -> images (N, 1, H, W) in [0, 1]`` (e.g. a generator
            module; pass ``latent_dim``), or a tensor of images (all of them are used and
            ``n`` is ignored).
        n: Number of images to generate.
        real: The reference set: ``None`` for the 10k MNIST test images (with the
            default extractor, their features ship with mnistgan, see
            :func:`~mnistgan.metrics.reference_stats`: no dataset is needed), a tensor of
            images, or a :class:`FeatureSet` computed before (it must come from the same
            ``extractor``).
        real_labels: Labels ``(N,)`` of a ``real`` set, for the per-digit Fréchet
            distances (the default test set brings its own).
        labels: For a tensor ``source``: the digit each image shows or was asked for
            (from an ``ImageFolder`` tree, a label array, a conditional generator), for
            ``label_accuracy`` and per-digit distances grouped by these labels.
        latent_dim: Latent size, for a callable ``source``.
        seed: Seed of the latent vectors and of KID's subsets.
        batch_size: Images per forward pass.
        device: Where the default extractor runs.
        extractor: A :data:`FeatureExtractor`; ``None`` uses mnistgan's MNIST classifier.
        kid_subsets: Subset pairs for KID.
        kid_subset_size: Samples per KID subset.
        k_pr: Neighbours for precision and recall.
        k_dc: Neighbours for density and coverage.

    Returns:
        ``{"fd", "kid", "kid_std", "precision", "recall", "density", "coverage", "score",
        "modes", "kl_uniform", "class_0", …, "class_9"}`` as floats (the keys from
        ``score`` on appear only when the extractor gives probabilities). With the
        default extractor also ``fd_train``, the Fréchet distance to the shipped
        statistics of the 60k training images. For a conditional GAN, whose samples
        are drawn with balanced labels 0, 1, …, 9, 0, …, or images with ``labels``,
        also ``label_accuracy`` (share of samples the classifier reads as the digit they
        were asked for or labelled with). When the real set's labels are known (always
        for the default test set), ``fd_class_0`` … ``fd_class_9``: the Fréchet
        distance of each digit's samples to the real images of that digit, the samples
        grouped by their labels if known, else by the classifier's reading; only for
        digits with more samples than feature dimensions (129 with the classifier).

    Raises:
        ConfigError: On bad arguments.
        DataError: On degenerate samples: too few for the feature size, constant images,
            NaNs, wrong shapes or values outside [0, 1].

    Example:
        >>> from mnistgan import GAN
        >>> real = torch.rand(300, 1, 28, 28)
        >>> gan = GAN.from_preset("vanilla")
        >>> result = evaluate(gan, 300, real=real, kid_subsets=2, device="cpu")
        >>> sorted(result)[:4], result["fd"] > 0
        (['class_0', 'class_1', 'class_2', 'class_3'], True)
    """
    check_int(n, "n")
    check_int(batch_size, "batch_size")
    check_int(seed, "seed", minimum=0)
    dev = resolve_device(device)
    generated, asked = _generate(source, n, latent_dim, seed, batch_size)
    fake_images = prepare_images(generated, "generated images")
    if labels is not None:
        if not isinstance(source, Tensor):
            raise ConfigError("labels= goes with a tensor of images; a GAN brings its own")
        if not isinstance(labels, Tensor) or labels.shape != (fake_images.size(0),):
            raise ConfigError(
                f"labels must be a 1-D tensor with one label per image "
                f"({fake_images.size(0)}), got {labels!r}"
            )
        asked = labels.long().cpu()
    if real_labels is not None and (not isinstance(real_labels, Tensor) or real_labels.dim() != 1):
        raise ConfigError(
            f"real_labels must be a 1-D tensor of class indices, got {real_labels!r}"
        )
    if real is None:
        if extractor is not None:
            images, loaded_labels = load_tensors("mnist", train=False)
            real_set = extract_features(images, extractor, batch_size=batch_size, device=dev)
            test_labels: Tensor | None = loaded_labels
        else:
            from mnistgan.metrics.reference import reference_stats

            reference = reference_stats("test")
            real_set, test_labels = reference.feature_set(), reference.labels
        if real_labels is None:
            real_labels = test_labels
    elif isinstance(real, FeatureSet):
        real_set = real
    else:
        real_set = extract_features(real, extractor, batch_size=batch_size, device=dev)
    fake_set = extract_features(fake_images, extractor, batch_size=batch_size, device=dev)
    kid = kernel_distance(
        real_set.features,
        fake_set.features,
        subsets=kid_subsets,
        subset_size=kid_subset_size,
        seed=seed,
    )
    manifold = manifold_metrics(real_set.features, fake_set.features, k_pr=k_pr, k_dc=k_dc)
    result = {
        "fd": frechet_distance(real_set.features, fake_set.features),
        "kid": kid.mean,
        "kid_std": kid.std,
        "precision": manifold.precision,
        "recall": manifold.recall,
        "density": manifold.density,
        "coverage": manifold.coverage,
    }
    if fake_set.probs is not None:
        hist = class_histogram(fake_set.probs)
        result["score"] = classifier_score(fake_set.probs)
        result["modes"] = float(modes_covered(hist))
        result["kl_uniform"] = kl_to_uniform(hist)
        result.update({f"class_{i}": float(share) for i, share in enumerate(hist)})
    if extractor is None:
        from mnistgan.metrics.reference import reference_stats

        train = reference_stats("train")
        result["fd_train"] = frechet_distance_from_stats(
            train.mean, train.cov, *gaussian_stats(fake_set.features)
        )
    result.update(_class_metrics(real_set, real_labels, fake_set, asked))
    return result


def _class_metrics(
    real: FeatureSet, real_labels: Tensor | None, fake: FeatureSet, asked: Tensor | None
) -> dict[str, float]:
    """``label_accuracy`` (the classifier agrees with the requested or given digit) and,
    against a labelled real set, the Fréchet distance of each class (``fd_class_<k>``),
    the samples grouped by ``asked`` if known, else by the classifier's reading."""
    out: dict[str, float] = {}
    if asked is not None and fake.probs is not None:
        out["label_accuracy"] = float((fake.probs.argmax(1) == asked).double().mean())
    group = asked if asked is not None else (None if fake.probs is None else fake.probs.argmax(1))
    if real_labels is None or group is None:
        return out
    if real_labels.numel() != len(real):
        raise ConfigError(
            f"real_labels holds {real_labels.numel()} labels for {len(real)} real images"
        )
    asked = group
    for k in torch.unique(asked).tolist():
        fake_k, real_k = fake.features[asked == k], real.features[real_labels == k]
        if min(len(fake_k), len(real_k)) > fake.features.size(1):  # enough for a covariance
            try:
                out[f"fd_class_{k}"] = frechet_distance(real_k, fake_k)
            except DataError as err:  # e.g. every sample of this digit is the same image
                logger.warning("no Fréchet distance for digit %s: %s", k, err)
    return out


_LABELS: Final[dict[str, str]] = {
    "fd": "Fréchet distance ↓",
    "kid": "KID ↓",
    "kid_std": "KID std",
    "precision": "precision (k=3) ↑",
    "recall": "recall (k=3) ↑",
    "density": "density (k=5) ~1",
    "coverage": "coverage (k=5) ↑",
    "score": "classifier score ↑",
    "modes": "modes >= 1% ↑",
    "kl_uniform": "KL(classes || uniform) ↓",
    "label_accuracy": "label accuracy ↑",
    "fd_train": "FD to train stats ↓",
    "copies": "near-copies of train ↓",
    "nn_distance": "median NN distance to train",
    "train_nn_distance": "  train's own median NN",
    "copy_threshold": "  near-copy threshold",
}


def _label(key: str, names: Mapping[str, str]) -> str:
    if key in names:
        return names[key]
    if key.startswith("class_"):
        return f"class {key[6:]} share"
    if key.startswith("fd_class_"):
        return f"FD of digit {key[9:]} ↓"
    return key


def _cell(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    if key in ("modes", "steps"):
        return f"{value:,.0f}"
    if key.startswith("class_") or key in ("copies", "label_accuracy"):
        return f"{100 * value:.1f}%"
    if key.startswith("kid"):
        return f"{value:.5f}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"


def format_table(
    columns: Mapping[str, Mapping[str, float]],
    keys: Sequence[str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
) -> str:
    """A plain-text table: one row per metric, one column per result set.

    Args:
        columns: Column name → :func:`evaluate`'s result (e.g. a model's and the floor).
        keys: Rows to show; by default :data:`METRIC_KEYS` then the class shares.
        labels: Row labels for extra keys (the metrics have theirs).

    Example:
        >>> print(format_table({"model": {"fd": 1.5, "modes": 10.0}}, keys=["fd", "modes"]))
        metric              model
        Fréchet distance ↓  1.5000
        modes >= 1% ↑       10
    """
    if keys is None:
        keys = [*METRIC_KEYS, *(f"class_{i}" for i in range(10))]
    present = [k for k in keys if any(k in col for col in columns.values())]
    names = {**_LABELS, **(labels or {})}
    header = ["metric", *columns]
    rows = [[_label(k, names), *(_cell(k, c.get(k)) for c in columns.values())] for k in present]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
