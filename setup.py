"""The suites keep their top-level place in the repository and install as the package pytest_triton.suites, so
that `pytest --triton-suites` finds them wherever pytest-triton is installed. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["pytest_triton*"]), "pytest_triton.suites"],
    package_dir={"pytest_triton.suites": "suites"},
)
