"""MNIST-family datasets and a fast in-memory loader.

Two ways to feed a GAN:

* :func:`load_dataset` returns the plain torchvision dataset (``ToTensor``, optionally
  ``Resize``), for use with :class:`torch.utils.data.DataLoader` or anything else that
  expects a map-style dataset.
* :func:`make_loader` (:func:`load_tensors` + :class:`InMemoryLoader`) keeps the whole
  split as one ``uint8`` tensor, optionally on the training device, and builds each batch
  with one ``index_select`` and one division. Its order depends only on ``(seed, epoch)``,
  so runs and resumed runs see the same batches.

Where the files live is decided by :func:`data_root`: the ``root`` argument, else the
``MNISTGAN_DATA_ROOT`` environment variable, else a per-user cache folder. Files are laid
out as torchvision expects (``<root>/MNIST/raw/train-images-idx3-ubyte`` and so on).

Example:
    >>> loader = make_loader("mnist", train=False, batch_size=32, limit=100)
    >>> x, y = next(iter(loader))
    >>> x.shape, x.dtype, y.shape
    (torch.Size([32, 1, 28, 28]), torch.float32, torch.Size([32]))
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, TypeAlias
from urllib.error import URLError

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from mnistgan._checks import check_images_range, check_int
from mnistgan.device import resolve_device
from mnistgan.errors import BatchTypeError, ConfigError, DataError, DatasetNotFoundError

__all__ = [
    "DATASETS",
    "DATA_ROOT_ENV",
    "RAW_FILES",
    "Batch",
    "InMemoryLoader",
    "data_root",
    "load_dataset",
    "load_tensors",
    "make_loader",
]

_LOG = logging.getLogger(__name__)

DATASETS: Final[tuple[str, ...]] = ("mnist", "fashion-mnist", "kmnist")
"""Names accepted by :func:`load_dataset`, :func:`load_tensors` and :func:`make_loader`."""

DATA_ROOT_ENV: Final = "MNISTGAN_DATA_ROOT"
"""Environment variable naming the default data folder (read at call time, never at import)."""

RAW_FILES: Final[tuple[str, ...]] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
"""The four uncompressed IDX files torchvision needs in ``<root>/<Folder>/raw/``."""

Batch: TypeAlias = tuple[Tensor, Tensor] | Tensor
"""What :class:`InMemoryLoader` yields: ``(x, y)``, or ``x`` alone when it has no labels."""

_TORCHVISION_CLASS_NAMES: Final[dict[str, str]] = {
    "mnist": "MNIST",
    "fashion-mnist": "FashionMNIST",
    "kmnist": "KMNIST",
}

_RESIZE_CHUNK: Final = 4096  # images resized at once by load_tensors (bounds peak memory)


# --------------------------------------------------------------------------- validation


def _check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int >= 1, else raise a ConfigError naming ``name``."""
    return check_int(value, name, hint=f"pass e.g. {name}=64")


def _check_optional_positive_int(value: object, name: str) -> int | None:
    """Like :func:`_check_positive_int` but also accept ``None``."""
    return None if value is None else _check_positive_int(value, name)


def _check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) >= ``minimum``, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _check_shard(rank: object, world_size: object) -> tuple[int, int]:
    """Return ``(rank, world_size)`` if ``0 <= rank < world_size``, else raise ConfigError."""
    world = _check_positive_int(world_size, "world_size")
    index = _check_int(rank, "rank", minimum=0)
    if index >= world:
        raise ConfigError(
            f"rank must be in [0, world_size - 1] = [0, {world - 1}], got {index}; each "
            "process passes its own rank (torch.distributed.get_rank())"
        )
    return index, world


