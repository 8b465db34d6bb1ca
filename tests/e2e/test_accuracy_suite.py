"""The accuracy suite end to end: the shipped tiny QA model and tiny classifier through Triton, a user's folder of
JPEGs, baselines, bad SQuAD and image input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytest_triton.images import synthetic

TINY = ("--triton-models=bert-tiny", "--triton-formats=onnx", "--triton-precisions=fp32")
SMALL = ("--triton-models=resnext-small", "--triton-formats=onnx")


@pytest.fixture
def suite_files() -> tuple[str, ...]:
    return ("test_accuracy.py",)


def test_tiny_model_through_triton_matches_in_process_and_records(suites, pytester):
    result = suites(*TINY, "--update-baselines", "--triton-report=report", "-v")
    # The classifier's: its top-1 skips (no classifier selected), and the tiny classifier's target is deselected.
    result.assert_outcomes(passed=2, skipped=1, deselected=1)
    (path,) = (pytester.path / "baselines" / "accuracy").glob("accuracy.json")
    entries = json.loads(path.read_text())["entries"]
    v11 = entries["bert-tiny-onnx-fp32/synthetic-v1.1"]
    assert v11["exact_match"]["value"] >= 80 and v11["f1"]["value"] >= 85
    assert "bert-tiny-onnx-fp32/synthetic-v2.0" in entries
    predictions = json.loads(
        (pytester.path / "report/squad/bert-tiny-onnx-fp32/synthetic-v1.1/predictions.json").read_text()
    )
    assert len(predictions) > 100
    # A baseline records the weights it was measured with. Judged against what it recorded: deterministic, so
    # every metric is ok; against other weights (v1.1's entries rewritten to say so) it is not applied, and the
    # summary says so, while the comparison with the same model in-process still holds.
    weights = v11["exact_match"]["weights"]
    assert len(weights) == 16 and {m["weights"] for c in entries.values() for m in c.values()} == {weights}
    stored = json.loads(path.read_text())
    for metric in stored["entries"]["bert-tiny-onnx-fp32/synthetic-v1.1"].values():
        metric["weights"] = "0123456789abcdef"
    path.write_text(json.dumps(stored))
    result = suites(*TINY)
    result.assert_outcomes(passed=2, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "triton accuracy baselines: 2 ok, 2 not applied",
            "bert-tiny-onnx-fp32/synthetic-v1.1*not applied: other weights",
            "bert-tiny-onnx-fp32/synthetic-v2.0*ok",
        ]
    )


def test_malformed_squad_file_is_a_clear_error(suites, pytester):
    bad = pytester.path / "dev.json"
    bad.write_text(
        json.dumps(
            {
                "version": "1.1",
                "data": [
                    {
                        "title": "t",
                        "paragraphs": [
                            {
                                "context": "abc",
                                "qas": [{"id": "q", "question": "?", "answers": [{"text": "zz", "answer_start": "x"}]}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    result = suites(*TINY, f"--squad-file={bad}")
    result.assert_outcomes(failed=2, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(["*dev.json*answer_start*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_missing_squad_file_is_a_usage_error(suites, pytester):
    result = suites(*TINY, f"--squad-file={pytester.path / 'nope.json'}")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: --squad-file=*nope.json: no such file*"])


def _user_folder(root, per_class: int) -> None:
    """A user's validation folder: held-out synthetic images as JPEGs, the first one grayscale, as some of ImageNet's
    are. Full-resolution colour: with 4:2:0 chroma subsampling the tiny classifier's top-1 falls from 98.6% to 84%
    (its classes are colours in fine patterns)."""
    pixels, labels = synthetic.held_out()
    for label, name in enumerate(synthetic.CLASSES):
        (root / name).mkdir(parents=True)
        for index in np.flatnonzero(labels == label)[:per_class]:
            image = Image.fromarray(pixels[index])
            (image.convert("L") if index == 0 else image).save(root / name / f"{index}.JPEG", quality=95, subsampling=0)


def test_classifier_on_a_users_folder_with_imagenets_class_list_format(suites, pytester):
    _user_folder(pytester.path / "val", per_class=3)
    # LOC_synset_mapping.txt's form: the first word is the folder name, in output order.
    (pytester.path / "synsets.txt").write_text("".join(f"{name} a {name} image\n" for name in synthetic.CLASSES))
    folder = ("--triton-image-folder=val", "--triton-image-classes=synsets.txt", "--junitxml=run.xml")
    result = suites(*SMALL, *folder, "--update-baselines", "-rs")
    # SQuAD skips for a classifier (2 variants; the QA model's target is deselected); the classifier's target is for
    # the synthetic set.
    result.assert_outcomes(passed=2, skipped=3, deselected=1)
    result.stdout.fnmatch_lines(["*the target (90% top-1 on held-out synthetic images) is for the shipped*"])
    path = pytester.path / "baselines" / "accuracy" / "accuracy.json"
    entries = json.loads(path.read_text())["entries"]
    assert set(entries) == {"resnext-small-onnx-fp32/val", "resnext-small-onnx-fp16/val"}
    top1 = entries["resnext-small-onnx-fp32/val"]["top1"]["value"]
    assert top1 >= 85.0 and entries["resnext-small-onnx-fp32/val"]["top5"]["value"] >= top1
    report = (pytester.path / "run.xml").read_text()
    assert 'name="val.converted_to_rgb" value="1"' in report and 'name="val.top1_agreement" value="100.0"' in report

    # A stored top-1 above what the deployment reaches: a regression, named, and the other variant still ok.
    stored = json.loads(path.read_text())
    stored["entries"]["resnext-small-onnx-fp16/val"]["top1"]["value"] = top1 + 5
    path.write_text(json.dumps(stored))
    result = suites(*SMALL, *folder)
    result.assert_outcomes(passed=1, failed=1, skipped=3, deselected=1)
    result.stdout.fnmatch_lines(["*resnext-small-onnx-fp16/val*top1*regression*"])


def test_a_folder_with_classes_the_model_does_not_know_fails_naming_them(suites, pytester):
    _user_folder(pytester.path / "val", per_class=1)
    (pytester.path / "val" / "zebra").mkdir()
    (pytester.path / "classes.txt").write_text("\n".join(synthetic.CLASSES))
    result = suites(
        *SMALL, "--triton-precisions=fp32", "--triton-image-folder=val", "--triton-image-classes=classes.txt"
    )
    result.assert_outcomes(failed=1, skipped=2, deselected=1)
    result.stdout.fnmatch_lines(["*1 class folders are not in the class list (16 names), e.g. ?'zebra'?*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_missing_image_folder_is_a_usage_error(suites, pytester):
    result = suites(*SMALL, "--triton-image-folder=nowhere")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: --triton-image-folder=nowhere: no such directory*"])


CHANNELS_SWAPPED = """
import json

