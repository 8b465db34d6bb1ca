"""pytest-triton: deploy models to NVIDIA Triton Inference Server and check they are right and fast."""

__version__ = "0.1.0"
