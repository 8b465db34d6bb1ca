"""Root conftest: the project's own tests drive whole pytest runs of the suites with pytester."""

pytest_plugins = ["pytester"]
