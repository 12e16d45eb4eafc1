"""Sphinx configuration for the mnistgan documentation.

Build (CI runs both, with warnings as errors and in nitpicky mode)::

    python -m sphinx -W -n --keep-going -b html docs docs/_build/html
    python -m sphinx -W -n --keep-going -b doctest docs docs/_build/doctest

The doctest build also runs the ``>>>`` examples of the docstrings that the API
reference pulls in; the ``mnistgan.data`` ones read real MNIST, so point
``MNISTGAN_DATA_ROOT`` at a folder holding ``MNIST/raw`` (CI does).
Nothing here downloads anything: the intersphinx inventories of Python, PyTorch, NumPy
and the rest are small files in ``_intersphinx/`` (``_intersphinx/make_inventories.py``
writes them), and the links they make point at those projects' real documentation.
"""

from __future__ import annotations

import doctest
import importlib
import re
import sys
from typing import Any

import mnistgan

# -- project -------------------------------------------------------------------------

project = "mnistgan"
author = "mnistgan developers"
copyright = "mnistgan developers"
version = mnistgan.__version__
release = mnistgan.__version__

# -- general -------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",  # a "[source]" link on every API object
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx_copybutton",
    "myst_parser",  # the changelog page renders CHANGELOG.md
]
source_suffix = {".rst": "restructuredtext"}  # Markdown only where a page includes it
# The figures script (scripts/make_figures.py) also leaves its checkpoint, history and
# per-epoch grids in _static/figures; these patterns keep them out of the HTML build
# (for html_static_path they are matched relative to _static).
exclude_patterns = [
    "_build",
    "figures/checkpoint.pt",
    "figures/history.json",
    "figures/samples",
    "_intersphinx",
]
default_role = "py:obj"
nitpicky = True  # every reference must resolve (CI also passes -n)
nitpick_ignore = [
    # Type variables of generic helpers (``move_to_device(obj: _T) -> _T``).
    ("py:class", "mnistgan.device._T"),
    ("py:class", "mnistgan.device._M"),
    # torch objects that are not in docs/_intersphinx/torch.inv: add them to its table
    # in make_inventories.py once their address in the stable docs is checked.
    ("py:class", "torch.amp.grad_scaler.GradScaler"),
    ("py:class", "torch.amp.GradScaler"),
    ("py:func", "torch.export.save"),
    # Instance attributes set in __init__ that the class docstrings name but that have no
    # entry of their own (ModelCheckpoint.directory, SampleGrid.last_grid).
    ("py:attr", "directory"),
    ("py:attr", "last_grid"),
    # A private Literal alias in a signature (viz.interpolate's mode: "lerp" or "slerp").
    ("py:class", "Mode"),
]

# -- intersphinx: offline, from the inventories in _intersphinx/ ----------------------

_INVENTORIES = "_intersphinx"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", f"{_INVENTORIES}/python.inv"),
    "torch": ("https://pytorch.org/docs/stable/", f"{_INVENTORIES}/torch.inv"),
    "torchvision": ("https://pytorch.org/vision/stable/", f"{_INVENTORIES}/torchvision.inv"),
    "numpy": ("https://numpy.org/doc/stable/", f"{_INVENTORIES}/numpy.inv"),
    "PIL": ("https://pillow.readthedocs.io/en/stable/", f"{_INVENTORIES}/pillow.inv"),
    "matplotlib": ("https://matplotlib.org/stable/", f"{_INVENTORIES}/matplotlib.inv"),
}

# Names that autodoc and the docstrings use for outside objects, and the names under
# which those objects' own docs (and so the inventories) list them.
_ALIASES = {
    "Tensor": "torch.Tensor",
    "nn.Module": "torch.nn.Module",
    "torch.nn.modules.module.Module": "torch.nn.Module",
    "torch.nn.modules.container.Sequential": "torch.nn.Sequential",
    "torch._C.Generator": "torch.Generator",
    "torch.utils.data.dataset.Dataset": "torch.utils.data.Dataset",
    "Path": "pathlib.Path",
    "Figure": "matplotlib.figure.Figure",
    "torch.utils.tensorboard.SummaryWriter": "torch.utils.tensorboard.writer.SummaryWriter",
}

