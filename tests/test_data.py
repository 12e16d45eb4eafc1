"""Tests of mnistgan.data: datasets, IDX files, the in-memory loader and its errors."""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any, cast
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torchvision  # type: ignore[import-untyped,unused-ignore]
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mnistgan.data import (
    DATASETS,
    RAW_FILES,
    InMemoryLoader,
    data_root,
    load_dataset,
    load_tensors,
    make_loader,
)
from mnistgan.errors import BatchTypeError, ConfigError, DataError, DatasetNotFoundError

# The folder torchvision reads each dataset from: <root>/<folder>/raw/<file>.
_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}

# Published MNIST label counts (see ../shared/data/README.md).
_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ----------------------------------------------------------------------------- helpers


def _length(dataset: object) -> int:
    """len() of a dataset (torch's Dataset type does not declare __len__)."""
    return len(cast(Sized, dataset))


def _write_idx(path: Path, array: np.ndarray[Any, Any]) -> None:
    """Write a uint8 array as an uncompressed big-endian IDX file (the MNIST format)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _write_dataset(
    root: Path,
    name: str,
    train: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
    test: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
) -> Path:
    """Write both splits of ``name`` in torchvision's raw layout and return the raw folder."""
    raw = root / _FOLDERS[name] / "raw"
    raw.mkdir(parents=True)
    for prefix, (images, labels) in (("train", train), ("t10k", test)):
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return raw


def _random_split(
    rng: np.random.Generator, n: int, h: int = 28, w: int = 28
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Random uint8 images (n, h, w) and labels (n,) in 0..9."""
    images = rng.integers(0, 256, size=(n, h, w), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def _batches(loader: InMemoryLoader) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Iterate one epoch of a labelled loader into a list of (x, y) pairs."""
    out = []
    for batch in loader:
        assert isinstance(batch, tuple)
        out.append(batch)
    return out


def _same_batches(
    a: list[tuple[torch.Tensor, torch.Tensor]], b: list[tuple[torch.Tensor, torch.Tensor]]
) -> bool:
    """Whether two epochs yielded bit-identical batches."""
    return len(a) == len(b) and all(
        torch.equal(xa, xb) and torch.equal(ya, yb)
        for (xa, ya), (xb, yb) in zip(a, b, strict=True)
    )


def _labelled_loader(n: int = 50, **kwargs: Any) -> InMemoryLoader:
    """A loader whose label is each image's index, so order can be read off ``y``."""
    images = (torch.arange(n) % 256).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 3)
    return InMemoryLoader(images, torch.arange(n), **kwargs)


# ----------------------------------------------------------------------------- data_root


