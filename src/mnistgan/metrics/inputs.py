"""Read images to score from anywhere: arrays, image folders, exported generators, checkpoints.

:func:`load_images` turns one path into an :class:`ImageInput`: float images
``(N, 1, 28, 28)`` in [0, 1] for :func:`~mnistgan.metrics.evaluate`, their labels when
the input has any, and notes on what was converted. What it reads, by kind:

==========================  ================================================================
input                       how it is read
==========================  ================================================================
``.npy``                    ``numpy.load`` with ``allow_pickle=False``
``.npz``                    the array named ``images``, ``x``, ``samples``, ``data`` or
                            ``arr_0`` (or the only one); labels from ``labels``, ``y`` or
                            ``targets``
``.pt`` / ``.pth`` tensor   ``torch.load(weights_only=True)``: a tensor, an
                            ``(images, labels)`` pair or a dict with the keys above
folder of images            every PNG/JPEG/BMP/WebP/TIFF file in it, in natural name order
``ImageFolder`` tree        sub-folders named ``0`` … ``9`` holding images: the folder
                            names are the labels (for ``label_accuracy``)
``.pt2``                    a ``torch.export`` program of a generator (``z [, y]``)
TorchScript (``.pt``, …)    a ``torch.jit.save`` generator, only with
                            ``trust_code=True``: loading TorchScript runs its code
checkpoint / generator      a mnistgan checkpoint or ``.safetensors`` generator file
==========================  ================================================================

Arrays may be shaped ``(N, 28, 28)``, ``(N, 1, 28, 28)``, ``(N, 28, 28, 1)`` or
``(N, 784)``. Values may be uint8 (0–255) or float in [0, 1] or [-1, 1]; the range is
detected from the values (and reported), or set with ``value_range``. Colour images
are converted to grey (ITU-R 601 luma, as Pillow's ``convert("L")``) with a note;
other sizes than 28x28 are refused unless ``resize=True``.

Example:
    >>> import numpy as np
    >>> x = np.zeros((3, 784), dtype=np.float32) - 1.0   # a tanh generator's blank output
    >>> images, used, notes = to_unit_images(x)
    >>> images.shape, used, float(images.max())
    (torch.Size([3, 1, 28, 28]), '-1..1', 0.0)

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import torch
from torch import Tensor

from mnistgan._checks import check_int
from mnistgan.errors import ConfigError, DataError
from mnistgan.metrics.evaluate import prepare_images

__all__ = [
    "IMAGE_SUFFIXES",
    "VALUE_RANGES",
    "ImageInput",
    "ValueRange",
    "load_images",
    "to_unit_images",
]

logger = logging.getLogger(__name__)

ValueRange = Literal["auto", "0..1", "-1..1", "0..255"]
"""A ``value_range``: detect it (``"auto"``), or read values as [0, 1], [-1, 1] or 0–255."""
VALUE_RANGES: Final[tuple[str, ...]] = ("auto", "0..1", "-1..1", "0..255")
"""The accepted ``value_range`` names (``"auto"`` detects one of the others)."""

IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})
"""File suffixes read from image folders."""

_SIDE: Final = 28
_TOLERANCE: Final = 1e-3  # values this far outside a range still count as inside (rounding)
_LUMA: Final = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's convert("L")
_ARRAY_KEYS: Final = ("images", "x", "samples", "data", "imgs", "arr_0")
_LABEL_KEYS: Final = ("labels", "y", "targets")
_SCRIPT_SUFFIXES: Final = frozenset({".ts", ".jit", ".torchscript"})


@dataclass(frozen=True)
class ImageInput:
    """Images read by :func:`load_images`, ready for :func:`~mnistgan.metrics.evaluate`.

    Attributes:
        name: The path as given.
        kind: What it was read as (``"npy array"``, ``"image folder"``, ``"ImageFolder
            tree"``, ``"torch.export program"``, ``"checkpoint"``, …).
        images: Float images ``(N, 1, 28, 28)`` in [0, 1], on the CPU.
        labels: Labels ``(N,)``: from the folder names or a label array, or the digits a
            conditional generator was asked for; ``None`` if unknown.
        value_range: The range the values were read in (``"0..1"``, ``"-1..1"``,
            ``"0..255"``).
        notes: What was converted or detected, one sentence each.
    """

    name: str
    kind: str
    images: Tensor
    labels: Tensor | None = None
    value_range: str = "0..1"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return int(self.images.size(0))


# --------------------------------------------------------------------------- arrays


def _check_range_name(value_range: str) -> str:
    if value_range not in VALUE_RANGES:
        raise ConfigError(
            f"value_range must be one of {', '.join(VALUE_RANGES)}, got {value_range!r}"
        )
    return value_range


def _channels_first(x: Tensor, name: str) -> Tensor:
    """Bring an array of images to ``(N, C, H, W)``, or say which shapes are accepted."""
    accepted = "(N, 28, 28), (N, 1, 28, 28), (N, 28, 28, 1) or (N, 784)"
    if x.dim() == 2:
        side = math.isqrt(x.size(1))
        if side * side != x.size(1) or side == 0:
            raise DataError(
                f"{name}: rows of {x.size(1)} values are not square images; expected "
                f"{accepted}, got shape {tuple(x.shape)}"
            )
        return x.reshape(x.size(0), 1, side, side)
    if x.dim() == 3:
        return x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if x.dim() == 4:
        if x.size(1) in (1, 3, 4):
            return x
        if x.size(3) in (1, 3, 4):
            return x.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    raise DataError(f"{name}: expected images shaped {accepted}, got shape {tuple(x.shape)}")


def _grey(x: Tensor, name: str, notes: list[str]) -> Tensor:
    if x.size(1) == 1:
        return x
    what = "RGBA" if x.size(1) == 4 else "RGB"
    notes.append(
        f"{name}: converted {x.size(0)} {what} images to grey (ITU-R 601 luma; alpha dropped)"
    )
    weights = torch.tensor(_LUMA, dtype=torch.float64).view(1, 3, 1, 1)
    return (x[:, :3].double() * weights).sum(1, keepdim=True)


def _detect_range(x: Tensor, name: str) -> str:
    low, high = float(x.min()), float(x.max())
    if low >= -_TOLERANCE and high <= 1 + _TOLERANCE:
        return "0..1"
    if low >= -1 - _TOLERANCE and high <= 1 + _TOLERANCE:
        return "-1..1"
    hint = " (pass value_range='0..255' / --range 0..255 if they are 0-255 grey levels)"
    raise DataError(
        f"{name}: float values in [{low:.4g}, {high:.4g}] fit none of the ranges [0, 1] or "
        f"[-1, 1]{hint if low >= 0 and high <= 255 else ''}; rescale them, or force a "
        "range with value_range= / --range (values outside it are clipped)"
    )


def to_unit_images(
    array: Tensor | np.ndarray[Any, Any],
    *,
    value_range: ValueRange | str = "auto",
    resize: bool = False,
    name: str = "images",
) -> tuple[Tensor, str, list[str]]:
    """Bring an array of images to float ``(N, 1, 28, 28)`` in [0, 1].

    Args:
        array: Images ``(N, 28, 28)``, ``(N, 1, 28, 28)``, ``(N, 28, 28, 1)``,
            ``(N, 784)`` (or RGB), uint8 or float.
        value_range: ``"auto"`` (uint8: 0..255; float: [0, 1] or [-1, 1], from the
            values) or the range to assume; values outside it are clipped with a note.
        resize: Resize other sizes to 28x28 (bilinear, antialiased) instead of refusing.
        name: What to call the images in messages.

    Returns:
        ``(images, the range used, notes)``.

    Raises:
        DataError: On an empty array, a shape that is not images, NaN or infinite
            values, values in no known range, or a size other than 28x28 without
            ``resize``.

    Example:
        >>> import numpy as np
        >>> to_unit_images(np.full((2, 28, 28), 255, dtype=np.uint8))[1]
        '0..255'
    """
    _check_range_name(value_range)
    x = torch.from_numpy(np.asarray(array)) if not isinstance(array, Tensor) else array.detach()
    if x.dtype == torch.bool:
        x = x.to(torch.uint8) * 255
    if x.is_complex() or not (x.is_floating_point() or x.dtype in _INT_DTYPES):
        raise DataError(f"{name}: expected uint8 or float images, got dtype {x.dtype}")
    if x.dim() >= 1 and x.size(0) == 0:
        raise DataError(f"{name} is empty (shape {tuple(x.shape)}): there are no images to score")
    x = _channels_first(x, name).cpu()
    notes: list[str] = []
    if x.is_floating_point():
        finite = torch.isfinite(x.flatten(1)).all(1)
        if not bool(finite.all()):
            bad = (~finite).nonzero().flatten()
            raise DataError(
                f"{name}: {bad.numel()} of {x.size(0)} images contain NaN or infinite values "
                f"(the first is image {int(bad[0])}); a diverged generator? Drop or fix them"
            )
    grey = _grey(x, name, notes)
    if value_range == "auto":
        used = "0..255" if x.dtype in _INT_DTYPES else _detect_range(grey, name)
    else:
        used = value_range
    low, high = {"0..1": (0.0, 1.0), "-1..1": (-1.0, 1.0), "0..255": (0.0, 255.0)}[used]
    scaled = (grey.double() - low) / (high - low)  # (N, 1, H, W), about [0, 1]
    outside = float(((scaled < -_TOLERANCE) | (scaled > 1 + _TOLERANCE)).double().mean())
    if outside > 0:
        notes.append(
            f"{name}: {100 * outside:.2f}% of the values lie outside {used} and were clipped"
        )
    images = scaled.clamp(0, 1).float()
    side = tuple(images.shape[-2:])
    if side != (_SIDE, _SIDE):
        if not resize:
            raise DataError(
                f"{name}: images are {side[0]}x{side[1]} but the classifier reads 28x28 "
                "digits; pass resize=True (--resize) to resize them (bilinear, antialiased), "
                "or crop them yourself (MNIST padded to 32x32: crop 2 pixels on each side)"
            )
        notes.append(f"{name}: resized {side[0]}x{side[1]} images to 28x28")
        images = prepare_images(images, name)
    return images, used, notes


_INT_DTYPES: Final = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _labels(values: object, n: int, name: str) -> Tensor:
    y = torch.as_tensor(np.asarray(values) if not isinstance(values, Tensor) else values)
    if y.dim() != 1 or y.numel() != n or y.is_floating_point() or y.is_complex():
        raise DataError(
            f"{name}: labels must be integers of shape ({n},), one per image, got "
            f"{y.dtype} of shape {tuple(y.shape)}"
        )
    y = y.long()
    if n and (int(y.min()) < 0 or int(y.max()) > 9):
        raise DataError(
            f"{name}: labels must be digits 0-9, got values in [{int(y.min())}, {int(y.max())}]"
        )
    return y


def _from_mapping(mapping: dict[str, Any], name: str) -> tuple[Any, Any]:
    """The image array (and label array, if any) of a dict of arrays."""
    images = next((mapping[k] for k in _ARRAY_KEYS if k in mapping), None)
    if images is None:
        candidates = [k for k, v in mapping.items() if getattr(v, "ndim", 0) >= 2]
        if len(candidates) != 1:
            raise DataError(
                f"{name}: cannot tell which array holds the images among "
                f"{sorted(mapping)}; name it one of {', '.join(_ARRAY_KEYS)}"
            )
        images = mapping[candidates[0]]
    labels = next((mapping[k] for k in _LABEL_KEYS if k in mapping), None)
    return images, labels


# --------------------------------------------------------------------------- files


def _read_npy(path: Path) -> tuple[Any, Any]:
    try:
        return np.load(path, allow_pickle=False), None
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"cannot read {path} as a NumPy .npy array ({err})") from err


def _read_npz(path: Path) -> tuple[Any, Any]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            mapping = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"cannot read {path} as a NumPy .npz archive ({err})") from err
    return _from_mapping(mapping, str(path))


def _read_torch(path: Path) -> tuple[Any, Any]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        culprit = re.search(r"GLOBAL ([\w.]+)", str(err))
        refers = f" (it refers to {culprit.group(1)})" if culprit else ""
        raise DataError(
            f"{path} is not a valid mnistgan checkpoint, and as a tensor file it was refused: "
            f"it holds Python objects that could run code when loaded{refers}, and mnistgan "
            "reads .pt files with torch.load(weights_only=True) only; save images with "
            "torch.save(tensor, path)"
        ) from err
    except Exception as err:  # other unreadable files come in many types
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise DataError(
            f"cannot read {path} with torch.load(weights_only=True) ({type(err).__name__}: "
            f"{first}); save images with torch.save(tensor, path)"
        ) from err
    if isinstance(obj, Tensor):
        return obj, None
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and isinstance(obj[0], Tensor):
        return obj[0], obj[1]
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return _from_mapping(obj, str(path))
    raise DataError(
        f"{path} holds a {type(obj).__name__}, not images: expected a tensor, an "
        "(images, labels) pair or a dict with an 'images' tensor"
    )


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=_natural_key,
    )


def _read_image(path: Path) -> np.ndarray[Any, Any]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("L", "1", "LA"):
                return np.asarray(img.convert("L"))
            if img.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
                return np.asarray(img.convert("RGB"))
            return np.asarray(img)  # 16-bit or float grey: the range check decides
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(f"cannot read the image {path}: {err}") from err


def _read_folder(files: Sequence[Path], name: str) -> np.ndarray[Any, Any]:
    arrays: list[np.ndarray[Any, Any]] = []
    for path in files:
        a = _read_image(path)
        if arrays and (a.shape != arrays[0].shape or a.dtype != arrays[0].dtype):
            raise DataError(
                f"{name}: {path.name} is {_describe(a)} but {files[0].name} is "
                f"{_describe(arrays[0])}; all images must have one size and mode"
            )
        arrays.append(a)
    return np.stack(arrays)


def _describe(a: np.ndarray[Any, Any]) -> str:
    colour = "RGB" if a.ndim == 3 else "grey"
    return f"{a.shape[1]}x{a.shape[0]} {colour} {a.dtype}"


def _read_tree(folder: Path) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    """An ImageFolder tree's images and labels, or ``None`` if no sub-folder holds images."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    with_images = [d for d in subdirs if _image_files(d)]
    if not with_images:
        return None
    bad = [d.name for d in with_images if not re.fullmatch(r"[0-9]", d.name)]
    if bad:
        raise DataError(
            f"{folder}: an ImageFolder tree's sub-folders must be named by digit (0 … 9), "
            f"the label of the images inside; got {bad}"
        )
    files = [f for d in with_images for f in _image_files(d)]
    labels = np.array([int(d.name) for d in with_images for _ in _image_files(d)])
    return _read_folder(files, str(folder)), labels


# --------------------------------------------------------------------------- generators


def _is_checkpoint(path: Path) -> bool:
    from mnistgan.checkpoint import _MAGIC

    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size < len(_MAGIC):
            return False
        handle.seek(size - len(_MAGIC))
        return handle.read() == _MAGIC


def _is_torchscript(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in n or n.startswith("code/") for n in archive.namelist())


def _latent_shapes_of_program(program: torch.export.ExportedProgram) -> list[tuple[int, ...]]:
    """The per-sample shapes of a program's user inputs (the batch dimension dropped)."""
    shapes: list[tuple[int, ...]] = []
    user_inputs = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            value = node.meta.get("val")
            if value is None:
                raise DataError("the torch.export program does not record its input shapes")
            shapes.append(tuple(int(s) for s in value.shape[1:]))
    return shapes


@torch.no_grad()
def _run_generator(
    net: Any,
    latent_shape: tuple[int, ...],
    num_classes: int | None,
    n: int,
    seed: int,
    batch_size: int,
) -> tuple[Tensor, Tensor | None]:
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, *latent_shape, generator=generator)  # (n, *latent_shape)
    labels = None if num_classes is None else torch.arange(n) % num_classes
    chunks = []
    for start in range(0, n, batch_size):
        args = [z[start : start + batch_size]]
        if labels is not None:
            args.append(labels[start : start + batch_size])
        out = net(*args)
        if not isinstance(out, Tensor):
            raise DataError(f"the generator returned a {type(out).__name__}, not images")
        chunks.append(out.detach().float().cpu())
    return torch.cat(chunks), labels


