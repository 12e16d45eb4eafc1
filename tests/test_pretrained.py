"""Tests of pretrained models: the Hugging Face layout, checksums, refusals, the Hub path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from mnistgan import DCGAN, GAN, CheckpointError, ConfigError, list_pretrained
from mnistgan.cli import main
from mnistgan.pretrained import CONFIG_NAME, WEIGHTS_NAME, read_pretrained
from mnistgan.sampling import Sampler


def _small(**overrides: Any) -> GAN:
    torch.manual_seed(0)
    return GAN.from_preset(
        "vanilla", generator={"hidden": (16,)}, discriminator={"hidden": (16,)}, **overrides
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A pretrained folder written from a small trained-for-one-step model."""
    gan = _small(ema_decay=0.9)
    gan.fit([torch.rand(8, 1, 28, 28)], epochs=1, progress=False)
    return gan.save_pretrained(tmp_path / "model", card={"recipe": {"steps": 1}})


@pytest.mark.parametrize(
    "make",
    [
        lambda: _small(),
        lambda: _small(ema_decay=0.99),
        lambda: DCGAN(num_classes=10),
        lambda: DCGAN(),
    ],
    ids=["plain", "ema", "conditional-default", "default"],
)
def test_save_then_from_pretrained_samples_bit_identically(tmp_path: Path, make: Any) -> None:
    """save_pretrained -> from_pretrained (GAN and Sampler) draws the very same images."""
    gan = make()
    if gan.ema is not None:  # make the EMA differ from the generator
        batch = torch.rand(8, 1, 28, 28)
        gan.fit([batch if gan.num_classes is None else (batch, torch.arange(8))], epochs=1,
                progress=False)  # fmt: skip
    written = gan.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in written.iterdir()) == ["README.md", CONFIG_NAME, WEIGHTS_NAME]
    labels = None if gan.num_classes is None else [3] * 8
    expected = gan.sample(8, seed=4, labels=labels)
    assert torch.equal(GAN.from_pretrained(written).sample(8, seed=4, labels=labels), expected)
    assert torch.equal(Sampler.from_pretrained(written).sample(8, seed=4, labels=labels), expected)


def test_the_discriminator_travels_for_fine_tuning(tmp_path: Path) -> None:
    """D is saved (full or half precision) and loaded; without it, the model still samples."""
    gan = _small()
    full = GAN.from_pretrained(gan.save_pretrained(tmp_path / "full"))
    for key, value in gan.discriminator.state_dict().items():
        assert torch.equal(full.discriminator.state_dict()[key], value)
    halved = GAN.from_pretrained(gan.save_pretrained(tmp_path / "half", half_discriminator=True))
    for key, value in gan.discriminator.state_dict().items():
        torch.testing.assert_close(
            halved.discriminator.state_dict()[key], value, atol=1e-3, rtol=1e-3
        )
    bare = gan.save_pretrained(tmp_path / "bare", discriminator=False)
    assert json.loads((bare / CONFIG_NAME).read_text())["has_discriminator"] is False
    assert GAN.from_pretrained(bare).sample(2).shape == (2, 1, 28, 28)


def test_config_and_card_say_what_the_model_is(folder: Path) -> None:
    """config.json is plain JSON with the config and checksum; the card says how to load."""
    document = json.loads((folder / CONFIG_NAME).read_text())
    assert document["format"] == "mnistgan-pretrained" and document["format_version"] == 1
    assert document["config"]["preset"] == "vanilla" and document["weights"] == "ema"
    assert document["recipe"] == {"steps": 1}
    card = (folder / "README.md").read_text()
    assert card.startswith("---\nlicense: mit\nlibrary_name: mnistgan")
    assert 'GAN.from_pretrained("model")' in card and "steps: 1" in card


