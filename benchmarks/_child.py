"""Run one benchmark function in a fresh process with its own thread count.

The benchmarks' ``--jobs N`` runs N trainings side by side, each in a process of its own
(one torch thread each by default), and reads back the function's JSON result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_CODE = (
    "import importlib, json, sys, torch; sys.path.insert(0, sys.argv[1]); "
    "torch.set_num_threads(int(sys.argv[2])); "
    "f = getattr(importlib.import_module(sys.argv[3]), sys.argv[4]); "
    "print('RESULT ' + json.dumps(f(**json.loads(sys.argv[5]))))"
)


def call_in_child(
    module: str, function: str, kwargs: dict[str, Any], *, threads: int = 1, echo: bool = False
) -> Any:
    """``module.function(**kwargs)`` (a module of ``benchmarks/``) in a fresh process with
    ``threads`` torch threads; its JSON-able result. With ``echo`` the child's other
    output lines are printed here."""
    done = subprocess.run(
        [sys.executable, "-c", _CODE, _HERE, str(threads), module, function, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        check=False,
    )
    found, result = False, None
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            found, result = True, json.loads(line[len("RESULT ") :])
        elif echo:
            print(line, flush=True)
    if not found:
        raise RuntimeError(f"{module}.{function}({kwargs}) failed:\n{done.stderr[-3000:]}")
    return result
