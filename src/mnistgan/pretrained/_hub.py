"""Where a pretrained model comes from: a shipped name, a local folder, or the Hugging
Face Hub (with the optional ``huggingface_hub`` package); and pushing one to the Hub."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, ConfigError
from ._format import Pretrained, read_pretrained
from ._registry import SHIPPED, WEIGHTS_DIR, list_pretrained

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_EXTRA = 'the Hugging Face Hub needs the huggingface_hub package: pip install "mnistgan[hub]"'


def _hub() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise ImportError(_HUB_EXTRA) from None
    return huggingface_hub


def resolve(
    name_or_path: str | os.PathLike[str], *, revision: str | None = None
) -> tuple[Path, Mapping[str, str] | None]:
    """The folder to read and the checksums it must match (shipped models only).

    Raises:
        ConfigError: If ``name_or_path`` is none of a shipped name, a folder or a Hub id
            (the message lists the shipped names).
        ImportError: For a Hub id without ``huggingface_hub`` installed.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(
            f"name_or_path must be a str or a path, got {type(name_or_path).__name__}"
        )
    text = os.fspath(name_or_path)
    if text in SHIPPED:
        return WEIGHTS_DIR / text, SHIPPED[text]
    folder = Path(text)
    if folder.is_dir():
        return folder, None
    if _REPO_ID.match(text) and not folder.exists():
        hub = _hub()
        local = hub.snapshot_download(repo_id=text, revision=revision)
        return Path(local), None
    raise ConfigError(
        f"unknown pretrained model {text!r}: not a shipped name ({list_pretrained()}), not a "
        "folder written by save_pretrained, and not a Hugging Face Hub id such as "
        "'owner/name'"
    )


def fetch(name_or_path: str | os.PathLike[str], *, revision: str | None = None) -> Pretrained:
    """Resolve ``name_or_path`` (see :func:`resolve`), read and check the folder.

    Raises:
        CheckpointError: Also when the model was saved from a custom network that its
            config cannot rebuild.
    """
    folder, checksums = resolve(name_or_path, revision=revision)
    found = read_pretrained(folder, expected_sha256=checksums)
    if found.info.get("custom_network"):
        raise CheckpointError(
            f"{found.source!r} was saved from a custom generator that its config cannot "
            "rebuild; read its weights with mnistgan.pretrained.read_pretrained"
        )
    return found


def push_folder(
    write: Callable[[Path], object],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload mnistgan model",
) -> str:
    """Write a pretrained folder with ``write(folder)`` into a temporary folder and upload
    it to the Hub repository ``repo_id`` (created if missing); return the commit's URL."""
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise ConfigError(f"repo_id must look like 'owner/name', got {repo_id!r}")
    api = _hub().HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp))
        api.create_repo(repo_id=repo_id, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=commit_message)
    return str(getattr(info, "commit_url", info))
