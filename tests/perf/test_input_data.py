"""perf_analyzer input data files, read as perf_analyzer reads them: entries in rotation, B consecutive entries a
request, variable dims from "shape", raw values from "b64", expected outputs from "validation_data"."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from pytest_triton.models.spec import TensorSpec
from pytest_triton.perf.input_data import InputDataError, read_input_data

IDS = TensorSpec("input_ids", "int64", (-1,))
IMAGE = TensorSpec("image", "float32", (2, 2))
LOGITS = TensorSpec("logits", "float32", (3,))


def write(tmp_path, document) -> object:
    path = tmp_path / "input.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_consecutive_entries_make_a_request_and_the_rows_wrap_around(tmp_path):
    raw = np.arange(4, dtype=np.float32)
    path = write(
        tmp_path,
        {
            "data": [
                {"input_ids": {"content": [1, 2, 3], "shape": [3]}, "image": [0, 1, 2, 3]},
                {
                    "input_ids": {"content": [4, 5, 6], "shape": [3]},
                    "image": {"b64": base64.b64encode(raw.tobytes()).decode()},
                },
                {
                    "input_ids": {"content": [7, 8, 9], "shape": [3]},
                    "image": {"content": [[9, 9], [9, 9]], "shape": [2, 2]},
                },
            ],
            "validation_data": [{"logits": [0, 0, 1]}, {"logits": [0, 1, 0]}, {"logits": [1, 0, 0]}],
        },
    )
    data = read_input_data(path, (IDS, IMAGE), (LOGITS,), batch_size=2, batched=True)

    # 3 entries, 2 a request, wrapping around: (0, 1), (2, 0), (1, 2), then the same again.
    assert [c.inputs["input_ids"][:, 0].tolist() for c in data.cases] == [[1, 4], [7, 1], [4, 7]]
    first = data.cases[0]
    assert first.batch_size == 2 and first.inputs["input_ids"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert first.inputs["image"].dtype == np.float32 and first.inputs["image"][1].ravel().tolist() == [0, 1, 2, 3]
    assert data.expected is not None and data.expected[0]["logits"].tolist() == [[0, 0, 1], [0, 1, 0]]
    singles = read_input_data(path, (IDS, IMAGE), (LOGITS,), batch_size=1, batched=True)
    assert [c.inputs["input_ids"].tolist() for c in singles.cases] == [[[1, 2, 3]], [[4, 5, 6]], [[7, 8, 9]]]
    wrapped = read_input_data(path, (IDS, IMAGE), (LOGITS,), batch_size=4, batched=True)
    assert [c.inputs["input_ids"][:, 0].tolist() for c in wrapped.cases] == [[1, 4, 7, 1], [4, 7, 1, 4], [7, 1, 4, 7]]


def test_a_model_without_batching_takes_each_entry_as_a_whole_request(tmp_path):
    path = write(tmp_path, {"data": [{"image": [1, 2, 3, 4]}, {"image": [5, 6, 7, 8]}]})
    data = read_input_data(path, (IMAGE,), (LOGITS,), batch_size=1, batched=False)
    assert [c.inputs["image"].shape for c in data.cases] == [(2, 2), (2, 2)] and data.expected is None


def test_bytes_tensors_are_read_as_strings(tmp_path):
    text = TensorSpec("TEXT", "object_", (1,))
    path = write(tmp_path, {"data": [{"TEXT": ["hello"]}]})
    [case] = read_input_data(path, (text,), (), batch_size=1, batched=True).cases
    assert case.inputs["TEXT"].tolist() == [[b"hello"]]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "is not JSON"),
        ({"inputs": []}, 'an object with a "data" list'),
        ({"data": []}, '"data" holds no entries'),
        ({"data": [[{"image": [1, 2, 3, 4]}]]}, "sequence data is not supported"),
        (
            {"data": [{"img": [1, 2, 3, 4]}]},
            r"data\[0\]: the model's tensors are \['image'\]; not the model's: \['img'\]",
        ),
        ({"data": [{"image": [1, 2, 3]}]}, r"data\[0\].image: 3 values do not fill shape \[2, 2\]"),
        (
            {"data": [{"image": {"content": [1] * 6, "shape": [3, 2]}}]},
            r"shape \[3, 2\] does not fit the tensor's dims",
        ),
        ({"data": [{"image": ["a", "b", "c", "d"]}]}, "the values are not float32"),
        ({"data": [{"image": {"b64": "###"}}]}, '"b64" is not base64'),
        ({"data": [{"image": {"b64": "AAA="}}]}, "2 bytes are no whole number of float32 values"),
        ({"data": [{"image": [1, 2, 3, 4]}], "validation_data": []}, '"validation_data" has 0 entries for 1'),
    ],
)
def test_a_malformed_file_is_named_with_what_is_wrong(tmp_path, document, message):
    path = write(tmp_path, document)
    with pytest.raises(InputDataError, match=message) as caught:
        read_input_data(path, (IMAGE,), (LOGITS,), batch_size=1, batched=True)
    assert str(path) in str(caught.value)


def test_variable_dims_need_a_shape_and_one_request_one_shape(tmp_path):
    flat = write(tmp_path, {"data": [{"input_ids": [1, 2, 3]}]})
    with pytest.raises(InputDataError, match=r"variable dims \[-1\]: give its \"shape\""):
        read_input_data(flat, (IDS,), (), batch_size=1, batched=True)
    ragged = {"data": [{"input_ids": {"content": [1] * n, "shape": [n]}} for n in (3, 5)]}
    with pytest.raises(InputDataError, match="entries 0 to 1 make one request, but their 'input_ids' shapes differ"):
        read_input_data(write(tmp_path, ragged), (IDS,), (), batch_size=2, batched=True)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(InputDataError, match="cannot read the input data file"):
        read_input_data(tmp_path / "nope.json", (IMAGE,), (), batch_size=1, batched=True)


def test_a_bad_shape_is_named(tmp_path):
    path = write(tmp_path, {"data": [{"image": {"content": [1, 2, 3, 4], "shape": 4}}]})
    with pytest.raises(InputDataError, match=r'data\[0\].image: "shape" must be a list of sizes'):
        read_input_data(path, (IMAGE,), (), batch_size=1, batched=True)


def test_a_file_may_use_the_specs_names_and_its_cases_take_the_specs_dtypes(tmp_path):
    """A libtorch fp16 deployment serves input__0/output__0 in float16; the file names the spec's tensors, and the
    cases the reference gets are float32 as the spec declares them."""
    from pytest_triton.checks.performance import perf_requests
    from pytest_triton.models.spec import ModelSpec, SampleCase
    from pytest_triton.repository.deployment import Deployment

    spec = ModelSpec("scorer", "custom", None, (IMAGE,), (LOGITS,), lambda: [SampleCase(1, "b1", {})], 4)
    served_in, served_out = TensorSpec("input__0", "float16", (2, 2)), TensorSpec("output__0", "float16", (3,))
    deployment = Deployment(
        "scorer-ts-trace-fp16", spec, "ts-trace", "fp16", "python", (served_in,), (served_out,), 4, None
    )
    path = write(tmp_path, {"data": [{"image": [1, 2, 3, 4]}], "validation_data": [{"logits": [0, 1, 0]}]})
    cases, answers = perf_requests(deployment, 1, {"logits": None}, None, path)
    assert cases[0].inputs["image"].dtype == np.float32 and cases[0].inputs["image"].shape == (1, 2, 2)
    assert answers.given is not None and answers.given[0]["logits"].dtype == np.float32
    assert answers.against == "the input data file's validation_data"
