"""Tests for mnistgan.checkpoint: exact round trips, integrity, safety, atomic writes."""

from __future__ import annotations

import errno
import io
import logging
import os
import pickle
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from mnistgan import checkpoint as ckpt
from mnistgan.checkpoint import (
    FORMAT_VERSION,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from mnistgan.device import get_rng_state
from mnistgan.errors import CheckpointError, ConfigError


class _Evil:
    """Unpickling this creates the file at ``marker``: stands in for any code execution."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


class _Opaque:
    """An arbitrary Python object that a weights_only load refuses."""


def _realistic_payload() -> dict[str, Any]:
    """A payload shaped like a training checkpoint: modules, optimiser, RNG, history."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(1))
    net(torch.randn(2, 1, 8, 8))  # materialise the lazy layer, update BN running stats
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    net(torch.randn(2, 1, 8, 8)).sum().backward()
    optimiser.step()
    return {
        "config": {"generator": "dcgan", "latent_dim": 100, "image_shape": [1, 28, 28]},
        "G": net.state_dict(),
        "opt_G": optimiser.state_dict(),
        "epoch": 3,
        "step": 1234,
        "lr": 2e-4,
        "best": None,
        "flags": (True, False),
        "rng": get_rng_state(),
        "callbacks": {"fixed_noise": {"z": torch.randn(4, 100, dtype=torch.float64)}},
        "history": [{"loss_d": 0.5, "loss_g": 1.25}, {"loss_d": 0.25, "loss_g": 2.0}],
        "ints": torch.arange(10, dtype=torch.int64),
        "bytes": torch.randint(0, 256, (16,), dtype=torch.uint8),
        "bf16": torch.randn(3, dtype=torch.bfloat16),
    }


def _assert_identical(expected: object, actual: object, where: str = "payload") -> None:
    """Assert two payloads are equal, tensors bit for bit (dtype, shape, values)."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, torch.Tensor), where
        assert actual.dtype == expected.dtype, where
        assert torch.equal(actual, expected), where
        return
    assert type(actual) is type(expected), where
    if isinstance(expected, dict):
        assert isinstance(actual, dict)
        assert list(actual) == list(expected), where
        for key in expected:
            _assert_identical(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple))
        assert len(actual) == len(expected), where
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            _assert_identical(a, b, f"{where}[{i}]")
    else:
        assert actual == expected, where


def _with_trailer(obj: object, format_version: int = FORMAT_VERSION) -> bytes:
    """Bytes of ``torch.save(obj)`` plus a valid mnistgan trailer (a forged checkpoint)."""
    buffer = io.BytesIO()
    writer = ckpt._HashingWriter(buffer)
    torch.save(obj, cast(Any, writer))
    return buffer.getvalue() + writer.trailer(format_version)


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a small valid checkpoint."""
    path = tmp_path_factory.mktemp("good") / "epoch_0001.pt"
    save_checkpoint({"w": torch.arange(6.0), "epoch": 1, "name": "dcgan"}, path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file path that tests overwrite freely (shared by Hypothesis examples)."""
    return tmp_path_factory.mktemp("scratch") / "damaged.pt"


def _leftovers(folder: Path) -> list[str]:
    """Names of temporary files left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- round trip


def test_round_trip_is_exact(tmp_path: Path) -> None:
    """A realistic payload comes back with the same structure and bit-identical tensors."""
    payload = _realistic_payload()
    written = save_checkpoint(payload, tmp_path / "epoch_0003.pt")
    assert written == tmp_path / "epoch_0003.pt"
    _assert_identical(payload, load_checkpoint(written))


def test_file_is_readable_by_plain_weights_only_torch_load(tmp_path: Path) -> None:
    """torch.load(weights_only=True) reads the payload directly, ignoring the trailer."""
    payload = {"w": torch.randn(3, 3), "epoch": 2}
    written = save_checkpoint(payload, tmp_path / "c.pt")
    _assert_identical(payload, torch.load(written, weights_only=True))


def test_save_creates_parent_folders_and_overwrites(tmp_path: Path) -> None:
    """Missing parent folders are created; saving again replaces the previous content."""
    path = tmp_path / "a" / "b" / "last.pt"
    save_checkpoint({"epoch": 1}, path)
    save_checkpoint({"epoch": 2}, path)
    assert load_checkpoint(path) == {"epoch": 2}
    assert _leftovers(path.parent) == []


def test_map_location_places_tensors(tmp_path: Path) -> None:
    """map_location decides where tensors land; the default is the CPU."""
    written = save_checkpoint({"w": torch.ones(2)}, tmp_path / "c.pt")
    assert load_checkpoint(written)["w"].device == torch.device("cpu")
    assert load_checkpoint(written, map_location="meta")["w"].device == torch.device("meta")


def test_bad_map_location_raises(tmp_path: Path) -> None:
    """A map_location that is not a device raises ConfigError naming it."""
    written = save_checkpoint({"w": torch.ones(2)}, tmp_path / "c.pt")
    with pytest.raises(ConfigError, match="map_location"):
        load_checkpoint(written, map_location="gpu please")


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "writer",
    [
        pytest.param(lambda obj, path: torch.save(obj, path), id="torch.save"),
        pytest.param(lambda obj, path: path.write_bytes(pickle.dumps(obj)), id="pickle"),
        pytest.param(lambda obj, path: path.write_bytes(_with_trailer(obj)), id="forged-trailer"),
    ],
)
def test_malicious_pickle_is_refused_without_running(
    tmp_path: Path, writer: Callable[[object, Path], object]
) -> None:
    """A file whose unpickling would run code is refused, and the code never runs."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    writer({"epoch": 1, "payload": _Evil(marker)}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pt"):
        load_checkpoint(path)
    assert not marker.exists()


def test_forged_checkpoint_refusal_says_it_could_run_code(tmp_path: Path) -> None:
    """A checksum-valid file holding code-running objects is refused as unsafe."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(_with_trailer({"x": _Evil(marker)}))
    with pytest.raises(CheckpointError, match="could run code") as info:
        load_checkpoint(path)
    assert "refers to" in str(info.value)  # names the refused global, e.g. io.open
    assert "open" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"epoch": 1, "obj": _Opaque()}, "payload['obj']"),
        ({"config": {"act": lambda x: x}}, "payload['config']['act']"),
        ({"history": [{"a": 1}, {"array": np.zeros(3)}]}, "payload['history'][1]['array']"),
        ({"nested": ({"k": [_Opaque()]},)}, "payload['nested'][0]['k'][0]"),
    ],
)
def test_unsafe_payload_is_refused_at_save_time(
    tmp_path: Path, payload: dict[str, Any], key: str
) -> None:
    """A value a weights_only load would refuse raises at save time, naming its key."""
    path = tmp_path / "c.pt"
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(payload, path)
    assert key in str(info.value)
    assert str(path) in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("payload", [[1, 2], "abc", None])
