"""The record of a training run: one row per step and one per epoch."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["History"]


class History:
    """Per-step and per-epoch records of a training run.

    Steps are stored as they come (0-d tensors are fine) and turned into floats
    in one go when read or at the end of each epoch, so recording a step never
    waits for the device. Epoch rows hold the mean of every step value, plus
    ``epoch``, ``seconds``, ``images`` and ``images_per_s``.

    Example:
        >>> h = History()
        >>> h.record_step({"loss_d": torch.tensor(1.0), "loss_g": 2.0})
        >>> h.record_step({"loss_d": torch.tensor(3.0), "loss_g": 4.0})
        >>> h.end_epoch(epoch=0, seconds=2.0, images=128)["loss_d"]
        2.0
        >>> h["loss_g"]
        [2.0, 4.0]
        >>> len(h.steps), len(h.epochs)
        (2, 1)
    """

    def __init__(self) -> None:
        self._steps: list[dict[str, float]] = []
        self._pending: list[Mapping[str, Tensor | float]] = []
        self._epoch_start = 0  # index in _steps of the current epoch's first step
        self.epochs: list[dict[str, float]] = []

    # ------------------------------------------------------------------ recording

    def record_step(self, logs: Mapping[str, Tensor | float]) -> None:
        """Append one step's values (floats or 0-d tensors)."""
        self._pending.append(dict(logs))

    def _flush(self) -> list[dict[str, float]]:
        """Convert pending steps to floats with one device sync; return them."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        keys = list(pending[0])
        columns: dict[str, list[float]] = {}
        for key in keys:
            values = [row[key] for row in pending]
            if all(isinstance(v, Tensor) for v in values):
                stacked = torch.stack([v.detach().float().reshape(()) for v in values])  # type: ignore[union-attr]
                columns[key] = stacked.cpu().tolist()
            else:
                columns[key] = [float(v) for v in values]
        rows = [{key: columns[key][i] for key in keys} for i in range(len(pending))]
        self._steps.extend(rows)
        return rows

    def end_epoch(self, *, epoch: int, seconds: float, images: int) -> dict[str, float]:
        """Close an epoch: average its steps and append an epoch row.

        Args:
            epoch: Zero-based epoch index.
            seconds: Wall time of the epoch.
            images: Real images seen in the epoch.

        Returns:
            The epoch row.
        """
        self._flush()
        # Every step since the last epoch ended, also those already flushed by a read
        # of ``steps`` (a callback, a mid-epoch save) during this epoch.
        rows = self._steps[self._epoch_start :]
        self._epoch_start = len(self._steps)
        row: dict[str, float] = {"epoch": float(epoch)}
        for key in rows[0] if rows else ():
            row[key] = math.fsum(r[key] for r in rows) / len(rows)
        row["seconds"] = seconds
        row["images"] = float(images)
        row["images_per_s"] = images / seconds if seconds > 0 else math.inf
        self.epochs.append(row)
        return row

    def log_epoch_value(self, key: str, value: float) -> None:
        """Add a value (e.g. a metric) to the last epoch row."""
        if not self.epochs:
            raise IndexError("no epoch has ended yet; log epoch values from on_epoch_end")
        self.epochs[-1][key] = float(value)

    # ------------------------------------------------------------------ reading

    @property
    def steps(self) -> list[dict[str, float]]:
        """One row of floats per training step."""
        self._flush()
        return self._steps

    def __getitem__(self, key: str) -> list[float]:
        """Per-step values of ``key`` (e.g. ``history["loss_d"]``)."""
        return [row[key] for row in self.steps if key in row]

    def __len__(self) -> int:
        return len(self._steps) + len(self._pending)

    def __repr__(self) -> str:
        return f"History(steps={len(self)}, epochs={len(self.epochs)})"

    # ------------------------------------------------------------------ persistence

    def state_dict(self) -> dict[str, Any]:
        """Plain lists and dicts, safe for checkpoints."""
        return {"steps": [dict(r) for r in self.steps], "epochs": [dict(r) for r in self.epochs]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the records with those of :meth:`state_dict`."""
        self._pending = []
        self._steps = [dict(r) for r in state.get("steps", [])]
        self._epoch_start = len(self._steps)
        self.epochs = [dict(r) for r in state.get("epochs", [])]

    def to_json(self) -> str:
        """The records as JSON text (``{"steps": [...], "epochs": [...]}``)."""
        return json.dumps(self.state_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> History:
        """Read records written by :meth:`to_json`."""
        history = cls()
        history.load_state_dict(json.loads(text))
        return history

    def to_csv(self, which: str = "epochs") -> str:
        """The ``"epochs"`` or ``"steps"`` rows as CSV text with a header."""
        rows = self.epochs if which == "epochs" else self.steps
        buffer = io.StringIO()
        fields: list[str] = []
        for row in rows:
            fields.extend(k for k in row if k not in fields)
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