import onnxruntime
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        path = json.loads(args["model_config"])["parameters"]["onnx"]["string_value"]
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])

    def execute(self, requests):
        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, "input").as_numpy()
            (logits,) = self.session.run(None, {"input": images[:, ::-1].copy()})  # BGR for RGB: the mistake
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("logits", logits)]))
        return responses
"""


def _channel_swapping(repository: Path, small_export: Path) -> Path:
    """The model above as resnext-small in `repository`, serving the shipped classifier's own export."""
    model = repository / "resnext-small"
    (model / "1").mkdir(parents=True)
    (model / "1" / "model.py").write_text(CHANNELS_SWAPPED)
    (model / "config.pbtxt").write_text(
        'name: "resnext-small"\nbackend: "python"\nmax_batch_size: 8\n'
        'input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]\n'
        'output [ { name: "logits" data_type: TYPE_FP32 dims: [ 16 ] } ]\n'
        f'parameters {{ key: "onnx" value: {{ string_value: "{small_export / "model.onnx"}" }} }}\n'
    )
    return model


def test_a_served_classifier_that_swaps_channels_fails_against_in_process(suites, pytester, small_export):
    """The shipped classifier's own export behind a model that reverses the channels, as a client or a model that
    takes BGR would: served under the zoo's name, it is held to the zoo's model in process."""
    model = _channel_swapping(pytester.path / "repo", small_export)
    result = suites(f"--triton-model-repository={model.parent}", "--triton-models=resnext-small")
    # The in-process target passes (it is the zoo's model); SQuAD skips (the QA model's target is deselected); the
    # served model fails (508 of 512 here).
    result.assert_outcomes(passed=1, failed=1, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*: * of 512 labels differ from in-process, e.g.*00000.png: red-checks, in process blue-checks*"]
    )


def test_accuracy_is_held_to_the_baseline_deployments_on_the_same_images(suites, pytester, small_export):
    """The baseline deployment (--triton-perf-against) is the channel-swapping model above, in a repository of its
    own: the run's resnext-small is evaluated beside it on the same images, and top-1 far apart fails."""
    _channel_swapping(pytester.path / "prod", small_export)
    fp32 = (*SMALL, "--triton-precisions=fp32", "-k", "top1_through_triton", "--junitxml=run.xml")
    result = suites(*fp32, "--triton-perf-against=prod")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*: top1 +* points from the baseline deployment (tolerance 1.0)*"])
    properties = {p.get("name"): float(p.get("value")) for p in ET.parse(pytester.path / "run.xml").iter("property")}
    (name,) = [key.removesuffix(".vs_baseline.top1") for key in properties if key.endswith(".vs_baseline.top1")]
    assert properties[f"{name}.top1"] >= 85.0 > properties[f"{name}.vs_baseline.top1"] + 20
