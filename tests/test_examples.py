"""The example scripts: each runs with ``--smoke`` and writes the files it promises.

Each script runs as ``python examples/<script>.py --smoke --out TMP`` would, in a
process of its own. Importing torch dominates a smoke run, so on POSIX one driver
process imports torch, torchvision, matplotlib and mnistgan once and forks a child per
script (the children share those modules; each runs its script with ``runpy`` as
``__main__``, output to its own log files). ``builders_only.py`` runs in a fresh
interpreter of its own, because the test checks which mnistgan modules it loads. Both
start in the background when the first test needs them, so the runs overlap; only the
runs of the selected tests start. Follow-up calls that need no fresh interpreter
(resuming the MLP run, the missing Fashion-MNIST data) call the script's ``main`` in
this process.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
import torch
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT_S = 300  # for all runs together; a hung script fails the tests, not the session

pytestmark = pytest.mark.slow

_F = TypeVar("_F", bound=Callable[..., Any])

# Imports what the examples share once, then forks one child per script. argv[1] is a
# JSON list of [log_prefix, script, *args]; prints {log_prefix: exit code} at the end.
_FORK_DRIVER = """
import json, os, runpy, sys, traceback
import matplotlib.backends.backend_agg, matplotlib.figure, PIL.Image, torch, torchvision
import mnistgan, mnistgan.data, mnistgan.device, mnistgan.viz

