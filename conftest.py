"""Root conftest of the repository. No `pytest_plugins` here: with an editable install, `pytest --triton-suites` run
from another project loads this file as a parent of the suites, and pytest refuses `pytest_plugins` outside the
rootdir. The project's tests get pytester from `-p pytester` in pyproject.toml's addopts."""