def test_non_mapping_payload_raises(tmp_path: Path, payload: object) -> None:
    """A payload that is not a mapping raises ConfigError."""
    with pytest.raises(ConfigError, match="payload must be a mapping"):
        save_checkpoint(cast(Any, payload), tmp_path / "c.pt")


def test_non_str_keys_raise(tmp_path: Path) -> None:
    """Top-level payload keys must be strings."""
    with pytest.raises(ConfigError, match="keys must be str"):
        save_checkpoint(cast(Any, {1: "x"}), tmp_path / "c.pt")


# --------------------------------------------------------------------------- integrity


@pytest.mark.parametrize("keep", [0, 1, 4, 100, 0.5, -61, -60, -32, -1])
def test_truncation_is_detected(scratch: Path, good_bytes: bytes, keep: float) -> None:
    """A file cut short anywhere, including inside the trailer, raises CheckpointError."""
    size = len(good_bytes)
    cut = int(size * keep) if isinstance(keep, float) else keep % size if keep < 0 else keep
    scratch.write_bytes(good_bytes[:cut])
    with pytest.raises(CheckpointError, match=re.escape(scratch.name)):
        load_checkpoint(scratch)


@given(cut=st.data())
def test_truncation_anywhere_is_detected(
    scratch: Path, good_bytes: bytes, cut: st.DataObject
) -> None:
    """Any prefix of a valid checkpoint is refused."""
    keep = cut.draw(st.integers(0, len(good_bytes) - 1))
    scratch.write_bytes(good_bytes[:keep])
    with pytest.raises(CheckpointError):
        load_checkpoint(scratch)


