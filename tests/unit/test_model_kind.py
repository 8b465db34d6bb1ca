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
    ("model", "strategy", "slots", "reads_ready"),
    [
        ("accumulate", "direct", 4, True),  # max_batch_size 4 on one instance
        ("running_max", "oldest", 4, False),  # max_candidate_sequences 4
    ],
)
def test_a_sequence_model_says_its_strategy_and_slots(model, strategy, slots, reads_ready):
    kind = kind_from_config(_config(KINDS / model / "config.pbtxt"))
    assert kind.sequence is not None
    assert (kind.sequence.strategy, kind.sequence.slots, kind.sequence.reads_ready) == (strategy, slots, reads_ready)
    assert kind.describe() == f"sequence ({strategy})"


def test_the_direct_strategys_slots_are_a_batch_per_instance():
    config = _config(KINDS / "accumulate" / "config.pbtxt")
    config.instance_group[0].count = 2
    config.instance_group.add(count=1, gpus=[0, 1])
    assert kind_from_config(config).sequence.slots == 4 * (2 + 2)
    config.max_batch_size = 0
    assert kind_from_config(config).sequence.slots == 4


def test_a_sequence_model_without_a_ready_control_is_told_apart():
    kind = kind_from_config(_config(FAULTY / "accumulate_without_ready" / "config.pbtxt"))
    assert kind.sequence is not None and not kind.sequence.reads_ready


def test_a_decoupled_model_and_a_decoupled_sequence_model():
    config = _config(KINDS / "repeat" / "config.pbtxt")
    assert kind_from_config(config).describe() == "decoupled"
    config.sequence_batching.oldest.max_candidate_sequences = 2
    assert kind_from_config(config).describe() == "decoupled sequence (oldest)"
