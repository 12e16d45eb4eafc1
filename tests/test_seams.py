"""Tests of the library's seams: the import graph, the registries, the step's public
seams, the checkpoint phase, drop-in builders and logs written to a file."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from mnistgan import GAN, Callback, ConfigError, DataError, ModelCheckpoint
from mnistgan.builders import (
    conv_discriminator,
    conv_generator,
    fc_conv_generator,
    get_builder,
    list_builders,
    mlp_generator,
    register_builder,
)
from mnistgan.checkpoint import load_checkpoint
from mnistgan.data import load_tensors
from mnistgan.losses import GANLoss, Penalty, PenaltyInputs, get_loss, register_loss

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "mnistgan"


# --------------------------------------------------------------------------- import graph


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, in functions too, except those under ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _import_graph() -> dict[str, set[str]]:
    """Module -> the mnistgan modules it imports at run time, built from the source."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # "from . import _fit" imports a submodule; "from .x import y" imports x.
                subs = [f"{module}.{alias.name}" for alias in node.names]
                targets = [s for s in subs if s in files] or [module]
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_import_graph_has_no_cycle() -> None:
    """mnistgan's run-time import graph (function-level imports included) is acyclic."""
    graph = _import_graph()
    assert "mnistgan.gan.model" in graph and "mnistgan.training.loop" in graph
    assert "mnistgan.sampling" in graph["mnistgan.export"]  # the graph sees real edges
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph) or [])


def test_cycle_finder_finds_a_cycle() -> None:
    """The cycle check above can fail: it reports a cycle planted in a graph."""
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_loop_callbacks_and_ddp_do_not_reach_into_the_model() -> None:
    """training/ neither imports mnistgan.gan at run time nor touches a model's _private."""
    graph = _import_graph()
    modules = ["loop", "distributed", "callbacks", "protocol"]
    for module in [f"mnistgan.training.{m}" for m in modules] + [
        "mnistgan.export",
        "mnistgan.sampling",
    ]:
        assert not {m for m in graph[module] if m.startswith("mnistgan.gan")}, module
    for path in (PACKAGE / "training").glob("*.py"):
        text = path.read_text()
        assert "model._" not in text, path.name


# --------------------------------------------------------------------------- one of each


def _sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text() for p in PACKAGE.rglob("*.py")}


def test_one_positive_int_validator() -> None:
    """Only mnistgan/_checks.py says "must be a positive int": every module uses its check."""
    sayers = [name for name, text in _sources().items() if "must be a positive int" in text]
    assert sayers == ["_checks.py"]


def test_one_atomic_writer() -> None:
    """Only mnistgan/_io.py writes a temporary file and renames it into place."""
    writers = [
        name
        for name, text in _sources().items()
        if any(call in text for call in ("os.replace(", "os.rename(", "mkstemp(", ".rename("))
    ]
    assert writers == ["_io.py"]


# --------------------------------------------------------------------------- registries

_PLUGIN = '''
"""A user's loss with its own penalty, and a user's builder, registered by name."""
import torch
from torch import nn
from mnistgan.builders import register_builder
from mnistgan.losses import GANLoss, Penalty, bce_d_loss, bce_g_loss, register_loss

CALLS = []


def logit_l2(inputs):
    CALLS.append(inputs.real.shape[0])
    return inputs.real_logits.float().pow(2).mean()


LOSS = register_loss(GANLoss(
    "bce-l2", bce_d_loss, bce_g_loss, probabilities=True,
    penalties=(Penalty("logit_l2", logit_l2, weight=0.01),),
))


@register_builder("two_layer_generator")
def two_layer_generator(*, latent_dim, image_shape, out_act="tanh", num_classes=None,
                        hidden=32):
    c, h, w = image_shape
    return nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                         nn.Linear(hidden, c * h * w), nn.Tanh(), nn.Unflatten(1, (c, h, w)))
'''

