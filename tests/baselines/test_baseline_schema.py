"""The baseline JSON Schema and the errors it gives."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pytest_triton.baselines.schema import BaselineFileError, json_path, parse, validate

PATH = Path("baselines/cpu-x-2c/perf.json")
VALID = {
    "schema_version": 1,
    "scope": "cpu-x-2c",
    "suite": "perf",
    "software": {"triton": "2.51.0", "driver": None},
    "entries": {
        "resnext-onnx-fp16[c4]": {
            "throughput": {"value": 812.5, "unit": "infer/s", "direction": "higher", "tolerance": 0.05, "noise": 0.012},
            "latency_p99": {"value": 9100, "unit": "us", "direction": "lower", "tolerance": 0.15},
        }
    },
}


def test_the_schema_ships_with_the_package_and_is_draft_2020_12():
    schema = json.loads(resources.files("pytest_triton.baselines").joinpath("schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_a_valid_document_passes():
    validate(VALID, PATH)


CFG = "resnext-onnx-fp16[c4]"


def metric(document: dict, name: str) -> dict:
    return document["entries"][CFG][name]


@pytest.mark.parametrize(
    "edit, where",
    [
        (lambda d: metric(d, "throughput").pop("unit"), f'$.entries["{CFG}"].throughput'),
        (lambda d: metric(d, "latency_p99").update(value="fast"), f'$.entries["{CFG}"].latency_p99.value'),
        (lambda d: metric(d, "throughput").update(noise=-0.1), f'$.entries["{CFG}"].throughput.noise'),
        (lambda d: d["software"].update(triton=2.51), "$.software.triton"),
        (lambda d: d.update(schema_version=2), "$.schema_version"),
        (lambda d: d.update(extra=True), "$"),
    ],
)
def test_errors_name_the_file_and_the_json_path(edit, where):
    document = json.loads(json.dumps(VALID))
    edit(document)

    with pytest.raises(BaselineFileError) as error:
        validate(document, PATH)

    message = str(error.value)
    assert str(PATH) in message
    assert f"  {where}: " in message
    assert "not overwritten" in message


def test_many_errors_are_summarised():
    document = json.loads(json.dumps(VALID))
    for n in range(8):
        document["entries"][f"c{n}"] = {"throughput": {}}
    with pytest.raises(BaselineFileError, match=r"and \d+ more"):
        validate(document, PATH)


def test_json_paths_quote_keys_that_are_not_plain_names():
    assert json_path(["entries", "a/c1", "throughput"]) == '$.entries["a/c1"].throughput'
    assert json_path(["list", 3]) == "$.list[3]"


def test_invalid_json_names_the_file_line_and_column():
    with pytest.raises(BaselineFileError, match=r"perf\.json is not valid JSON \(line 2, column 1"):
        parse('{"a": 1,\n}', PATH)
