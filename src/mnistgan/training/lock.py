"""One run, one writer: an exclusive hold on a run folder by one process.

A :class:`RunLock` is a file (``.lock`` by default) in the folder that names the
process holding it: its PID, its host and, where the system tells it (Linux), the
process's start time, so that a recycled PID is not mistaken for the holder. The
file appears atomically with its whole content (written to a temporary file, then
hard-linked into place, which fails if a lock exists; ``O_CREAT | O_EXCL`` where the
file system has no hard links), so a second process sees either no lock or a
complete one.

A lock whose process no longer runs on this host (it was killed with ``kill -9``, or
the machine restarted) is *stale*: the next process takes it over and logs that it
did. A lock held by a live process, or by a process on another host (whose state
cannot be checked from here), is refused with :class:`~mnistgan.errors.FolderInUseError`
naming the holder.

``mnistgan train`` holds its ``--out`` folder this way, and
:class:`~mnistgan.training.ModelCheckpoint` holds its checkpoint folder from the start
of ``fit`` to its end (or its exception); in distributed training only rank 0 does.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with RunLock(folder) as lock:
    ...         holder = lock.holder()
    ...         try:
    ...             RunLock(folder).acquire()
    ...         except FolderInUseError as err:
    ...             refused = "is in use by" in str(err)
    ...     holder["pid"] == os.getpid(), refused, lock.held
    (True, True, False)

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

from .._io import atomic_create
from ..errors import FolderInUseError

__all__ = ["LOCK_NAME", "RunLock"]

logger = logging.getLogger(__name__)

LOCK_NAME = ".lock"
"""The lock file's name inside the folder it holds."""


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), else ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) follows the command name, which may hold spaces and ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int) -> bool:
    """Whether a process with this PID exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def _describe(holder: dict[str, Any]) -> str:
    """``process 1234 on host "box", since 2026-01-02 10:11:12``."""
    since = holder.get("since")
    when = (
        time.strftime(", since %Y-%m-%d %H:%M:%S", time.localtime(since))
        if isinstance(since, (int, float))
        else ""
    )
    return f"process {holder.get('pid', '?')} on host {holder.get('host', '?')!r}{when}"


class RunLock:
    """An exclusive, process-level hold on a folder, through a lock file in it.

    Args:
        directory: The folder to hold (created if missing).
        name: The lock file's name in it.

    Use :meth:`acquire` and :meth:`release`, or a ``with`` block. Acquiring a lock this
    object already holds does nothing; releasing one it does not hold does nothing, and
    never removes a lock that another process has taken over meanwhile.
    """

    def __init__(self, directory: str | os.PathLike[str], *, name: str = LOCK_NAME) -> None:
        self.directory = Path(directory)
        self.path = self.directory / name
        self._token: str | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._token is not None

    def holder(self) -> dict[str, Any] | None:
        """What the lock file says about its holder (``pid``, ``host``, ``since``, ...), or
        ``None`` when there is no lock file; ``{}`` when it cannot be read."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _stale(self, holder: dict[str, Any]) -> bool:
        """Whether ``holder`` is a process of this host that no longer runs."""
        if holder.get("host") != socket.gethostname():
            return False
        pid = holder.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return False
        if not _alive(pid):
            return True
        start = holder.get("start")
        now = _process_start(pid)
        return start is not None and now is not None and start != now  # the PID was reused

    def _create(self, content: str) -> bool:
        """Put the lock file in place with ``content`` unless one exists; whether it did."""
        return atomic_create(self.path, content.encode("utf-8"))

    def acquire(self) -> RunLock:
        """Take the folder, or take over a stale lock.

        Returns:
            ``self``.

        Raises:
            FolderInUseError: If another live process (or a process on another host)
                holds the folder; the message names it and says what to do.
            OSError: If the folder or the lock file cannot be written.
        """
        if self.held:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "start": _process_start(os.getpid()),
            "since": time.time(),
            "token": token,
        }
        content = json.dumps(me) + "\n"
        for _ in range(3):
            if self._create(content):
                self._token = token
                return self
            holder = self.holder()
            if holder is None:  # released meanwhile: try again
                continue
            if holder and self._stale(holder):
                logger.warning(
                    "taking over %s: its holder, %s, no longer runs (killed or crashed)",
                    self.path,
                    _describe(holder),
                )
                self._remove_if(holder.get("token"))
                continue
            raise FolderInUseError(self._in_use_message(holder))
        raise FolderInUseError(self._in_use_message(self.holder() or {}))

    def _in_use_message(self, holder: dict[str, Any]) -> str:
        who = _describe(holder) if holder else "another process (the lock file is unreadable)"
        mine = holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()
        where = "this very process (another fit or run is using it)" if mine else who
        return (
            f"the folder {str(self.directory)!r} is in use by {where}: one run writes to a "
            f"folder at a time. Wait for that run to end, stop it, or write elsewhere (another "
            f"--out folder or checkpoint directory). If you are sure no run uses the folder, "
            f"delete {str(self.path)!r}"
        )

    def _remove_if(self, token: object) -> None:
        """Delete the lock file if it still carries ``token`` (so not a newer holder's)."""
        current = self.holder()
        if current is not None and current.get("token") == token:
            self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Give the folder back (delete the lock file if it is still this object's)."""
        if self._token is None:
            return
        token, self._token = self._token, None
        try:
            self._remove_if(token)
        except OSError as err:
            logger.warning("could not remove the lock file %s: %s", self.path, err)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"RunLock({str(self.directory)!r}, held={self.held})"
