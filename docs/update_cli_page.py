"""Rewrite docs/guide/cli.rst with the current ``mnistgan --help`` output.

Run it after changing the command line: ``python docs/update_cli_page.py``.
tests/test_docs.py fails when the page lacks an option of a subcommand it documents.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from mnistgan.cli import build_parser

PAGE = Path(__file__).resolve().parent / "guide" / "cli.rst"
DOCUMENTED = [  # the subcommands with a section, in page order
    "train",
    "sample",
    "traverse",
    "interpolate",
    "plot",
    "eval",
    "export",
    "presets",
]


def run(*args: str) -> str:
    """The output of ``mnistgan ARGS`` at a fixed terminal width of 80 columns."""
    env = dict(os.environ, COLUMNS="80")
    command = [sys.executable, "-m", "mnistgan", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


def block(text: str) -> str:
    """Indent ``text`` as the body of a reST directive."""
    return "\n".join(("   " + line) if line.strip() else "" for line in text.splitlines())


parser = build_parser()
(sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
others = [c for c in sub.choices if c not in DOCUMENTED]
others_text = ", ".join(f"``{c}``" for c in others)

page = (
    f"""The ``mnistgan`` command
========================

Installing mnistgan installs the ``mnistgan`` command; ``python -m mnistgan`` is the same.
Errors print one line, ``mnistgan: error: ...``, and exit with status 1 (2 for bad
arguments); an interrupted ``train`` exits with status 130 and says how to resume. Add
``-v`` before the subcommand to log progress details.

.. code-block:: text

{block(run("--help"))}

"""
    + (
        f"This page covers {', '.join(f'``{c}``' for c in DOCUMENTED[:-1])} and "
        f"``{DOCUMENTED[-1]}``; for {others_text} see ``mnistgan <command> --help``.\n"
        if others
        else "Each subcommand has a section below, with its ``--help``.\n"
    )
    + f"""
``mnistgan train``
------------------

Trains a preset on a dataset and writes into ``--out``:

* ``checkpoints/epoch_NNNN.pt``: checkpoints (every ``--checkpoint-every`` epochs and
  after the last one; the newest ``--keep-last`` are kept);
* ``samples/epoch_NNNN.png``: a grid of ``--grid-size`` images from fixed noise, per epoch;
* ``history.json``, ``history.csv`` (per epoch) and ``history_steps.csv`` (per step);
* ``config.json``: the full model configuration;
* ``samples.png``: a final grid.

The dataset is read from ``--data-root``, else ``$MNISTGAN_DATA_ROOT`` (see
:ref:`data-location`), and resized to the preset's image size (64 for ``dcgan64``).
``--seed`` seeds the weights, the noise and the data order. ``--epochs`` counts the whole
run, so after an interruption the same command with ``--resume auto`` finishes it,
continuing exactly from the newest good checkpoint in ``OUT/checkpoints``.
``--num-classes 10`` trains a conditional GAN (``--conditioning`` picks how D uses the
labels; see :doc:`conditional`); ``--gif`` also films the generator on fixed noise into
``OUT/progress.gif`` (see :doc:`visuals`). Started by ``torchrun``, the command trains on
several devices (see :doc:`distributed`).

The data comes from ``--data-root``, else ``$MNISTGAN_DATA_ROOT``, else the user cache
folder. ``mnistgan train`` downloads it only with ``--download`` (which fetches nothing
when the files are already there): without internet, a missing dataset stops the run at
once with a message naming the folder and the flags that fix it (see
:ref:`data-location`).

.. code-block:: console

   $ mnistgan train --preset dcgan --epochs 20 --out runs/dcgan
   $ mnistgan train --preset dcgan --epochs 20 --out runs/dcgan --resume auto
   $ mnistgan train --preset dcgan64 --loss hinge --ema-decay 0.999 --out runs/d64
   $ mnistgan train --preset default --num-classes 10 --gif --out runs/cond
   $ mnistgan train --preset vanilla --epochs 1 --limit 1000 --quiet --out runs/smoke

.. code-block:: text

{block(run("train", "--help"))}

``mnistgan sample``
-------------------

Generates images from a checkpoint, or from a ``.safetensors`` generator file (see
:doc:`integrations`), into a PNG grid, a ``.npy`` array or a ``.pt`` tensor file, chosen
by the suffix of ``--out``; the images are floats in [0, 1] of shape ``(N, C, H, W)``,
from the EMA generator when the model has one. For a conditional model, ``--digit``
picks the digit: one for all images, or one per image; by default 0 to 9 come in turn.

.. code-block:: console

   $ mnistgan sample runs/dcgan/checkpoints/epoch_0020.pt --n 100 --nrow 10 --out digits.png
   $ mnistgan sample runs/dcgan/checkpoints/epoch_0020.pt --n 10000 --out digits.npy
   $ mnistgan sample runs/cond/checkpoints/epoch_0020.pt --digit 7 --n 16 --out sevens.png
   $ mnistgan sample generator.safetensors --n 64 --out digits.png

