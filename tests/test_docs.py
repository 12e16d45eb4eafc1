"""Checks that the Sphinx sources in docs/ keep up with the code, without building them.

The real builds (``sphinx -W -b html`` and ``-b doctest``) run in CI; these tests read
the ``.rst`` sources only, so they take a fraction of a second.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import itertools
import pkgutil
import re
from pathlib import Path
from typing import Any

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


def _public_modules() -> list[str]:
    """Every importable mnistgan module with no ``_``-prefixed part in its name."""
    names = ["mnistgan"]
    for info in pkgutil.walk_packages(mnistgan.__path__, "mnistgan."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _exported(module: str) -> list[tuple[str, str]]:
    """``(module, name)`` for every name in the module's ``__all__`` (not ``__version__``)."""
    names = getattr(importlib.import_module(module), "__all__", ())
    return [(module, name) for name in names if name != "__version__"]


def _attribute_docstrings(module: str) -> set[str]:
    """Names that the module's source assigns and follows with a docstring.

    That is what autodoc needs to document a constant or type alias through
    ``automodule``: data imported from elsewhere has no docstring there.
    """
    path = importlib.import_module(module).__file__
    assert path is not None
    body = ast.parse(Path(path).read_text(encoding="utf-8")).body
    found = set()
    for node, after in itertools.pairwise(body):
        targets = (
            [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        )
        documented = (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        )
        if documented:
            found.update(target.id for target in targets if isinstance(target, ast.Name))
    return found


def _explicit_directives() -> set[str]:
    """Names given to ``autodata``/``autoclass``/``autofunction`` directives in docs/api/."""
    found = set()
    for page in sorted(API.glob("*.rst")):
        text = page.read_text(encoding="utf-8")
        found.update(re.findall(r"^\.\. auto(?:data|class|function):: (\S+)$", text, re.M))
    return found


def _documented_at(module: str, name: str) -> list[str]:
    """Where the API reference documents ``module.name``: the full names it appears under."""
    obj = getattr(importlib.import_module(module), name)
    explicit = _explicit_directives()
    places = []
    for documented, options in _automodules().items():
        if f"{documented}.{name}" in explicit:
            places.append(f"{documented}.{name}")
            continue
        if "no-members" in options or documented == "mnistgan":
            continue
        home = importlib.import_module(documented)
        if name not in getattr(home, "__all__", ()) or getattr(home, name) is not obj:
            continue
        routine_or_class = inspect.isclass(obj) or inspect.isroutine(obj)
        if routine_or_class or name in _attribute_docstrings(documented):
            places.append(f"{documented}.{name}")
    return places


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


@pytest.mark.parametrize(
    ("module", "name"), [pair for module in _public_modules() for pair in _exported(module)]
)
def test_every_public_name_is_in_the_api_reference(module: str, name: str) -> None:
    """Each name in a public module's ``__all__`` gets an entry in docs/api/.

    Classes and functions come with an ``automodule`` (with members) of a module whose
    ``__all__`` lists them; constants and type aliases need a docstring in that module's
    source, or an ``autodata`` directive (autodoc shows imported data only then).
    """
    assert _documented_at(module, name), (
        f"{module}.{name} is public but not in the API reference: add its module to an "
        "automodule in docs/api/, or, for a constant imported from elsewhere, an "
        f"'.. autodata:: {module}.{name}' directive"
    )


def test_the_metrics_constants_are_documented() -> None:
    """The six constants and types of ``mnistgan.metrics`` (issue 24) have API entries."""
    for name in (
        "REAL_FLOOR",
        "TEST_ACCURACY",
        "CLASSIFIER_SHA256",
        "METRIC_KEYS",
        "FEATURE_DIM",
        "FeatureExtractor",
    ):
        assert _documented_at("mnistgan.metrics", name), f"mnistgan.metrics.{name}"


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


# About 90 characters of code fit in furo's content column at a 1280 px window (measured
# with scripts/check_code_width.py in headless Chromium: a 91-character line scrolls).
_CODE_COLUMNS = 90
_CODE_BLOCK = re.compile(r"^( *)(?:\.\. (?:code-block|doctest|testcode|testoutput)::.*|.*::)$")
# The lead rewrites the training guide's SmoothedGAN override (issue 19); until then its
# long lines are known.
_KNOWN_LONG: tuple[str, ...] = ()


def _code_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, code line)`` of every literal or code block of an ``.rst`` page."""
    lines = text.splitlines()
    found = []
    index = 0
    while index < len(lines):
        match = _CODE_BLOCK.match(lines[index])
        index += 1
        if match is None:
            continue
        base = len(match.group(1))
        while index < len(lines) and re.match(r"^ +:[\w-]+:", lines[index]):
            index += 1  # directive options
        indent = None
        while index < len(lines):
            line = lines[index]
            if line.strip():
                width = len(line) - len(line.lstrip())
                if width <= base:
                    break
                indent = width if indent is None else indent
                found.append((index + 1, line[indent:]))
            index += 1
    return found


def test_code_blocks_fit_the_page() -> None:
    """No code line of the docs pages is wider than what furo shows at 1280 px."""
    long = [
        f"{page.relative_to(DOCS)}:{number}: {len(line)} characters"
        for page in _sources()
        for number, line in _code_lines(page.read_text(encoding="utf-8"))
        if len(line) > _CODE_COLUMNS and not any(known in line for known in _KNOWN_LONG)
    ]
    assert not long, f"wrap these code lines to {_CODE_COLUMNS} characters: {long}"


def test_code_line_scan_finds_long_lines() -> None:
    """The scan above sees lines of code blocks, doctest blocks and ``::`` blocks."""
    text = (
        "Text::\n\n   " + "a" * 95 + "\n\n.. doctest::\n\n   >>> " + "b" * 95 + "\n"
        "\n.. code-block:: console\n   :caption: x\n\n   $ short\nafter\n"
    )
    assert [len(line) for _, line in _code_lines(text)] == [95, 99, 7]


def _figures_recipe_steps() -> int:
    """Training steps of the docs figures' recipe: scripts/make_figures.py's defaults."""
    import importlib.util
    import math

    script = DOCS.parent / "scripts" / "make_figures.py"
    spec = importlib.util.spec_from_file_location("make_figures", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module._parse(["--out", "unused"])
    images = args.limit or 60_000
    return int(args.epochs * math.ceil(images / get_preset("default").batch_size))


def test_every_caption_of_the_hero_picture_states_the_recipes_steps() -> None:
    """README, index, quickstart and visuals give the figures script's true step count."""
    steps = _figures_recipe_steps()
    pages = [
        DOCS.parent / "README.md",
        DOCS / "index.rst",
        DOCS / "quickstart.rst",
        DOCS / "guide" / "visuals.rst",
    ]
    for page in pages:
        text = " ".join(page.read_text(encoding="utf-8").split())
        claims = re.findall(r"(\d[\d,]*) (?:training )?steps", text)
        assert f"{steps:,}" in claims, f"{page.name} does not say the figures took {steps} steps"
        around = [
            text[max(0, at.start() - 600) : at.end() + 600]
            for at in re.finditer(r"figures/samples\.png", text)
        ]
        for part in around:
            for claim in re.findall(r"(\d[\d,]*) (?:training )?steps", part):
                assert claim == f"{steps:,}", (
                    f"{page.name} says the sample grid took {claim} steps; the figures "
                    f"script's recipe takes {steps}"
                )


