"""Tests for mnistgan.export: generator files, torch.export and ONNX, and their CLI."""

from __future__ import annotations

import builtins
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from mnistgan import GAN, CheckpointError, ConfigError, get_preset
from mnistgan.cli import main
from mnistgan.export import (
    GENERATOR_FORMAT_VERSION,
    Sampler,
    export_generator,
    export_program,
    load_generator,
    load_sampler,
    save_generator,
)

# Small models, so that the whole module runs in seconds on two CPU cores.
_MODELS = {
    "conv-ema": ("default", {"ema_decay": 0.9}),  # conv generator, EMA, channels-last
    "mlp-conditional": ("vanilla", {"num_classes": 10}),
}


def _trained(preset: str, overrides: dict[str, Any]) -> GAN:
    """A GAN after two steps, so that its EMA differs from its generator."""
    torch.manual_seed(0)
    gan = GAN.from_preset(preset, **overrides)
    x = torch.rand(8, 1, 28, 28)
    batch: Any = x if gan.num_classes is None else (x, torch.arange(8) % 10)
    gan.fit([batch, batch], epochs=1, device="cpu", progress=False)
    return gan


@pytest.fixture(scope="module", params=sorted(_MODELS))
def gan(request: pytest.FixtureRequest) -> GAN:
    """A briefly trained GAN of each kind in ``_MODELS``."""
    preset, overrides = _MODELS[request.param]
    return _trained(preset, overrides)


def _eager(gan: GAN) -> nn.Module:
    """The generator that ``gan.sample`` uses, in eval mode."""
    net = gan.ema.module if gan.ema is not None else gan.generator
    return net.eval()


class _Evil:
    """Unpickling this creates the file at ``marker``: stands in for any code execution."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (builtins.open, (str(self.marker), "w"))


def _write_evil(kind: str, marker: Path, path: Path) -> Path:
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"generator": _Evil(marker)}))
    else:
        torch.save({"generator": _Evil(marker)}, path)
    return path


# --------------------------------------------------------------------------- generator files


def test_generator_file_round_trip_gives_bit_identical_samples(gan: GAN, tmp_path: Path) -> None:
    """A saved and reloaded generator draws exactly the GAN's images for the same seed/labels."""
    path = save_generator(gan, tmp_path / "g.safetensors")
    sampler = load_sampler(path)
    assert torch.equal(sampler.sample(12, seed=3), gan.sample(12, seed=3))
    z = torch.randn(5, gan.latent_dim)
    if gan.num_classes is not None:
        assert torch.equal(sampler.sample(6, seed=1, labels=7), gan.sample(6, seed=1, labels=7))
        labels = torch.tensor([9, 8, 7, 6, 5])
        assert torch.equal(sampler.generate(z, labels), gan.generate(z, labels))
    else:
        assert torch.equal(sampler.generate(z), gan.generate(z))


def test_generator_file_holds_the_ema_weights_and_its_metadata(gan: GAN, tmp_path: Path) -> None:
    """The file stores the sampling (EMA) weights and the config, shapes, range and version."""
    path = save_generator(gan, tmp_path / "g.safetensors")
    net = load_generator(path)
    expected = _eager(gan).state_dict()
    assert net.state_dict().keys() == expected.keys()
    assert all(torch.equal(net.state_dict()[k], v) for k, v in expected.items())
    assert not net.training
    info = load_sampler(path).info
    assert info["format_version"] == GENERATOR_FORMAT_VERSION
    assert info["config"] == gan.config.to_dict()
    assert info["latent_dim"] == gan.latent_dim
    assert info["image_shape"] == list(gan.image_shape)
    assert info["num_classes"] == gan.num_classes
    assert info["output_range"] == list(gan.config.image_range)
    assert info["weights"] == ("ema" if gan.ema is not None else "generator")
    assert isinstance(info["mnistgan_version"], str)


def test_a_sampler_saves_what_it_loaded(tmp_path: Path) -> None:
    """save_generator(sampler) writes a file that loads back to the same weights and info."""
    gan = GAN.from_preset("vanilla")
    first = load_sampler(save_generator(gan, tmp_path / "a.safetensors"))
    second = load_sampler(save_generator(first, tmp_path / "b.safetensors"))
    assert second.info == first.info
    assert torch.equal(second.sample(4, seed=0), first.sample(4, seed=0))


