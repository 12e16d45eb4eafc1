"""Checkpoint files: format version, atomic writes, integrity checks and safe loading.

A checkpoint is one file holding a dict the caller builds (model config, state
dicts, epoch, RNG states, callback states, history). This module decides how that
dict reaches the disk and comes back:

* **Layout.** The file is exactly what ``torch.save(payload)`` writes (a zip
  archive), followed by a 60-byte trailer::

      [torch.save zip of the payload][format_version u32][zip length u64][sha256 32B][magic 16B]

  The SHA-256 covers the zip, the version and the length, so truncation or any
  changed byte is detected before anything is unpickled. Because PyTorch ignores
  bytes after the zip, ``torch.load(path, weights_only=True)`` still reads the
  payload directly, without mnistgan.
* **Atomic writes.** The bytes go to a temporary file in the same folder, are
  flushed and ``fsync``-ed, and ``os.replace`` puts them at the final path; the
  folder is then ``fsync``-ed where the OS allows. A crash or error leaves the
  previous checkpoint untouched and no temporary file behind.
* **Safe loading.** Only ``torch.load(..., weights_only=True)``: a checkpoint can
  never run code. Payloads that such a load would refuse are rejected when saving,
  naming the offending key.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import re
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import torch

from mnistgan._io import atomic_write, write_failure
from mnistgan.errors import CheckpointError, ConfigError

__all__ = [
    "FORMAT_VERSION",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "save_checkpoint",
]

_log = logging.getLogger(__name__)

FORMAT_VERSION: int = 1
"""Version of the checkpoint file layout this mnistgan writes (and the newest it reads)."""

_MAGIC = b"\x89MNISTGAN-CKPT\r\n"  # 16 bytes, PNG-style: catches text-mode mangling
_HEADER = struct.Struct("<IQ")  # format_version, length of the torch.save zip
_DIGEST_SIZE = hashlib.sha256().digest_size  # 32
_TRAILER_SIZE = _HEADER.size + _DIGEST_SIZE + len(_MAGIC)  # 60
_TMP_SUFFIX = ".tmp"
_SAFE_LEAVES = (str, int, float, bool, complex, bytes, type(None))
_PLAIN_CONTAINERS = (dict, list, tuple)
_NUMBER = re.compile(r"\d+")
_CHUNK = 1 << 20  # read size while hashing
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")  # the refused name in torch's message


# --------------------------------------------------------------------------- encoding


class _HashingWriter:
    """A write-only file wrapper that hashes and counts what ``torch.save`` writes.

    ``torch.save`` writes a zip sequentially through ``write``, so the digest covers
    exactly the bytes on disk. An ``OSError`` from the file is kept, because PyTorch
    re-raises it as a ``RuntimeError`` that would hide the reason (e.g. a full disk).
    """

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._sha = hashlib.sha256()
        self.size = 0
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        """Hash ``data`` and write it to the file."""
        try:
            written = self._handle.write(data)
        except OSError as err:
            self.error = err
            raise
        self._sha.update(data)
        self.size += len(data)
        return written

    def flush(self) -> None:
        """Flush the file's buffer."""
        try:
            self._handle.flush()
        except OSError as err:
            self.error = err
            raise

    def trailer(self, format_version: int) -> bytes:
        """The bytes that follow the zip: header, SHA-256 and magic (see the module doc)."""
        header = _HEADER.pack(format_version, self.size)
        sha = self._sha.copy()
        sha.update(header)
        return header + sha.digest() + _MAGIC


def _describe(obj: object) -> str:
    """A short ``module.QualName`` description of ``obj``'s type."""
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _roundtrip_error(obj: object) -> str | None:
    """Why ``obj`` cannot be saved and read back with ``weights_only=True``, or ``None``."""
    buffer = io.BytesIO()
    try:
        torch.save(obj, buffer)
    except Exception as err:  # pickling can fail with many exception types
        return f"it cannot be pickled ({type(err).__name__}: {err})"
    buffer.seek(0)
    try:
        torch.load(buffer, map_location="meta", weights_only=True)
    except Exception:  # the refusal message is long; the type name says enough
        return "a safe torch.load(weights_only=True) would refuse it"
    return None


