"""Which old checkpoints a rotation deletes (``ModelCheckpoint(keep_last=...)``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__: list[str] = []


def files_to_prune(files: Sequence[Path], written: Path, keep_last: int) -> list[Path]:
    """The files to delete so that ``keep_last`` remain, the one just written among them.

    ``files`` are the folder's checkpoints oldest first, as
    :func:`~mnistgan.checkpoint.list_checkpoints` orders them (by the number in the name).
    The file just written is the newest whatever its number: files ordered after it
    (higher-numbered ones, left by an earlier and longer run in the same folder, or a
    corrupt file) are older than it and are deleted first; the rest keep their order.
    So the rotation never deletes the file it has just written, and never keeps a stale
    higher-numbered file in place of it.

    Example:
        >>> names = ["epoch_0001.pt", "epoch_0002.pt", "epoch_0009.pt"]
        >>> [p.name for p in files_to_prune([Path(n) for n in names], Path(names[1]), 1)]
        ['epoch_0009.pt', 'epoch_0001.pt']
    """
    index = next((i for i, p in enumerate(files) if p.name == written.name), None)
    # Not listed (a pattern that does not match it): it is never deleted either way.
    order = list(files) if index is None else [*files[index + 1 :], *files[:index], files[index]]
    return order[: max(len(order) - keep_last, 0)]
