"""Sphinx configuration for the mnistgan documentation.

Build (CI runs both, with warnings as errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest

The doctest build also runs the ``>>>`` examples of the docstrings that the API
reference pulls in; the ``mnistgan.data`` ones read real MNIST, so point
``MNISTGAN_DATA_ROOT`` at a folder holding ``MNIST/raw`` (CI does).
Nothing here downloads anything: no intersphinx, no theme outside Sphinx.
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
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
]
# The figures script (scripts/make_figures.py) also leaves its checkpoint, history and
# per-epoch grids in _static/figures; these patterns keep them out of the HTML build
# (for html_static_path they are matched relative to _static).
exclude_patterns = [
    "_build",
    "figures/checkpoint.pt",
    "figures/history.json",
    "figures/samples",
]
default_role = "py:obj"
nitpicky = False  # torch, numpy and stdlib types cannot be resolved without intersphinx

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

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"mnistgan {release}"
html_theme_options = {
    "description": "GANs on MNIST-style digits, in plain PyTorch.",
    "fixed_sidebar": True,
    "show_relbars": True,
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"],
}


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


# -- napoleon quirk: prose before a colon in attribute docstrings -----------------------

_PROSE = re.compile(r"^[A-Z][a-z]*( [A-Za-z0-9()-]+)+$")


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
    """Register the re-export resolver and the napoleon fix (after napoleon, priority 500)."""
    app.connect("missing-reference", _resolve_reexport)
    app.connect("autodoc-process-docstring", _keep_attribute_prose, priority=600)
