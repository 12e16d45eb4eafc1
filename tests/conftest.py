"""Shared fixtures and Hypothesis settings profiles for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

# Profiles: "default" for local runs and CI, "thorough" for a long fuzzing session
# (HYPOTHESIS_PROFILE=thorough python -m pytest).
settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _fixed_threads() -> None:
    """Run every test on one thread: results then do not depend on the machine's core
    count, and the tests' tiny networks run faster without threading overhead."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding real MNIST; tests that need it fail loudly without one.

    ``MNISTGAN_DATA_ROOT`` when set, else the user cache folder that the README's Quick
    start (``mnistgan train --download``) fills.
    """
    root = os.environ.get("MNISTGAN_DATA_ROOT")
    if root:
        return Path(root)
    from mnistgan.data import RAW_FILES, data_root

    cached = data_root()
    if all((cached / "MNIST" / "raw" / name).is_file() for name in RAW_FILES):
        return cached
    raise RuntimeError(
        f"MNISTGAN_DATA_ROOT is not set and {cached} holds no MNIST: point the variable at "
        "the folder that holds MNIST/raw (on the project's machines: ../shared/data), or "
        "run 'mnistgan train --download' once on a machine with internet"
    )
