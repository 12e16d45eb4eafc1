"""Quality metrics for generated digits, without downloading anything.

Everything is measured in the 128-dim penultimate feature space of a small MNIST
classifier that ships with mnistgan (:mod:`mnistgan.metrics.classifier`, trained by
``python -m mnistgan.metrics.train``, weights checked by SHA-256 on load), on 10,000
generated images against the 10,000 MNIST test images by default; all statistics are
computed in float64.

=====================  ======================================================  ==========
key                    metric                                                  real floor
=====================  ======================================================  ==========
``fd``                 Fréchet distance of Gaussians fitted to the features    0.1754
``kid``                KID: unbiased MMD², cubic kernel, 100 subsets of 1000   0.00007
``precision``          share of fakes inside the real k=3 manifold             0.8556
``recall``             share of reals inside the fake k=3 manifold             0.8802
``density``            Naeem et al. density, k=5 (about 1 for real data)       0.9143
``coverage``           Naeem et al. coverage, k=5                              0.9430
``score``              classifier score ``exp(E KL(p(y|x) || p(y)))``, max 10  9.8014
``modes``              classes holding >= 1% of the samples (argmax), max 10   10
``kl_uniform``         KL(class histogram || uniform), in nats                 0.0026
=====================  ======================================================  ==========

The *real floor* is what real data scores: 10,000 MNIST training images (drawn with
seed 0) against the 10,000 test images, KID seed 0
(:data:`REAL_FLOOR`; measure it again with
``python -m mnistgan.metrics.floor``). ``evaluate`` also returns ``kid_std`` and the
class shares ``class_0`` … ``class_9``.

Four ways in:

* :func:`evaluate` — every metric of a :class:`~mnistgan.GAN`, a generator callable or
  a tensor of images, as a dict of floats;
* :class:`MetricsCallback` — the same every few epochs of ``fit``, logged into the
  history's epoch rows, without touching the global random state;
* :func:`load_images` and :func:`score_inputs` — images from anywhere (arrays, image
  folders, ``ImageFolder`` trees, exported generators, checkpoints), several side by
  side, with the :func:`memorisation` check and :func:`write_report`;
* ``mnistgan eval INPUT [INPUT ...] [--json|--csv]`` on the command line.

The real set's statistics ship with the classifier (:func:`reference_stats`,
``reference_stats.npz``, SHA-256 checked and tied to :data:`CLASSIFIER_SHA256`), so no
metric but the memorisation check needs MNIST on disk.

While training, :class:`HealthMonitor` reads a fixed batch with the same classifier
every few hundred steps and warns about noise, mode collapse, ignored labels, a
winning discriminator and divergence (:mod:`mnistgan.metrics.monitor`).

The metric functions (:func:`frechet_distance`, :func:`kernel_distance`,
:func:`manifold_metrics`, :func:`classifier_score`, …) take plain feature tensors and
work with any features.

**Your own feature extractor.** Any callable that maps images ``(N, 1, 28, 28)`` in
[0, 1] to features ``(N, D)`` — or to ``(features, probabilities (N, C))``, which
enables the score and the class histogram — can replace the classifier. For example,
with Inception-v3 weights you obtained yourself (mnistgan never downloads them)::

    import torch, torchvision
    from torchvision.models.feature_extraction import create_feature_extractor

    net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    net.load_state_dict(torch.load("inception_v3.pth", weights_only=True))
    body = create_feature_extractor(net.eval(), {"avgpool": "pool", "fc": "logits"})
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    @torch.no_grad()
    def inception(images):  # (N, 1, 28, 28) in [0, 1]
        x = torch.nn.functional.interpolate(images, size=(299, 299), mode="bilinear")
        out = body((x.repeat(1, 3, 1, 1) - mean) / std)
        return out["pool"].flatten(1), out["logits"].softmax(1)  # (N, 2048), (N, 1000)

    metrics = evaluate(gan, 10000, extractor=inception)

Real-set features are then computed with the same extractor; to reuse them, compute
them once with :func:`extract_features` and pass ``real=`` that
:class:`FeatureSet`. Note that the floor above only holds for the shipped classifier.

Example:
    >>> import torch
    >>> from mnistgan.metrics import frechet_distance, class_histogram, modes_covered
    >>> feats = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    >>> frechet_distance(feats, feats) < 1e-9
    True
    >>> modes_covered(class_histogram(torch.tensor([1, 1, 2, 7])))
    3

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from mnistgan.metrics.callback import MetricsCallback
from mnistgan.metrics.classifier import (
    CLASSIFIER_SHA256,
    FEATURE_DIM,
    TEST_ACCURACY,
    MnistClassifier,
    classifier_path,
    load_classifier,
)
from mnistgan.metrics.compare import (
    MIN_IMAGES,
    ScoredInput,
    comparison_columns,
    comparison_csv,
    comparison_json,
    comparison_table,
    score_inputs,
    write_report,
)
from mnistgan.metrics.copies import (
    COPY_LEVEL,
    MemorisationResult,
    memorisation,
    nearest_neighbours,
    save_copies,
)
from mnistgan.metrics.evaluate import (
    METRIC_KEYS,
    REAL_FLOOR,
    ClassifierFeatures,
    FeatureExtractor,
    FeatureSet,
    evaluate,
    extract_features,
    format_table,
    prepare_images,
    real_features,
)
from mnistgan.metrics.functional import (
    KIDResult,
    ManifoldResult,
    class_histogram,
    classifier_score,
    density_coverage,
    frechet_distance,
    frechet_distance_from_stats,
    gaussian_stats,
    kernel_distance,
    kl_to_uniform,
    manifold_metrics,
    modes_covered,
    precision_recall,
)
from mnistgan.metrics.inputs import (
    VALUE_RANGES,
    ImageInput,
    load_images,
    to_unit_images,
)
from mnistgan.metrics.monitor import HealthMonitor, HealthProblem
from mnistgan.metrics.reference import (
    REFERENCE_SHA256,
    ReferenceStats,
    copy_threshold,
    reference_path,
    reference_stats,
)

__all__ = [
    "CLASSIFIER_SHA256",
    "COPY_LEVEL",
    "FEATURE_DIM",
    "METRIC_KEYS",
    "MIN_IMAGES",
    "REAL_FLOOR",
    "REFERENCE_SHA256",
    "TEST_ACCURACY",
    "VALUE_RANGES",
    "ClassifierFeatures",
    "FeatureExtractor",
    "FeatureSet",
    "HealthMonitor",
    "HealthProblem",
    "ImageInput",
    "KIDResult",
    "ManifoldResult",
    "MemorisationResult",
    "MetricsCallback",
    "MnistClassifier",
    "ReferenceStats",
    "ScoredInput",
    "class_histogram",
    "classifier_path",
    "classifier_score",
    "comparison_columns",
    "comparison_csv",
    "comparison_json",
    "comparison_table",
    "copy_threshold",
    "density_coverage",
    "evaluate",
    "extract_features",
    "format_table",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "kernel_distance",
    "kl_to_uniform",
    "load_classifier",
    "load_images",
    "manifold_metrics",
    "memorisation",
    "modes_covered",
    "nearest_neighbours",
    "precision_recall",
    "prepare_images",
    "real_features",
    "reference_path",
    "reference_stats",
    "save_copies",
    "score_inputs",
    "to_unit_images",
    "write_report",
]
