"""Checks that the Sphinx sources in docs/ keep up with the code, without building them.

The real builds (``sphinx -W -b html`` and ``-b doctest``) run in CI; these tests read
the ``.rst`` sources only, so they take a fraction of a second.
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest

import mnistgan
from mnistgan.cli import build_parser
from mnistgan.presets import get_preset, list_presets

DOCS = Path(__file__).resolve().parent.parent / "docs"
API = DOCS / "api"

# The public modules the API reference must cover, each with an automodule directive.
DOCUMENTED_MODULES = [
    "mnistgan",
    "mnistgan.builders",
    "mnistgan.checkpoint",
    "mnistgan.cli",
    "mnistgan.conditioning",
    "mnistgan.data",
    "mnistgan.device",
    "mnistgan.errors",
    "mnistgan.export",
    "mnistgan.gan",
    "mnistgan.integrations",
    "mnistgan.layers",
    "mnistgan.losses",
    "mnistgan.metrics",
    "mnistgan.metrics.train",
    "mnistgan.presets",
    "mnistgan.sampling",
    "mnistgan.training",
    "mnistgan.viz",
]

_AUTOMODULE = re.compile(r"^\.\. automodule:: (\S+)\n((?:[ \t]+:[\w-]+:.*\n)*)", re.MULTILINE)


def _automodules() -> dict[str, set[str]]:
    """Every ``.. automodule::`` in the API pages, with the options it sets."""
    found: dict[str, set[str]] = {}
    for page in sorted(API.glob("*.rst")):
        for match in _AUTOMODULE.finditer(page.read_text(encoding="utf-8")):
            options = set(re.findall(r":([\w-]+):", match.group(2)))
            found.setdefault(match.group(1), set()).update(options)
    return found


def _public_names() -> list[str]:
    return sorted(name for name in mnistgan.__all__ if name != "__version__")


def test_api_reference_has_an_automodule_for_each_public_module() -> None:
    """Each public module has an ``automodule`` directive in docs/api/ that imports."""
    automodules = _automodules()
    missing = [name for name in DOCUMENTED_MODULES if name not in automodules]
    assert not missing, f"add an automodule for {missing} to docs/api/"
    for name in automodules:
        importlib.import_module(name)  # a typo in a directive fails here, not only in CI


@pytest.mark.parametrize("name", _public_names())
def test_top_level_name_is_documented_in_its_module(name: str) -> None:
    """A name in ``mnistgan.__all__`` is in the ``__all__`` of a module the API documents."""
    obj = getattr(mnistgan, name)
    homes = [
        module
        for module, options in _automodules().items()
        if module != "mnistgan"
        and "no-members" not in options
        and name in getattr(importlib.import_module(module), "__all__", ())
        and getattr(importlib.import_module(module), name) is obj
    ]
    assert homes, (
        f"mnistgan.{name} is not documented: no automodule with members in docs/api/ "
        f"covers a module whose __all__ lists it (it is defined in {obj.__module__})"
    )


@pytest.mark.parametrize("name", _public_names())
def test_top_level_name_is_in_the_re_export_table(name: str) -> None:
    """A name in ``mnistgan.__all__`` has a row in the re-export table of docs/api/index.rst."""
    text = (API / "index.rst").read_text(encoding="utf-8")
    assert f"`mnistgan.{name} <" in text, f"add mnistgan.{name} to the table in docs/api/index.rst"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the mnistgan parser has no subcommands")


def test_cli_page_shows_every_option_of_each_documented_subcommand() -> None:
    """Each subcommand with a section in guide/cli.rst has all its current options there."""
    text = (DOCS / "guide" / "cli.rst").read_text(encoding="utf-8")
    documented = re.findall(r"^``mnistgan (\w+)``\n-+$", text, re.MULTILINE)
    commands = _subcommands()
    assert documented, "guide/cli.rst has no ``mnistgan <command>`` sections"
    assert set(documented) <= set(commands), "guide/cli.rst documents a removed subcommand"
    missing = [
        f"{command} {option}"
        for command in documented
        for action in commands[command]._actions
        for option in action.option_strings
        if option.startswith("--") and option not in text
    ]
    assert not missing, f"guide/cli.rst lacks these options (paste the new --help): {missing}"


def test_presets_page_lists_each_preset_with_its_parameter_counts() -> None:
    """guide/presets.rst has a section and correct G/D parameter counts for every preset."""
    text = (DOCS / "guide" / "presets.rst").read_text(encoding="utf-8")
    for name in list_presets():
        assert re.search(rf"^``{re.escape(name)}``\n-+$", text, re.MULTILINE), (
            f"guide/presets.rst has no section for the preset {name!r}"
        )
        config = get_preset(name)
        g = sum(p.numel() for p in config.build_generator().parameters())
        d = sum(p.numel() for p in config.build_discriminator().parameters())
        row = re.search(rf"^``{re.escape(name)}``  .*$", text, re.MULTILINE)
        assert row is not None, f"the table in guide/presets.rst has no row for {name!r}"
        assert f"{g:,}" in row.group(0) and f"{d:,}" in row.group(0), (
            f"guide/presets.rst gives wrong parameter counts for {name!r}: G is {g:,}, D is {d:,}"
        )


def _sources() -> list[Path]:
    """Every ``.rst`` source of the docs (not the build output)."""
    return [page for page in sorted(DOCS.rglob("*.rst")) if "_build" not in page.parts]


def test_every_page_is_in_a_toctree() -> None:
    """Each page under docs/ (guide, API, examples) is listed in a toctree of an index."""
    pages = {page.relative_to(DOCS).with_suffix("").as_posix() for page in _sources()}
    listed = {"index"}
    for index in (DOCS / "index.rst", API / "index.rst"):
        folder = index.parent.relative_to(DOCS).as_posix()
        text = index.read_text(encoding="utf-8")
        for block in re.findall(r"^\.\. toctree::\n((?:[ \t]+.*\n|\n)*)", text, re.MULTILINE):
            for entry in re.findall(r"^[ \t]+([\w/]+)[ \t]*$", block, re.MULTILINE):
                listed.add(entry if folder == "." else f"{folder}/{entry}")
    missing = sorted(pages - listed)
    assert not missing, (
        f"add these pages to a toctree in docs/index.rst or api/index.rst: {missing}"
    )


def test_images_in_the_docs_exist() -> None:
    """Every ``.. image::`` in the docs points at a file that is there (the figures script's)."""
    missing = []
    for page in _sources():
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"^\s*\.\. image:: (\S+)$", text, re.MULTILINE):
            if not (page.parent / target).is_file():
                missing.append(f"{page.relative_to(DOCS)}: {target}")
    assert not missing, f"missing pictures (run scripts/make_figures.py): {missing}"


def test_metrics_page_gives_the_stored_real_floor() -> None:
    """The real-floor table of guide/metrics.rst shows the values of ``REAL_FLOOR``."""
    from mnistgan.metrics import REAL_FLOOR

    text = (DOCS / "guide" / "metrics.rst").read_text(encoding="utf-8")
    for key, value in REAL_FLOOR.items():
        if key.startswith("class_") or key == "kid_std":
            continue
        row = re.search(rf"^``{key}``  .*?(\S+)$", text, re.MULTILINE)
        assert row is not None, f"guide/metrics.rst has no floor row for {key!r}"
        shown = float(row.group(1))
        places = len(row.group(1).partition(".")[2])
        assert round(value, places) == shown, (
            f"guide/metrics.rst shows {shown} as the real floor of {key!r}; REAL_FLOOR has {value}"
        )