_TRAIN = """
import sys, torch
sys.path.insert(0, sys.argv[1])
import plugin
from mnistgan import GAN, GANConfig, NetworkSpec, ConfigError
from mnistgan.builders import register_builder
from mnistgan.losses import register_loss

config = GANConfig(
    generator=NetworkSpec("two_layer_generator", {"hidden": 24}),
    discriminator=NetworkSpec("mlp_discriminator", {"hidden": (16,)}),
    latent_dim=8, loss="bce-l2",
)
torch.manual_seed(0)
gan = GAN(config)
gan.fit([torch.rand(8, 1, 28, 28) for _ in range(3)], epochs=2, progress=False)
assert len(plugin.CALLS) == 6, plugin.CALLS  # the penalty ran once per D update
gan.save(sys.argv[2])
torch.save(gan.sample(4, seed=5), sys.argv[3])
for again in (lambda: register_loss(plugin.LOSS),
              lambda: register_builder("two_layer_generator")(plugin.two_layer_generator)):
    try:
        again()
    except ConfigError as err:
        print("REFUSED", err)
"""

_LOAD = """
import sys, torch
sys.path.insert(0, sys.argv[1])
import plugin  # registers the loss and the builder again, as a user's module would
from mnistgan import GAN
gan = GAN.load(sys.argv[2])
assert gan.config.loss == "bce-l2" and gan.config.generator.builder == "two_layer_generator"
assert [p.name for p, _ in gan.penalties] == ["logit_l2"]
assert torch.equal(gan.sample(4, seed=5), torch.load(sys.argv[3], weights_only=True))
print("LOADED", gan.global_step)
"""


