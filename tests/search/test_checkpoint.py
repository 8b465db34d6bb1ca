"""The checkpoint: what a search finished survives the process, a torn last line is measured again, and a broken
file stops the search with what to do."""

from __future__ import annotations

import json

import pytest

from pytest_triton.search.checkpoint import Checkpoint, CheckpointError
from pytest_triton.search.results import ConfigResult
from pytest_triton.search.space import Candidate


def config(instances: int, point) -> ConfigResult:
    return ConfigResult("m", Candidate("onnx", "fp32", 2, 100, instances), (point(100.0 * instances, 5, 2),), 1.5)


def test_results_read_back_as_written(tmp_path, point):
    path = tmp_path / "m" / "checkpoint.jsonl"
    written = Checkpoint.open(path, "key")
    written.add_config(config(1, point))
    written.add_config(ConfigResult("m", Candidate("onnx", "fp16", 1, None, 1), (), None, "it failed to load: x"))
    written.add_accuracy("onnx-fp16", "onnx-fp16 loses accuracy")
    again = Checkpoint.open(path, "key")
    assert again.configs == written.configs
    assert again.configs["onnx-fp32-mb2-db100us-i1"].points[0].throughput == 100.0
    assert again.accuracy == {"onnx-fp16": "onnx-fp16 loses accuracy"}
    assert Checkpoint.open(path, "another machine").configs == {}  # other figures are not comparable
    assert Checkpoint.open(path, "another machine").other_keys == 3


def test_a_line_torn_by_a_kill_is_dropped_and_the_search_goes_on(tmp_path, point):
    path = tmp_path / "checkpoint.jsonl"
    Checkpoint.open(path, "key").add_config(config(1, point))
    line = json.dumps({"kind": "config", "key": "key", "result": config(2, point).to_dict()})
    with path.open("a") as handle:
        handle.write(line[: len(line) // 2])  # the process died here
    resumed = Checkpoint.open(path, "key")
    assert resumed.torn and list(resumed.configs) == ["onnx-fp32-mb2-db100us-i1"]
    resumed.add_config(config(2, point))
    assert len(Checkpoint.open(path, "key").configs) == 2


def test_a_malformed_last_line_that_is_whole_is_an_error_not_a_torn_one(tmp_path, point):
    path = tmp_path / "checkpoint.jsonl"
    Checkpoint.open(path, "key").add_config(config(1, point))
    with path.open("a") as handle:
        handle.write('{"kind": "config", "key": "key"}\n')  # written whole by something else
    with pytest.raises(CheckpointError, match="line 2 of the search checkpoint"):
        Checkpoint.open(path, "key")


def test_a_malformed_line_before_the_last_names_itself_and_what_to_do(tmp_path, point):
    path = tmp_path / "checkpoint.jsonl"
    path.write_text("not json\n")
    with path.open("a") as handle:
        handle.write(json.dumps({"kind": "config", "key": "key", "result": config(1, point).to_dict()}) + "\n")
    with pytest.raises(CheckpointError, match=r"line 1 of the search checkpoint .* is malformed .*delete that line"):
        Checkpoint.open(path, "key")
