"""A user's own model, declared in their conftest.py, is picked up by every suite."""

from __future__ import annotations

CONFTEST = '''
import numpy as np
import torch

from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec


class TabularScorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 3)

    def forward(self, features):
        return (torch.relu(self.layer(features)),)


def build():
    torch.manual_seed(0)
    return TabularScorer().eval()


def samples():
    rng = np.random.default_rng(0)
    return [SampleCase(b, f"b{b}", {"features": rng.standard_normal((b, 4)).astype(np.float32)}) for b in (1, 3)]


def pytest_triton_models(config):
    return [
        ModelSpec(
            name="tabular-scorer",
            family="custom",
            build=build,
            inputs=(TensorSpec("features", "float32", (4,)),),
            outputs=(TensorSpec("scores", "float32", (3,)),),
            make_samples=samples,
            max_batch_size=4,
        )
    ]
'''


def test_conftest_model_runs_through_every_suite(suites, pytester):
    pytester.makeconftest(CONFTEST)
    result = suites("--triton-models=tabular-scorer", "--triton-formats=onnx,ts-script,ts-trace", "--triton-precisions=fp32", "-v")
    result.assert_outcomes(passed=1 + 3 * 9)
    result.stdout.fnmatch_lines(["*test_outputs_match_reference[[]tabular-scorer-ts-script-fp32[]] PASSED*"])


def test_unknown_name_lists_the_users_models_too(suites, pytester):
    pytester.makeconftest(CONFTEST)
    result = suites("--triton-models=tabular")
    result.stderr.fnmatch_lines(["ERROR: --triton-models: unknown 'tabular'; valid choices: *, tabular-scorer"])