def _inventory_script() -> Any:
    import importlib.util

    script = DOCS / "_intersphinx" / "make_inventories.py"
    spec = importlib.util.spec_from_file_location("make_inventories", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("table", "filename"),
    [
        ("TORCH", "torch.inv"),
        ("TORCHVISION", "torchvision.inv"),
        ("NUMPY", "numpy.inv"),
        ("PILLOW", "pillow.inv"),
        ("MATPLOTLIB", "matplotlib.inv"),
    ],
)
def test_shipped_inventories_are_what_the_script_writes(table: str, filename: str) -> None:
    """Each hand-made intersphinx inventory holds its table's entries, anchored at the name."""
    import zlib

    script = _inventory_script()
    entries = getattr(script, table)
    raw = (DOCS / "_intersphinx" / filename).read_bytes()
    header_end = raw.index(b"compressed using zlib.\n") + len(b"compressed using zlib.\n")
    lines = zlib.decompress(raw[header_end:]).decode().splitlines()
    assert lines == sorted(set(script._table(entries))), (
        f"docs/_intersphinx/{filename} is stale: run docs/_intersphinx/make_inventories.py"
    )
    for name, (_, uri) in entries.items():
        assert uri.endswith(f"#{name}"), f"{name} points at {uri}, not at its own anchor"