def _check_bool(value: object, name: str) -> bool:
    """Return ``value`` if it is a bool, else raise ConfigError (``"false"`` is truthy)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def _check_name(name: object) -> str:
    """Normalise a dataset name (case, ``_`` for ``-``) and check that it is known."""
    if isinstance(name, str):
        key = name.strip().lower().replace("_", "-")
        if key in _TORCHVISION_CLASS_NAMES:
            return key
    raise ConfigError(
        f"name must be one of {', '.join(repr(n) for n in DATASETS)}, got {name!r}; "
        "pick one of those (other image folders: build an InMemoryLoader from your tensors)"
    )


# --------------------------------------------------------------------------- files


def _root_and_source(root: object) -> tuple[Path, str]:
    """Resolve the data folder and say where the choice came from (for error messages)."""
    if root is not None:
        if not isinstance(root, (str, os.PathLike)) or not os.fspath(root):
            raise ConfigError(
                f"root must be a non-empty path (str or os.PathLike) or None, got {root!r}"
            )
        raw, source = os.fspath(root), "the root= argument"
    elif os.environ.get(DATA_ROOT_ENV):
        raw, source = os.environ[DATA_ROOT_ENV], f"the {DATA_ROOT_ENV} environment variable"
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        raw, source = os.path.join(cache, "mnistgan", "data"), "the default cache folder"
    if isinstance(raw, bytes):
        raise ConfigError(f"root must be a str path, not bytes, got {raw!r}")
    return Path(os.path.abspath(os.path.expanduser(raw))), source


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds (or will hold) the datasets.

    The first of these that is given wins: the ``root`` argument, the
    ``MNISTGAN_DATA_ROOT`` environment variable, then ``$XDG_CACHE_HOME/mnistgan/data``
    (``~/.cache/mnistgan/data`` when ``XDG_CACHE_HOME`` is unset). The environment is read
    when this function is called, never at import. ``~`` is expanded and the path made
    absolute; nothing is created on disk.

    Args:
        root: An explicit folder, or ``None`` to use the environment or the cache folder.

    Returns:
        The absolute folder path; torchvision's layout puts MNIST in ``<it>/MNIST/raw``.

    Raises:
        ConfigError: ``root`` is not a path.

    Example:
        >>> data_root("/srv/digits").as_posix()
        '/srv/digits'
    """
    return _root_and_source(root)[0]


def _missing_files(folder: Path) -> list[str]:
    """Return the names in :data:`RAW_FILES` that are not files in ``folder``."""
    return [f for f in RAW_FILES if not (folder / f).is_file()]


def _misplaced_hint(root: Path, class_name: str) -> str:
    """Suggest the right root when the IDX files sit in ``root`` or ``root/raw`` instead."""
    for folder in (root / "raw", root):
        if _missing_files(folder):
            continue
        if folder.name == "raw" and folder.parent.name == class_name:
            return (
                f" The files are in {folder}: root must be the folder that contains "
                f"{class_name}/, so pass root={str(folder.parent.parent)!r}."
            )
        return (
            f" The files are in {folder}, but torchvision reads them from "
            f"{root / class_name / 'raw'}: move them there."
        )
    return ""


def _not_found_message(
    name: str, class_name: str, root: Path, source: str, err: BaseException | None
) -> str:
    """Build the self-contained DatasetNotFoundError message."""
    folder = root / class_name / "raw"
    missing = _missing_files(folder)
    missing_text = "all four" if len(missing) == len(RAW_FILES) else ", ".join(missing)
    if err is None:
        what = f"files not found in {folder}"
    else:
        detail = " ".join(str(err).split()) or "no details"  # one line, cut to a readable size
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        what = f"download into {folder} failed ({type(err).__name__}: {detail})"
    return (
        f"{name} dataset not available: {what}. torchvision needs the four uncompressed "
        f"IDX files {', '.join(RAW_FILES)} in that folder; missing: {missing_text}. "
        f"The root {root} came from {source}. To fix it, pass download=True on a machine "
        f"with internet access, or set {DATA_ROOT_ENV} (or pass root=) to a folder that "
        f"holds {class_name}/raw/ with these files." + _misplaced_hint(root, class_name)
    )