@pytest.mark.parametrize("kind", ["pickle", "torch-save"])
def test_malicious_pickle_as_generator_file_is_refused(tmp_path: Path, kind: str) -> None:
    """A pickle (raw or torch.save) passed as a generator file is refused; its code never runs."""
    marker = tmp_path / "pwned"
    evil = _write_evil(kind, marker, tmp_path / "evil.safetensors")
    with pytest.raises(CheckpointError, match="not a safetensors generator file"):
        load_generator(evil)
    with pytest.raises(CheckpointError, match="not a safetensors generator file"):
        load_sampler(evil)
    assert not marker.exists()


def test_cli_sample_refuses_a_malicious_generator_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mnistgan sample evil.safetensors`` exits 1 with one line; the pickle never runs."""
    marker = tmp_path / "pwned"
    evil = _write_evil("pickle", marker, tmp_path / "evil.safetensors")
    out = tmp_path / "out.png"
    assert main(["sample", str(evil), "--n", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mnistgan: error: ") and err.count("\n") == 1, err
    assert "evil.safetensors" in err
    assert not marker.exists() and not out.exists()


def test_safetensors_files_that_are_not_generator_files_are_refused(tmp_path: Path) -> None:
    """Foreign safetensors, truncated files, newer formats and wrong weights are refused."""
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a mnistgan generator file"):
        load_sampler(foreign)

    good = save_generator(GAN.from_preset("vanilla"), tmp_path / "good.safetensors")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_sampler(truncated)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_sampler(tmp_path / "missing.safetensors")

    info = load_sampler(good).info
    tensors = {k: v.contiguous() for k, v in load_generator(good).state_dict().items()}
    newer = tmp_path / "newer.safetensors"
    save_file(tensors, newer, metadata={"mnistgan": json.dumps({**info, "format_version": 99})})
    with pytest.raises(CheckpointError, match="upgrade mnistgan"):
        load_sampler(newer)
    other = {**info, "config": GAN.from_preset("mlp").config.to_dict()}
    mismatched = tmp_path / "mismatched.safetensors"
    save_file(tensors, mismatched, metadata={"mnistgan": json.dumps(other)})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_sampler(mismatched)


def test_save_generator_checks_its_arguments(tmp_path: Path) -> None:
    """A wrong suffix or a source that is not a GAN/Sampler raises ConfigError."""
    gan = GAN.from_preset("vanilla")
    with pytest.raises(ConfigError, match=r"\.safetensors"):
        save_generator(gan, tmp_path / "g.pt")
    with pytest.raises(ConfigError, match="GAN or Sampler"):
        save_generator(nn.Linear(2, 2), tmp_path / "g.safetensors")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_custom_generator_files_need_the_module(tmp_path: Path) -> None:
    """A file from custom networks loads only into the module passed in."""
    generator = nn.Sequential(nn.Linear(100, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    gan = GAN(get_preset("vanilla"), generator=generator, discriminator=discriminator)
    path = save_generator(gan, tmp_path / "custom.safetensors")
    with pytest.raises(CheckpointError, match="custom generator"):
        load_sampler(path)
    fresh = nn.Sequential(nn.Linear(100, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
    sampler = load_sampler(path, generator=fresh)
    assert torch.equal(sampler.sample(3, seed=0), gan.sample(3, seed=0))


def test_sampler_checks_its_inputs() -> None:
    """Wrong latent shapes, labels for an unconditional model and bad n raise clear errors."""
    sampler = Sampler.from_gan(GAN.from_preset("vanilla"))
    with pytest.raises(ValueError, match=r"shape \(N, 100\)"):
        sampler.generate(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="conditional"):
        sampler.sample(2, labels=1)
    with pytest.raises(ConfigError, match="n must be"):
        sampler.sample(-1)
    assert sampler.sample(0).shape == (0, 1, 28, 28)


# --------------------------------------------------------------------------- export


def test_exported_program_matches_the_eager_generator(gan: GAN, tmp_path: Path) -> None:
    """torch.export.load(...).module() gives the eager generator's images for any batch size."""
    path = export_generator(gan, tmp_path / "g.pt2")
    extra = {"mnistgan.json": ""}
    program = torch.export.load(path, extra_files=extra)
    assert json.loads(extra["mnistgan.json"])["latent_dim"] == gan.latent_dim
    module = program.module()
    for n in (1, 5):
        z = torch.randn(n, gan.latent_dim)
        args = (z,) if gan.num_classes is None else (z, torch.arange(n) % 10)
        with torch.no_grad():
            expected = _eager(gan)(*args)
            got = module(*args)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_export_leaves_the_model_unchanged() -> None:
    """Exporting keeps the GAN's training mode, memory layout and samples."""
    gan = GAN.from_preset("default", ema_decay=0.9)
    before = gan.sample(4, seed=0)
    gan.generator.train()
    export_program(gan)
    assert gan.generator.training
    assert torch.equal(gan.sample(4, seed=0), before)