def test_data_root_prefers_argument_then_env_then_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """data_root: the argument beats MNISTGAN_DATA_ROOT, which beats $XDG_CACHE_HOME."""
    monkeypatch.setenv("MNISTGAN_DATA_ROOT", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("MNISTGAN_DATA_ROOT")
    assert data_root() == tmp_path / "cache" / "mnistgan" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" / ".cache" / "mnistgan" / "data"


def test_data_root_is_absolute_and_expands_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """data_root returns an absolute path with ``~`` expanded, and creates nothing."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert data_root("~/digits") == tmp_path / "digits"
    assert data_root("rel") == tmp_path / "rel"
    assert not (tmp_path / "digits").exists()


# ----------------------------------------------------------------------------- IDX files


@pytest.mark.parametrize("name", DATASETS)
def test_idx_files_round_trip_exactly(name: str, tmp_path: Path) -> None:
    """Every dataset reads pixels and labels back exactly from IDX files in its raw folder."""
    rng = np.random.default_rng(len(name))
    train, test = _random_split(rng, 7), _random_split(rng, 5)
    _write_dataset(tmp_path, name, train, test)
    for split, (images, labels) in ((True, train), (False, test)):
        x, y = load_tensors(name, root=tmp_path, train=split)
        assert x.dtype == torch.uint8 and x.shape == (len(images), 1, 28, 28)
        assert y.dtype == torch.int64
        assert torch.equal(x[:, 0], torch.from_numpy(images))
        assert torch.equal(y, torch.from_numpy(labels).long())
        dataset = load_dataset(name, root=tmp_path, train=split)
        assert _length(dataset) == len(images)
        for i in range(len(images)):
            xi, yi = dataset[i]
            assert xi.dtype == torch.float32 and xi.shape == (1, 28, 28)
            assert torch.equal(xi[0], torch.from_numpy(images[i]).float() / 255)
            assert isinstance(yi, int) and yi == labels[i]


@given(
    name=st.sampled_from(DATASETS),
    images=st.integers(1, 6).flatmap(
        lambda n: st.tuples(st.integers(1, 9), st.integers(1, 9)).flatmap(
            lambda hw: arrays(np.uint8, (n, *hw))
        )
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_idx_any_pixels_any_size_round_trip(
    name: str, images: np.ndarray[Any, Any], seed: int
) -> None:
    """Arbitrary uint8 pixels of any size come back bit-exactly through load_tensors."""
    labels = np.random.default_rng(seed).integers(0, 10, size=len(images), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        _write_dataset(Path(tmp), name, (images, labels), (images[:1], labels[:1]))
        x, y = load_tensors(name, root=tmp)
    assert torch.equal(x[:, 0], torch.from_numpy(images))
    assert torch.equal(y, torch.from_numpy(labels).long())


def test_name_is_case_and_underscore_insensitive(tmp_path: Path) -> None:
    """'Fashion_MNIST' selects the same files as 'fashion-mnist'."""
    rng = np.random.default_rng(0)
    train = _random_split(rng, 3)
    _write_dataset(tmp_path, "fashion-mnist", train, _random_split(rng, 2))
    x, _ = load_tensors("Fashion_MNIST", root=tmp_path)
    assert torch.equal(x[:, 0], torch.from_numpy(train[0]))


def test_limit_keeps_the_first_images(tmp_path: Path) -> None:
    """limit keeps the first `limit` images in file order; a limit above N keeps all."""
    rng = np.random.default_rng(1)
    train = _random_split(rng, 9)
    _write_dataset(tmp_path, "kmnist", train, _random_split(rng, 2))
    x, y = load_tensors("kmnist", root=tmp_path, limit=4)
    assert torch.equal(x[:, 0], torch.from_numpy(train[0][:4]))
    assert torch.equal(y, torch.from_numpy(train[1][:4]).long())
    assert load_tensors("kmnist", root=tmp_path, limit=100)[0].shape[0] == 9
    assert make_loader("kmnist", root=tmp_path, limit=5).num_images == 5


def test_corrupt_idx_file_raises_data_error(tmp_path: Path) -> None:
    """A truncated or non-IDX file gives a DataError naming the folder, not an AssertionError."""
    rng = np.random.default_rng(2)
    raw = _write_dataset(tmp_path, "mnist", _random_split(rng, 3), _random_split(rng, 2))
    (raw / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(DataError, match="download=True") as info:
        load_tensors("mnist", root=tmp_path)
    assert str(raw) in str(info.value)


# ----------------------------------------------------------------------------- real MNIST


def test_real_mnist_sizes_statistics_and_label_counts(mnist_root: Path) -> None:
    """Real MNIST: 60000/10000 items, train mean 0.1307 and std 0.3081, published label counts."""
    train_x, train_y = load_tensors("mnist", root=mnist_root, train=True)
    test_x, test_y = load_tensors("mnist", root=mnist_root, train=False)
    assert train_x.shape == (60000, 1, 28, 28) and test_x.shape == (10000, 1, 28, 28)
    pixels = train_x.double() / 255
    assert round(pixels.mean().item(), 4) == 0.1307
    assert round(pixels.std().item(), 4) == 0.3081
    assert torch.bincount(train_y, minlength=10).tolist() == _TRAIN_COUNTS
    assert torch.bincount(test_y, minlength=10).tolist() == _TEST_COUNTS
    assert _length(load_dataset("mnist", root=mnist_root, train=True)) == 60000
    assert _length(load_dataset("mnist", root=mnist_root, train=False)) == 10000


def test_env_var_is_the_default_root(mnist_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no root argument, the data comes from MNISTGAN_DATA_ROOT."""
    monkeypatch.setenv("MNISTGAN_DATA_ROOT", str(mnist_root))
    assert data_root() == Path(os.path.abspath(mnist_root))
    assert make_loader(train=False, limit=10).num_images == 10


def test_fast_loader_matches_torchvision_dataset(mnist_root: Path) -> None:
    """InMemoryLoader batches equal torchvision's ToTensor items bit for bit, same labels."""
    dataset = load_dataset("mnist", root=mnist_root, train=False)
    loader = make_loader("mnist", root=mnist_root, train=False, batch_size=64, seed=11)
    order = loader.permutation(0)
    assert sorted(order.tolist()) == list(range(10000))
    for b, (x, y) in enumerate(_batches(loader)[:3]):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        for j in range(x.shape[0]):
            xi, yi = dataset[int(order[b * 64 + j])]
            assert torch.equal(x[j], xi)
            assert int(y[j]) == yi


def test_resize_gives_64px_uint8_close_to_torchvision_resize(mnist_root: Path) -> None:
    """image_size=64 gives (N,1,64,64) uint8 within one grey level of torchvision's Resize."""
    x, y = load_tensors("mnist", root=mnist_root, train=False, image_size=64)
    assert x.shape == (10000, 1, 64, 64) and x.dtype == torch.uint8 and y.shape == (10000,)
    dataset = load_dataset("mnist", root=mnist_root, train=False, image_size=64)
    for i in range(0, 10000, 1000):
        xi, yi = dataset[i]
        assert xi.shape == (1, 64, 64)
        assert (xi * 255 - x[i].float()).abs().max().item() <= 1.0
        assert yi == int(y[i])
    loader = make_loader(root=mnist_root, train=False, image_size=64, limit=8, batch_size=8)
    (xb, _), *_ = _batches(loader)
    assert xb.shape == (8, 1, 64, 64)


# ----------------------------------------------------------------------------- order


def test_same_seed_gives_same_batches_and_new_order_each_epoch() -> None:
    """Two loaders with one seed agree epoch by epoch; consecutive epochs differ."""
    a, b = _labelled_loader(seed=5, batch_size=8), _labelled_loader(seed=5, batch_size=8)
    epochs_a = [_batches(a) for _ in range(3)]
    epochs_b = [_batches(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b, strict=True):
        assert _same_batches(ea, eb)
    assert a.epoch == 3
    orders = [torch.cat([y for _, y in e]).tolist() for e in epochs_a]
    assert orders[0] != orders[1] != orders[2]
    other = _labelled_loader(seed=6, batch_size=8)
    assert torch.cat([y for _, y in _batches(other)]).tolist() != orders[0]


def test_set_epoch_reproduces_any_epoch() -> None:
    """set_epoch(e) replays exactly the batches of epoch e, in any order of calls."""
    loader = _labelled_loader(seed=3, batch_size=7)
    epochs = [_batches(loader) for _ in range(4)]
    for e in (2, 0, 3, 1):
        loader.set_epoch(e)
        assert loader.permutation().tolist() == torch.cat([y for _, y in epochs[e]]).tolist()
        assert _same_batches(_batches(loader), epochs[e])
        assert loader.epoch == e + 1


def test_iteration_does_not_touch_global_rng() -> None:
    """A full epoch leaves torch's global RNG state unchanged."""
    loader = _labelled_loader(seed=1, batch_size=4)
    state = torch.get_rng_state()
    _batches(loader)
    loader.permutation(7)
    assert torch.equal(torch.get_rng_state(), state)


def test_global_rng_does_not_change_the_order() -> None:
    """Reseeding or drawing from the global RNG does not change any epoch's order."""
    torch.manual_seed(0)
    first = _batches(_labelled_loader(seed=9))
    torch.manual_seed(123)
    torch.rand(10)
    assert _same_batches(_batches(_labelled_loader(seed=9)), first)


def test_state_dict_round_trip_resumes_order() -> None:
    """A new loader given state_dict() continues with the same batches as the original."""
    original = _labelled_loader(seed=4, batch_size=6)
    _batches(original)
    _batches(original)
    state = original.state_dict()
    assert all(isinstance(v, (int, bool)) for v in state.values())
    resumed = _labelled_loader(seed=0, batch_size=6)
    resumed.load_state_dict(state)
    assert resumed.epoch == 2 and resumed.seed == 4
    for _ in range(2):
        assert _same_batches(_batches(resumed), _batches(original))


def test_load_state_dict_rejects_other_dataset_size() -> None:
    """A state saved for a different number of images raises a ConfigError naming both sizes."""
    state = _labelled_loader(n=50).state_dict()
    with pytest.raises(ConfigError, match=r"50 images.*40"):
        _labelled_loader(n=40).load_state_dict(state)
    with pytest.raises(ConfigError, match="state"):
        _labelled_loader().load_state_dict({"epoch": 1})


def test_load_state_dict_warns_on_changed_batch_size(caplog: pytest.LogCaptureFixture) -> None:
    """Resuming with another batch_size logs a warning naming it."""
    state = _labelled_loader(batch_size=8).state_dict()
    with caplog.at_level(logging.WARNING, logger="mnistgan.data"):
        _labelled_loader(batch_size=4).load_state_dict(state)
    assert "batch_size" in caplog.text


def test_no_shuffle_keeps_stored_order() -> None:
    """shuffle=False yields the images in their stored order every epoch."""
    loader = _labelled_loader(n=10, shuffle=False, batch_size=3)
    for _ in range(2):
        assert torch.cat([y for _, y in _batches(loader)]).tolist() == list(range(10))


@given(
    n=st.integers(1, 300),
    batch_size=st.integers(1, 80),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**63),
    epoch=st.integers(0, 10**6),
)
def test_every_image_once_per_epoch(
    n: int, batch_size: int, drop_last: bool, seed: int, epoch: int
) -> None:
    """Each epoch visits every image exactly once (drop_last: all but < batch_size of them)."""
    drop_last = drop_last and n >= batch_size
    loader = _labelled_loader(n=n, batch_size=batch_size, drop_last=drop_last, seed=seed)
    loader.set_epoch(epoch)
    batches = _batches(loader)
    assert len(batches) == len(loader)
    assert all(x.shape[0] == batch_size for x, _ in batches[:-1])
    seen = torch.cat([y for _, y in batches]).tolist()
    assert len(seen) == len(set(seen))
    if drop_last:
        assert len(seen) == (n // batch_size) * batch_size
    else:
        assert sorted(seen) == list(range(n))
    for x, y in batches:
        assert torch.equal(x[:, 0, 0, 0] * 255, (y % 256).float())


# ----------------------------------------------------------------------------- loader inputs


def test_unlabelled_loader_yields_images_only() -> None:
    """labels=None makes the loader yield plain float tensors in [0, 1]."""
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8)
    batches = list(InMemoryLoader(images, batch_size=4, shuffle=False))
    assert all(isinstance(b, torch.Tensor) for b in batches)
    x = torch.cat([b for b in batches if isinstance(b, torch.Tensor)])
    assert x.shape == (10, 1, 28, 28)
    assert torch.equal(x, images.unsqueeze(1).float() / 255)


def test_images_kept_off_device_give_the_same_batches() -> None:
    """images_on_device=False (gather where the images live, then move) changes no batch."""
    on = _batches(_labelled_loader(seed=2, batch_size=16))
    off = _batches(_labelled_loader(seed=2, batch_size=16, images_on_device=False))
    assert _same_batches(on, off)


def test_auto_device_resolves_to_an_available_device() -> None:
    """device='auto' picks a concrete device (CUDA, MPS or CPU) and batches land there."""
    loader = _labelled_loader(device="auto")
    assert loader.device.type in {"cuda", "mps", "cpu"}
    x, y = _batches(loader)[0]
    assert x.device.type == loader.device.type == y.device.type


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_loader_matches_cpu_loader() -> None:
    """On CUDA the loader yields the CPU loader's batches (same order, values within 1 ulp)."""
    cpu = _batches(_labelled_loader(n=200, seed=8, batch_size=32))
    cuda = _batches(_labelled_loader(n=200, seed=8, batch_size=32, device="cuda"))
    for (xc, yc), (xg, yg) in zip(cpu, cuda, strict=True):
        assert xg.device.type == "cuda" and yg.device.type == "cuda"
        assert torch.equal(yg.cpu(), yc)
        torch.testing.assert_close(xg.cpu(), xc, rtol=2e-7, atol=0.0)


@given(
    images=arrays(np.float32, (5, 2, 3, 3), elements=st.floats(0, 1, width=32)),
    as_double=st.booleans(),
)
def test_float_images_pass_through_unchanged(
    images: np.ndarray[Any, Any], as_double: bool
) -> None:
    """Float images in [0, 1] come out as the same float32 values, channels kept."""
    tensor = torch.from_numpy(images)
    source = tensor.double() if as_double else tensor
    loader = InMemoryLoader(source, torch.zeros(5, dtype=torch.int32), shuffle=False)
    ((x, y),) = _batches(loader)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x, tensor)