def _open_torchvision(
    name: str, root: object, *, train: bool, download: bool, transform: Any
) -> Any:
    """Build the torchvision dataset, turning its errors into mnistgan errors."""
    key = _check_name(name)
    _check_bool(train, "train")
    _check_bool(download, "download")
    path, source = _root_and_source(root)
    class_name = _TORCHVISION_CLASS_NAMES[key]
    # Imported here: torchvision's package import costs about a second, which the CLI
    # and scripts should pay only when they read a dataset.
    from torchvision import datasets  # type: ignore[import-untyped,unused-ignore]

    cls = getattr(datasets, class_name)
    folder = path / class_name / "raw"
    try:
        dataset = cls(root=str(path), train=train, transform=transform, download=download)
    except (URLError, OSError, RuntimeError) as err:
        if _missing_files(folder) or download:
            cause = err if download else None
            raise DatasetNotFoundError(
                _not_found_message(key, class_name, path, source, cause)
            ) from err
        raise DataError(
            f"could not read {key} from {folder}: {type(err).__name__}: {err}; "
            "check that the IDX files are complete and readable, or delete them and "
            "download again with download=True"
        ) from err
    except (AssertionError, ValueError, TypeError) as err:
        raise DataError(
            f"the {key} files in {folder} are not valid uncompressed IDX files "
            f"({type(err).__name__}: {err}); delete them and download again with "
            "download=True, or replace them with the original files"
        ) from err
    _LOG.info(
        "loaded %s (%s split, %d images) from %s",
        key,
        "train" if train else "test",
        len(dataset),
        folder,
    )
    return dataset


# --------------------------------------------------------------------------- datasets


def load_dataset(
    name: str = "mnist",
    *,
    root: str | os.PathLike[str] | None = None,
    train: bool = True,
    download: bool = False,
    image_size: int | None = None,
) -> Dataset[tuple[Tensor, int]]:
    """Return a torchvision MNIST-family dataset that yields ``(image, label)``.

    Images come through ``ToTensor`` (and ``Resize(image_size)`` first when given), so each
    item is a float tensor of shape ``(1, H, W)`` in ``[0, 1]`` and an ``int`` label. Use
    it with :class:`torch.utils.data.DataLoader`; :func:`make_loader` is much faster for
    training.

    Args:
        name: One of :data:`DATASETS` (``"mnist"``, ``"fashion-mnist"``, ``"kmnist"``).
        root: Data folder; see :func:`data_root`.
        train: The 60k training split if true, else the 10k test split.
        download: Fetch the files with torchvision when they are missing (needs internet).
        image_size: Resize to ``image_size`` x ``image_size`` pixels (e.g. 64); ``None``
            keeps 28.

    Returns:
        The :class:`torchvision.datasets.MNIST` (or ``FashionMNIST``/``KMNIST``) dataset.

    Raises:
        ConfigError: An unknown ``name`` or a bad ``image_size``/``root``.
        DatasetNotFoundError: The files are missing and could not be downloaded.
        DataError: The files exist but cannot be read.

    Example:
        >>> ds = load_dataset("mnist", train=False)
        >>> x, y = ds[0]
        >>> len(ds), tuple(x.shape), x.dtype, y
        (10000, (1, 28, 28), torch.float32, 7)
    """
    size = _check_optional_positive_int(image_size, "image_size")
    from torchvision import transforms  # type: ignore[import-untyped,unused-ignore]

    steps: list[Any] = []
    if size is not None:
        steps.append(transforms.Resize(size, antialias=True))
    steps.append(transforms.ToTensor())
    transform = transforms.Compose(steps)
    dataset: Dataset[tuple[Tensor, int]] = _open_torchvision(
        name, root, train=train, download=download, transform=transform
    )
    return dataset