def _program(
    path: Path, n: int, seed: int, batch_size: int
) -> tuple[Tensor, Tensor | None, str | None, list[str]]:
    import json

    extra: dict[str, Any] = {"mnistgan.json": ""}
    try:
        program = torch.export.load(path, extra_files=extra)
    except Exception as err:  # deserialisation errors come in many types
        raise DataError(
            f"cannot read {path} as a torch.export program ({type(err).__name__}: {err})"
        ) from err
    info = json.loads(extra["mnistgan.json"]) if extra["mnistgan.json"] else {}
    shapes = _latent_shapes_of_program(program)
    notes: list[str] = []
    num_classes: int | None = None
    if len(shapes) == 2:
        num_classes = int(info.get("num_classes") or 10)
        notes.append(
            f"{path}: conditional generator, asked for digits 0-{num_classes - 1} in turn"
        )
    elif len(shapes) != 1:
        raise DataError(
            f"{path}: a generator program takes z (and labels y), got {len(shapes)} inputs"
        )
    images, labels = _run_generator(program.module(), shapes[0], num_classes, n, seed, batch_size)
    value_range = None
    if "output_range" in info:
        low, high = (float(v) for v in info["output_range"])
        value_range = {(0.0, 1.0): "0..1", (-1.0, 1.0): "-1..1"}.get((low, high))
    return images, labels, value_range, notes


