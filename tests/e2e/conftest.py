"""End-to-end runs of the suites: a fresh pytest process with a real tritonserver, as a user runs them."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

# pytester takes the modules a test imported out of sys.modules when it ends, and torch imported a second time in
# one process crashes it (a worker lost, its tests failed). Imported here, before any test, torch stays.
import torch  # noqa: F401

from pytest_triton.models.zoo import zoo_spec
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
# What the wheel is built from.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "pytest_triton", "suites")


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


class Forwards:
    """A model's build as a team changes it: a forward heavy enough that its compute, not the python backend's
    overhead, sets the pace; and the same made slower, computing its answer twice over (the second pass on the rows
    in reverse, so that no exporter merges the two), as a change that halves a model's speed does. `built` puts a
    build into a conftest's text in place of its own."""

    heavy = """
def build():
    import torch

    class Scorer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(4, 1024)
            self.deep = torch.nn.Linear(1024, 1024)
            self.out = torch.nn.Linear(1024, 3)

        def body(self, features):
            x = torch.relu(self.hidden(features))
            for _ in range(120):
                x = torch.tanh(self.deep(x))
            return self.out(x)

        def forward(self, features):
            return self.body(features)

    torch.manual_seed(0)
    return Scorer().eval()
"""
    slower = heavy.replace(
        "return self.body(features)\n", "return (self.body(features) + self.body(features.flip(0)).flip(0)) / 2\n"
    )

    @staticmethod
    def built(conftest: str, build: str) -> str:
        start, end = conftest.index("def build():"), conftest.index("def samples():")
        return conftest[:start] + build.lstrip() + "\n\n" + conftest[end:]


@pytest.fixture
def forwards() -> type[Forwards]:
    return Forwards


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


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel, from a copy of its sources (the build leaves nothing in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(
            ROOT / name,
            source / name,
            **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}),
        )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        timeout=600,
    )
    (built,) = out.glob("pytest_triton-*.whl")
    return built


@pytest.fixture(scope="session")
def python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel installed. Its dependencies (torch and the rest, gigabytes) come from this
    environment through a path file, which adds the directory without running the path files in it, so the
    editable install of the checkout stays out."""
    env = tmp_path_factory.mktemp("env")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", site, str(wheel)],
        check=True,
        timeout=300,
    )
    return python


@pytest.fixture(scope="session")
def installed_pytest():
    """A runner of pytest in a fresh environment's `python`, in `project`, as its user runs it (no cache provider:
    nothing is left in the project between runs but what each run writes)."""

    def run(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(python), "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
        )

    return run