def _resize_uint8(images: Tensor, size: int) -> Tensor:
    """Resize ``(N, C, H, W)`` uint8 images to ``size`` x ``size`` once, with antialiasing."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK]
        out[start : start + _RESIZE_CHUNK] = F.interpolate(
            chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )  # (n, C, size, size) uint8
    return out


def load_tensors(
    name: str = "mnist",
    *,
    root: str | os.PathLike[str] | None = None,
    train: bool = True,
    download: bool = False,
    image_size: int | None = None,
    limit: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Return a whole split as ``(images, labels)`` tensors.

    The pixels are taken straight from the torchvision dataset's ``.data`` (no per-image
    PIL decode), so this takes well under a second for MNIST. With ``image_size`` the
    images are resized once, bilinearly with antialiasing (within one grey level of
    torchvision's ``Resize`` on PIL images).

    Args:
        name: One of :data:`DATASETS`.
        root: Data folder; see :func:`data_root`.
        train: The training split if true, else the test split.
        download: Fetch missing files with torchvision (needs internet).
        image_size: Resize to ``image_size`` x ``image_size`` (e.g. 64 for the 64 px
            DCGAN); ``None`` keeps 28.
        limit: Keep only the first ``limit`` images (smoke runs, tests); ``None`` keeps all.

    Returns:
        ``uint8`` images of shape ``(N, 1, H, W)`` in 0–255 and ``int64`` labels ``(N,)``.

    Raises:
        ConfigError: An unknown ``name`` or a bad ``image_size``/``limit``/``root``.
        DatasetNotFoundError: The files are missing and could not be downloaded.
        DataError: The files exist but cannot be read.

    Example:
        >>> images, labels = load_tensors("mnist", train=False, image_size=64, limit=8)
        >>> tuple(images.shape), images.dtype, labels.tolist()
        ((8, 1, 64, 64), torch.uint8, [7, 2, 1, 0, 4, 1, 4, 9])
    """
    size = _check_optional_positive_int(image_size, "image_size")
    keep = _check_optional_positive_int(limit, "limit")
    dataset = _open_torchvision(name, root, train=train, download=download, transform=None)
    images: Tensor = dataset.data  # (N, H, W) uint8
    labels: Tensor = dataset.targets  # (N,) int64
    if keep is not None and keep < images.shape[0]:
        images, labels = images[:keep].clone(), labels[:keep].clone()
    images = images.unsqueeze(1).contiguous()  # (N, 1, H, W)
    if size is not None:
        images = _resize_uint8(images, size)  # (N, 1, size, size)
    return images, labels.to(torch.int64)


# --------------------------------------------------------------------------- loader


def _check_images(images: object) -> Tensor:
    """Validate images and return them as ``(N, C, H, W)``."""
    if not isinstance(images, Tensor):
        raise BatchTypeError(
            f"images must be a torch.Tensor of shape (N, C, H, W) or (N, H, W), got "
            f"{type(images).__name__}; convert with torch.as_tensor(...)"
        )
    if images.dim() not in (3, 4):
        raise DataError(
            f"images must have shape (N, C, H, W) or (N, H, W), got {tuple(images.shape)}; "
            "add a channel axis with images.unsqueeze(1) or stack single images first"
        )
    if images.dim() == 3:
        images = images.unsqueeze(1)  # (N, 1, H, W)
    if min(images.shape) < 1:
        raise DataError(
            f"images must hold at least one image with C, H, W >= 1, got shape "
            f"{tuple(images.shape)}"
        )
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise DataError(
            f"images must be uint8 (0–255) or float in [0, 1], got dtype {images.dtype}; "
            "convert with images.to(torch.uint8) or images.float() / 255"
        )
    check_images_range(
        images, "pass the images before Normalize (e.g. ToTensor output) or uint8 pixels"
    )
    return images