def test_every_single_byte_flip_is_detected(good_bytes: bytes) -> None:
    """Inverting any one byte (zip, header, checksum, marker) fails verification."""
    undetected = []
    for offset in range(len(good_bytes)):
        damaged = bytearray(good_bytes)
        damaged[offset] ^= 0xFF
        # The verification step of load_checkpoint, in memory: thousands of files are slow.
        try:
            ckpt._verify(io.BytesIO(damaged), Path("damaged.pt"))
        except CheckpointError:
            continue
        undetected.append(offset)
    assert undetected == []
    ckpt._verify(io.BytesIO(good_bytes), Path("good.pt"))


@given(data=st.data())
def test_random_byte_corruption_is_detected(
    scratch: Path, good_bytes: bytes, data: st.DataObject
) -> None:
    """Any non-zero XOR mask applied at any offset is detected."""
    offset = data.draw(st.integers(0, len(good_bytes) - 1))
    mask = data.draw(st.integers(1, 255))
    damaged = bytearray(good_bytes)
    damaged[offset] ^= mask
    scratch.write_bytes(damaged)
    with pytest.raises(CheckpointError):
        load_checkpoint(scratch)


def test_newer_format_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file from a newer format version is refused, naming both versions and the fix."""
    path = tmp_path / "future.pt"
    with monkeypatch.context() as patch:
        patch.setattr(ckpt, "FORMAT_VERSION", FORMAT_VERSION + 1)
        save_checkpoint({"epoch": 1}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert f"format version {FORMAT_VERSION + 1}" in message
    assert f"format version {FORMAT_VERSION} at most" in message
    assert "upgrade mnistgan" in message
    assert "future.pt" in message


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a valid mnistgan checkpoint"),
        (b"hello, world\n" * 10, "not a valid mnistgan checkpoint"),
        (None, "plain torch.save"),
    ],
)
def test_foreign_files_are_refused(tmp_path: Path, content: bytes | None, match: str) -> None:
    """Empty files, text and plain torch.save files are refused as not mnistgan checkpoints."""
    path = tmp_path / "foreign.pt"
    if content is None:
        torch.save({"w": torch.ones(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)


def test_missing_file_and_folder_are_refused(tmp_path: Path) -> None:
    """A missing path or a folder raises CheckpointError naming it."""
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


# --------------------------------------------------------------------------- atomic writes


class _FullDisk:
    """A file opened by ``os.fdopen`` that runs out of space after ``budget`` bytes."""

    def __init__(self, real: IO[bytes], budget: int) -> None:
        self._real = real
        self._budget = budget

    def write(self, data: bytes) -> int:
        """Write, or raise ENOSPC once the budget is spent."""
        if len(data) > self._budget:
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget -= len(data)
        return self._real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._real.close()


def _fail_os_call(name: str, exc: OSError) -> Callable[[pytest.MonkeyPatch], None]:
    """A patch making ``os.<name>`` always fail with ``exc``."""

    def failing(*args: object, **kwargs: object) -> Any:
        raise exc

    return lambda patch: patch.setattr(os, name, failing)


def _fill_disk_after(budget: int) -> Callable[[pytest.MonkeyPatch], None]:
    """A patch making files from ``os.fdopen`` fail with ENOSPC after ``budget`` bytes."""
    real_fdopen = os.fdopen

    def fdopen(fd: int, mode: str) -> _FullDisk:
        return _FullDisk(real_fdopen(fd, mode), budget)

    return lambda patch: patch.setattr(os, "fdopen", fdopen)


def _new_payload() -> dict[str, Any]:
    """The payload whose save is made to fail."""
    return {"epoch": 2, "w": torch.zeros(1000)}


def _zip_size(payload: dict[str, Any]) -> int:
    """How many bytes torch.save writes for ``payload`` (the trailer follows them)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return len(buffer.getvalue())