# -- autodoc / napoleon --------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,  # what each module's __all__ lists
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_include_init_with_doc = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- doctest -------------------------------------------------------------------------

# The same flags pytest uses for the docstring examples (pyproject.toml), plus
# Sphinx's defaults.
doctest_default_flags = (
    doctest.ELLIPSIS
    | doctest.NORMALIZE_WHITESPACE
    | doctest.IGNORE_EXCEPTION_DETAIL
    | doctest.DONT_ACCEPT_TRUE_FOR_1
)
# Docstring examples run under pytest in their module's namespace; here every
# page shares this one, so it imports what those examples use unqualified.
doctest_global_setup = """
import os

import torch
from torch import Tensor, nn

import mnistgan
from mnistgan import *
from mnistgan.builders import *
from mnistgan.layers import *
from mnistgan.presets import *
from mnistgan.losses import *
from mnistgan.gan import *
from mnistgan.training import *
from mnistgan.training.distributed import *
from mnistgan.checkpoint import *
from mnistgan.data import *
from mnistgan.device import *
from mnistgan.viz import *
from mnistgan.metrics import *
from mnistgan.metrics.train import accuracy, train_classifier
from mnistgan.conditioning import *
from mnistgan.sampling import *
from mnistgan.export import *
from mnistgan.integrations import *
from mnistgan.cli import *
from mnistgan.errors import *

torch.set_num_threads(2)
"""

# -- HTML ----------------------------------------------------------------------------

html_theme = "furo"
html_static_path = ["_static"]
html_title = f"mnistgan {release}"  # furo shows it above the navigation, on every page
html_short_title = "mnistgan"
html_css_files = ["custom.css"]

# -- copy buttons ---------------------------------------------------------------------

# The copy button copies the code of a ``>>>`` session without its prompts and output,
# and a console command without its ``$``: highlighted blocks mark prompts (.gp) and
# output (.go), which are left out; the regular expression catches prompts in blocks
# that are not highlighted.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_exclude = ".linenos, .gp, .go"


# -- cross-references to re-exports ----------------------------------------------------


def _candidates(target: str) -> list[str]:
    """Names under which the object behind ``target`` may be documented.

    Each object is documented once, under the module whose ``__all__`` presents it
    (``mnistgan.gan.GAN``, ``mnistgan.training.Callback``), but docstrings also use its
    re-exported names (``mnistgan.GAN.fit``, ``mnistgan.Callback.state_key``). This
    walks ``target`` to the object and lists the same path under the object's defining
    module and each package above it that exposes the object.
    """
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):  # the longest importable module prefix
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for index in range(cut, len(parts)):  # down to the first object with a home
            obj = getattr(obj, parts[index], None)
            home = getattr(obj, "__module__", None)
            qualname = getattr(obj, "__qualname__", None)
            if isinstance(home, str) and isinstance(qualname, str):
                break
        else:
            return []
        top = qualname.split(".")[0]
        defined = getattr(sys.modules.get(home), top, None)
        names = []
        module_parts = home.split(".")
        for depth in range(len(module_parts), 0, -1):  # home, then each package above
            module = ".".join(module_parts[:depth])
            if getattr(sys.modules.get(module), top, None) is defined is not None:
                names.append(".".join([module, qualname, *parts[index + 1 :]]))
        return [name for name in names if name != target]
    return []


