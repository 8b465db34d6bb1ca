"""The kind of a served model, read from its config as the server gives it: the configs of the hand-written kinds
repository, parsed as Triton parses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.models.kind import STATELESS, EnsembleStep, kind_from_config

KINDS = Path(__file__).resolve().parents[1] / "e2e" / "kinds_repository"
FAULTY = Path(__file__).resolve().parents[1] / "e2e" / "faulty_kinds_repository"


def _config(path: Path) -> mc.ModelConfig:
    return text_format.Parse(path.read_text(), mc.ModelConfig())


def test_a_plain_python_model_and_a_bls_model_are_stateless():
    for model in ("offset", "offset_double_bls"):
        kind = kind_from_config(_config(KINDS / model / "config.pbtxt"))
        assert kind == STATELESS and kind.is_stateless
        assert kind.describe() == "stateless"


def test_an_ensemble_lists_its_steps_in_the_order_its_data_flows():
    config = _config(KINDS / "offset_then_double" / "config.pbtxt")
    # The config may list its steps in any order: Triton runs a step once its inputs are there.
    config.ensemble_scheduling.step.reverse()
    kind = kind_from_config(config)
    assert [step.model for step in kind.steps] == ["offset", "double"]
    assert kind.steps[0] == EnsembleStep("offset", -1, {"X": "INPUT"}, {"Y": "between"})
    assert kind.describe() == "ensemble of offset -> double"
    assert not kind.is_stateless


@pytest.mark.parametrize(
    ("model", "strategy", "controls", "reads_ready"),
    [
        ("accumulate", "direct", ("START", "READY", "CORRID"), True),
        ("running_max", "oldest", (), False),
    ],
)
def test_a_sequence_model_says_its_strategy_and_controls(model, strategy, controls, reads_ready):
    kind = kind_from_config(_config(KINDS / model / "config.pbtxt"))
    assert kind.sequence is not None
    assert (kind.sequence.strategy, kind.sequence.controls, kind.sequence.reads_ready) == (
        strategy,
        controls,
        reads_ready,
    )
    assert kind.sequence.idle_us == 10_000_000
    assert kind.describe() == f"sequence ({strategy})"


def test_a_sequence_model_without_a_ready_control_is_told_apart():
    kind = kind_from_config(_config(FAULTY / "accumulate_without_ready" / "config.pbtxt"))
    assert kind.sequence is not None and not kind.sequence.reads_ready


def test_a_decoupled_model_and_a_decoupled_sequence_model():
    config = _config(KINDS / "repeat" / "config.pbtxt")
    assert kind_from_config(config).describe() == "decoupled"
    config.sequence_batching.oldest.max_candidate_sequences = 2
    assert kind_from_config(config).describe() == "decoupled sequence (oldest)"
