"""export.formats: one record per format name, and a registry light enough for the plugin and Triton's stub."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_triton.export.formats import EXPORT_FORMATS, export_format
from pytest_triton.kinds import FORMATS
from pytest_triton.repository.backends import CANDIDATES


def test_every_format_name_has_exactly_one_record():
    assert tuple(EXPORT_FORMATS) == FORMATS
    for name, record in EXPORT_FORMATS.items():
        assert record.name == name
        assert record.platform and record.backend


def test_backend_probes_cover_python_and_every_native_backend():
    assert set(CANDIDATES) == {"python", *(f.backend for f in EXPORT_FORMATS.values())}


def test_an_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown export format 'onnxx': expected one of ts-script, .*, trt"):
        export_format("onnxx")


def test_importing_the_registry_loads_no_runtime():
    check = "import pytest_triton.export.formats, sys; print(*{'torch', 'onnxruntime', 'tensorrt'} & set(sys.modules))"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