def _torchscript(
    path: Path, n: int, seed: int, batch_size: int, latent_dim: int | None
) -> tuple[Tensor, list[str]]:
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated; users of old files know
            warnings.simplefilter("ignore", FutureWarning)
            net = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
    except Exception as err:  # deserialisation errors come in many types
        raise DataError(
            f"cannot load {path} as TorchScript ({type(err).__name__}: {err})"
        ) from err
    net.eval()
    dim = latent_dim if latent_dim is not None else getattr(net, "latent_dim", None)
    if not isinstance(dim, int) or dim < 1:
        raise DataError(
            f"{path}: a TorchScript generator does not say its latent size; pass "
            "latent_dim= (--latent-dim N)"
        )
    last: Exception | None = None
    for shape in ((dim,), (dim, 1, 1)):
        try:
            _run_generator(net, shape, None, 2, seed, 2)
        except Exception as err:  # a wrong latent layout fails inside the script
            last = err
            continue
        images, _ = _run_generator(net, shape, None, n, seed, batch_size)
        layout = "x".join(str(s) for s in shape)
        return images, [f"{path}: TorchScript generator fed latents of shape (N, {layout})"]
    raise DataError(
        f"{path}: the TorchScript generator accepts neither z (N, {dim}) nor (N, {dim}, 1, 1) "
        f"({type(last).__name__}: {last}); check --latent-dim"
    )


