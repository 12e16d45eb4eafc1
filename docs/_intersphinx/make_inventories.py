"""Write the small intersphinx inventories that docs/conf.py reads offline.

The docs build never touches the network, so the inventories of the projects it links
to live in this folder. Each is a subset of its project's ``objects.inv``, made of the
objects mnistgan's docs refer to, with the real URL of each object's page relative to
the base URL that ``intersphinx_mapping`` in docs/conf.py gives for that project:

* ``python.inv``: the entries of the modules listed in ``PYTHON_MODULES`` (and the
  builtins) taken from CPython's own inventory, which Debian ships in
  ``python3.11-doc`` (``apt-get install python3.11-doc`` gives
  ``/usr/share/doc/python3.11/html/objects.inv``);
* ``torch.inv``, ``torchvision.inv``, ``numpy.inv``, ``pillow.inv`` and
  ``matplotlib.inv``: written from the tables below (no offline copy of those
  projects' inventories exists; the addresses are those of their stable docs).

Run from the project root after adding a reference to a new outside object::

    python docs/_intersphinx/make_inventories.py \\
        --python-inventory /usr/share/doc/python3.11/html/objects.inv

The output is deterministic (sorted entries, fixed compression level), so rerunning it
changes nothing unless the tables change.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (role, page#anchor), relative to https://pytorch.org/docs/stable/
TORCH = {
    "torch.Tensor": ("class", "tensors.html#torch.Tensor"),
    "torch.Tensor.to": ("method", "generated/torch.Tensor.to.html#torch.Tensor.to"),
    "torch.device": ("class", "tensor_attributes.html#torch.device"),
    "torch.dtype": ("class", "tensor_attributes.html#torch.dtype"),
    "torch.Generator": ("class", "generated/torch.Generator.html#torch.Generator"),
    "torch.Generator.manual_seed": (
        "method",
        "generated/torch.Generator.html#torch.Generator.manual_seed",
    ),
    "torch.save": ("function", "generated/torch.save.html#torch.save"),
    "torch.load": ("function", "generated/torch.load.html#torch.load"),
    "torch.compile": ("function", "generated/torch.compile.html#torch.compile"),
    "torch.no_grad": ("class", "generated/torch.no_grad.html#torch.no_grad"),
    "torch.nn.Module": ("class", "generated/torch.nn.Module.html#torch.nn.Module"),
    "torch.nn.Sequential": ("class", "generated/torch.nn.Sequential.html#torch.nn.Sequential"),
    "torch.nn.SyncBatchNorm": (
        "class",
        "generated/torch.nn.SyncBatchNorm.html#torch.nn.SyncBatchNorm",
    ),
    "torch.nn.parallel.DistributedDataParallel": (
        "class",
        "generated/torch.nn.parallel.DistributedDataParallel.html"
        "#torch.nn.parallel.DistributedDataParallel",
    ),
    "torch.utils.data.DataLoader": ("class", "data.html#torch.utils.data.DataLoader"),
    "torch.utils.data.Dataset": ("class", "data.html#torch.utils.data.Dataset"),
    "torch.utils.data.distributed.DistributedSampler": (
        "class",
        "data.html#torch.utils.data.distributed.DistributedSampler",
    ),
    "torch.utils.tensorboard.writer.SummaryWriter": (
        "class",
        "tensorboard.html#torch.utils.tensorboard.writer.SummaryWriter",
    ),
}

# relative to https://pytorch.org/vision/stable/
TORCHVISION = {
    f"torchvision.datasets.{name}": (
        "class",
        f"generated/torchvision.datasets.{name}.html#torchvision.datasets.{name}",
    )
    for name in ("MNIST", "FashionMNIST", "KMNIST")
}

# relative to https://numpy.org/doc/stable/
NUMPY = {
    "numpy.ndarray": ("class", "reference/generated/numpy.ndarray.html#numpy.ndarray"),
}

# relative to https://pillow.readthedocs.io/en/stable/
PILLOW = {
    "PIL.Image.Image": ("class", "reference/Image.html#PIL.Image.Image"),
}

# relative to https://matplotlib.org/stable/
MATPLOTLIB = {
    "matplotlib.figure.Figure": (
        "class",
        "api/_as_gen/matplotlib.figure.Figure.html#matplotlib.figure.Figure",
    ),
}

# Modules of the standard library whose entries python.inv keeps (besides builtins).
PYTHON_MODULES = (
    "argparse",
    "collections.abc",
    "contextlib",
    "dataclasses",
    "enum",
    "json",
    "logging",
    "os",
    "pathlib",
    "random",
    "typing",
)


def _write(path: Path, project: str, version: str, lines: list[str]) -> None:
    """Write an inventory in Sphinx's format 2 (a plain header, then zlib-compressed lines)."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(f"{line}\n" for line in sorted(set(lines)))
    path.write_bytes(header.encode() + zlib.compress(body.encode(), 9))
    print(f"wrote {path} ({len(set(lines))} entries)")


def _table(table: dict[str, tuple[str, str]]) -> list[str]:
    """Inventory lines (``name domain:role priority uri dispname``) for a table."""
    return [f"{name} py:{role} 1 {uri} -" for name, (role, uri) in table.items()]


def _python(source: Path) -> list[str]:
    """The entries of ``PYTHON_MODULES`` and the builtins from CPython's inventory."""
    from sphinx.util.inventory import InventoryFile

    with source.open("rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    lines = []
    for role, entries in inventory.items():
        if not role.startswith("py:"):
            continue
        for name, item in entries.items():
            module = name if role == "py:module" else name.rpartition(".")[0]
            builtin = "." not in name and role in (
                "py:class",
                "py:data",
                "py:exception",
                "py:function",
            )
            if builtin or module in PYTHON_MODULES:
                lines.append(f"{name} {role} 1 {item.uri} {item.display_name}")
    return lines


def main() -> None:
    """Write every inventory into this folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--python-inventory",
        type=Path,
        default=Path("/usr/share/doc/python3.11/html/objects.inv"),
        help="CPython's objects.inv (default: Debian's python3.11-doc, %(default)s)",
    )
    args = parser.parse_args()
    _write(HERE / "python.inv", "Python", "3.11", _python(args.python_inventory))
    _write(HERE / "torch.inv", "PyTorch", "stable", _table(TORCH))
    _write(HERE / "torchvision.inv", "Torchvision", "stable", _table(TORCHVISION))
    _write(HERE / "numpy.inv", "NumPy", "stable", _table(NUMPY))
    _write(HERE / "pillow.inv", "Pillow", "stable", _table(PILLOW))
    _write(HERE / "matplotlib.inv", "Matplotlib", "stable", _table(MATPLOTLIB))


if __name__ == "__main__":
    main()
