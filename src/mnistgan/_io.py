"""Atomic file writes: readers see the old version or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = [
    "atomic_create",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "remove_stale_temps",
    "write_failure",
]


_TEMP_SUFFIX = ".tmp"


def _temp_prefix(name: str) -> str:
    """Start of the name of :func:`atomic_write`'s temporary file for a file ``name``."""
    return f".{name}."


def remove_stale_temps(directory: str | os.PathLike[str], name_glob: str) -> list[Path]:
    """Delete the temporary files that interrupted :func:`atomic_write` calls left for files
    matching ``name_glob`` in ``directory``; return the paths removed.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = (pathlib.Path(tmp) / ".epoch_0001.pt.x1y2.tmp").write_bytes(b"half")
        ...     [p.name for p in remove_stale_temps(tmp, "epoch_*.pt")]
        ['.epoch_0001.pt.x1y2.tmp']
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    stale = sorted(folder.glob(f"{_temp_prefix(name_glob)}*{_TEMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _default_mode() -> int:
    """Permissions of a newly created file: ``0o666`` minus the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[bytes]], object],
    *,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Write a file through ``write(handle)`` into a temporary file, fsync, then rename.

    This is mnistgan's one way of writing a file: checkpoints, generator files, sample
    grids, GIFs and history files all go through it. The temporary file lives in the
    target's folder (so the rename is atomic; parent folders are created) and is
    removed if anything fails, ``check`` included; the file at ``path`` is then
    untouched. After the rename the folder is synced too, where the OS allows it.

    Args:
        path: The file to write.
        write: Writes the content into the open binary handle.
        check: Called with the temporary file's path once it is written and flushed,
            before it replaces ``path``; raise to refuse the file.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     p = atomic_write(pathlib.Path(tmp) / "a.txt", lambda f: f.write(b"hi"))
        ...     p.read_bytes()
        b'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=_temp_prefix(path.name), suffix=_TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            if check is not None:
                check(Path(tmp))
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_mode())  # mkstemp makes 0600 files; use the usual 0666 & ~umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def atomic_create(path: str | os.PathLike[str], data: bytes) -> bool:
    """Create ``path`` holding ``data`` in one step unless it exists; whether it did.

    The content is written and synced in a temporary file first, then hard-linked into
    place, which fails if ``path`` exists, so no reader ever sees a half-written file and
    two processes never both succeed. On file systems without hard links it falls back
    to ``O_CREAT | O_EXCL``. (A lock file is made this way.)

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     target = pathlib.Path(tmp) / "lock"
        ...     atomic_create(target, b"1"), atomic_create(target, b"2"), target.read_bytes()
        (True, False, b'1')
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(
        dir=path.parent, prefix=_temp_prefix(path.name), suffix=_TEMP_SUFFIX
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _default_mode())
        try:
            os.link(temp, path)  # atomic, and fails if the file exists
            return True
        except FileExistsError:
            return False
        except OSError:  # no hard links on this file system
            pass
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, _default_mode())
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return True
    finally:
        Path(temp).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable, where the OS allows opening folders."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def write_failure(failed: str, path: Path, err: OSError) -> str:
    """The message for an OS failure while writing ``path``: the file, the reason, a fix.

    ``failed`` starts the message, e.g. ``"could not write checkpoint"``.

    Example:
        >>> write_failure("could not write grid", Path("a.png"), OSError(28, "No space"))
        "could not write grid 'a.png': No space (OSError); the previous file ..."
    """
    reason = err.strerror or str(err)
    return (
        f"{failed} {str(path)!r}: {reason} ({type(err).__name__}); the "
        "previous file at that path, if any, is unchanged. Check that the folder is "
        "writable and the disk has free space, or write somewhere else"
    )


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))
