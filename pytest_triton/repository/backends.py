"""Which backends a server has, found by asking it: Triton has no API that lists them.

For each candidate we ask the server to load a probe model whose file is deliberately empty. A server
without the backend refuses with "unable to find backend library"; a server with it fails on the file
instead, which proves the backend is there.

The probe's files go into the repository directory where there is one: files inside a load request are written to
a /tmp/folderXXXXXX of Triton's own, which a failed load never removes (4 folders a server start, left behind).
"""

from __future__ import annotations

from pytest_triton.errors import ModelLoadError
from pytest_triton.export.formats import EXPORT_FORMATS
from pytest_triton.models.spec import TensorSpec
from pytest_triton.repository.config import build_config
from pytest_triton.repository.store import ModelRepository

# backend name -> (platform, model file) of its probe: python, then each native backend a format is served by.
CANDIDATES = {"python": ("", "model.py"), **{f.backend: (f.platform, f.file_name) for f in EXPORT_FORMATS.values()}}
_ABSENT_MARKER = "unable to find backend library"
PROBE_PREFIX = "pytest_triton_probe_"


def probe_backends(repository: ModelRepository) -> tuple[str, ...]:
    """Names of the backends this server can load models with."""
    found = []
    for backend, (platform, file_name) in CANDIDATES.items():
        name = f"{PROBE_PREFIX}{backend}"
        config = build_config(
            name,
            (TensorSpec("x", "float32", (1,)),),
            (TensorSpec("y", "float32", (1,)),),
            max_batch_size=0,
            platform=platform,
            backend="" if platform else backend,
        )
        # A python model with no TritonPythonModel class fails after the backend loaded it.
        try:
            repository.place(name, config, {f"1/{file_name}": b""})
        except ModelLoadError as error:
            if _ABSENT_MARKER in str(error):
                continue
        else:
            repository.client.unload_model(name)
        found.append(backend)
    return tuple(found)