.. code-block:: text

{block(run("sample", "--help"))}

``mnistgan traverse``
---------------------

Draws a grid whose rows each sweep one latent dimension over ``--values``, every other
coordinate fixed at a base vector drawn with ``--seed`` (see
:func:`~mnistgan.viz.latent_traversal`); with ``--seeds``, one block of rows per base
vector. The dimensions must exist in the model: the default ``--dims`` need a latent size
above 85, so pass smaller ones for the 64-dimensional ``default`` and ``dcgan`` presets.

.. code-block:: console

   $ mnistgan traverse runs/vanilla/checkpoints/epoch_0100.pt --values -3 0 3 \\
         --out traverse.png
   $ mnistgan traverse runs/dcgan/checkpoints/epoch_0020.pt --dims 0 10 20 --seeds 0 1 \\
         --labels

.. code-block:: text

{block(run("traverse", "--help"))}

``mnistgan interpolate``
------------------------

Draws the path through latent space from the digit of one seed to the next, one row of
``--steps`` images per consecutive pair of ``--seeds`` (the digit of seed ``S`` is that
of ``mnistgan sample --n 1 --seed S``), along a great circle (``--mode slerp``, the
default) or a straight line (``lerp``); see :func:`~mnistgan.viz.interpolate`. With
``--out`` ending in ``.gif`` it writes an animation, one frame per image.

.. code-block:: console

   $ mnistgan interpolate runs/dcgan/checkpoints/epoch_0020.pt --seeds 1 2 3 4 --labels
   $ mnistgan interpolate runs/dcgan/checkpoints/epoch_0020.pt --seeds 1 2 --out walk.gif

.. code-block:: text

{block(run("interpolate", "--help"))}

``mnistgan plot``
-----------------

Draws a run's losses and D outputs against iterations, and the per-epoch metrics if any
were logged (see :doc:`visuals`), from its ``history.json``. Needs the ``plot`` extra.

.. code-block:: console

   $ mnistgan plot runs/dcgan
   $ mnistgan plot runs/dcgan/history.json --out figures --dpi 150

.. code-block:: text

{block(run("plot", "--help"))}

``mnistgan eval``
-----------------

Scores MNIST-style digits from anywhere: ``.npy``/``.npz``/``.pt`` arrays, folders of
PNG/JPEG images, ``ImageFolder`` trees (sub-folders ``0`` … ``9``: the labels), a
``torch.export`` or TorchScript generator (``--trust-code``), or a mnistgan checkpoint or
generator file (``--n`` images are drawn from generators). Each input is compared with
the 10,000 MNIST test images in the features of the shipped classifier, whose statistics
ship with mnistgan, so no dataset is needed; several inputs print one table, next to the
real-data floor, or JSON (``--json``) or CSV (``--csv``). ``--memorisation`` adds the
share of near-copies of training images (needs MNIST on disk), ``--show-copies`` draws
the closest pairs and ``--report`` writes an HTML page or PNG figure (see
:doc:`evaluating` and :doc:`metrics`). Write a negative range with ``=``:
``--range=-1..1``. Fewer images and KID subsets make it faster, at the price of noisier
numbers that no longer compare with the floor.

.. code-block:: console

   $ mnistgan eval samples.npy
   $ mnistgan eval runs/a/checkpoints/epoch_0020.pt other_gan/samples/ --csv
   $ mnistgan eval generator.pt2 --n 2000 --kid-subsets 20 --json
   $ mnistgan eval samples.npy --memorisation --show-copies copies.png --report report.html

.. code-block:: text

{block(run("eval", "--help"))}

``mnistgan export``
-------------------

Writes the sampling generator of a checkpoint (or of a generator file) for sharing or
deployment, in the format the suffix of ``--out`` names: a ``torch.export`` program
(``.pt2``), an ONNX model (``.onnx``, needs the ``export`` extra) or a safetensors
generator file (``.safetensors``); see :doc:`integrations`.

.. code-block:: console

   $ mnistgan export runs/dcgan/checkpoints/epoch_0020.pt --out generator.safetensors
   $ mnistgan export runs/dcgan/checkpoints/epoch_0020.pt --out generator.pt2
   $ mnistgan export runs/dcgan/checkpoints/epoch_0020.pt --out generator.onnx

.. code-block:: text

{block(run("export", "--help"))}

``mnistgan presets``
--------------------

Lists the registered presets with their parameter counts, image size, latent size and
loss (see :doc:`presets`):

.. code-block:: console

   $ mnistgan presets
{block(run("presets"))}

.. code-block:: text

{block(run("presets", "--help"))}
"""
)
PAGE.write_text(page, encoding="utf-8")
print(f"wrote {PAGE}")