def _resolve_alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve outside names in ``_ALIASES`` through intersphinx under their documented name."""
    from sphinx.ext import intersphinx

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or target not in _ALIASES:
        return None
    new_node = node.deepcopy()
    new_node["reftarget"] = _ALIASES[target]
    return intersphinx.missing_reference(app, env, new_node, contnode)


def _resolve_reexport(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve references to re-exported mnistgan names where the object is documented."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    module = node.get("py:module") or ""
    full = target if target.startswith("mnistgan") else f"{module}.{target}"
    if not full.startswith("mnistgan."):
        return None
    domain = env.get_domain("py")
    for candidate in _candidates(full):
        new_node = node.deepcopy()
        new_node["reftarget"] = candidate
        resolved = domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], candidate, new_node, contnode
        )
        if resolved is not None:
            return resolved
    return None


def _resolve_short_name(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a short mnistgan name (``NonFinite``, ``GAN.sample``) that names one object.

    Type hints and docstrings name some objects without their module, or with a role
    that does not match how they are documented (a type alias is data, not a class).
    This looks the name up as a suffix of every documented mnistgan object, of any
    type, and links it only when exactly one object matches.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    domain = env.get_domain("py")
    matches = [
        (role, found)
        for role, found in domain.resolve_any_xref(
            env, node["refdoc"], app.builder, target, node, contnode
        )
        if found.get("reftitle", "").startswith("mnistgan")
        or found.get("refid", "").startswith("mnistgan")
    ]
    if not matches and target.startswith("mnistgan."):
        # ``mnistgan.metrics.classifier.CLASSIFIER_SHA256``, documented under the package
        # that re-exports it: the same object under its last name.
        obj = _lookup(target)
        short = target.rpartition(".")[2]
        matches = [
            (role, found)
            for role, found in domain.resolve_any_xref(
                env, node["refdoc"], app.builder, short, node, contnode
            )
            if obj is not None and _lookup(found.get("reftitle", "")) is obj
        ]
    return matches[0][1] if len(matches) == 1 else None


def _lookup(path: str) -> Any:
    """The object at a dotted ``mnistgan...`` path, or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part, None)
        return obj
    return None


# -- re-exported constants keep their docstrings -------------------------------------


def _reexported_data_doc(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Give a re-exported constant the docstring it has where it is defined.

    autodoc reads a constant's docstring (the string after the assignment) from the
    module being documented, so ``mnistgan.metrics.TEST_ACCURACY``, which the package
    imports from ``mnistgan.metrics.classifier``, would come out bare. This finds the
    submodule whose ``__all__`` lists the name for the same object and takes its text.
    """
    if what != "data":
        return
    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith(f"{package}.") or attr not in getattr(module, "__all__", ()):
            continue
        if getattr(module, attr, None) is not obj:
            continue
        doc = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", attr))
        if doc:
            lines[:] = list(doc)  # not the docstring of the value's type (``dict``)
            return


# -- napoleon quirk: prose before a colon in attribute docstrings -----------------------

_PROSE = re.compile(r"^[A-Z][a-z']*( [A-Za-z0-9()'-]+)+$")


def _keep_attribute_prose(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Undo napoleon's reading of ``"An activation: a name ..."`` as ``type: description``.

    Napoleon takes the text before the first colon of an attribute, property or data
    docstring as its type. mnistgan's one-line docstrings start with prose there; such a
    "type" (capitalised words, no brackets or dots) is put back in front of the text.
    """
    if what not in ("attribute", "property", "data"):
        return
    for index, line in enumerate(lines):
        if line.startswith(":type: ") and _PROSE.match(line[len(":type: ") :]):
            prose = line[len(":type: ") :]
            del lines[index]
            if index > 0 and not lines[index - 1].strip():
                del lines[index - 1]
            if lines:
                lines[0] = f"{prose}: {lines[0]}"
            else:
                lines.append(prose)
            return


def setup(app: Any) -> None:
    """Register the reference resolvers and the napoleon fix (after napoleon, priority 500)."""
    app.connect("missing-reference", _resolve_reexport)
    app.connect("missing-reference", _resolve_alias)
    app.connect("missing-reference", _resolve_short_name)
    app.connect("autodoc-process-docstring", _reexported_data_doc, priority=400)
    app.connect("autodoc-process-docstring", _keep_attribute_prose, priority=600)