_NO_SPACE = "No space left on device"
_FAILURES: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], str]] = {
    "replace": (
        _fail_os_call("replace", OSError(errno.EXDEV, "Invalid cross-device link")),
        "Invalid cross-device link",
    ),
    "fsync": (_fail_os_call("fsync", OSError(errno.EIO, "Input/output error")), "Input/output"),
    "open": (
        _fail_os_call("open", PermissionError(errno.EACCES, "Permission denied")),
        "Permission denied",
    ),
    "disk-full-at-start": (_fill_disk_after(0), _NO_SPACE),
    "disk-full-mid-zip": (_fill_disk_after(700), _NO_SPACE),
    "disk-full-at-trailer": (_fill_disk_after(_zip_size(_new_payload())), _NO_SPACE),
}


@pytest.mark.parametrize("failure", sorted(_FAILURES))
def test_failed_save_keeps_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """An OS error mid-save raises CheckpointError; the old file is intact, no temp is left."""
    path = tmp_path / "last.pt"
    old = {"epoch": 1, "w": torch.arange(4.0)}
    save_checkpoint(old, path)
    before = path.read_bytes()
    apply_patch, reason = _FAILURES[failure]
    with monkeypatch.context() as patch:
        apply_patch(patch)
        with pytest.raises(CheckpointError) as info:
            save_checkpoint(_new_payload(), path)
    assert str(path) in str(info.value)
    assert reason in str(info.value)
    assert "could not write checkpoint" in str(info.value)
    assert path.read_bytes() == before
    _assert_identical(old, load_checkpoint(path))
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root ignores folder permissions; test_failed_save_keeps_previous_checkpoint[open] "
    "covers the same failure with a mocked PermissionError",
)
def test_unwritable_folder_raises(tmp_path: Path) -> None:
    """Saving into a read-only folder raises CheckpointError and leaves the old file."""
    folder = tmp_path / "ro"
    path = folder / "last.pt"
    save_checkpoint({"epoch": 1}, path)
    folder.chmod(0o500)
    try:
        with pytest.raises(CheckpointError, match=r"last\.pt"):
            save_checkpoint({"epoch": 2}, path)
    finally:
        folder.chmod(0o700)
    assert load_checkpoint(path) == {"epoch": 1}
    assert _leftovers(folder) == []


def test_saving_onto_a_folder_raises(tmp_path: Path) -> None:
    """A path that is an existing folder raises CheckpointError."""
    with pytest.raises(CheckpointError, match="folder"):
        save_checkpoint({"epoch": 1}, tmp_path)


# --------------------------------------------------------------------------- finding


def test_list_checkpoints_orders_by_number_then_mtime(tmp_path: Path) -> None:
    """Files sort by the number in their name (not alphabetically), ties by mtime."""
    for name in ["epoch_10.pt", "epoch_0003.pt", "epoch_2.pt", "b_5.pt", "a_5.pt", "last.pt"]:
        save_checkpoint({"name": name}, tmp_path / name)
    os.utime(tmp_path / "a_5.pt", (2_000_000_000, 2_000_000_000))  # newer than b_5
    os.utime(tmp_path / "b_5.pt", (1_000_000_000, 1_000_000_000))
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / ".epoch_11.pt.0123456789ab.tmp").write_bytes(b"half written")
    names = [p.name for p in list_checkpoints(tmp_path)]
    assert names == ["last.pt", "epoch_2.pt", "epoch_0003.pt", "b_5.pt", "a_5.pt", "epoch_10.pt"]
    assert ".epoch_11.pt.0123456789ab.tmp" not in [p.name for p in list_checkpoints(tmp_path, "*")]