children = {}
for log, *argv in json.loads(sys.argv[1]):
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        children[pid] = log
        continue
    code = 1
    try:
        with open(log + ".out", "w") as out, open(log + ".err", "w") as err:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.argv = argv
            try:
                runpy.run_path(argv[0], run_name="__main__")
                code = 0
            except SystemExit as stop:  # as the interpreter does: int, None or a message
                code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
                if stop.code is not None and not isinstance(stop.code, int):
                    print(stop.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        os._exit(code)
codes = {}
while children:
    pid, status = os.wait()
    codes[children.pop(pid)] = os.waitstatus_to_exitcode(status)
print(json.dumps(codes))
"""

# Runs a script via runpy in a fresh interpreter and prints which mnistgan modules
# were loaded by `import mnistgan` alone and after the whole script.
_MODULE_PROBE = """
import json, runpy, sys
import mnistgan
alone = sorted(m for m in sys.modules if m.startswith("mnistgan"))
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as stop:
    if stop.code:
        raise
after = sorted(m for m in sys.modules if m.startswith("mnistgan"))
print("MODULES " + json.dumps({"alone": alone, "after": after}))
"""


@dataclass(frozen=True)
class Example:
    """A script and the files its smoke run must leave in ``--out``.

    ``files`` maps a path relative to ``--out`` to the expected ``(width, height)`` of a
    picture, or ``None`` where only a non-empty file is required.
    """

    script: str
    files: dict[str, tuple[int, int] | None]


# 8x8 grid of 28 px digits with 2 px padding: 8 * 30 + 2 = 242 px; 64 px digits: 530.
EXAMPLES_SMOKE: dict[str, Example] = {
    "infogan": Example(
        "infogan_mnist.py",
        {
            "samples/epoch_0001.png": (242, 242),
            "samples/epoch_0002.png": (242, 242),
            "samples_by_epoch.png": None,  # checked separately: two grids, labelled
            "history.json": None,
        },
    ),
    "dcgan64": Example(
        "dcgan64.py",
        {
            "losses.png": (800, 400),
            "d_outputs.png": (800, 400),
            "progress.gif": (4 * 66 + 2, 4 * 66 + 2),
            "samples.png": (530, 530),
            "history.json": None,
        },
    ),
    "mlp": Example(
        "mlp_gan.py",
        {
            "checkpoints/epoch_0001.pt": None,
            "samples/epoch_0001.png": (242, 242),
            "live.png": (400, 400),
            "samples.png": (400, 400),
            "history.json": None,
        },
    ),
    "dcgan28": Example(
        "dcgan28.py",
        {
            "samples/epoch_0001.png": (242, 242),
            "dcgan.pt": None,
            "samples.png": (242, 242),
            "history.json": None,
        },
    ),
    "vanilla": Example(
        "vanilla_gan.py",
        {
            "d_outputs.png": (800, 400),
            "losses.png": (800, 400),
            "from_noise.png": (122, 122),  # 16 seeds: a 4x4 grid
            "noise.pt": None,
            "traversal.png": None,  # checked separately: labels make its size font-dependent
            "samples/epoch_0001.png": (242, 242),
            "vanilla.pt": None,
            "history.json": None,
        },
    ),
    "builders_only": Example(
        "builders_only.py", {"samples.png": (242, 242), "generator.pt": None}
    ),
}


@dataclass(frozen=True)
class Result:
    """How one script run ended."""

    returncode: int
    stdout: str
    stderr: str
    command: str


@dataclass
class Background:
    """A process started with Popen; :meth:`wait` collects it once, for every caller."""

    process: subprocess.Popen[str]
    _output: tuple[str, str] | None = field(default=None, init=False)

    def wait(self) -> tuple[str, str]:
        """Wait for the process (killing its group after TIMEOUT_S) and return its output."""
        if self._output is None:
            try:
                self._output = self.process.communicate(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                out, err = self.process.communicate()
                self._output = (out, err + f"\n(killed after {TIMEOUT_S} s)")
        return self._output


@dataclass
class Run:
    """One script's smoke run: its ``--out`` folder and how to get its result."""

    out: Path
    get: Callable[[], Result]

    def result(self) -> Result:
        """Wait for the run and return how it ended."""
        return self.get()


def _argv(script: str, out: Path) -> list[str]:
    return [str(EXAMPLES / script), "--smoke", "--out", str(out)]


def _start(argv: list[str], env: dict[str, str]) -> Background:
    command = [sys.executable, "-W", "error", *argv]
    return Background(
        subprocess.Popen(
            command,
            cwd=EXAMPLES.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # one process group: a timeout kills forked children too
        )
    )


def _plain(background: Background, command: str) -> Callable[[], Result]:
    def get() -> Result:
        out, err = background.wait()
        return Result(background.process.returncode, out, err, command)

    return get


def _forked(driver: Background, log: Path, command: str) -> Callable[[], Result]:
    def get() -> Result:
        out, err = driver.wait()
        try:
            code = json.loads(out.strip().splitlines()[-1])[str(log)]
        except (IndexError, KeyError, ValueError):
            return Result(-1, out, f"the fork driver failed:\n{err}", command)
        return Result(
            code,
            Path(f"{log}.out").read_text() if Path(f"{log}.out").exists() else "",
            Path(f"{log}.err").read_text() if Path(f"{log}.err").exists() else "",
            command,
        )

    return get


def _start_runs(names: set[str], tmp: Path, env: dict[str, str]) -> dict[str, Run]:
    """Start the smoke runs of ``names`` in the background."""
    runs: dict[str, Run] = {}
    if "builders_only" in names:
        out = tmp / "builders_only"
        probe = _start(["-c", _MODULE_PROBE, *_argv("builders_only.py", out)], env)
        runs["builders_only"] = Run(out, _plain(probe, "builders_only.py (module probe)"))
    scripts = sorted(names - {"builders_only"})
    if not scripts:
        return runs
    if hasattr(os, "fork"):
        jobs = [
            [str(tmp / f"{n}.log"), *_argv(EXAMPLES_SMOKE[n].script, tmp / n)] for n in scripts
        ]
        driver = _start(["-c", _FORK_DRIVER, json.dumps(jobs)], env)
        for name in scripts:
            log = tmp / f"{name}.log"
            runs[name] = Run(tmp / name, _forked(driver, log, EXAMPLES_SMOKE[name].script))
    else:  # no fork (Windows): one interpreter per script
        for name in scripts:
            process = _start(_argv(EXAMPLES_SMOKE[name].script, tmp / name), env)
            runs[name] = Run(tmp / name, _plain(process, EXAMPLES_SMOKE[name].script))
    return runs


def needs(*names: str) -> Callable[[_F], _F]:
    """Declare which smoke runs a (non-parametrized) test checks."""

    def mark(fn: _F) -> _F:
        fn.runs = names  # type: ignore[attr-defined]
        return fn

    return mark


def _selected_runs(session: pytest.Session) -> set[str]:
    """Names of the smoke runs that the selected tests of this module check."""
    names: set[str] = set()
    for item in session.items:
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        names.update(getattr(getattr(item, "function", None), "runs", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.add(callspec.params["name"])
    return names


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mnist_root: Path
) -> Iterator[dict[str, Run]]:
    """Start the selected smoke runs side by side, each on one CPU thread."""
    env = {
        **os.environ,
        "MNISTGAN_DATA_ROOT": str(mnist_root),
        "OMP_NUM_THREADS": "1",  # runs side by side on few cores: more threads only contend
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    started = _start_runs(
        _selected_runs(request.session), tmp_path_factory.mktemp("examples"), env
    )
    yield started
    for run in started.values():
        run.result()  # reap every process, also those no test waited for


def _check_ok(result: Result) -> None:
    assert result.returncode == 0, (
        f"{result.command} exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )


def _load(script: str) -> ModuleType:
    """Import an example script as a module (its ``main`` does not run)."""
    spec = importlib.util.spec_from_file_location(
        f"example_{Path(script).stem}", EXAMPLES / script
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------- smoke runs


@pytest.mark.parametrize("name", sorted(EXAMPLES_SMOKE))
def test_smoke_run_writes_promised_files(name: str, runs: dict[str, Run]) -> None:
    """A ``--smoke`` run exits 0 and leaves every promised file, pictures at their sizes."""
    run = runs[name]
    result = run.result()
    _check_ok(result)
    for relative, size in EXAMPLES_SMOKE[name].files.items():
        path = run.out / relative
        assert path.is_file() and path.stat().st_size > 0, f"{relative} missing or empty"
        if path.suffix in (".png", ".gif"):
            with Image.open(path) as image:
                image.verify()
            with Image.open(path) as image:
                if size is not None:
                    assert image.size == size, f"{relative} is {image.size}, expected {size}"
                if path.suffix == ".gif":
                    assert image.n_frames >= 1


@needs("infogan")
def test_infogan_figure_stacks_the_epoch_grids(runs: dict[str, Run]) -> None:
    """The InfoGAN figure holds one labelled grid per saved epoch, top to bottom."""
    run = runs["infogan"]
    _check_ok(run.result())
    with Image.open(run.out / "samples_by_epoch.png") as figure:
        width, height = figure.size
    assert height == 2 * 242 + 4  # grids of epochs 1 and 2, a 4 px gap
    assert width > 242  # the left margin holds the labels
    assert "epochs 1, 2" in run.result().stdout


@needs("dcgan64")
def test_dcgan64_prints_the_reference_log_line(runs: dict[str, Run]) -> None:
    """The 64 px DCGAN prints the write-up's per-epoch line and films more than one frame."""
    run = runs["dcgan64"]
    result = run.result()
    _check_ok(result)
    log = result.stdout + result.stderr
    for part in ("[epoch 1/1]", "Loss-D:", "Loss-G:", "D(x):", "D(G(z)):", "time:"):
        assert part in log
    with Image.open(run.out / "progress.gif") as gif:
        assert gif.n_frames == 2  # before training and after the epoch


@needs("mlp")
def test_mlp_resumes_from_a_checkpoint_path(
    runs: dict[str, Run], mnist_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The MLP example prints its device, and ``--resume PATH`` continues to the next epoch."""
    run = runs["mlp"]
    result = run.result()
    _check_ok(result)
    assert "device: cpu" in result.stdout or "device: cuda" in result.stdout
    checkpoint = run.out / "checkpoints" / "epoch_0001.pt"
    argv = ["--smoke", "--epochs", "2", "--resume", str(checkpoint), "--out", str(run.out)]
    assert _load("mlp_gan.py").main([*argv, "--data-root", str(mnist_root)]) == 0
    printed = capsys.readouterr().out
    assert f"resuming from {checkpoint}" in printed
    assert "trained to epoch 2" in printed
    assert (run.out / "checkpoints" / "epoch_0002.pt").is_file()
    assert (run.out / "samples" / "epoch_0002.png").is_file()


@needs("vanilla")
def test_vanilla_traversal_has_a_row_per_dimension(runs: dict[str, Run]) -> None:
    """The latent sweep is a labelled grid of 5 dimensions by 3 values, enlarged 2x."""
    run = runs["vanilla"]
    _check_ok(run.result())
    with Image.open(run.out / "traversal.png") as image:
        width, height = image.size
    assert width > 2 * (3 * 30 + 2) and height > 2 * (5 * 30 + 2)  # grid plus label margins
    noise = torch.load(run.out / "noise.pt", weights_only=True)
    assert noise.shape == (16, 100)


def test_fashion_mnist_fails_with_a_one_line_download_hint(
    mnist_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the Fashion-MNIST files the option exits non-zero with one line about download."""
    raw = mnist_root / "FashionMNIST" / "raw"
    if raw.is_dir() and any(raw.iterdir()):
        pytest.skip(f"Fashion-MNIST is present in {raw}: the missing-data path cannot be shown")
    argv = ["--smoke", "--dataset", "fashion-mnist", "--out", str(tmp_path)]
    assert _load("vanilla_gan.py").main([*argv, "--data-root", str(mnist_root)]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "download" in lines[0] and "fashion-mnist" in lines[0]
    assert not any(tmp_path.iterdir())  # it stopped before writing anything


@needs("builders_only")
def test_builders_only_imports_no_training_code(runs: dict[str, Run]) -> None:
    """builders_only.py imports only mnistgan.builders/losses; mnistgan.gan never loads."""
    tree = ast.parse((EXAMPLES / "builders_only.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert {m for m in imported if m.split(".")[0] == "mnistgan"} == {
        "mnistgan.builders",
        "mnistgan.losses",
    }
    result = runs["builders_only"].result()
    _check_ok(result)
    line = next(x for x in result.stdout.splitlines() if x.startswith("MODULES "))
    modules = json.loads(line.removeprefix("MODULES "))
    assert "mnistgan.gan" not in modules["alone"]
    loaded = set(modules["after"])
    assert not loaded & {"mnistgan.gan", "mnistgan.training", "mnistgan.data", "mnistgan.viz"}


# ---------------------------------------------------------------------- in process


@pytest.mark.parametrize(
    ("script", "out"),
    [
        ("infogan_mnist.py", "runs/infogan"),
        ("dcgan64.py", "runs/dcgan64"),
        ("mlp_gan.py", "runs/mlp"),
        ("dcgan28.py", "runs/dcgan28"),
        ("vanilla_gan.py", "runs/vanilla"),
        ("builders_only.py", "runs/builders_only"),
    ],
)
def test_scripts_share_the_common_options(script: str, out: str) -> None:
    """Every script takes --epochs/--out/--device/--seed/--data-root/--smoke, out in runs/."""
    module = _load(script)
    assert module.__doc__ and f"python examples/{script}" in module.__doc__
    args = module.parse_args([])
    assert args.out == Path(out)
    assert args.device == "auto" and args.seed == 0 and args.smoke is False
    args = module.parse_args(
        ["--epochs", "3", "--out", "x", "--device", "cpu", "--seed", "7", "--data-root", "d"]
    )
    assert (args.epochs, args.out, args.device, args.seed) == (3, Path("x"), "cpu", 7)
    assert args.data_root == Path("d")
    assert module.parse_args(["--smoke"]).smoke is True


def test_mlp_generate_and_plot_samples_draws_a_square(tmp_path: Path) -> None:
    """``generate_and_plot_samples(gan, n, path)`` saves a square figure of n digits."""
    from mnistgan import GAN

    module = _load("mlp_gan.py")
    gan = GAN.from_preset("mlp")
    figure = module.generate_and_plot_samples(gan, n=9, path=tmp_path / "s.png")
    assert len(figure.axes) == 9
    with Image.open(tmp_path / "s.png") as image:
        assert image.size == (300, 300)


def test_vanilla_reads_noise_files_and_refuses_wrong_shapes(tmp_path: Path) -> None:
    """--noise-file accepts (N, 100) or (100,) tensors and refuses other shapes clearly."""
    from mnistgan import ConfigError

    module = _load("vanilla_gan.py")
    torch.save(torch.randn(3, 100), tmp_path / "z.pt")
    torch.save(torch.randn(100), tmp_path / "one.pt")
    torch.save(torch.randn(3, 7), tmp_path / "bad.pt")
    args = module.parse_args(["--noise-file", str(tmp_path / "z.pt")])
    assert module.chosen_noise(args, 100).shape == (3, 100)
    args = module.parse_args(["--noise-file", str(tmp_path / "one.pt")])
    assert module.chosen_noise(args, 100).shape == (1, 100)
    args = module.parse_args(["--noise-file", str(tmp_path / "bad.pt")])
    with pytest.raises(ConfigError, match=r"shape \(N, 100\), got \(3, 7\)"):
        module.chosen_noise(args, 100)
    seeds = module.parse_args(["--noise-seeds", "1", "2"])
    assert module.chosen_noise(seeds, 100).shape == (2, 100)
