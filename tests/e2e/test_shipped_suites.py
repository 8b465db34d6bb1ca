"""The wheel carries the suites: installed into a fresh environment, `pytest --triton-suites`, run from a user's
project directory, runs them against the model of that project's conftest.py under that project's ini keys, while
the project's own `pytest` runs exactly its own tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROJECT_INI = """
[tool.pytest.ini_options]
testpaths = ["tests"]
triton_models = "tabular-scorer"
triton_formats = "onnx"
triton_precisions = "fp32"
"""
OWN_TEST = "def test_own_arithmetic():\n    assert 6 * 7 == 42\n"
WHERE_FROM = """

def pytest_report_header(config):
    import pytest_triton

    return f"pytest_triton imported from {pytest_triton.__file__}"
"""


def test_the_wheel_holds_every_package_the_suites_and_the_shipped_weights(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.relative_to(ROOT)) for p in (ROOT / "pytest_triton").rglob("__init__.py")}
    assert packages - names == set()
    suites = {f"pytest_triton/suites/{p.name}" for p in (ROOT / "suites").glob("*.py")}
    assert "pytest_triton/suites/test_parity.py" in suites and suites - names == set()
    assert any(n.endswith(".safetensors") for n in names) and "pytest_triton/repository/python_runner/model.py" in names
    assert "pytest_triton/models/weights/resnext-small-synthetic/model.pt" in names


@pytest.fixture
def project(tmp_path: Path, user_model_conftest: str) -> Path:
    """A user's project: its own test, its own model in its conftest.py, Triton options in its ini."""
    (tmp_path / "pyproject.toml").write_text(PROJECT_INI)
    (tmp_path / "conftest.py").write_text(user_model_conftest + WHERE_FROM)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_own.py").write_text(OWN_TEST)
    return tmp_path


def test_shipped_suites_run_from_a_user_project(python: Path, project: Path, export_cache: Path, installed_pytest):
    own = installed_pytest(python, project, "-q")
    assert own.returncode == 0, own.stdout + own.stderr
    assert "1 passed" in own.stdout and "triton:" not in own.stdout

    run = installed_pytest(
        python, project, "--triton-suites", f"--triton-cache-dir={export_cache}", "-k", "not perf", "-v"
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert f"pytest_triton imported from {python.parent.parent}" in output  # the wheel's copy, not the checkout's
    assert f"rootdir: {project}" in output
    # Conformance (server, then 10 per variant), consistency (2) and parity for the one variant the project's ini
    # selects; two accuracy tests skip (the model is neither a BERT nor an image classifier), and so do the two
    # search tests (no search is asked for, and none is stored); deselected: perf (2) and the tiny zoo models'
    # targets (neither is selected).
    assert "14 passed, 4 skipped, 4 deselected" in output
    assert "test_parity.py::test_outputs_match_reference[tabular-scorer-onnx-fp32] PASSED" in output
    assert "test_own_arithmetic" not in output