def test_list_checkpoints_of_missing_folder_is_empty(tmp_path: Path) -> None:
    """A folder that does not exist has no checkpoints; a file instead raises ConfigError."""
    assert list_checkpoints(tmp_path / "missing") == []
    assert latest_checkpoint(tmp_path / "missing") is None
    (tmp_path / "file.pt").write_bytes(b"x")
    with pytest.raises(ConfigError, match="folder"):
        list_checkpoints(tmp_path / "file.pt")


def test_latest_checkpoint_skips_a_corrupt_newest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A truncated newest file is skipped with a warning naming it; the previous one wins."""
    for epoch in (1, 2, 3):
        save_checkpoint({"epoch": epoch}, tmp_path / f"epoch_{epoch:04d}.pt")
    newest = tmp_path / "epoch_0003.pt"
    newest.write_bytes(newest.read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="mnistgan.checkpoint"):
        found = latest_checkpoint(tmp_path)
    assert found == tmp_path / "epoch_0002.pt"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "epoch_0003.pt" in warnings[0].getMessage()
    assert "not a valid mnistgan checkpoint" in warnings[0].getMessage()


def test_latest_checkpoint_none_when_all_bad(tmp_path: Path) -> None:
    """With no loadable checkpoint at all, latest_checkpoint returns None."""
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "epoch_1.pt").write_bytes(b"garbage")
    assert latest_checkpoint(tmp_path) is None


# --------------------------------------------------------------------------- mutation killers


class _Opaque:
    """A picklable object that a weights_only load refuses."""


def _unpicklable() -> None:
    """Stands in for any value pickle cannot store (a local function)."""


@pytest.mark.parametrize(
    ("value", "where", "reason"),
    [
        (
            {"inner": [1, _Opaque()]},
            "payload['x']['inner'][1] holds a test_checkpoint._Opaque object",
            "a safe torch.load(weights_only=True) would refuse it",
        ),
        (
            {"f": lambda: None},
            "payload['x']['f'] holds a builtins.function object",
            "it cannot be pickled (PicklingError: ",
        ),
    ],
    ids=["refused-on-load", "unpicklable"],
)
def test_unsafe_values_are_named_with_their_path_type_and_reason(
    tmp_path: Path, value: object, where: str, reason: str
) -> None:
    """A payload holding an object a safe load refuses (or pickle cannot store) is not
    written; the error gives the innermost key path, the object's type and why."""
    with pytest.raises(CheckpointError) as info:
        save_checkpoint({"x": value, "w": torch.ones(2)}, tmp_path / "c.pt")
    assert where in str(info.value), str(info.value)
    assert reason in str(info.value), str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_saved_files_get_the_umask_permissions_and_a_hidden_random_temp_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is written as ``.NAME.<random>.tmp`` next to the target (the one atomic
    writer's naming), then renamed; it ends with mode 0o666 less the umask, like any file
    the user creates."""
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        renamed.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    umask = os.umask(0o022)
    try:
        path = save_checkpoint({"w": torch.ones(2)}, tmp_path / "g.pt")
    finally:
        os.umask(umask)
    assert len(renamed) == 1
    src, dst = (Path(p) for p in renamed[0])
    assert dst == path and src.parent == tmp_path
    assert re.fullmatch(r"\.g\.pt\.[a-z0-9_]{8,}\.tmp", src.name), src.name
    assert path.stat().st_mode & 0o777 == 0o644


def test_write_errors_give_the_os_reason_without_its_errno_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OS error while writing is reported by its strerror and type, not its repr."""
    _fill_disk_after(0)(monkeypatch)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(_new_payload(), tmp_path / "c.pt")
    assert f"{_NO_SPACE} (OSError)" in str(info.value)
    assert "[Errno" not in str(info.value)


def test_the_culprit_is_named_past_values_that_round_trip(tmp_path: Path) -> None:
    """Values that are not plain containers but load safely (an OrderedDict) are passed
    over: the error names the object that a safe load refuses."""
    from collections import OrderedDict

    payload = {"a": OrderedDict(k=torch.ones(1)), "b": _Opaque()}
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(payload, tmp_path / "c.pt")
    assert "payload['b'] holds a test_checkpoint._Opaque" in str(info.value), str(info.value)


def test_write_errors_without_strerror_quote_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OSError without an errno (no strerror) is quoted as its text."""
    _fail_os_call("replace", OSError("the volume went away"))(monkeypatch)
    with pytest.raises(CheckpointError, match="the volume went away"):
        save_checkpoint({"w": torch.ones(1)}, tmp_path / "c.pt")


def test_listing_order_and_what_is_left_out(tmp_path: Path) -> None:
    """Files without a number come first, then by number; hidden files that are not
    temporary ones are listed, temporary files of unfinished saves (hidden, .tmp) are not;
    latest_checkpoint looks only at files matching its pattern."""
    # "last.pt" (no number) is written after ".best_0001.pt" (1): it still sorts first.
    for name in ("epoch_0002.pt", ".best_0001.pt", "last.pt", "epoch_0010.pt"):
        save_checkpoint({"w": torch.ones(1)}, tmp_path / name)
    (tmp_path / ".epoch_0011.pt.0123456789ab.tmp").write_bytes(b"half")
    (tmp_path / "notes_0099.tmp").write_bytes(b"not a temp of ours")
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "last.pt",
        ".best_0001.pt",
        "epoch_0002.pt",
        "epoch_0010.pt",
    ]
    assert [p.name for p in list_checkpoints(tmp_path, "*.tmp")] == ["notes_0099.tmp"]
    save_checkpoint({"w": torch.ones(1)}, tmp_path / "other_0050.pt")
    assert latest_checkpoint(tmp_path, "epoch_*.pt") == tmp_path / "epoch_0010.pt"


def test_latest_checkpoint_logs_which_file_it_skips(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt newest file is skipped with a warning that names it."""
    save_checkpoint({"w": torch.ones(1)}, tmp_path / "epoch_0001.pt")
    (tmp_path / "epoch_0002.pt").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="mnistgan"):
        assert latest_checkpoint(tmp_path) == tmp_path / "epoch_0001.pt"
    skipped = f"skipping checkpoint {tmp_path / 'epoch_0002.pt'}: "
    assert any(r.getMessage().startswith(skipped) for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]


class _FailingFlush:
    """A file from ``os.fdopen`` whose flush fails with ENOSPC (data stuck in a buffer)."""

    def __init__(self, real: IO[bytes]) -> None:
        self._real = real

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, _NO_SPACE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __enter__(self) -> _FailingFlush:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._real.close()


def test_a_failing_flush_is_a_write_error_not_an_unsafe_payload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When flushing the file fails, the error is the OS's (disk full), not a claim that the
    payload cannot be stored; no file appears."""
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: _FailingFlush(real_fdopen(fd, mode)))
    with pytest.raises(CheckpointError, match=f"could not write checkpoint .*{_NO_SPACE}"):
        save_checkpoint({"w": torch.ones(3)}, tmp_path / "c.pt")
    assert list(tmp_path.iterdir()) == []


def test_each_save_is_logged_at_debug_level(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """save_checkpoint logs 'saved checkpoint PATH' at DEBUG level."""
    with caplog.at_level(logging.DEBUG, logger="mnistgan"):
        path = save_checkpoint({"w": torch.ones(1)}, tmp_path / "c.pt")
    assert f"saved checkpoint {path}" in [r.getMessage() for r in caplog.records]