def _check_labels(labels: object, count: int) -> Tensor | None:
    """Validate labels against the number of images and return them as int64 ``(N,)``."""
    if labels is None:
        return None
    if not isinstance(labels, Tensor):
        raise BatchTypeError(
            f"labels must be a torch.Tensor of shape (N,) or None, got "
            f"{type(labels).__name__}; convert with torch.as_tensor(...)"
        )
    if labels.dim() != 1 or labels.shape[0] != count:
        raise DataError(
            f"labels must have shape ({count},) to match the {count} images, got "
            f"{tuple(labels.shape)}; pass one label per image, or labels=None"
        )
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise DataError(
            f"labels must be an integer tensor, got dtype {labels.dtype}; "
            "convert with labels.long()"
        )
    return labels.to(torch.int64)


def _epoch_seed(seed: int, epoch: int) -> int:
    """Derive the generator seed of one epoch from ``(seed, epoch)`` only."""
    return (seed * 1_000_003 + epoch) % (1 << 64)


class InMemoryLoader:
    """A fast, reproducible loader over images held in one tensor.

    All images live in one ``uint8`` (or float) tensor, by default on the training device.
    Each batch is gathered with one ``index_select`` and converted to ``float32`` in
    ``[0, 1]`` with one division on ``device``: no per-image Python, PIL or worker
    processes. Iterating yields ``(x, y)`` with ``x`` of shape ``(B, C, H, W)`` and ``y``
    ``int64`` of shape ``(B,)``, or ``x`` alone when ``labels`` is ``None``. For ``uint8``
    input on CPU the values are bit-identical to torchvision's ``ToTensor``.

    The order of epoch ``e`` depends only on ``(seed, e)``: it is drawn from a private
    :class:`torch.Generator`, never from the global RNG. Each ``iter(loader)`` uses the
    current :attr:`epoch` and then advances it by one, so ``for epoch in ...: for batch in
    loader`` sees a new order every epoch; :meth:`set_epoch` picks an epoch explicitly
    (like ``DistributedSampler.set_epoch``), and :meth:`state_dict` /
    :meth:`load_state_dict` carry the position across a resume at an epoch boundary.

    For distributed training each process can take its own share of every epoch
    (``rank``/``world_size``, or :meth:`shard`; ``GAN.fit(strategy="ddp")`` shards an
    unsharded loader itself): the same permutation on every process, of which rank ``r``
    visits positions ``r, r + world_size, r + 2 * world_size, ...`` like
    :class:`~torch.utils.data.distributed.DistributedSampler`. Every rank gets the same
    number of images: with ``drop_last`` the tail that does not divide evenly is dropped,
    otherwise the permutation is padded with its own first images.

    Args:
        images: ``uint8`` images ``(N, C, H, W)`` or ``(N, H, W)``, or float ones in
            ``[0, 1]``.
        labels: ``(N,)`` integer labels, or ``None`` to yield images alone.
        batch_size: Images per batch.
        shuffle: Draw a new permutation each epoch; if false, keep the stored order.
        drop_last: Drop the last batch when it is smaller than ``batch_size``.
        seed: Seed of the per-epoch permutations.
        device: Where batches are produced: ``"cpu"``, ``"cuda"``, ``"mps"``, ``"auto"``
            or a :class:`torch.device`.
        images_on_device: Copy all images to ``device`` once (fastest); if false they stay
            where they are and each batch is moved after gathering.
        rank: This process's index among ``world_size`` processes sharing the data.
        world_size: Number of processes sharing the data (1: this loader visits it all).

    Raises:
        ConfigError: A bad ``batch_size``, ``seed``, ``device``, ``rank``, ``world_size``
            or flag, or ``drop_last=True`` with fewer images (per rank) than one batch.
        DataError: Images or labels of the wrong shape, dtype or range.
        BatchTypeError: ``images`` or ``labels`` is not a tensor.

    Example:
        >>> images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
        >>> loader = InMemoryLoader(images, torch.arange(10), batch_size=4, seed=1)
        >>> len(loader), [tuple(x.shape) for x, _ in loader]
        (3, [(4, 1, 1, 1), (4, 1, 1, 1), (2, 1, 1, 1)])
        >>> loader.epoch  # one pass done
        1
        >>> loader.set_epoch(0)
        >>> x, y = next(iter(loader))
        >>> bool(torch.equal(x.flatten() * 255, y.float()))
        True
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor | None = None,
        *,
        batch_size: int = 64,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
        images_on_device: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self._batch_size = _check_positive_int(batch_size, "batch_size")
        self._rank, self._world_size = _check_shard(rank, world_size)
        self._shuffle = _check_bool(shuffle, "shuffle")
        self._drop_last = _check_bool(drop_last, "drop_last")
        self._seed = _check_int(seed, "seed")
        _check_bool(images_on_device, "images_on_device")
        self._device = resolve_device(device)
        checked = _check_images(images)  # (N, C, H, W)
        targets = _check_labels(labels, checked.shape[0])
        if self._drop_last and checked.shape[0] // self._world_size < self._batch_size:
            per_rank = "" if self._world_size == 1 else f" per rank of {self._world_size}"
            raise ConfigError(
                f"drop_last=True with batch_size={self._batch_size} but only "
                f"{checked.shape[0] // self._world_size} images{per_rank} would give no "
                "batches; lower batch_size or pass drop_last=False"
            )
        store = self._device if images_on_device else checked.device
        self._images = checked.to(store).contiguous()
        self._labels = None if targets is None else targets.to(store)
        self._epoch = 0

    # -- read-only configuration ------------------------------------------------------

    @property
    def images(self) -> Tensor:
        """The stored images, ``(N, C, H, W)``, uint8 or float."""
        return self._images

    @property
    def labels(self) -> Tensor | None:
        """The stored ``int64`` labels ``(N,)``, or ``None``."""
        return self._labels

    @property
    def num_images(self) -> int:
        """Number of images ``N`` (the size of one epoch before ``drop_last``)."""
        return int(self._images.shape[0])

    @property
    def batch_size(self) -> int:
        """Images per batch."""
        return self._batch_size

    @property
    def shuffle(self) -> bool:
        """Whether each epoch draws a new permutation."""
        return self._shuffle

    @property
    def drop_last(self) -> bool:
        """Whether an incomplete last batch is dropped."""
        return self._drop_last

    @property
    def seed(self) -> int:
        """Seed of the per-epoch permutations."""
        return self._seed

    @property
    def device(self) -> torch.device:
        """The device batches are produced on."""
        return self._device

    @property
    def epoch(self) -> int:
        """The epoch the next ``iter(loader)`` will use."""
        return self._epoch

    @property
    def rank(self) -> int:
        """This loader's share of the data: rank ``rank`` of :attr:`world_size`."""
        return self._rank

    @property
    def world_size(self) -> int:
        """Number of processes sharing each epoch (1: this loader visits all of it)."""
        return self._world_size

    def shard(self, rank: int, world_size: int) -> InMemoryLoader:
        """A loader over the same images that visits rank ``rank``'s share of each epoch.

        The stored images are shared, not copied; the epoch counter is carried over.

        Raises:
            ConfigError: If ``rank`` is not in ``[0, world_size - 1]``, or ``drop_last``
                leaves a rank without a batch.

        Example:
            >>> loader = InMemoryLoader(torch.zeros(5, 1, 1, dtype=torch.uint8), shuffle=False)
            >>> [loader.shard(r, 2).permutation().tolist() for r in (0, 1)]
            [[0, 2, 4], [1, 3, 0]]
        """
        rank, world_size = _check_shard(rank, world_size)
        if self._drop_last and self.num_images // world_size < self._batch_size:
            raise ConfigError(
                f"drop_last=True with batch_size={self._batch_size} leaves each of "
                f"{world_size} ranks {self.num_images // world_size} images, no full batch; "
                "lower batch_size or pass drop_last=False"
            )
        shard = copy.copy(self)
        shard._rank, shard._world_size = rank, world_size
        return shard

    def _shard_size(self) -> int:
        """Images this rank visits per epoch."""
        if self._drop_last:
            return self.num_images // self._world_size
        return math.ceil(self.num_images / self._world_size)

    # -- order ------------------------------------------------------------------------

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration use the order of ``epoch`` (``>= 0``).

        Example:
            >>> loader = InMemoryLoader(torch.zeros(5, 2, 2, dtype=torch.uint8), batch_size=2)
            >>> loader.set_epoch(3)
            >>> loader.epoch
            3
        """
        self._epoch = _check_int(epoch, "epoch", minimum=0)

    def permutation(self, epoch: int | None = None) -> Tensor:
        """Return the image indices of one epoch in the order the loader visits them.

        Args:
            epoch: The epoch (``>= 0``); ``None`` means the next one (:attr:`epoch`).

        Returns:
            An ``int64`` CPU tensor of shape ``(N,)`` (this rank's share when sharded);
            batches are consecutive slices.

        Example:
            >>> loader = InMemoryLoader(torch.zeros(4, 1, 1, dtype=torch.uint8), shuffle=False)
            >>> loader.permutation().tolist()
            [0, 1, 2, 3]
        """
        e = self._epoch if epoch is None else _check_int(epoch, "epoch", minimum=0)
        if not self._shuffle:
            order = torch.arange(self.num_images, dtype=torch.int64)
        else:
            generator = torch.Generator()
            generator.manual_seed(_epoch_seed(self._seed, e))
            order = torch.randperm(self.num_images, generator=generator)
        if self._world_size == 1:
            return order
        total = self._shard_size() * self._world_size
        if total > order.numel():  # pad with the permutation's first images
            order = order.repeat(math.ceil(total / order.numel()))
        return order[self._rank : total : self._world_size]

    # -- iteration --------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of batches per epoch (of this rank's share when sharded)."""
        if self._drop_last:
            return self._shard_size() // self._batch_size
        return math.ceil(self._shard_size() / self._batch_size)

    def __iter__(self) -> Iterator[Batch]:
        """Yield the batches of the current epoch, then advance :attr:`epoch` by one."""
        order = self.permutation(self._epoch)
        self._epoch += 1
        return self._batches(order)

    def _batches(self, order: Tensor) -> Iterator[Batch]:
        """Gather, move and convert one batch at a time in ``order``."""
        order = order.to(self._images.device)
        stop = len(self) * self._batch_size if self._drop_last else order.numel()
        as_uint8 = self._images.dtype == torch.uint8
        for start in range(0, stop, self._batch_size):
            index = order[start : start + self._batch_size]
            x = self._images.index_select(0, index).to(self._device)  # (B, C, H, W)
            if as_uint8:
                # One fused cast-and-divide, computed in float32 like ToTensor's
                # ``img.float().div(255)``: bit-identical on CPU.
                x = x.div(255)
            if x.dtype != torch.float32:  # float64/16 input, or a float64 default dtype
                x = x.to(torch.float32)
            if self._labels is None:
                yield x
            else:
                yield x, self._labels.index_select(0, index).to(self._device)

    # -- checkpointing ----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Return the state that fixes the order of future epochs (plain Python values).

        Taken after an epoch has been iterated, it resumes at the next epoch.

        Example:
            >>> loader = InMemoryLoader(torch.zeros(3, 1, 1, dtype=torch.uint8), seed=7)
            >>> state = loader.state_dict()
            >>> state["epoch"], state["seed"], state["num_images"]
            (0, 7, 3)
        """
        return {
            "epoch": self._epoch,
            "seed": self._seed,
            "shuffle": self._shuffle,
            "num_images": self.num_images,
            "batch_size": self._batch_size,
            "drop_last": self._drop_last,
            "world_size": self._world_size,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore ``epoch`` and ``seed`` from :meth:`state_dict`.

        Args:
            state: A mapping from :meth:`state_dict`.

        Raises:
            ConfigError: ``state`` lacks ``epoch``/``seed``, or was saved for a different
                number of images (the order would not carry over).

        Example:
            >>> a = InMemoryLoader(torch.zeros(6, 1, 1, dtype=torch.uint8), seed=3)
            >>> a.set_epoch(5)
            >>> b = InMemoryLoader(torch.zeros(6, 1, 1, dtype=torch.uint8))
            >>> b.load_state_dict(a.state_dict())
            >>> b.epoch, b.seed
            (5, 3)
        """
        if not isinstance(state, Mapping) or "epoch" not in state or "seed" not in state:
            raise ConfigError(
                "state must be a mapping from InMemoryLoader.state_dict() with 'epoch' and "
                f"'seed', got {state!r}"
            )
        saved_n = state.get("num_images", self.num_images)
        if saved_n != self.num_images:
            raise ConfigError(
                f"state was saved for a loader over {saved_n} images, this one has "
                f"{self.num_images}; build the loader from the same data (same limit) "
                "to resume"
            )
        for key in ("shuffle", "batch_size", "drop_last", "world_size"):
            if key in state and state[key] != getattr(self, key):
                _LOG.warning(
                    "resuming with %s=%r but the saved loader had %s=%r; batches will differ",
                    key,
                    getattr(self, key),
                    key,
                    state[key],
                )
        epoch = _check_int(state["epoch"], "state['epoch']", minimum=0)
        self._seed = _check_int(state["seed"], "state['seed']")
        self._epoch = epoch

    def __repr__(self) -> str:
        """Summarise the loader's data and settings."""
        return (
            f"{type(self).__name__}(num_images={self.num_images}, "
            f"image_shape={tuple(self._images.shape[1:])}, dtype={self._images.dtype}, "
            f"labels={self._labels is not None}, batch_size={self._batch_size}, "
            f"shuffle={self._shuffle}, drop_last={self._drop_last}, seed={self._seed}, "
            f"epoch={self._epoch}, device='{self._device}'"
            + (f", rank={self._rank}, world_size={self._world_size}" * (self._world_size > 1))
            + ")"
        )


def make_loader(
    name: str = "mnist",
    *,
    root: str | os.PathLike[str] | None = None,
    train: bool = True,
    download: bool = False,
    image_size: int | None = None,
    batch_size: int = 64,
    shuffle: bool = True,
    drop_last: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    limit: int | None = None,
) -> InMemoryLoader:
    """Load a split with :func:`load_tensors` and wrap it in an :class:`InMemoryLoader`.

    Args:
        name: One of :data:`DATASETS`.
        root: Data folder; see :func:`data_root`.
        train: The training split if true, else the test split.
        download: Fetch missing files with torchvision (needs internet).
        image_size: Resize to ``image_size`` x ``image_size`` once; ``None`` keeps 28.
        batch_size: Images per batch.
        shuffle: Draw a new permutation each epoch.
        drop_last: Drop an incomplete last batch.
        seed: Seed of the per-epoch permutations.
        device: Where batches (and the stored images) live; ``"auto"`` picks CUDA, MPS,
            then CPU.
        limit: Keep only the first ``limit`` images (smoke runs, tests).

    Returns:
        A loader yielding ``(x, y)``: float32 ``(B, 1, H, W)`` in ``[0, 1]``, int64 ``(B,)``.

    Raises:
        ConfigError: A bad argument (the message names it).
        DatasetNotFoundError: The files are missing and could not be downloaded.

    Example:
        >>> loader = make_loader(train=False, batch_size=50, limit=120, drop_last=True)
        >>> len(loader), loader.num_images
        (2, 120)
    """
    _check_positive_int(batch_size, "batch_size")  # fail before reading any file
    _check_int(seed, "seed")
    resolve_device(device)
    images, labels = load_tensors(
        name,
        root=root,
        train=train,
        download=download,
        image_size=image_size,
        limit=limit,
    )
    return InMemoryLoader(
        images,
        labels,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        seed=seed,
        device=device,
    )
