"""The README's Quick start: two commands, and they are the ones CI runs.

``.ci/run`` runs the README's test command as it is and the README's main job in its
smoke form (the same command with ``--limit N`` added), so a change to either side that
the other does not follow fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from mnistgan.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"


def _quick_start_commands() -> list[str]:
    """The shell commands of the README's "Quick start" section, one per code block."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Quick start\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert match is not None, "README.md has no '## Quick start' section"
    blocks = re.findall(r"^```(?:bash|sh|console)\n(.*?)^```", match.group(1), re.M | re.S)
    return [" ".join(block.replace("\\\n", " ").split()) for block in blocks]


def _ci_lines() -> list[str]:
    """The commands of .ci/run, one per line, without comments and blank lines."""
    lines = []
    for line in CI.read_text(encoding="utf-8").splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            lines.append(" ".join(line.split()))
    return lines


def _main_job(setup_and_run: str) -> str:
    """The ``mnistgan train`` part of the README's first command."""
    steps = [step.strip() for step in setup_and_run.split("&&")]
    assert steps[-1].startswith("mnistgan train "), (
        f"the first Quick start command must end with the main job, got {steps[-1]!r}"
    )
    return steps[-1]


def test_quick_start_has_exactly_two_commands() -> None:
    """The Quick start shows two code blocks of one command each: set up and run, then test."""
    commands = _quick_start_commands()
    assert len(commands) == 2, f"expected two Quick start commands, got {commands}"
    setup, _ = commands
    steps = [step.strip() for step in setup.split("&&")]
    assert steps[0].startswith("python3 -m venv "), "the first command starts with a venv"
    assert any(step.startswith(". ") and "/bin/activate" in step for step in steps)
    installs = [step for step in steps if "pip install" in step]
    assert installs and re.search(r'"?\.\[[^\]]*\btest\b', installs[0]), (
        "the first command installs the checkout with the test extra, so the tests can run"
    )


def test_main_job_is_a_valid_train_command_that_writes_samples() -> None:
    """The README's main job parses as ``mnistgan train`` and names an output folder."""
    job = _main_job(_quick_start_commands()[0])
    args = build_parser().parse_args(shlex.split(job)[1:])
    assert args.command == "train", job
    assert args.out is not None and args.download, job


def test_ci_runs_the_readme_test_command() -> None:
    """``.ci/run`` runs the README's test command, word for word."""
    test_command = _quick_start_commands()[1]
    assert test_command in _ci_lines(), (
        f".ci/run does not run the README's test command {test_command!r}"
    )


def test_ci_runs_the_readme_main_job_in_smoke_form() -> None:
    """``.ci/run`` runs the README's main job with only ``--limit N`` added."""
    job = _main_job(_quick_start_commands()[0])
    smoke = [line for line in _ci_lines() if re.fullmatch(re.escape(job) + r" --limit \d+", line)]
    assert smoke, f".ci/run does not run the README's main job {job!r} with --limit N added"
