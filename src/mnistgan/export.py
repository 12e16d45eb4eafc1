"""Share and deploy generators: safetensors generator files, ``torch.export`` and ONNX.

A **generator file** is one ``.safetensors`` file: the generator's weights (the EMA
weights when the GAN keeps an exponential moving average, else the generator's own)
plus, in the file's metadata under the key ``"mnistgan"``, a small JSON document with
everything needed to rebuild and use it::

    {"format": "mnistgan-generator", "format_version": 1, "mnistgan_version": "0.1.0",
     "config": {...GANConfig.to_dict()...}, "latent_dim": 64, "image_shape": [1, 28, 28],
     "output": "tanh", "output_range": [-1.0, 1.0], "num_classes": null,
     "weights": "ema", "custom_network": false, "channels_last": true}

safetensors stores raw tensor bytes behind a JSON header and never unpickles, so a
generator file can be shared and loaded without the risk of running code; a file that
is not safetensors (a pickle, a ``torch.save`` archive) is refused before anything in
it is interpreted. :func:`load_sampler` rebuilds a :class:`Sampler`, whose
:meth:`~Sampler.sample` gives the same images as :meth:`mnistgan.GAN.sample` of the
model it came from, bit for bit.

For deployment, :func:`export_generator` writes the generator (EMA if present) in eval
mode as a ``torch.export`` program (``.pt2``, :func:`torch.export.save`) or an ONNX
model (``.onnx``, ``torch.onnx.export(..., dynamo=True)``). The batch size is dynamic;
conditional generators take ``(z, y)``. The programs return the generator's raw output,
in ``output_range`` ([-1, 1] for tanh, [0, 1] for sigmoid); both carry the JSON above
(``.pt2``: extra file ``mnistgan.json``; ``.onnx``: metadata property ``mnistgan``).

Needs the ``safetensors`` extra for generator files (``pip install
"mnistgan[safetensors]"``) and the ``export`` extra for ONNX (``pip install
"mnistgan[export]"``); ``.pt2`` export needs PyTorch only.

Example:
    >>> import tempfile, pathlib, torch
    >>> from mnistgan import GAN
    >>> gan = GAN.from_preset("vanilla")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_generator(gan, pathlib.Path(tmp) / "vanilla.safetensors")
    ...     sampler = load_sampler(path)
    >>> torch.equal(sampler.sample(4, seed=0), gan.sample(4, seed=0))
    True

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import copy
import io
import json
import os
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from . import __version__
from ._io import atomic_write_bytes
from .errors import CheckpointError, ConfigError
from .presets import GANConfig
from .sampling import HasSampler, Sampler

__all__ = [
    "GENERATOR_FORMAT_VERSION",
    "ExportFormat",
    "Sampler",
    "export_generator",
    "export_program",
    "load_generator",
    "load_sampler",
    "save_generator",
]

GENERATOR_FORMAT_VERSION = 1
"""Version of the generator-file layout this mnistgan writes (and the newest it reads)."""

ExportFormat = Literal["pt2", "onnx", "safetensors"]
"""What :func:`export_generator` writes: a ``torch.export`` program, ONNX, or a generator file."""

_METADATA_KEY = "mnistgan"
_FORMAT_NAME = "mnistgan-generator"
_SUFFIXES: dict[str, ExportFormat] = {
    ".pt2": "pt2",
    ".onnx": "onnx",
    ".safetensors": "safetensors",
}


# --------------------------------------------------------------------------- sampler


def _as_sampler(source: object) -> Sampler:
    """``source`` if it is a Sampler, else its ``sampler()`` (a GAN's, for instance)."""
    if isinstance(source, Sampler):
        return source
    if isinstance(source, HasSampler):
        sampler = source.sampler()
        if isinstance(sampler, Sampler):
            return sampler
    raise ConfigError(
        f"expected a mnistgan GAN or Sampler, got {type(source).__name__}; load a checkpoint "
        f"with GAN.load(path) or a generator file with load_sampler(path)"
    )


def _info(
    config: GANConfig, *, weights: str, custom_network: bool, channels_last: bool
) -> dict[str, Any]:
    """The metadata document of a generator file (plain JSON values)."""
    low, high = config.image_range
    return {
        "format": _FORMAT_NAME,
        "format_version": GENERATOR_FORMAT_VERSION,
        "mnistgan_version": __version__,
        "config": config.to_dict(),
        "latent_dim": config.latent_dim,
        "image_shape": list(config.image_shape),
        "output": config.output,
        "output_range": [low, high],
        "num_classes": config.num_classes,
        "weights": weights,
        "custom_network": custom_network,
        "channels_last": channels_last,
    }


def _info_of(sampler: Sampler) -> dict[str, Any]:
    """Fresh metadata for ``sampler`` (this mnistgan's version and format), keeping its origin."""
    return _info(
        sampler.config,
        weights=str(sampler.info.get("weights", "generator")),
        custom_network=bool(sampler.info.get("custom_network", False)),
        channels_last=bool(sampler.info.get("channels_last", False)),
    )


# --------------------------------------------------------------------------- files


def _atomic_write_bytes(path: Path, data: bytes) -> Path:
    if path.is_dir():
        raise CheckpointError(f"could not write {str(path)!r}: it is a folder; pass a file path")
    return atomic_write_bytes(path, data)


def _safetensors_torch() -> Any:
    try:
        import safetensors.torch
    except ImportError:
        raise ImportError(
            'generator files need the safetensors package: pip install "mnistgan[safetensors]"'
        ) from None
    return safetensors.torch


def save_generator(source: HasSampler | Sampler, path: str | os.PathLike[str]) -> Path:
    """Write a GAN's sampling generator to one ``.safetensors`` file, with its config.

    The weights are those :meth:`mnistgan.GAN.sample` uses: the EMA generator's when
    the GAN keeps an EMA, else the generator's. The file's metadata holds the JSON
    document described in :mod:`mnistgan.export`. The file is written atomically.

    Args:
        source: A :class:`~mnistgan.GAN` or a :class:`Sampler`.
        path: Where to write; must end in ``.safetensors`` (the CLI tells generator
            files from checkpoints by it).

    Returns:
        The path written.

    Raises:
        ConfigError: If ``source`` is neither a GAN nor a Sampler, or ``path`` has
            another suffix.
        ImportError: If safetensors is not installed.

    Example:
        >>> import tempfile, pathlib
        >>> from mnistgan import GAN
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "g.safetensors"
        ...     save_generator(GAN.from_preset("vanilla"), path).name
        'g.safetensors'
    """
    sampler = _as_sampler(source)
    target = Path(path)
    if target.suffix.lower() != ".safetensors":
        raise ConfigError(
            f"path must end in .safetensors, got {str(path)!r}; e.g. "
            f"save_generator(gan, 'generator.safetensors')"
        )
    st = _safetensors_torch()
    info = _info_of(sampler)
    tensors = {
        # Own, contiguous CPU copies: safetensors refuses shared or strided storage.
        key: value.detach().to("cpu").clone(memory_format=torch.contiguous_format)
        for key, value in sampler.generator.state_dict().items()
    }
    data: bytes = st.save(tensors, metadata={"format": "pt", _METADATA_KEY: json.dumps(info)})
    return _atomic_write_bytes(target, data)


def _refuse_non_safetensors(path: Path) -> None:
    """Raise CheckpointError unless the file starts like safetensors; nothing is unpickled."""
    try:
        with path.open("rb") as handle:
            head = handle.read(9)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise CheckpointError(
            f"generator file {str(path)!r} does not exist; check the path"
        ) from None
    except IsADirectoryError:
        raise CheckpointError(
            f"generator file {str(path)!r} is a folder; pass a .safetensors file"
        ) from None
    except OSError as err:
        raise CheckpointError(
            f"generator file {str(path)!r} could not be read: {err.strerror or err}"
        ) from err
    header_size = int.from_bytes(head[:8], "little") if len(head) >= 8 else -1
    if len(head) == 9 and 0 < header_size <= size - 8 and head[8:9] == b"{":
        return
    if head[:4] == b"PK\x03\x04":
        kind = (
            "a PyTorch zip archive (torch.save), such as a full training checkpoint; load "
            "checkpoints with mnistgan.GAN.load, or convert one with "
            "`mnistgan export CHECKPOINT --format safetensors --out g.safetensors`"
        )
    elif head[:1] == b"\x80":
        kind = "a Python pickle, which could run code when loaded"
    else:
        kind = "truncated, damaged or of another format"
    raise CheckpointError(
        f"{str(path)!r} is not a safetensors generator file: it is {kind}. mnistgan never "
        "unpickles generator files; write them with mnistgan.export.save_generator"
    )


def _read(path: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors and the metadata document of a generator file."""
    _refuse_non_safetensors(path)
    _safetensors_torch()
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as err:  # safetensors raises its own SafetensorError for bad headers
        raise CheckpointError(
            f"{str(path)!r} is not a valid safetensors file ({err}); it is truncated or "
            "damaged: write it again with mnistgan.export.save_generator"
        ) from err
    if _METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{str(path)!r} is a safetensors file but not a mnistgan generator file (its "
            f"metadata has no {_METADATA_KEY!r} entry); write generator files with "
            "mnistgan.export.save_generator"
        )
    try:
        info = json.loads(metadata[_METADATA_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{str(path)!r}: its mnistgan metadata is not JSON ({err})") from err
    if not isinstance(info, dict) or info.get("format") != _FORMAT_NAME:
        raise CheckpointError(
            f"{str(path)!r}: its mnistgan metadata does not describe a generator file"
        )
    version = info.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{str(path)!r}: invalid generator format version {version!r}")
    if version > GENERATOR_FORMAT_VERSION:
        raise CheckpointError(
            f"{str(path)!r} has generator format version {version}, but this mnistgan reads "
            f"version {GENERATOR_FORMAT_VERSION} at most; upgrade mnistgan "
            "(pip install --upgrade mnistgan) to read it"
        )
    return tensors, info


def load_sampler(
    path: str | os.PathLike[str],
    *,
    generator: nn.Module | None = None,
    device: str | torch.device | None = None,
) -> Sampler:
    """Rebuild a :class:`Sampler` from a generator file written by :func:`save_generator`.

    The generator is rebuilt from the stored config by builder name and the weights
    are loaded into it strictly; nothing in the file can run code.

    Args:
        path: The ``.safetensors`` generator file.
        generator: The module to load the weights into, for files saved from custom
            networks (their config cannot rebuild them).
        device: Where to put the generator (``None``: the CPU; ``"auto"`` allowed).

    Returns:
        A sampler whose generator is in eval mode; ``info`` holds the file's metadata.

    Raises:
        CheckpointError: If the file is missing, not a safetensors file (a pickle, a
            ``torch.save`` archive), not a mnistgan generator file, of a newer format,
            or its weights do not fit the network.
        ImportError: If safetensors is not installed.
    """
    target = Path(path)
    tensors, info = _read(target)
    try:
        config = GANConfig.from_dict(info["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{str(target)!r}: its model config is unreadable ({err})") from err
    if generator is None:
        if info.get("custom_network"):
            raise CheckpointError(
                f"{str(target)!r} was saved from a custom generator that its config cannot "
                "rebuild; pass the same module: load_sampler(path, generator=...)"
            )
        generator = config.build_generator()
    elif not isinstance(generator, nn.Module):
        raise ConfigError(f"generator must be a torch.nn.Module, got {type(generator).__name__}")
    if info.get("channels_last"):
        generator.to(memory_format=torch.channels_last)  # as the GAN sampled: same rounding
    try:
        generator.load_state_dict(tensors)
    except (RuntimeError, KeyError, ValueError) as err:
        raise CheckpointError(
            f"the weights in {str(target)!r} do not fit the generator ({err})"
        ) from err
    generator.eval()
    sampler = Sampler(generator, config, info=info)
    if device is not None:
        sampler.to(device)
    return sampler


def load_generator(
    path: str | os.PathLike[str],
    *,
    generator: nn.Module | None = None,
    device: str | torch.device | None = None,
) -> nn.Module:
    """The generator module of a generator file, in eval mode (see :func:`load_sampler`).

    Its output lies in the generator's range (``info["output_range"]`` of the file:
    [-1, 1] for tanh); :meth:`Sampler.sample` maps it to [0, 1].

    Example:
        >>> import tempfile, pathlib, torch
        >>> from mnistgan import GAN
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "g.safetensors"
        ...     net = load_generator(save_generator(GAN.from_preset("dcgan"), path))
        >>> net(torch.zeros(2, 64)).shape
        torch.Size([2, 1, 28, 28])
    """
    return load_sampler(path, generator=generator, device=device).generator


# --------------------------------------------------------------------------- export


def _exportable(sampler: Sampler) -> nn.Module:
    """An eval-mode CPU copy of the generator in the default memory layout."""
    net = copy.deepcopy(sampler.generator).to("cpu")
    net.to(memory_format=torch.contiguous_format)  # channels-last weights export with a warning
    return net.eval()


def _example_inputs(sampler: Sampler, batch_size: int) -> tuple[Tensor, ...]:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ConfigError(
            f"batch_size must be an int >= 2 (a batch of 1 would fix the batch size), "
            f"got {batch_size!r}"
        )
    z = torch.zeros(batch_size, sampler.latent_dim)  # (B, latent_dim); values do not matter
    if sampler.num_classes is None:
        return (z,)
    return z, torch.arange(batch_size) % sampler.num_classes  # (B,)


def export_program(
    source: HasSampler | Sampler, *, batch_size: int = 2
) -> torch.export.ExportedProgram:
    """The sampling generator (EMA if present) as a ``torch.export`` program, on the CPU.

    The program is traced in eval mode with a dynamic batch size; it takes ``z``
    ``(N, latent_dim)``, and labels ``y`` ``(N,)`` for a conditional generator, and
    returns images in the generator's range. The model itself is not changed.

    Args:
        source: A :class:`~mnistgan.GAN` or a :class:`Sampler`.
        batch_size: Batch size of the example inputs used for tracing (>= 2).

    Raises:
        ConfigError: If ``source`` is neither a GAN nor a Sampler.

    Example:
        >>> import torch
        >>> from mnistgan import GAN
        >>> program = export_program(GAN.from_preset("vanilla"))
        >>> program.module()(torch.zeros(5, 100)).shape
        torch.Size([5, 1, 28, 28])
    """
    sampler = _as_sampler(source)
    net = _exportable(sampler)
    args = _example_inputs(sampler, batch_size)
    batch = torch.export.Dim("batch", min=1)
    return torch.export.export(net, args, dynamic_shapes=tuple({0: batch} for _ in args))


def _onnx_bytes(
    program: torch.export.ExportedProgram, args: tuple[Tensor, ...], info: str
) -> bytes:
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter needs it)
    except ImportError:
        raise ImportError(
            'ONNX export needs the onnx and onnxscript packages: pip install "mnistgan[export]"'
        ) from None
    names = ["z", "y"][: len(args)]
    onnx_program = torch.onnx.export(
        program,
        args,
        dynamo=True,
        input_names=names,
        output_names=["images"],
        verbose=False,
        external_data=False,
    )
    if onnx_program is None:  # pragma: no cover - dynamo=True always returns a program
        raise RuntimeError("torch.onnx.export returned no program")
    proto = onnx_program.model_proto
    # Name the dynamic batch axis "batch" (the exporter calls it s0, s17, ...).
    first = proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    if first:
        for value in (*proto.graph.input, *proto.graph.output, *proto.graph.value_info):
            for dim in value.type.tensor_type.shape.dim:
                if dim.dim_param == first:
                    dim.dim_param = "batch"
    entry = proto.metadata_props.add()
    entry.key, entry.value = _METADATA_KEY, info
    onnx.checker.check_model(proto)
    data: bytes = proto.SerializeToString()
    return data


def export_generator(
    source: HasSampler | Sampler,
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | None = None,
    batch_size: int = 2,
) -> Path:
    """Write the sampling generator for deployment: ``.pt2``, ``.onnx`` or a generator file.

    ``"pt2"`` saves :func:`export_program` with :func:`torch.export.save` (load it
    with ``torch.export.load(path).module()``); ``"onnx"`` converts the same program
    with ``torch.onnx.export(..., dynamo=True)``; ``"safetensors"`` is
    :func:`save_generator`. Every format carries the JSON metadata of the module
    docstring. Files are written atomically.

    Args:
        source: A :class:`~mnistgan.GAN` or a :class:`Sampler`.
        path: Output file.
        format: ``"pt2"``, ``"onnx"`` or ``"safetensors"``; by default taken from the
            suffix of ``path``.
        batch_size: Batch size of the tracing inputs (the exported batch size is dynamic).

    Returns:
        The path written.

    Raises:
        ConfigError: If the format is unknown or cannot be told from the suffix.
        ImportError: If ONNX export lacks onnx/onnxscript, or a generator file lacks
            safetensors; the message names the extra to install.

    Example:
        >>> import tempfile, pathlib, torch
        >>> from mnistgan import GAN
        >>> gan = GAN.from_preset("vanilla")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = export_generator(gan, pathlib.Path(tmp) / "g.pt2")
        ...     program = torch.export.load(path)
        >>> z = torch.randn(3, 100)
        >>> torch.allclose(program.module()(z), gan.generator.eval()(z), atol=1e-6)
        True
    """
    target = Path(path)
    if format is None:
        if target.suffix.lower() not in _SUFFIXES:
            raise ConfigError(
                f"cannot tell the export format from {str(path)!r}; end the path in "
                f"{', '.join(_SUFFIXES)} or pass format="
            )
        format = _SUFFIXES[target.suffix.lower()]
    if format not in ("pt2", "onnx", "safetensors"):
        raise ConfigError(f"format must be 'pt2', 'onnx' or 'safetensors', got {format!r}")
    sampler = _as_sampler(source)
    if format == "safetensors":
        return save_generator(sampler, target)
    info = json.dumps(_info_of(sampler))
    program = export_program(sampler, batch_size=batch_size)
    if format == "onnx":
        data = _onnx_bytes(program, _example_inputs(sampler, batch_size), info)
    else:
        buffer = io.BytesIO()
        torch.export.save(program, buffer, extra_files={"mnistgan.json": info})
        data = buffer.getvalue()
    return _atomic_write_bytes(target, data)