def _mnistgan_model(
    path: Path, n: int, seed: int, batch_size: int, device: torch.device
) -> tuple[Tensor, Tensor | None]:
    from mnistgan.gan import GAN
    from mnistgan.metrics.evaluate import _generate

    source: Any
    if path.suffix.lower() == ".safetensors":
        from mnistgan.export import load_sampler

        source = load_sampler(path, device=device)
    else:
        source = GAN.load(path, restore_rng=False, device=device)
    return _generate(source, n, None, seed, batch_size)


def _is_pretrained(file: Path) -> bool:
    """A shipped pretrained name (not shadowed by a file) or a pretrained folder."""
    from mnistgan.pretrained import CONFIG_NAME, WEIGHTS_NAME, list_pretrained

    if not file.exists():
        return str(file) in list_pretrained()
    return file.is_dir() and (file / CONFIG_NAME).is_file() and (file / WEIGHTS_NAME).is_file()


def _pretrained_model(
    name: str, n: int, seed: int, batch_size: int, device: torch.device
) -> tuple[Tensor, Tensor | None]:
    from mnistgan.gan import GAN
    from mnistgan.metrics.evaluate import _generate

    return _generate(GAN.from_pretrained(name, device=device), n, None, seed, batch_size)


# --------------------------------------------------------------------------- entry point


