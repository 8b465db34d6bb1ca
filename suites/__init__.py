"""The conformance suites, shipped in the package as pytest_triton.suites: run them with `pytest --triton-suites`."""
