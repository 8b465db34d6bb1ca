"""A user's own model, declared in their conftest.py, is picked up by every suite."""

from __future__ import annotations

import pytest


def test_conftest_model_runs_through_every_suite(suites, pytester, user_model_conftest):
    pytester.makeconftest(user_model_conftest)
    result = suites(
        "--triton-models=tabular-scorer", "--triton-formats=onnx,ts-script,ts-trace", "--triton-precisions=fp32", "-v"
    )
    result.assert_outcomes(passed=1 + 3 * 11)
    result.stdout.fnmatch_lines(["*test_outputs_match_reference[[]tabular-scorer-ts-script-fp32[]] PASSED*"])


def test_unknown_name_lists_the_users_models_too(suites, pytester, user_model_conftest):
    pytester.makeconftest(user_model_conftest)
    result = suites("--triton-models=tabular")
    result.stderr.fnmatch_lines(["ERROR: --triton-models: unknown 'tabular'; valid choices: *, tabular-scorer"])


UNBATCHED = '''
import numpy as np
import torch

from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec


class PoolScorer(torch.nn.Module):
    """Scores a fixed set of 3 feature rows and pools them: no batch dimension, an output shaped unlike the input."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 2)

    def forward(self, features):
        return (self.layer(features).sum(0),)


def build():
    torch.manual_seed(0)
    return PoolScorer().eval()


def samples():
    rng = np.random.default_rng(0)
    return [SampleCase(1, f"case{i}", {"features": rng.standard_normal((3, 4)).astype(np.float32)}) for i in range(2)]


def pytest_triton_models(config):
    return [
        ModelSpec(
            name="pool-scorer",
            family="custom",
            build=build,
            inputs=(TensorSpec("features", "float32", (3, 4)),),
            outputs=(TensorSpec("pooled", "float32", (2,)),),
            make_samples=samples,
            max_batch_size=0,
        )
    ]
'''


@pytest.mark.parametrize("suite_files", [("test_conformance.py", "test_parity.py", "test_perf.py")])
def test_a_model_without_batching_runs_through_every_suite(suites, pytester):
    pytester.makeconftest(UNBATCHED)
    result = suites(
        "--triton-models=pool-scorer", "--triton-formats=onnx,ts-trace", "--triton-precisions=fp32",
        "--triton-perf-instances=1", "--triton-perf-concurrency=1", "--triton-perf-window=0.5",
        "--triton-perf-stability=50", "--triton-perf-max-steal=100", "-k", "not calibration", "-rs",
    )  # fmt: skip
    # The server, then per variant 8 conformance checks and parity, and one perf point (onnx): the sample as it is.
    result.assert_outcomes(passed=1 + 2 * (9 + 1) + 1, skipped=2, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*pool-scorer-onnx-fp32-b1-nodb-i1/c1*throughput*missing*",
            "SKIPPED * suites/test_conformance.py:*: pool-scorer-*-fp32 does not batch (max_batch_size 0): *",
        ]
    )