def _first_unsafe(obj: object, where: str) -> tuple[str, object, str] | None:
    """Find the first value under ``obj`` that a ``weights_only`` load would refuse.

    Looks into children before the container itself, so the innermost culprit is named.
    Returns ``(key path, value, reason)`` or ``None`` if everything is safe.
    """
    if type(obj) in _SAFE_LEAVES or type(obj) is torch.Tensor:
        return None
    children: list[tuple[str, object]] = []
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            children.append((f"{where} key {key!r}", key))
            children.append((f"{where}[{key!r}]", value))
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children.extend((f"{where}[{i}]", item) for i, item in enumerate(obj))
    for child_where, child in children:
        found = _first_unsafe(child, child_where)
        if found is not None:
            return found
    if type(obj) in _PLAIN_CONTAINERS:
        return None
    reason = _roundtrip_error(obj)
    return None if reason is None else (where, obj, reason)


def _unsafe_payload_error(
    payload: Mapping[str, Any], path: Path, err: Exception
) -> CheckpointError:
    """Build the save-time error for a payload that cannot be stored safely."""
    found = _first_unsafe(payload, "payload")
    if found is None:
        return CheckpointError(
            f"checkpoint {str(path)!r} was not written: its payload cannot be saved and read "
            f"back with torch.load(weights_only=True) ({type(err).__name__}: {err}); store "
            "only tensors, numbers, strings, None and lists/tuples/dicts of them"
        )
    where, value, reason = found
    return CheckpointError(
        f"checkpoint {str(path)!r} was not written: {where} holds a {_describe(value)} "
        f"object and {reason}; a checkpoint may hold only tensors, numbers, strings, None "
        "and lists/tuples/dicts of them, so store plain data instead (for example the "
        "object's state_dict() or its settings as a dict)"
    )


# --------------------------------------------------------------------------- writing


def _write_payload(payload: dict[str, Any], handle: IO[bytes], target: Path) -> None:
    """``torch.save`` into ``handle`` through a hashing writer, then the trailer."""
    writer = _HashingWriter(cast(BinaryIO, handle))
    try:
        torch.save(payload, cast("IO[bytes]", writer))  # torch only calls write/flush
    except OSError:
        raise
    except Exception as err:  # pickling can fail with many exception types
        if writer.error is not None:
            raise writer.error from err
        raise _unsafe_payload_error(payload, target, err) from err
    handle.write(writer.trailer(FORMAT_VERSION))


def _safe_load_check(payload: dict[str, Any], target: Path) -> Callable[[Path], None]:
    """A check that the written file loads with ``weights_only=True`` (tensor bytes skipped)."""

    def check(temp: Path) -> None:
        try:
            torch.load(temp, map_location="meta", weights_only=True)
        except Exception as err:  # weights_only refusal (UnpicklingError) or other failure
            raise _unsafe_payload_error(payload, target, err) from err

    return check


