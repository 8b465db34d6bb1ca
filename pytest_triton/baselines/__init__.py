"""Baselines: reference values per hardware (or 'accuracy') and suite, compared with noise in mind."""

from pytest_triton.baselines.entry import BaselineEntry, BaselineFile, BaselineKey
from pytest_triton.baselines.hardware import hardware_key
from pytest_triton.baselines.schema import BaselineFileError
from pytest_triton.baselines.software import software_changes, software_versions
from pytest_triton.baselines.store import BaselineStore
from pytest_triton.baselines.verdict import Comparison, Verdict, compare, compare_entries, confirm

__all__ = [
    "BaselineEntry",
    "BaselineFile",
    "BaselineFileError",
    "BaselineKey",
    "BaselineStore",
    "Comparison",
    "Verdict",
    "compare",
    "compare_entries",
    "confirm",
    "hardware_key",
    "software_changes",
    "software_versions",
]