def load_images(
    path: str | os.PathLike[str],
    *,
    n: int = 10000,
    seed: int = 0,
    value_range: ValueRange | str = "auto",
    resize: bool = False,
    latent_dim: int | None = None,
    trust_code: bool = False,
    batch_size: int = 500,
    device: str | torch.device = "cpu",
) -> ImageInput:
    """Read images (or generate them) from any of the inputs in the module's table.

    Args:
        path: A file or folder.
        n: Images to draw from a generator (arrays and folders are used whole).
        seed: Seed of a generator's latent vectors.
        value_range: See :func:`to_unit_images`.
        resize: Resize images of another size to 28x28 instead of refusing them.
        latent_dim: Latent size of a TorchScript generator that does not say it.
        trust_code: Allow loading TorchScript, which runs code stored in the file; only
            for files you trust.
        batch_size: Latent vectors per forward pass of a generator.
        device: Where a mnistgan checkpoint's generator runs.

    Returns:
        An :class:`ImageInput`.

    Raises:
        DataError: If the path is missing, unreadable (the file is named), empty, or holds
            no usable images; see :func:`to_unit_images` for the checks on the values.
        ConfigError: On bad arguments, or TorchScript without ``trust_code``.

    Example:
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     file = pathlib.Path(tmp) / "samples.npy"
        ...     np.save(file, np.zeros((4, 28, 28), dtype=np.uint8))
        ...     loaded = load_images(file)
        >>> loaded.kind, tuple(loaded.images.shape), loaded.value_range
        ('npy array', (4, 1, 28, 28), '0..255')
    """
    from mnistgan.device import resolve_device

    _check_range_name(value_range)
    check_int(n, "n")
    file = Path(path)
    name = str(path)
    pretrained = _is_pretrained(file)
    if not file.exists() and not pretrained:
        raise DataError(
            f"{name} does not exist: expected an array file, an image folder or a generator"
        )
    suffix = file.suffix.lower()
    labels: object = None
    array: Any
    asked: Tensor | None = None
    notes: list[str] = []
    forced: str | None = None
    if pretrained:
        kind = "pretrained model"
        array, asked = _pretrained_model(name, n, seed, batch_size, resolve_device(device))
        forced = "0..1"  # GAN.generate maps the output range to [0, 1]
    elif file.is_dir():
        tree = _read_tree(file)
        if tree is not None:
            kind, (array, labels) = "ImageFolder tree", tree
        else:
            files = _image_files(file)
            if not files:
                raise DataError(
                    f"{name} is an empty folder: no image files "
                    f"({', '.join(sorted(IMAGE_SUFFIXES))}) and no digit-named sub-folders "
                    "holding them"
                )
            kind, array = "image folder", _read_folder(files, name)
    elif suffix == ".npy":
        kind, (array, labels) = "npy array", _read_npy(file)
    elif suffix == ".npz":
        kind, (array, labels) = "npz archive", _read_npz(file)
    elif suffix == ".pt2":
        kind = "torch.export program"
        array, asked, forced, notes = _program(file, n, seed, batch_size)
    elif suffix in _SCRIPT_SUFFIXES or (suffix in (".pt", ".pth") and _is_torchscript(file)):
        if not trust_code:
            raise ConfigError(
                f"{name} is a TorchScript file: loading it runs the code stored in it. Only if "
                "you trust the file, pass trust_code=True (--trust-code)"
            )
        kind = "TorchScript generator"
        array, notes = _torchscript(file, n, seed, batch_size, latent_dim)
    elif suffix == ".safetensors" or (suffix in (".pt", ".pth", ".ckpt") and _is_checkpoint(file)):
        kind = "generator file" if suffix == ".safetensors" else "checkpoint"
        array, asked = _mnistgan_model(file, n, seed, batch_size, resolve_device(device))
        forced = "0..1"  # GAN.generate maps the output range to [0, 1]
    elif suffix in (".pt", ".pth"):
        kind, (array, labels) = "tensor file", _read_torch(file)
    elif suffix in IMAGE_SUFFIXES:
        raise DataError(
            f"{name} is a single image; put the samples in a folder (one image per file) "
            "and pass the folder, or save them as an .npy array"
        )
    else:
        raise DataError(
            f"{name}: unknown input kind {suffix or '(no suffix)'}; expected .npy, .npz, .pt, "
            ".pt2, .safetensors, a mnistgan checkpoint or a folder of images"
        )
    if not isinstance(array, (Tensor, np.ndarray)):
        raise DataError(f"{name}: expected an array of images, got {type(array).__name__}")
    use = forced if (forced is not None and value_range == "auto") else value_range
    images, used, more = to_unit_images(array, value_range=use, resize=resize, name=name)
    notes.extend(more)
    if (
        value_range == "auto"
        and forced is None
        and kind not in ("image folder", "ImageFolder tree")
    ):
        notes.append(f"{name}: values read as {used} (detected; set --range to override)")
    y = (
        asked
        if asked is not None
        else (None if labels is None else _labels(labels, len(images), name))
    )
    for note in notes:
        logger.info(note)
    return ImageInput(name, kind, images, y, used, tuple(notes))
