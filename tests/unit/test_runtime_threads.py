"""CPU thread caps: each Triton model instance gets its share of the cores, so instances do not spin on each other."""

from __future__ import annotations

import os

import pytest

from pytest_triton.export.runners import cpu_threads_per_instance


@pytest.mark.parametrize(("cores", "instances", "threads"), [(2, 1, 2), (2, 2, 1), (2, 5, 1), (16, 3, 5), (4, 0, 4)])
def test_cores_are_shared_out_between_instances(monkeypatch, cores, instances, threads):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert cpu_threads_per_instance(instances) == threads
