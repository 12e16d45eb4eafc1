""":class:`HealthMonitor`: a callback that notices, while ``fit`` runs, that training went wrong.

Every ``every`` steps the monitor draws one fixed batch from the generator (the EMA
generator if the model keeps one; fixed latents from its own seeded
:class:`torch.Generator`, never the global random state) and reads it, and it reads the
step logs (``loss_d``, ``loss_g``, ``d_real``, ``d_fake_before``, ``d_fake_after``) since
its previous check. It recognises:

* ``not_digits``: after ``warmup`` steps, fewer than ``min_digit_share`` of the samples
  look like digits (mostly dark background, no pixel noise, read with confidence by the
  shipped classifier). On datasets other than MNIST: the samples are noise (neighbouring
  pixels differ about as much as random ones do).
* ``mode_collapse``, after ``warmup``: the samples look like digits but fall into fewer
  than ``min_modes`` classes (MNIST only); or they are near-identical (mean pixel
  distance below ``min_diversity``; any dataset); or, for a conditional model, the
  samples asked for the same label are (one image per digit: the generator ignores its
  noise). Young runs pass through such phases (the default DCGAN draws mostly 8s around
  step 150), hence the warmup.
* ``labels_ignored`` (conditional models, MNIST only), after ``warmup``: the classifier
  reads the asked digit in fewer than ``min_label_accuracy`` of the samples.
* ``d_wins``, after ``warmup``: ``D(G(z))`` pinned under ``d_fake_floor`` (BCE losses),
  or the critic's gap ``d_real - d_fake`` above ``critic_gap_limit`` (other losses).
* ``divergence``: a loss's mean magnitude above ``loss_limit``, or non-finite losses or
  images.

Digits are MNIST's (``dataset="mnist"``, the default): the classifier knows only
them, so for ``"fashion-mnist"``, ``"kmnist"`` or images that are not one-channel, the
checks marked "MNIST only" are off and ``not_digits`` looks for noise instead. The
model's config does not say what it is trained on, so pass ``dataset`` (``mnistgan
train`` passes its ``--dataset``).

A problem is reported when ``patience`` checks in a row see it, once per episode: a
warning on the ``mnistgan.metrics.monitor`` logger that says what was seen, since which
step, why it matters and what to try. When a check no longer sees it, the episode ends
(logged at INFO) and a new one may be reported later. With ``on_problem="stop"`` a
report also sets ``model.stop_training``: the epoch ends early, its row gets
``health_stop = 1`` and :class:`~mnistgan.training.ModelCheckpoint` does not save it,
so the newest checkpoint is the last one taken before the problem (checkpoints are written
in the save phase, after every callback's ``on_epoch_end``, so the order of ``callbacks``
does not matter).

Readings go into the epoch rows of the history as ``health_*`` keys (the epoch's last
check), so :class:`~mnistgan.training.HistoryWriter` writes them and ``mnistgan plot``
draws them with the metrics; every check's readings are also in :attr:`HealthMonitor.readings`
and the reports in :attr:`HealthMonitor.problems`.

Cost: one generator pass and one classifier pass over ``n`` images per check (128
every 200 steps by default); ``benchmarks/monitor_overhead.py`` measures it against a
plain run (see the training health guide). A run with the monitor trains exactly as one without it.

Example:
    >>> from mnistgan import GAN
    >>> gan = GAN.from_preset("vanilla")
    >>> monitor = HealthMonitor(every=2, n=32, warmup=0)
    >>> batches = [torch.rand(8, 1, 28, 28) for _ in range(4)]
    >>> _ = gan.fit(batches, epochs=1, callbacks=[monitor], progress=False)
    >>> [int(r["step"]) for r in monitor.readings]
    [2, 4]
    >>> [p.kind for p in monitor.problems]  # 4 steps on random images: noise, not digits
    ['not_digits']

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import torch
from torch import Tensor

from mnistgan._checks import check_int
from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics.evaluate import ClassifierFeatures, prepare_images
from mnistgan.metrics.functional import class_histogram, modes_covered
from mnistgan.training.callbacks import Callback

if TYPE_CHECKING:
    from mnistgan.gan import GAN

__all__ = ["DIGIT_DATASETS", "PROBLEMS", "HealthMonitor", "HealthProblem", "OnProblem"]

logger = logging.getLogger(__name__)

OnProblem = Literal["warn", "stop"]
"""What :class:`HealthMonitor` does when it reports a problem."""

PROBLEMS: Final[tuple[str, ...]] = (
    "not_digits",
    "mode_collapse",
    "labels_ignored",
    "d_wins",
    "divergence",
)
"""The kinds of problem :class:`HealthMonitor` recognises."""

DIGIT_DATASETS: Final[tuple[str, ...]] = ("mnist",)
"""Datasets whose samples the shipped digit classifier can read."""

_KNOWN_DATASETS: Final = ("mnist", "fashion-mnist", "kmnist")
_MODE_SHARE: Final = 0.02  # a class counts as present with >= 2% of the samples
_BACKGROUND: Final = 0.1  # pixels darker than this are background
_MIN_BACKGROUND: Final = 0.6  # MNIST digits: >= 73% background in 98% of the test set
_MIN_CONFIDENCE: Final = 0.5  # real digits: >= 0.9 for 98%; noise scores 1.0 anyway

_LOGGED: Final = (
    "digits",
    "confidence",
    "modes",
    "label_accuracy",
    "diversity",
    "label_diversity",
    "roughness",
)

_TRY: Final[dict[str, str]] = {
    "not_digits": (
        "train longer if the run is young; otherwise a lower learning rate (--lr 1e-4), "
        "another loss (--loss hinge), or the default preset, which trains on a CPU in minutes"
    ),
    "mode_collapse": (
        "a lower learning rate (--lr 1e-4), an EMA of the generator (--ema-decay 0.999), "
        "a larger batch (--batch-size 128), another loss (--loss hinge or wgan-gp); or "
        "resume from a checkpoint taken before the collapse"
    ),
    "labels_ignored": (
        "the other conditioning (--conditioning acgan or projection), a larger aux_weight "
        "for acgan (--aux-weight 2), or the default preset, whose conditional form learns labels"
    ),
    "d_wins": (
        "an R1 penalty on the discriminator (--r1-gamma 1), a lower discriminator "
        "learning rate (--lr-d 1e-4), a non-saturating or softer loss (--loss hinge, "
        "lsgan), or a smaller discriminator"
    ),
    "divergence": (
        "a lower learning rate (--lr 1e-4), Adam betas (0.5, 0.999), the gradient penalty "
        "loss (--loss wgan-gp); resume from the last checkpoint before the blow-up"
    ),
}

_WHY: Final[dict[str, str]] = {
    "not_digits": "the generator has not learnt the data's images, and metrics computed now "
    "are meaningless",
    "mode_collapse": "a collapsed generator covers a sliver of the data and rarely recovers "
    "on its own",
    "labels_ignored": "asking for a digit does not give that digit, so the conditional model "
    "is of no use as one",
    "d_wins": "the generator gets almost no useful gradient while the discriminator tells "
    "every fake apart, so training stalls",
    "divergence": "the weights are running away; the next steps may turn them into NaN",
}


@dataclass(frozen=True)
class HealthProblem:
    """One reported episode of a problem.

    Attributes:
        kind: One of :data:`~mnistgan.metrics.monitor.PROBLEMS`.
        since: The global step of the first check that saw it (in this episode).
        step: The global step at which it was reported.
        message: The warning's text.
    """

    kind: str
    since: int
    step: int
    message: str


def _positive(value: object, name: str) -> int:
    return check_int(value, name)


def _number(value: object, name: str, low: float, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ConfigError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _roughness(images: Tensor) -> Tensor:
    """Per image: mean |difference of neighbouring pixels| over twice the pixels' std.

    About 0.1 for MNIST digits (0.07 to 0.15 for 98% of the test set), 0.58 for uniform
    noise and 1 for a checkerboard: high-frequency content relative to contrast, so it
    does not depend on the dataset's brightness.
    """
    dx = (images[..., 1:] - images[..., :-1]).abs().mean((1, 2, 3))
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean((1, 2, 3))
    std = images.std((1, 2, 3))
    return (dx + dy) / 2 / (2 * std + 1e-3)  # (N,)


def _label_diversity(images: Tensor, labels: Tensor) -> float | None:
    """Mean of :func:`_diversity` within each label that has two samples or more.

    Real MNIST digits of one class: 0.23 (ones) to 0.36 (zeros), 0.32 on average. A
    conditional generator that ignores its noise draws one image per label: near 0.
    ``None`` when no label has two samples.
    """
    groups = [images[labels == label] for label in labels.unique()]
    values = [_diversity(group) for group in groups if group.size(0) >= 2]
    return math.fsum(values) / len(values) if values else None


def _diversity(images: Tensor) -> float:
    """Mean pixel RMS distance between two different samples (0.36 for MNIST digits)."""
    flat = images.flatten(1).double()  # (N, H*W)
    n = flat.size(0)
    if n < 2:
        return float("nan")
    dist = torch.cdist(flat, flat) / math.sqrt(flat.size(1))  # (N, N)
    return float(dist.sum() / (n * (n - 1)))


class HealthMonitor(Callback):
    """Watch a training run and report collapse, noise, ignored labels, a winning
    discriminator and divergence, with what to try (see the module's table).

    Args:
        every: Check every this many steps.
        n: Samples in the fixed batch (conditional models ask for each class in turn).
        seed: Seed of the fixed latents.
        warmup: Steps before the checks that young runs fail anyway (all but
            ``divergence``) start.
        patience: Checks in a row that must see a problem before it is reported.
        on_problem: ``"warn"`` (log a warning) or ``"stop"`` (also end training, without
            saving the flagged epoch's checkpoint).
        dataset: What the model is trained on: ``"mnist"`` enables the digit checks;
            ``"fashion-mnist"`` and ``"kmnist"`` get only the dataset-free ones.
        min_digit_share: ``not_digits`` below this share of digit-like samples.
        min_modes: ``mode_collapse`` below this many digit classes holding >= 2% each.
        min_diversity: ``mode_collapse`` below this mean pixel distance, over the whole
            batch (MNIST: 0.36) or, for a conditional model, between samples asked for
            the same label (MNIST: 0.32 on average).
        max_roughness: Samples rougher than this are noise (MNIST: about 0.1).
        min_label_accuracy: ``labels_ignored`` below this label accuracy.
        d_fake_floor: ``d_wins`` when the mean ``D(G(z))`` after the D step is below.
        critic_gap_limit: ``d_wins`` when ``d_real - d_fake_before`` exceeds this
            (losses without probabilities: WGAN, hinge, LSGAN).
        loss_limit: ``divergence`` when a loss's mean magnitude exceeds this.
        device: Where the classifier runs; ``None``: the model's device.

    Raises:
        ConfigError: If an argument is out of range.

    Example:
        >>> HealthMonitor(on_problem="stop", dataset="fashion-mnist").digits
        False
    """

    main_process_only = True  # a stop on rank 0 stops every rank after the same step

    def __init__(
        self,
        *,
        every: int = 200,
        n: int = 128,
        seed: int = 0,
        warmup: int = 1000,
        patience: int = 2,
        on_problem: OnProblem = "warn",
        dataset: str = "mnist",
        min_digit_share: float = 0.5,
        min_modes: int = 8,
        min_diversity: float = 0.1,
        max_roughness: float = 0.35,
        min_label_accuracy: float = 0.5,
        d_fake_floor: float = 0.02,
        critic_gap_limit: float = 100.0,
        loss_limit: float = 100.0,
        device: str | torch.device | None = None,
    ) -> None:
        self.every = _positive(every, "every")
        self.n = _positive(n, "n")
        if self.n < 2:
            raise ConfigError(f"n must be at least 2 (diversity needs pairs), got {n}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be an int >= 0, got {seed!r}")
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ConfigError(f"warmup must be an int >= 0 (steps), got {warmup!r}")
        self.patience = _positive(patience, "patience")
        if on_problem not in ("warn", "stop"):
            raise ConfigError(f'on_problem must be "warn" or "stop", got {on_problem!r}')
        if dataset not in _KNOWN_DATASETS:
            raise ConfigError(
                f"dataset must be one of {list(_KNOWN_DATASETS)}, got {dataset!r}; it decides "
                "which checks make sense (the classifier reads MNIST digits only)"
            )
        self.seed = seed
        self.warmup = warmup
        self.on_problem: OnProblem = on_problem
        self.dataset = dataset
        self.min_digit_share = _number(min_digit_share, "min_digit_share", 0, 1)
        self.min_modes = _positive(min_modes, "min_modes")
        self.min_diversity = _number(min_diversity, "min_diversity", 0, 1)
        self.max_roughness = _number(max_roughness, "max_roughness", 0, 10)
        self.min_label_accuracy = _number(min_label_accuracy, "min_label_accuracy", 0, 1)
        self.d_fake_floor = _number(d_fake_floor, "d_fake_floor", 0, 1)
        self.critic_gap_limit = _number(critic_gap_limit, "critic_gap_limit", 0, math.inf)
        self.loss_limit = _number(loss_limit, "loss_limit", 0, math.inf)
        self.device = device
        self.readings: list[dict[str, float]] = []
        """Every check's readings (``step``, ``epoch`` and the values of :meth:`read`)."""
        self.problems: list[HealthProblem] = []
        """Every reported episode, oldest first."""
        self._seen: dict[str, int] = {}  # kind -> step of the first check seeing it
        self._streak: dict[str, int] = {}  # kind -> checks in a row seeing it
        self._reported: set[str] = set()  # kinds reported in their current episode
        self._stop_epoch = False
        self._classifier: ClassifierFeatures | None = None
        self._z: Tensor | None = None
        self._labels: Tensor | None = None
        self._first_row = 0

    @property
    def digits(self) -> bool:
        """Whether the digit checks (classifier) run: the dataset is MNIST."""
        return self.dataset in DIGIT_DATASETS

    @property
    def active(self) -> dict[str, int]:
        """The problems seen by the latest check, with the step each episode began."""
        return dict(self._seen)

    # ------------------------------------------------------------------ hooks

    def on_fit_start(self, model: GAN, logs: dict[str, Any]) -> None:
        """Draw the fixed latents and load the classifier."""
        generator = torch.Generator().manual_seed(self.seed)
        self._z = model.sample_latent(self.n, generator=generator)
        k = model.num_classes
        self._labels = None if k is None else torch.arange(self.n) % k
        self._first_row = len(model.history)
        self._stop_epoch = False
        use_classifier = self.digits and model.image_shape[0] == 1
        if use_classifier and self._classifier is None:
            device = model.device if self.device is None else self.device
            # Building the network initialises its weights from the global generator
            # before the shipped ones replace them: keep the global state untouched.
            with torch.random.fork_rng(devices=[]):
                self._classifier = ClassifierFeatures(device=device)
        elif not use_classifier and self.digits:
            logger.info(
                "HealthMonitor: %d-channel images; the digit checks need one channel and are off",
                model.image_shape[0],
            )

    def on_batch_end(self, model: GAN, batch_index: int, logs: dict[str, Tensor]) -> None:
        """Check on schedule."""
        if model.global_step % self.every == 0:
            self.check(model)

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        """Put the epoch's last readings (and ``health_stop``) into the epoch row."""
        steps = [r for r in self.readings if r["epoch"] == epoch]
        if steps:
            for key in _LOGGED:
                if key in steps[-1]:
                    logs[f"health_{key}"] = steps[-1][key]
            logs["health_problems"] = float(len(self._reported))
        if self._stop_epoch:
            logs["health_stop"] = 1.0
            self._stop_epoch = False

    # ------------------------------------------------------------------ reading

    def _window(self, model: GAN) -> dict[str, float]:
        """Means of the step logs since the previous check."""
        rows = model.history.steps[self._first_row :]
        self._first_row = len(model.history.steps)
        out: dict[str, float] = {}
        for key in ("loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after"):
            values = [row[key] for row in rows if key in row]
            if values:
                out[key] = math.fsum(values) / len(values)
        return out

    @torch.no_grad()
    def read(self, model: GAN) -> dict[str, float]:
        """The readings of the fixed batch and of the step logs since the previous check.

        Keys: ``roughness``, ``diversity``, ``finite``, for conditional models
        ``label_diversity`` (within each label); with the digit checks also ``digits``
        (share of digit-like samples), ``confidence``, ``modes`` and, for conditional
        models, ``label_accuracy``; from the step logs, the means of
        ``loss_d``, ``loss_g``, ``d_real``, ``d_fake_before`` and ``d_fake_after``.
        """
        if self._z is None:
            self.on_fit_start(model, {})
        assert self._z is not None
        values = self._window(model)
        try:
            images = prepare_images(model.generate(self._z, self._labels))  # (n, 1, 28, 28)
        except DataError:  # NaN or infinity in the images
            values["finite"] = 0.0
            return values
        values["finite"] = 1.0
        rough = _roughness(images)  # (n,)
        values["roughness"] = float(rough.median())
        values["diversity"] = _diversity(images)
        if self._labels is not None:
            within = _label_diversity(images, self._labels)
            if within is not None:
                values["label_diversity"] = within
        if self._classifier is not None:
            _, probs = self._classifier(images)  # (n, 10)
            probs = probs.cpu()
            confidence = probs.max(1).values
            background = (images < _BACKGROUND).float().mean((1, 2, 3))
            digit_like = (
                (confidence >= _MIN_CONFIDENCE)
                & (background >= _MIN_BACKGROUND)
                & (rough <= self.max_roughness)
            )
            values["digits"] = float(digit_like.float().mean())
            values["confidence"] = float(confidence.mean())
            hist = class_histogram(probs)
            values["modes"] = float(modes_covered(hist, _MODE_SHARE))
            values["top_class"] = float(hist.argmax())
            values["top_share"] = float(hist.max())
            if self._labels is not None and probs.size(1) >= int(self._labels.max()) + 1:
                values["label_accuracy"] = float((probs.argmax(1) == self._labels).double().mean())
        return values

    def _problems(self, model: GAN, v: Mapping[str, float]) -> dict[str, str]:
        """The problems these readings show, each with what was seen."""
        found: dict[str, str] = {}
        step = model.global_step
        warm = step >= self.warmup
        losses = {k: v[k] for k in ("loss_d", "loss_g") if k in v}
        if v.get("finite", 1.0) < 1 or not all(math.isfinite(x) for x in v.values()):
            found["divergence"] = "the generated images or the logged values hold NaN or infinity"
        else:
            big = {k: x for k, x in losses.items() if abs(x) > self.loss_limit}
            if big:
                what = ", ".join(f"mean {k} = {x:.4g}" for k, x in big.items())
                found["divergence"] = f"{what}, beyond ±{self.loss_limit:g}"
        if "divergence" in found:
            return found
        digits = v.get("digits")
        if warm:
            if digits is not None and digits < self.min_digit_share:
                found["not_digits"] = (
                    f"only {digits:.0%} of {self.n} fixed samples look like digits (mostly dark "
                    f"background, smooth strokes, read with confidence by the classifier; "
                    f"median roughness {v['roughness']:.2f}, MNIST's is about 0.1)"
                )
            elif digits is None and v["roughness"] > self.max_roughness:
                found["not_digits"] = (
                    f"the samples are noise: neighbouring pixels differ as much as random "
                    f"ones (median roughness {v['roughness']:.2f}, above {self.max_roughness:g}; "
                    "real images score about 0.1)"
                )
        looks_like_digits = digits is not None and digits >= self.min_digit_share
        if warm and looks_like_digits and v["modes"] < self.min_modes:
            found["mode_collapse"] = (
                f"the samples look like digits but cover only {v['modes']:.0f} of 10 classes "
                f"(>= {_MODE_SHARE:.0%} each; digit {v['top_class']:.0f} is "
                f"{v['top_share']:.0%} of them), below {self.min_modes}"
            )
        elif warm and v["diversity"] < self.min_diversity:
            found["mode_collapse"] = (
                f"the samples are near-identical: mean pixel distance between two of them "
                f"{v['diversity']:.3f}, below {self.min_diversity:g} (real MNIST digits: 0.36)"
            )
        elif warm and v.get("label_diversity", math.inf) < self.min_diversity:
            found["mode_collapse"] = (
                f"the samples asked for the same label are near-identical (the generator "
                f"ignores its noise): mean pixel distance between two of them "
                f"{v['label_diversity']:.3f}, below {self.min_diversity:g} (real MNIST "
                f"digits of one class: 0.32 on average)"
            )
        accuracy = v.get("label_accuracy")
        if (
            warm
            and looks_like_digits
            and accuracy is not None
            and accuracy < self.min_label_accuracy
        ):
            found["labels_ignored"] = (
                f"the classifier reads the asked digit in only {accuracy:.0%} of the "
                f"samples (chance: 10%), below {self.min_label_accuracy:.0%}"
            )
        if warm and model.loss.probabilities and "d_fake_after" in v:
            if v["d_fake_after"] < self.d_fake_floor:
                found["d_wins"] = (
                    f"D(G(z)) after the D step averaged {v['d_fake_after']:.4f} since the last "
                    f"check (D(x) {v.get('d_real', float('nan')):.3f}), below "
                    f"{self.d_fake_floor:g}"
                )
        elif warm and "d_real" in v and "d_fake_before" in v:
            gap = v["d_real"] - v["d_fake_before"]
            if gap > self.critic_gap_limit:
                found["d_wins"] = (
                    f"the critic's gap d_real - d_fake averaged {gap:.4g} since the last "
                    f"check, above {self.critic_gap_limit:g}"
                )
        return found

    def check(self, model: GAN) -> dict[str, str]:
        """Read the model now, update the episodes and report; returns the problems seen.

        Called every ``every`` steps by ``fit``; call it yourself to check a model
        between runs.
        """
        values = self.read(model)
        step = model.global_step
        self.readings.append({"step": float(step), "epoch": float(model.epoch), **values})
        found = self._problems(model, values)
        for kind in list(self._seen):
            if kind not in found:
                since = self._seen.pop(kind)
                self._streak.pop(kind, None)
                if kind in self._reported:
                    self._reported.discard(kind)
                    logger.info(
                        "HealthMonitor: %s (seen since step %d) is gone at step %d",
                        kind,
                        since,
                        step,
                    )
        for kind, seen in found.items():
            self._seen.setdefault(kind, step)
            self._streak[kind] = self._streak.get(kind, 0) + 1
            if kind not in self._reported and self._streak[kind] >= self.patience:
                self._report(model, kind, seen)
        return found

    def _report(self, model: GAN, kind: str, seen: str) -> None:
        since, step = self._seen[kind], model.global_step
        stop = self.on_problem == "stop"
        message = (
            f"{kind.replace('_', ' ')} at step {step} (epoch {model.epoch + 1}; first seen at "
            f"step {since}, {self._streak[kind]} checks in a row): {seen}. Why it matters: "
            f"{_WHY[kind]}. Try: {_TRY[kind]}."
            + (
                " Stopping training (on_problem='stop'); this epoch's checkpoint is not saved."
                if stop
                else ""
            )
        )
        self._reported.add(kind)
        self.problems.append(HealthProblem(kind, since, step, message))
        logger.warning("HealthMonitor: %s", message)
        if stop:
            model.stop_training = True
            self._stop_epoch = True

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The open episodes and the reports so far, so a resumed run does not repeat them."""
        return {
            "seen": dict(self._seen),
            "streak": dict(self._streak),
            "reported": sorted(self._reported),
            "problems": [asdict(p) for p in self.problems],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._seen = {str(k): int(v) for k, v in state.get("seen", {}).items()}
        self._streak = {str(k): int(v) for k, v in state.get("streak", {}).items()}
        self._reported = {str(k) for k in state.get("reported", [])}
        self.problems = [HealthProblem(**p) for p in state.get("problems", [])]