@pytest.mark.parametrize(
    ("images", "labels", "error", "words"),
    [
        ([[0]], None, BatchTypeError, "images must be a torch.Tensor"),
        (torch.zeros(4, 4, dtype=torch.uint8), None, DataError, "(N, C, H, W)"),
        (torch.zeros(0, 1, 4, 4, dtype=torch.uint8), None, DataError, "at least one"),
        (torch.zeros(2, 1, 4, 4, dtype=torch.int32), None, DataError, "uint8"),
        (torch.full((2, 1, 4, 4), -0.5), None, DataError, "Normalize"),
        (torch.full((2, 1, 4, 4), float("nan")), None, DataError, "NaN"),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(2), DataError, "labels"),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(3), DataError, "integer"),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), [0, 1, 2], BatchTypeError, "labels"),
    ],
)
def test_bad_images_or_labels_raise_data_errors(
    images: Any, labels: Any, error: type[Exception], words: str
) -> None:
    """Images/labels of the wrong type, shape, dtype, range or length raise a clear error."""
    with pytest.raises(error) as info:
        InMemoryLoader(images, labels)
    assert words in str(info.value)


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda r: load_dataset("emnist", root=r), "name"),
        (lambda r: load_tensors(None, root=r), "name"),  # type: ignore[arg-type]
        (lambda r: load_dataset(root=r, image_size=0), "image_size"),
        (lambda r: load_tensors(root=r, image_size=2.5), "image_size"),  # type: ignore[arg-type]
        (lambda r: load_tensors(root=r, limit=0), "limit"),
        (lambda r: load_tensors(root=r, train="no"), "train"),  # type: ignore[arg-type]
        (lambda r: load_tensors(root=r, download=1), "download"),  # type: ignore[arg-type]
        (lambda r: make_loader(root=r, batch_size=0), "batch_size"),
        (lambda r: make_loader(root=r, seed="1"), "seed"),  # type: ignore[arg-type]
        (lambda r: make_loader(root=r, device="gpu"), "device"),
        (lambda r: data_root(3), "root"),  # type: ignore[arg-type]
        (lambda r: data_root(""), "root"),
        (lambda r: _labelled_loader(batch_size=True), "batch_size"),
        (lambda r: _labelled_loader(shuffle="yes"), "shuffle"),
        (lambda r: _labelled_loader(drop_last=None), "drop_last"),
        (lambda r: _labelled_loader(n=3, batch_size=4, drop_last=True), "drop_last"),
        (lambda r: _labelled_loader(device=0), "device"),
        (lambda r: _labelled_loader().set_epoch(-1), "epoch"),
        (lambda r: _labelled_loader().permutation(1.0), "epoch"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_config_error_naming_them(
    call: Callable[[Path], object], argument: str, tmp_path: Path
) -> None:
    """Each bad argument raises a ConfigError whose message names it (before any file I/O)."""
    with pytest.raises(ConfigError) as info:
        call(tmp_path / "empty")
    assert argument in str(info.value)
    assert not (tmp_path / "empty").exists()


def test_unknown_name_lists_the_datasets() -> None:
    """The error for an unknown dataset lists every known name."""
    with pytest.raises(ConfigError) as info:
        make_loader("cifar10")
    assert all(repr(name) in str(info.value) for name in DATASETS)


# ----------------------------------------------------------------------------- missing data


@pytest.mark.parametrize("name", DATASETS)
def test_missing_files_say_where_what_and_how(name: str, tmp_path: Path) -> None:
    """Missing files: DatasetNotFoundError with the folder, the file names and both fixes."""
    with pytest.raises(DatasetNotFoundError) as info:
        load_tensors(name, root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / _FOLDERS[name] / "raw") in message
    assert all(f in message for f in RAW_FILES)
    assert "download=True" in message and "MNISTGAN_DATA_ROOT" in message
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.__cause__ is not None
    with pytest.raises(DatasetNotFoundError):
        load_dataset(name, root=tmp_path)


def test_one_missing_file_is_named(tmp_path: Path) -> None:
    """When one of the four files is absent the message names that file as missing."""
    rng = np.random.default_rng(3)
    raw = _write_dataset(tmp_path, "kmnist", _random_split(rng, 2), _random_split(rng, 2))
    (raw / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError, match="missing: t10k-labels-idx1-ubyte"):
        load_tensors("kmnist", root=tmp_path)


def test_root_pointing_at_dataset_folder_suggests_parent(mnist_root: Path) -> None:
    """root=<data>/MNIST by mistake: the error suggests passing the parent folder."""
    with pytest.raises(DatasetNotFoundError) as info:
        load_tensors("mnist", root=mnist_root / "MNIST")
    assert repr(os.path.abspath(mnist_root)) in str(info.value)


@pytest.mark.parametrize("name", DATASETS)
def test_failed_download_raises_dataset_not_found(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """download=True without network gives DatasetNotFoundError with the cause attached."""
    calls: list[str] = []

    def offline(url: str, *args: object, **kwargs: object) -> None:
        calls.append(url)
        raise URLError("no network in tests")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", offline)
    with pytest.raises(DatasetNotFoundError) as info:
        load_tensors(name, root=tmp_path, download=True)
    message = str(info.value)
    assert calls, "torchvision's download was not attempted"
    assert str(tmp_path / _FOLDERS[name] / "raw") in message
    assert "download" in message and "MNISTGAN_DATA_ROOT" in message
    assert info.value.__cause__ is not None