def save_checkpoint(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` to ``path`` atomically, with a format version and a checksum.

    The payload is serialised with :func:`torch.save` into a temporary file in the
    target's folder and read back with ``weights_only=True`` before the file is put in
    place, so a payload that could not be loaded safely later is refused now and no
    file appears. The file then replaces ``path`` in one step (``fsync``,
    ``os.replace``, folder ``fsync``); parent folders are created.

    Args:
        payload: The checkpoint content: a mapping with str keys whose values are
            tensors, numbers, strings, ``None`` and lists/tuples/dicts of them (state
            dicts and :func:`mnistgan.device.get_rng_state` qualify).
        path: Where to write, conventionally ``.../epoch_0003.pt``.

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Raises:
        ConfigError: If ``payload`` is not a mapping with str keys.
        CheckpointError: If a value cannot be saved safely (the message names its key),
            or if writing fails (the previous file at ``path`` is left as it was).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     written = save_checkpoint({"epoch": 3, "w": torch.ones(2)}, f"{folder}/e_3.pt")
        ...     load_checkpoint(written)["epoch"]
        3
    """
    if not isinstance(payload, Mapping):
        raise ConfigError(
            f"payload must be a mapping (a dict of checkpoint entries), got "
            f"{type(payload).__name__}; build a dict such as {{'epoch': 3, 'G': G.state_dict()}}"
        )
    bad_keys = [key for key in payload if not isinstance(key, str)]
    if bad_keys:
        raise ConfigError(
            f"payload keys must be str, got {bad_keys[:3]!r}; use string keys such as 'epoch'"
        )
    target = Path(path)
    if target.is_dir():
        raise CheckpointError(
            f"could not write checkpoint {str(target)!r}: it is a folder; pass a file path "
            "such as folder/epoch_0003.pt"
        )

    content = dict(payload)
    try:
        atomic_write(
            target,
            lambda handle: _write_payload(content, handle, target),
            check=_safe_load_check(content, target),
        )
    except OSError as err:
        raise CheckpointError(write_failure("could not write checkpoint", target, err)) from err
    _log.debug("saved checkpoint %s", target)
    return target


# --------------------------------------------------------------------------- reading


def _open_error(path: Path, err: OSError) -> CheckpointError:
    """Build the error for a checkpoint file that cannot be opened."""
    if isinstance(err, FileNotFoundError):
        return CheckpointError(
            f"checkpoint {str(path)!r} does not exist; check the path, or use "
            "latest_checkpoint(folder) to find the newest checkpoint in a folder"
        )
    if isinstance(err, IsADirectoryError):
        return CheckpointError(
            f"checkpoint {str(path)!r} is a folder, not a file; pass a file such as "
            "folder/epoch_0003.pt, or use latest_checkpoint(folder)"
        )
    return CheckpointError(
        f"checkpoint {str(path)!r} could not be read: {err.strerror or err}; check the "
        "file's permissions"
    )


def _verify(handle: io.BufferedIOBase, path: Path) -> None:
    """Check the trailer, checksum and format version of an open checkpoint file."""
    size = handle.seek(0, os.SEEK_END)
    tail = b""
    if size >= _TRAILER_SIZE:
        handle.seek(size - _TRAILER_SIZE)
        tail = handle.read(_TRAILER_SIZE)
    if not tail.endswith(_MAGIC):
        handle.seek(0)
        if handle.read(4) == b"PK\x03\x04":
            detail = (
                "it looks like a PyTorch file but lacks mnistgan's integrity trailer: it is "
                "truncated, or it was written by plain torch.save rather than "
                "mnistgan.checkpoint.save_checkpoint"
            )
        else:
            detail = (
                f"it does not end with the mnistgan checkpoint marker ({size} bytes): it is "
                "truncated or damaged, or it is not a checkpoint written by mnistgan"
            )
        raise CheckpointError(
            f"{str(path)!r} is not a valid mnistgan checkpoint: {detail}; re-create it with "
            "save_checkpoint or resume from an earlier checkpoint"
        )
    header = tail[: _HEADER.size]
    stored_digest = tail[_HEADER.size : _HEADER.size + _DIGEST_SIZE]
    version, zip_size = _HEADER.unpack(header)
    sha = hashlib.sha256()
    if zip_size == size - _TRAILER_SIZE:
        handle.seek(0)
        chunk = bytearray(_CHUNK)
        view = memoryview(chunk)
        remaining = zip_size
        while remaining:
            read = handle.readinto(view[: min(remaining, _CHUNK)])
            if not read:
                break
            sha.update(view[:read])
            remaining -= read
        sha.update(header)
    if zip_size != size - _TRAILER_SIZE or sha.digest() != stored_digest:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt: its SHA-256 checksum does not match its "
            "content (the file was truncated or changed after it was written); resume from "
            "an earlier checkpoint"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {version}, but this mnistgan "
            f"supports format version {FORMAT_VERSION} at most; upgrade mnistgan "
            "(pip install --upgrade mnistgan) to read it"
        )
    if version < 1:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format version {version}, which no mnistgan "
            f"writes (this one writes {FORMAT_VERSION}); the file is not a valid checkpoint"
        )
    handle.seek(0)


def _check_map_location(map_location: object) -> None:
    """Raise :class:`ConfigError` unless ``map_location`` names a device or is ``None``."""
    if map_location is None or isinstance(map_location, torch.device):
        return
    if isinstance(map_location, str):
        try:
            torch.device(map_location)
        except (RuntimeError, ValueError) as err:
            raise ConfigError(
                f"map_location must be a device such as 'cpu' or 'cuda:0', got "
                f"{map_location!r}; pass 'cpu' (the default) or a valid device"
            ) from err
        return
    raise ConfigError(
        f"map_location must be a str, a torch.device or None, got "
        f"{type(map_location).__name__}; pass 'cpu' (the default) or a valid device"
    )


def load_checkpoint(
    path: str | os.PathLike[str], *, map_location: str | torch.device | None = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, verifying it and refusing code.

    The checksum and format version are checked before anything is unpickled, and the
    payload is read with ``torch.load(..., weights_only=True)`` only, so a checkpoint
    can never run code on this machine.

    Args:
        path: The checkpoint file.
        map_location: Where tensors are placed (``"cpu"`` by default, so a GPU run's
            checkpoint loads anywhere); ``None`` keeps the devices they were saved from.

    Returns:
        The payload dict that was saved.

    Raises:
        CheckpointError: If the file is missing, not a mnistgan checkpoint, truncated or
            corrupt, holds Python objects that could run code, or has a newer format
            version than this mnistgan supports. The message names the file.
        ConfigError: If ``map_location`` is not a device.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     written = save_checkpoint({"step": 10}, f"{folder}/last.pt")
        ...     load_checkpoint(written)
        {'step': 10}
    """
    _check_map_location(map_location)
    target = Path(path)
    try:
        handle = target.open("rb")
    except OSError as err:
        raise _open_error(target, err) from err
    except ValueError as err:  # e.g. "embedded null byte": not a usable path at all
        raise CheckpointError(
            f"checkpoint path {str(target)!r} is not a valid file name ({err}); pass the "
            "path of a checkpoint file such as folder/epoch_0003.pt"
        ) from err
    with handle:
        _verify(handle, target)
        try:
            payload = torch.load(handle, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            culprit = _GLOBAL.search(str(err))
            refers = f" (it refers to {culprit.group(1)})" if culprit else ""
            raise CheckpointError(
                f"checkpoint {str(target)!r} was refused: it contains Python objects that "
                f"could run code when loaded{refers}, and mnistgan loads checkpoints with "
                "torch.load(weights_only=True) only. Do not load this file by other means "
                "unless you trust where it came from"
            ) from err
        except OSError as err:
            raise _open_error(target, err) from err
        except Exception as err:  # torch raises RuntimeError & co. for unreadable archives
            raise CheckpointError(
                f"checkpoint {str(target)!r} could not be read although its checksum matches "
                f"({type(err).__name__}: {err}); it may need a newer PyTorch, or its tensors "
                "belong to a device this machine lacks: try map_location='cpu'"
            ) from err
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"checkpoint {str(target)!r} holds a {type(payload).__name__}, but mnistgan "
            "checkpoints hold a dict; it was not written by save_checkpoint"
        )
    return payload


# --------------------------------------------------------------------------- finding


def _sort_key(path: Path) -> tuple[int, float, str]:
    """Order by the last integer in the file name, then mtime, then name."""
    numbers = _NUMBER.findall(path.stem)
    number = int(numbers[-1]) if numbers else -1
    try:
        mtime = path.stat().st_mtime
    except OSError:  # vanished meanwhile; it sorts first and fails to load later
        mtime = float("-inf")
    return number, mtime, path.name


def list_checkpoints(directory: str | os.PathLike[str], pattern: str = "*.pt") -> list[Path]:
    """List the checkpoint files in ``directory``, oldest to newest.

    Files are ordered by the last integer in their name (``epoch_0003.pt`` before
    ``epoch_0010.pt``), ties by modification time; files without a number come
    first. Temporary files of unfinished saves are never listed. Nothing is opened,
    so listed files may still be corrupt (see :func:`latest_checkpoint`).

    Args:
        directory: The folder to look in (not recursively). A missing folder has no
            checkpoints.
        pattern: A glob pattern for file names.

    Returns:
        The matching files, oldest first.

    Raises:
        ConfigError: If ``directory`` exists but is not a folder.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     for epoch in (10, 2):
        ...         _ = save_checkpoint({"epoch": epoch}, f"{folder}/epoch_{epoch}.pt")
        ...     [p.name for p in list_checkpoints(folder)]
        ['epoch_2.pt', 'epoch_10.pt']
    """
    folder = Path(directory)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise ConfigError(
            f"directory must be a folder of checkpoints, got the file {str(folder)!r}; pass "
            "its folder, or load the file with load_checkpoint"
        )
    files = [
        p
        for p in folder.glob(pattern)
        if p.is_file() and not (p.name.startswith(".") and p.name.endswith(_TMP_SUFFIX))
    ]
    return sorted(files, key=_sort_key)


def latest_checkpoint(directory: str | os.PathLike[str], pattern: str = "*.pt") -> Path | None:
    """Return the newest checkpoint in ``directory`` that loads, or ``None``.

    Candidates are tried newest first (in the order of :func:`list_checkpoints`) and
    fully verified (checksum, format version, safe unpickling); one that fails (cut
    short by a crash, corrupt, unsafe, too new) is skipped with a logged warning
    naming it and the reason.

    Args:
        directory: The folder to look in.
        pattern: A glob pattern for file names.

    Returns:
        The path of the newest good checkpoint, or ``None`` if there is none.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     print(latest_checkpoint(folder))
        None
    """
    for candidate in reversed(list_checkpoints(directory, pattern)):
        try:
            # The checksum covers every byte; "meta" then unpickles without reading tensors.
            load_checkpoint(candidate, map_location="meta")
        except CheckpointError as err:
            _log.warning("skipping checkpoint %s: %s", candidate, err)
            continue
        return candidate
    return None