def test_a_changed_weight_file_is_refused(folder: Path) -> None:
    """Weights that no longer match config.json's SHA-256 are refused before loading."""
    data = bytearray((folder / WEIGHTS_NAME).read_bytes())
    data[-1] ^= 0x01
    (folder / WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match the SHA-256"):
        GAN.from_pretrained(folder)


def test_a_shipped_model_is_checked_against_the_package_digest(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shipped model whose files were changed is refused, even with a consistent config."""
    import mnistgan.pretrained._hub as hub
    from mnistgan.pretrained._format import sha256_file

    shipped = folder.parent / "weights"
    shutil.copytree(folder, shipped / "tiny")
    digests = {WEIGHTS_NAME: sha256_file(folder / WEIGHTS_NAME)}
    monkeypatch.setattr(hub, "WEIGHTS_DIR", shipped)
    monkeypatch.setattr(hub, "SHIPPED", {"tiny": digests})
    assert GAN.from_pretrained("tiny").sample(2).shape == (2, 1, 28, 28)
    # Rewrite weights and config consistently: only the package's digest can tell.
    other = _small(ema_decay=0.5)
    other.save_pretrained(shipped / "tiny")
    with pytest.raises(CheckpointError, match="checksum mnistgan ships"):
        GAN.from_pretrained("tiny")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: "not json {", "not valid JSON"),
        (lambda d: json.dumps([1, 2]), "does not describe"),
        (lambda d: json.dumps({**d, "format": "other"}), "does not describe"),
        (lambda d: json.dumps({**d, "format_version": 99}), "upgrade mnistgan"),
        (lambda d: json.dumps({**d, "format_version": "1"}), "invalid format_version"),
        (lambda d: json.dumps({k: v for k, v in d.items() if k != "config"}), "config"),
        (
            lambda d: json.dumps(
                {
                    **d,
                    "config": {
                        **d["config"],
                        "generator": {
                            "builder": "__import__('os').system('touch PWNED')",
                            "kwargs": {},
                        },
                    },
                }
            ),
            "unknown builder",
        ),
        (lambda d: json.dumps({**d, "config": {**d["config"], "latent_dim": -3}}), "latent_dim"),
    ],
)
def test_malformed_or_malicious_config_json_is_refused_clearly(
    folder: Path, change: Any, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad config.json raises a CheckpointError/ConfigError naming the problem; runs nothing."""
    monkeypatch.chdir(folder)
    document = json.loads((folder / CONFIG_NAME).read_text())
    (folder / CONFIG_NAME).write_text(change(document))
    with pytest.raises((CheckpointError, ConfigError)) as info:
        GAN.from_pretrained(folder)
    assert words in str(info.value)
    assert not (folder / "PWNED").exists()


def test_a_pickle_in_place_of_the_weights_is_refused_and_never_runs(folder: Path) -> None:
    """model.safetensors holding a pickle (with a payload) is refused; the payload never runs."""
    marker = folder / "PWNED"

    class Payload:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    torch.save({"generator.w": Payload()}, folder / WEIGHTS_NAME)
    document = json.loads((folder / CONFIG_NAME).read_text())
    document.pop("sha256")  # a consistent-looking folder: only the format can refuse it
    (folder / CONFIG_NAME).write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        GAN.from_pretrained(folder)
    assert not marker.exists()


def test_missing_files_and_unknown_names_say_what_exists(tmp_path: Path) -> None:
    """A folder without the files, or an unknown name, raises naming what was expected."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"config\.json is missing"):
        GAN.from_pretrained(tmp_path / "empty")
    with pytest.raises(ConfigError) as info:
        GAN.from_pretrained("no-such-model")
    assert str(list_pretrained()) in str(info.value) and "save_pretrained" in str(info.value)
    with pytest.raises(ConfigError, match="str or a path"):
        GAN.from_pretrained(3)  # type: ignore[arg-type]


_HUB_LOAD = """
import sys, torch
from mnistgan import GAN
gan = GAN.from_pretrained("someone/tiny-mnist")
torch.save(gan.sample(4, seed=1), sys.argv[1])
"""


def test_a_hub_id_loads_from_the_local_cache_offline(folder: Path, tmp_path: Path) -> None:
    """With HF_HUB_OFFLINE=1, a Hub id resolves from a populated Hugging Face cache."""
    cache = tmp_path / "hf-cache"
    repo = cache / "models--someone--tiny-mnist"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit)
    out = tmp_path / "samples.pt"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache),
           "HF_HOME": str(tmp_path / "hf-home")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _HUB_LOAD, str(out)], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    expected = GAN.from_pretrained(folder).sample(4, seed=1)
    assert torch.equal(torch.load(out, weights_only=True), expected)


def test_push_to_hub_uploads_the_pretrained_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """push_to_hub creates the repo and uploads config.json, weights and card (upload stubbed)."""
    import huggingface_hub  # the test extra has it: push_to_hub is tested for real

    calls: list[tuple[str, Any]] = []

    class FakeApi:
        def __init__(self, token: str | None = None) -> None:
            calls.append(("token", token))

        def create_repo(self, **kwargs: Any) -> None:
            calls.append(("create_repo", kwargs))

        def upload_folder(self, **kwargs: Any) -> Any:
            folder = Path(kwargs["folder_path"])
            files = sorted(p.name for p in folder.iterdir())
            loaded = GAN.from_pretrained(folder)
            calls.append(("upload_folder", (kwargs["repo_id"], files, loaded.config.preset)))
            return type("Info", (), {"commit_url": "https://hub.example/commit/1"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = _small().push_to_hub("someone/tiny", token="t0ken", private=True)
    assert url == "https://hub.example/commit/1"
    assert calls == [
        ("token", "t0ken"),
        ("create_repo", {"repo_id": "someone/tiny", "private": True, "exist_ok": True}),
        ("upload_folder", ("someone/tiny", ["README.md", CONFIG_NAME, WEIGHTS_NAME], "vanilla")),
    ]
    with pytest.raises(ConfigError, match="owner/name"):
        _small().push_to_hub("not a repo id")


def test_cli_sample_traverse_interpolate_take_pretrained(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mnistgan sample|traverse|interpolate --pretrained PATH` write their pictures."""
    out = tmp_path / "out"
    assert (
        main(["sample", "--pretrained", str(folder), "--n", "4", "--out", str(out / "s.png")]) == 0
    )
    assert main(["traverse", "--pretrained", str(folder), "--dims", "1", "2",
                 "--out", str(out / "t.png")]) == 0  # fmt: skip
    assert main(["interpolate", "--pretrained", str(folder), "--out", str(out / "i.png")]) == 0
    assert all((out / name).stat().st_size > 0 for name in ("s.png", "t.png", "i.png"))
    with pytest.raises(SystemExit) as info:
        main(["sample", "--out", str(out / "x.png")])
    assert info.value.code == 2
    assert "one of the arguments checkpoint --pretrained is required" in capsys.readouterr().err


def test_read_pretrained_returns_the_parts(folder: Path) -> None:
    """read_pretrained gives the config, both state dicts and the info, for other projects."""
    found = read_pretrained(folder)
    assert found.config.preset == "vanilla" and found.discriminator is not None
    assert set(found.generator) == set(_small(ema_decay=0.9).generator.state_dict())
    assert found.info["weights"] == "ema" and found.info["has_discriminator"] is True


def test_eval_scores_a_pretrained_folder(folder: Path, tmp_path: Path) -> None:
    """`mnistgan eval` reads a pretrained folder as a generator and scores its samples."""
    from mnistgan.metrics import load_images

    loaded = load_images(folder, n=40, seed=3)
    assert loaded.kind == "pretrained model"
    expected = GAN.from_pretrained(folder).generate(
        torch.randn(40, 100, generator=torch.Generator().manual_seed(3))
    )
    assert loaded.images.shape == (40, 1, 28, 28)
    torch.testing.assert_close(loaded.images.float(), expected, atol=1 / 255, rtol=0)


# --------------------------------------------------------------------------- shipped models


def test_the_shipped_models_are_listed_and_load_without_data_or_network() -> None:
    """list_pretrained() names the shipped models; each loads (checksums pass) and samples."""
    assert list_pretrained() == ["mnist", "mnist-conditional"]
    assert GAN.from_pretrained("mnist").sample(16).shape == (16, 1, 28, 28)
    sevens = GAN.from_pretrained("mnist-conditional").sample(4, labels=7)
    assert sevens.shape == (4, 1, 28, 28) and float(sevens.min()) >= 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist", "mnist-conditional"])
def test_the_shipped_models_measure_what_their_cards_say(name: str) -> None:
    """Re-measured on 2,000 samples, each shipped model shows what its card states (10k
    samples): 10 modes, FD within 1.5x (fewer samples read higher: 1.78 against 1.47
    for "mnist", 0.93 against 0.78 for "mnist-conditional" when this test was written),
    recall within 0.1, label accuracy within 0.01."""
    from mnistgan.metrics import evaluate
    from mnistgan.pretrained._registry import WEIGHTS_DIR

    card = json.loads((WEIGHTS_DIR / name / CONFIG_NAME).read_text())["metrics"]
    assert card["modes"] == 10
    gan = GAN.from_pretrained(name)
    got = evaluate(gan, 2000, seed=1, kid_subsets=10, kid_subset_size=500, device="cpu")
    assert got["modes"] == 10
    assert card["fd"] <= got["fd"] * 1.2 and got["fd"] <= 1.5 * card["fd"]
    assert abs(got["recall"] - card["recall"]) <= 0.1
    if "label_accuracy" in card:
        assert got["label_accuracy"] >= card["label_accuracy"] - 0.01
    readme = (WEIGHTS_DIR / name / "README.md").read_text()
    assert f"| fd | {card['fd']:.4g} |" in readme  # the card shows the config's figures
