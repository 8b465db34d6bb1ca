"""export.fingerprint: what an export is made of. A changed forward, a fixed spec or other trace shapes must reach
the export cache's key; the same model built twice must not."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch

from pytest_triton.export.fingerprint import Fingerprint, code_digest, signature_text
from pytest_triton.models.spec import ModelSpec, TensorSpec

SOURCE = """
import torch


class Scorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 3)

    def forward(self, x):
        return {body}
"""


def _load(path: Path, module_name: str) -> torch.nn.Module:
    """The module's Scorer, imported from `path` under `module_name` without registering it in sys.modules (as
    pytest imports a conftest.py that another one shadows)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    torch.manual_seed(0)
    return loaded.Scorer().eval()


def test_the_same_code_built_twice_has_one_digest(tmp_path):
    path = tmp_path / "model_a.py"
    path.write_text(SOURCE.format(body="self.layer(x)"))
    assert code_digest(_load(path, "model_a")) == code_digest(_load(path, "model_a"))


def test_a_changed_forward_changes_the_digest(tmp_path):
    path = tmp_path / "model_b.py"
    path.write_text(SOURCE.format(body="self.layer(x)"))
    before = code_digest(_load(path, "model_b"))
    path.write_text(SOURCE.format(body="(self.layer(x) + self.layer(x.flip(0)).flip(0)) / 2"))
    assert code_digest(_load(path, "model_b")) != before


def test_the_file_is_found_from_the_code_not_from_a_module_of_the_same_name(tmp_path, monkeypatch):
    """Every conftest.py is a module named "conftest": with an editable install, pytest --triton-suites loads the
    checkout's too, and sys.modules["conftest"] is then another file than the one the model's class lives in."""
    path = tmp_path / "conftest.py"
    other = tmp_path / "other.py"
    other.write_text("# another conftest.py\n")
    monkeypatch.setitem(sys.modules, "conftest", types.SimpleNamespace(__file__=str(other)))
    path.write_text(SOURCE.format(body="self.layer(x)"))
    before = code_digest(_load(path, "conftest"))
    path.write_text(SOURCE.format(body="self.layer(x) * 2"))
    assert code_digest(_load(path, "conftest")) != before


def test_a_class_without_a_file_is_hashed_by_its_bytecode():
    def scorer(body: str) -> torch.nn.Module:
        namespace: dict[str, object] = {"torch": torch}
        exec(SOURCE.format(body=body), namespace)  # as a notebook defines it: no file to read
        return namespace["Scorer"]()  # type: ignore[operator]

    assert code_digest(scorer("self.layer(x)")) == code_digest(scorer("self.layer(x)"))
    assert code_digest(scorer("self.layer(x)")) != code_digest(scorer("self.layer(x) * 2"))


def test_torch_modules_are_covered_by_the_torch_version_not_hashed():
    torch.manual_seed(0)
    first = torch.nn.Sequential(torch.nn.Linear(4, 3))
    second = torch.nn.Sequential(torch.nn.Linear(4, 3))
    assert code_digest(first) == code_digest(second)  # same code, other weights
    assert Fingerprint.of(first).digest != Fingerprint.of(second).digest  # the weights tell them apart


def test_a_scripted_module_is_hashed_by_its_torchscript_code():
    class Double(torch.nn.Module):
        def forward(self, x):
            return x * 2

    class Triple(torch.nn.Module):
        def forward(self, x):
            return x * 3

    assert code_digest(torch.jit.script(Double())) != code_digest(torch.jit.script(Triple()))


def _spec(dims: tuple[int, ...] = (4,), max_batch_size: int = 8) -> ModelSpec:
    return ModelSpec(
        name="scorer",
        family="custom",
        build=None,
        inputs=(TensorSpec("x", "float32", dims),),
        outputs=(TensorSpec("y", "float32", (3,)),),
        make_samples=list,
        max_batch_size=max_batch_size,
    )


def test_the_signature_holds_the_declaration_and_the_trace_shapes():
    example = {"x": np.zeros((2, 4), np.float32)}
    base = signature_text(_spec(), example)
    assert signature_text(_spec(), example) == base
    assert signature_text(_spec(dims=(-1,)), example) != base
    assert signature_text(_spec(max_batch_size=4), example) != base
    assert signature_text(_spec(), {"x": np.zeros((3, 4), np.float32)}) != base
    assert signature_text(_spec(), {"x": np.zeros((2, 4), np.float64)}) != base


def test_settings_of_torch_modules_count():
    """A model made only of torch's modules: its code is torch's, but a swapped activation or another stride is
    another model, with the same weights."""
    torch.manual_seed(0)
    relu = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    gelu = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.GELU())
    assert code_digest(relu) != code_digest(gelu)
    assert code_digest(torch.nn.Conv2d(3, 3, 3, stride=1)) != code_digest(torch.nn.Conv2d(3, 3, 3, stride=2))


def test_a_scripted_container_and_its_helpers_are_hashed(tmp_path):
    """A scripted ModuleList has no forward to show (its only method is __len__), and a helper the forward calls is
    code of the model too. Compared as torch.jit.load gives them back: with no Python class behind them."""

    def scripted(factor: int) -> torch.nn.Module:
        path = tmp_path / f"stack_{factor}.py"
        path.write_text(SCRIPTED.format(factor=factor))
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        torch.jit.script(loaded.Stack()).save(str(tmp_path / f"{path.stem}.pt"))
        return torch.jit.load(str(tmp_path / f"{path.stem}.pt"))

    assert code_digest(scripted(2)) == code_digest(scripted(2))
    assert code_digest(scripted(2)) != code_digest(scripted(3))


SCRIPTED = """
import torch


class Stack(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.Linear(2, 2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.helper(x)

    @torch.jit.export
    def helper(self, x):
        return x * {factor}
"""


def test_an_fx_traced_module_is_hashed_by_its_generated_code():
    torch.manual_seed(0)
    base = torch.nn.Linear(2, 2)
    doubled = torch.fx.symbolic_trace(torch.nn.Sequential(base))
    doubled.graph.call_function(torch.mul, (next(iter(doubled.graph.nodes)), 2))
    doubled.recompile()
    assert code_digest(torch.fx.symbolic_trace(torch.nn.Sequential(base))) != code_digest(doubled)


def test_a_notebooks_class_has_one_digest_in_every_process():
    """Without a file, a class is hashed by its bytecode, which must not carry where it was compiled nor the order of
    a set that string hashing decides: each kernel restart would export again and grow the cache."""
    program = (
        "import torch\nfrom pytest_triton.export.fingerprint import code_digest\n"
        f"namespace = {{'torch': torch}}\nexec(compile({NOTEBOOK_CELL!r}, '/tmp/ipykernel_{{}}/cell.py'.format("
        "__import__('os').getpid()), 'exec'), namespace)\nprint(code_digest(namespace['Gate']()))\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", program], env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(digests) == 1 and len(next(iter(digests))) == 64


NOTEBOOK_CELL = """
class Gate(torch.nn.Module):
    def forward(self, x):
        return x if x.dtype in {"float32", "float16", "bfloat16"} else x.float()
"""