def _python(code: str, *args: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def test_custom_loss_penalty_and_builder_train_save_and_load_by_name(tmp_path: Path) -> None:
    """A registered loss (with a penalty) and builder train, save, and load in a fresh process."""
    (tmp_path / "plugin.py").write_text(_PLUGIN)
    ckpt, samples = tmp_path / "g.pt", tmp_path / "samples.pt"
    trained = _python(_TRAIN, tmp_path, ckpt, samples)
    assert trained.returncode == 0, trained.stderr[-3000:]
    refusals = [line for line in trained.stdout.splitlines() if line.startswith("REFUSED")]
    assert len(refusals) == 2
    assert "'bce-l2'" in refusals[0] and "'two_layer_generator'" in refusals[1]
    assert load_checkpoint(ckpt)["config"]["loss"] == "bce-l2"  # a name, plain data
    loaded = _python(_LOAD, tmp_path, ckpt, samples)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "LOADED 6" in loaded.stdout


def test_loading_without_the_registration_names_the_missing_builder(tmp_path: Path) -> None:
    """In a process that did not register the builder, loading says which name is unknown."""
    (tmp_path / "plugin.py").write_text(_PLUGIN)
    ckpt, samples = tmp_path / "g.pt", tmp_path / "samples.pt"
    assert _python(_TRAIN, tmp_path, ckpt, samples).returncode == 0
    done = _python("import sys; from mnistgan import GAN; GAN.load(sys.argv[1])", ckpt)
    assert done.returncode != 0
    assert "two_layer_generator" in done.stderr and "register_builder" in done.stderr


def test_registries_refuse_duplicates_and_list_known_names() -> None:
    """Built-in names cannot be registered again; unknown names list the known ones."""
    with pytest.raises(ConfigError, match="'hinge' is already registered"):
        register_loss(GANLoss("hinge", get_loss("bce").d_loss, get_loss("bce").g_loss))
    with pytest.raises(ConfigError, match="'mlp_generator' is already registered"):
        register_builder("mlp_generator")(mlp_generator)
    with pytest.raises(ConfigError, match="conv_generator"):
        get_builder("no_such_builder")
    with pytest.raises(ConfigError, match="wgan-gp"):
        get_loss("no-such-loss")
    assert "conv_pool_discriminator" in list_builders()


def test_an_unregistered_loss_object_in_a_config_is_refused() -> None:
    """A GANLoss object in a config must be registered, so the checkpoint stays plain data."""
    loose = GANLoss("loose", get_loss("bce").d_loss, get_loss("bce").g_loss, True)
    with pytest.raises(ConfigError, match="register_loss"):
        GAN.from_preset("vanilla", loss=loose)


def test_penalties_are_data_the_step_sums() -> None:
    """wgan-gp carries its gradient penalty as an entry; r1_gamma adds R1 with weight γ/2."""
    assert [p.name for p in get_loss("wgan-gp").penalties] == ["gradient_penalty"]
    gan = GAN.from_preset("vanilla", loss="wgan-gp", gp_weight=7.0, r1_gamma=4.0)
    assert [(p.name, w) for p, w in gan.penalties] == [("gradient_penalty", 7.0), ("r1", 2.0)]
    assert GAN.from_preset("vanilla").penalties == ()
    with pytest.raises(ConfigError, match="weight"):
        Penalty("bad", lambda inputs: inputs.real.sum(), weight=-1.0)


def test_a_penalty_changes_the_discriminator_update_by_its_gradient() -> None:
    """A penalty's weight times its gradient is exactly what it adds to D's update (SGD)."""

    def penalty_fn(inputs: PenaltyInputs) -> Tensor:
        return inputs.real_logits.pow(2).mean()

    loss = GANLoss("x", get_loss("bce").d_loss, get_loss("bce").g_loss, True)
    with_penalty = GANLoss(
        "x-pen", loss.d_loss, loss.g_loss, True, penalties=(Penalty("l2", penalty_fn, 0.5),)
    )
    batch = torch.rand(8, 1, 28, 28)
    grads = []
    for chosen in (loss, with_penalty):
        torch.manual_seed(0)
        gan = GAN.from_preset("vanilla", generator={"hidden": (8,)},
                              discriminator={"hidden": (8,)})  # fmt: skip
        gan.loss = chosen
        from mnistgan.gan.model import _weighted_penalties

        gan.penalties = _weighted_penalties(gan)
        before = [p.detach().clone() for p in gan.discriminator.parameters()]
        gan.opt_d = torch.optim.SGD(gan.discriminator.parameters(), lr=1.0)
        gan.train_step(batch)
        grads.append(
            [b - p.detach() for b, p in zip(before, gan.discriminator.parameters(), strict=True)]
        )
    torch.manual_seed(0)
    gan = GAN.from_preset("vanilla", generator={"hidden": (8,)}, discriminator={"hidden": (8,)})
    real = gan.prepare_batch(batch)[0]
    gan.sample_latent(8)  # the fake batch's draw, as in the step
    logits = gan.discriminator(real).float()
    expected = torch.autograd.grad(
        0.5 * logits.pow(2).mean(), list(gan.discriminator.parameters())
    )
    for plain, penalised, extra in zip(grads[0], grads[1], expected, strict=True):
        torch.testing.assert_close(penalised - plain, extra, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- step seams


class _Recorder(nn.Module):
    """Wraps a network and counts its calls (stands in for a compiled/DDP module)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, *args: Tensor) -> Any:
        self.calls += 1
        return self.net(*args)


def test_seams_run_the_modules_fit_sets_and_the_bare_d_when_frozen() -> None:
    """forward_g/forward_d run the training modules; inside frozen_discriminator, the frozen D."""
    gan = GAN.from_preset("vanilla")
    g, d, frozen = (
        _Recorder(gan.generator),
        _Recorder(gan.discriminator),
        _Recorder(gan.discriminator),
    )
    gan.set_training_networks(g, d, frozen)
    fake = gan.forward_g(gan.sample_latent(4))
    gan.forward_d(fake)
    with gan.frozen_discriminator():
        assert not any(p.requires_grad for p in gan.discriminator.parameters())
        gan.forward_d(fake)
    assert (g.calls, d.calls, frozen.calls) == (1, 1, 1)
    assert all(p.requires_grad for p in gan.discriminator.parameters())
    gan.set_training_networks()
    assert gan.forward_d(fake)[0].shape == (4,)


def test_an_override_through_the_seams_keeps_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """With compile=True, an override calling forward_g/forward_d runs the compiled modules."""
    compiled: list[_Recorder] = []

    def fake_compile(module: nn.Module, **kwargs: Any) -> nn.Module:
        compiled.append(_Recorder(module))
        return compiled[-1]

    monkeypatch.setattr(torch, "compile", fake_compile)

    class Override(GAN):
        def train_step(self, batch: Any) -> dict[str, Tensor]:
            real, _ = self.prepare_batch(batch)
            fake = self.forward_g(self.sample_latent(real.size(0)))
            logits, _ = self.forward_d(fake)
            self.optimizer_step(logits.mean(), "discriminator")
            return {"loss_d": logits.mean().detach(), "loss_g": logits.mean().detach()}

    gan = Override.from_preset("vanilla", compile=True)
    gan.fit([torch.rand(4, 1, 28, 28)] * 3, epochs=1, progress=False)
    assert [r.calls for r in compiled] == [3, 3]


def test_an_override_through_the_seams_keeps_mixed_precision() -> None:
    """forward_g under precision="bf16" computes in bfloat16, as the default step does."""
    gan = GAN.from_preset("vanilla", precision="bf16")
    assert gan.forward_g(gan.sample_latent(2)).dtype == torch.bfloat16
    assert GAN.from_preset("vanilla").forward_g(torch.zeros(2, 100)).dtype == torch.float32


def test_optimizer_step_names_the_network() -> None:
    """optimizer_step refuses anything but "generator" or "discriminator"."""
    gan = GAN.from_preset("vanilla")
    with pytest.raises(ConfigError, match='"generator" or "discriminator"'):
        gan.optimizer_step(torch.zeros((), requires_grad=True), "g")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- checkpoint phase


class _LateValue(Callback):
    """Logs an epoch value and keeps state in on_epoch_end, placed after ModelCheckpoint."""

    def __init__(self) -> None:
        self.seen = 0

    def on_epoch_end(self, model: GAN, epoch: int, logs: dict[str, float]) -> None:
        self.seen += 1
        model.history.log_epoch_value("late_value", 10.0 * (epoch + 1))

    def state_dict(self) -> dict[str, Any]:
        return {"seen": self.seen}


def test_a_callback_after_model_checkpoint_gets_its_epoch_values_saved(tmp_path: Path) -> None:
    """Each epoch's checkpoint holds the values and state of callbacks listed after it."""
    gan = GAN.from_preset("vanilla")
    late = _LateValue()
    gan.fit([torch.rand(8, 1, 28, 28)] * 2, epochs=2,
            callbacks=[ModelCheckpoint(tmp_path), late], progress=False)  # fmt: skip
    for epoch in (1, 2):
        state = load_checkpoint(tmp_path / f"epoch_{epoch:04d}.pt")
        assert [row["late_value"] for row in state["history"]["epochs"]] == [
            10.0 * e for e in range(1, epoch + 1)
        ]
        assert state["callbacks"]["_LateValue"] == {"seen": epoch}


# --------------------------------------------------------------------------- builders drop in


@pytest.mark.parametrize("builder", [mlp_generator, conv_generator, fc_conv_generator])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_generators_take_dcgan_style_noise(builder: Any, num_classes: int | None) -> None:
    """(N, nz) and (N, nz, 1, 1) give the same images; other shapes name both shapes."""
    torch.manual_seed(0)
    g = builder(latent_dim=12, image_shape=(1, 28, 28), num_classes=num_classes).eval()
    z = torch.randn(3, 12)
    args = () if num_classes is None else (torch.tensor([1, 2, 3]),)
    assert torch.equal(g(z, *args), g(z[:, :, None, None], *args))
    for bad in (torch.randn(3, 12, 2), torch.randn(3, 12, 1, 2), torch.randn(3, 11)):
        with pytest.raises(DataError) as info:
            g(bad, *args)
        assert "(N, 12) or (N, 12, 1, 1)" in str(info.value)
        assert str(tuple(bad.shape)) in str(info.value)


def test_textbook_dcgan_loop_runs_with_the_builders(mnist_root: Path) -> None:
    """pytorch/examples' DCGAN loop ((N, nz, 1, 1) noise, BCELoss on a sigmoid) trains them."""
    images, _ = load_tensors("mnist", root=mnist_root, train=True, limit=128)
    data = images.float().div(255).mul(2).sub(1)  # (128, 1, 28, 28) in [-1, 1]
    torch.manual_seed(0)
    nz = 100
    net_g = conv_generator(latent_dim=nz, image_shape=(1, 28, 28))
    net_d = conv_discriminator(image_shape=(1, 28, 28))
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    start = [p.detach().clone() for p in [*net_g.parameters(), *net_d.parameters()]]
    for i in range(4):
        real = data[i * 32 : (i + 1) * 32]
        b = real.size(0)
        # (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
        net_d.zero_grad()
        label = torch.full((b,), 1.0)
        err_d_real = criterion(torch.sigmoid(net_d(real)).view(-1), label)
        err_d_real.backward()
        noise = torch.randn(b, nz, 1, 1)
        fake = net_g(noise)
        label.fill_(0.0)
        err_d_fake = criterion(torch.sigmoid(net_d(fake.detach())).view(-1), label)
        err_d_fake.backward()
        opt_d.step()
        # (2) Update G: maximize log(D(G(z)))
        net_g.zero_grad()
        label.fill_(1.0)
        err_g = criterion(torch.sigmoid(net_d(fake)).view(-1), label)
        err_g.backward()
        opt_g.step()
        assert fake.shape == (b, 1, 28, 28)
        assert all(torch.isfinite(x) for x in (err_d_real, err_d_fake, err_g))
    end = [*net_g.parameters(), *net_d.parameters()]
    moved = [not torch.equal(a, b.detach()) for a, b in zip(start, end, strict=True)]
    assert all(moved), "every parameter of G and D trained"


# --------------------------------------------------------------------------- logs in a file


@pytest.mark.slow
def test_train_logs_one_line_per_epoch_into_a_file(tmp_path: Path, mnist_root: Path) -> None:
    """`mnistgan train --epochs 2 > out.txt 2>&1` leaves a short file: epoch lines, no frames."""
    log = tmp_path / "out.txt"
    command = [sys.executable, "-m", "mnistgan", "train", "--preset", "vanilla",
               "--epochs", "2", "--limit", "1024", "--out", str(tmp_path / "run")]  # fmt: skip
    with log.open("w") as handle:
        done = subprocess.run(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MNISTGAN_DATA_ROOT": str(mnist_root)},
            timeout=300,
        )
    text = log.read_text()
    assert done.returncode == 0, text[-3000:]
    lines = text.splitlines()
    assert len(lines) <= 12, text
    assert "\r" not in text
    epoch_lines = [line for line in lines if line.startswith("[epoch ")]
    assert len(epoch_lines) == 2 and all(
        "Loss-D" in line and "D(x)" in line for line in epoch_lines
    )


def test_a_conditional_generator_names_the_latent_shape_it_got() -> None:
    """A conditional generator's latent-shape error names the expected and the received shape."""
    g = conv_generator(latent_dim=4, image_shape=(1, 28, 28), num_classes=10)
    with pytest.raises(DataError, match=r"\(N, 4\) or \(N, 4, 1, 1\), got \(2, 4, 3\)"):
        g(torch.randn(2, 4, 3), torch.tensor([0, 1]))
