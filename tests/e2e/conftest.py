"""End-to-end runs of the suites: a fresh pytest process with a real tritonserver, as a user runs them."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

# pytester takes the modules a test imported out of sys.modules when it ends, and torch imported a second time in
# one process crashes it (a worker lost, its tests failed). Imported here, before any test, torch stays.
import torch  # noqa: F401

from pytest_triton.models.zoo import zoo_spec
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings

SUITES = Path(__file__).resolve().parents[2] / "suites"


def interruptible() -> None:
    """preexec_fn for a run a test stops with SIGINT, as Ctrl-C does: a shell that starts a job in the background
    without job control (`.ci/run &` in a script) makes it ignore SIGINT, and its children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache for all end-to-end runs of this test session, so each variant exports once."""
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="session")
def small_export(export_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest variant's directory in the shared export cache, exported by the library as a run exports it."""
    session = TritonSession(Settings(), work_dir=tmp_path_factory.mktemp("export"), cache_dir=export_cache)
    return session.artifact(zoo_spec("resnext-small"), "onnx", "fp32").path.parent


@pytest.fixture
def small() -> tuple[str, ...]:
    """The smallest real variant: keeps each end-to-end run to a few seconds once exported."""
    return ("--triton-models=resnext-small", "--triton-formats=onnx", "--triton-precisions=fp32")


@pytest.fixture
def suite_files() -> tuple[str, ...]:
    """The suites a test module runs; a module overrides this fixture to run others."""
    return ("test_conformance.py", "test_parity.py")


@pytest.fixture
def suites(pytester: pytest.Pytester, export_cache: Path, suite_files: tuple[str, ...]):
    """Copy the suites into the pytester dir and return a runner of `pytest` there in a subprocess."""
    (pytester.path / "suites").mkdir()
    for name in suite_files:
        shutil.copy(SUITES / name, pytester.path / "suites" / name)
    pytester.makeini("[pytest]\ntestpaths = suites\njunit_family = xunit1\n")

    def run(*args: str, timeout: float = 600) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            f"--triton-cache-dir={export_cache}", "-p", "no:cacheprovider", *args, timeout=timeout
        )

    return run


@pytest.fixture
def heavy_imports(pytester: pytest.Pytester):
    """Installs the run's conftest.py and returns a function that says, after the run, which of torch,
    onnxruntime and transformers the pytest process imported."""
    pytester.makeconftest(HEAVY_IMPORTS_CONFTEST)
    return lambda: json.loads((pytester.path / "imported.json").read_text())


HEAVY_IMPORTS_CONFTEST = """
import json
import sys


def pytest_sessionfinish(session):
    with open("imported.json", "w") as out:
        json.dump(sorted(m for m in ("torch", "onnxruntime", "transformers") if m in sys.modules), out)
"""


@pytest.fixture
def user_model_conftest() -> str:
    """A user's conftest.py that declares a model of their own (a small scorer over 4 features)."""
    return USER_MODEL_CONFTEST


USER_MODEL_CONFTEST = """
import numpy as np
import torch

from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec


class TabularScorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 3)

    def forward(self, features):
        return (torch.relu(self.layer(features)),)


def build():
    torch.manual_seed(0)
    return TabularScorer().eval()


def samples():
    rng = np.random.default_rng(0)
    return [SampleCase(b, f"b{b}", {"features": rng.standard_normal((b, 4)).astype(np.float32)}) for b in (1, 3)]


def pytest_triton_models(config):
    return [
        ModelSpec(
            name="tabular-scorer",
            family="custom",
            build=build,
            inputs=(TensorSpec("features", "float32", (4,)),),
            outputs=(TensorSpec("scores", "float32", (3,)),),
            make_samples=samples,
            max_batch_size=4,
        )
    ]
"""