def test_onnx_export_is_valid_and_matches_eager(tmp_path: Path) -> None:
    """The ONNX model passes onnx.checker and, run by the reference evaluator, matches eager."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    gan = GAN.from_preset("dcgan")
    path = export_generator(gan, tmp_path / "g.onnx")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["z"]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["mnistgan"])["output_range"] == [-1.0, 1.0]
    z = torch.randn(3, gan.latent_dim)
    (got,) = ReferenceEvaluator(model).run(None, {"z": z.numpy()})
    with torch.no_grad():
        expected = _eager(gan)(z).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_onnx_export_without_onnxscript_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without onnx/onnxscript, ONNX export (API and CLI) fails naming mnistgan[export]."""
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    gan = GAN.from_preset("vanilla")
    with pytest.raises(ImportError, match=r'pip install "mnistgan\[export\]"'):
        export_generator(gan, tmp_path / "g.onnx")
    checkpoint = gan.save(tmp_path / "ckpt.pt")
    assert main(["export", str(checkpoint), "--out", str(tmp_path / "g.onnx")]) == 1
    assert 'pip install "mnistgan[export]"' in capsys.readouterr().err
    assert not (tmp_path / "g.onnx").exists()


def test_export_format_errors(tmp_path: Path) -> None:
    """An unknown suffix or format and a batch size below 2 raise ConfigError."""
    gan = GAN.from_preset("vanilla")
    with pytest.raises(ConfigError, match="cannot tell the export format"):
        export_generator(gan, tmp_path / "g.bin")
    with pytest.raises(ConfigError, match="format must be"):
        export_generator(gan, tmp_path / "g.bin", format="tflite")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="batch_size"):
        export_program(gan, batch_size=1)


def test_cli_export_and_sample_from_a_generator_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mnistgan export` writes .pt2 and .safetensors; `sample` reads either input alike."""
    gan = GAN.from_preset("vanilla", num_classes=10)
    checkpoint = gan.save(tmp_path / "ckpt.pt")
    generator_file = tmp_path / "g.safetensors"
    assert main(["export", str(checkpoint), "--out", str(generator_file)]) == 0
    pt2 = tmp_path / "g.pt2"
    assert main(["export", str(generator_file), "--format", "pt2", "--out", str(pt2)]) == 0
    assert pt2.exists()
    from_ckpt, from_file = tmp_path / "a.pt", tmp_path / "b.pt"
    for source, out in ((checkpoint, from_ckpt), (generator_file, from_file)):
        argv = ["sample", str(source), "--n", "6", "--seed", "4", "--digit", "3", "--out"]
        assert main([*argv, str(out)]) == 0
    images = torch.load(from_file, weights_only=True)
    assert torch.equal(images, torch.load(from_ckpt, weights_only=True))
    assert images.shape == (6, 1, 28, 28)
    capsys.readouterr()
    assert main(["export", str(checkpoint), "--out", str(tmp_path / "g.bin")]) == 1
    assert "cannot tell the export format" in capsys.readouterr().err
