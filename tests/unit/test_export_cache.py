"""export.cache (+ exporters, formats, runners): real exports of the zoo's smallest models into a temporary cache.

resnext-small exports in well under a second per format; the module and its fp32 exports are built
once per module. Small hand-written specs cover the failure paths (an export that fails, an artifact
that does not run) without mocks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from pytest_triton.errors import ExportError, Unsupported
from pytest_triton.export.cache import ExportCache, artifact_io, largest_sample
from pytest_triton.export.fingerprint import weights_digest
from pytest_triton.export.formats import export_format, load_runner
from pytest_triton.models.spec import ModelSpec, SampleCase, TensorSpec
from pytest_triton.models.zoo import zoo_spec

FP32_FORMATS = ("onnx", "ts-script")


@pytest.fixture(scope="module")
def resnext():
    spec = zoo_spec("resnext-small")
    module = spec.build()
    return spec, module, weights_digest(module)


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return ExportCache(tmp_path_factory.mktemp("exports"))


@pytest.fixture(scope="module")
def fp32_artifacts(resnext, shared_cache):
    spec, module, digest = resnext
    return {fmt: shared_cache.get(spec, module, digest, fmt, "fp32", "cpu") for fmt in FP32_FORMATS}


def entries(root):
    return sorted(p.name for p in root.iterdir())


# -- fresh exports and cache hits ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", FP32_FORMATS)
def test_fp32_export_exists(fmt, fp32_artifacts, resnext):
    spec = resnext[0]
    artifact = fp32_artifacts[fmt]
    assert artifact.cache_hit is False
    assert artifact.path.is_file() and artifact.path.stat().st_size > 500_000
    assert artifact.path.name == export_format(fmt).file_name
    assert artifact.path.parent.name.startswith(f"resnext-small-{fmt}-fp32-")
    assert (artifact.format, artifact.precision, artifact.device) == (fmt, "fp32", "cpu")
    assert artifact.inputs == spec.inputs and artifact.outputs == spec.outputs


@pytest.mark.parametrize("fmt", FP32_FORMATS)
def test_second_get_is_a_hit_without_exporting_again(fmt, fp32_artifacts, resnext, shared_cache):
    spec, module, digest = resnext
    first = fp32_artifacts[fmt]
    stat = first.path.stat()
    listing = entries(shared_cache.root)
    again = shared_cache.get(spec, module, digest, fmt, "fp32", "cpu")
    assert again.cache_hit is True
    assert again.path == first.path
    assert again.path.stat().st_mtime_ns == stat.st_mtime_ns
    assert again.path.stat().st_ino == stat.st_ino
    assert entries(shared_cache.root) == listing  # no staging directory, nothing new


def test_a_new_cache_object_on_the_same_root_hits(fp32_artifacts, resnext, shared_cache):
    """What a second pytest run sees: the cache lives on disk, not in the object."""
    spec, module, digest = resnext
    again = ExportCache(shared_cache.root).get(spec, module, digest, "onnx", "fp32", "cpu")
    assert again.cache_hit and again.path == fp32_artifacts["onnx"].path


def test_the_hit_does_not_depend_on_the_module_only_on_the_digest(fp32_artifacts, resnext, shared_cache):
    """Documents the contract: the digest passed in is the identity; the module is not looked at on a hit."""
    spec, _, digest = resnext
    other = torch.nn.Linear(1, 1)
    again = shared_cache.get(spec, other, digest, "onnx", "fp32", "cpu")
    assert again.cache_hit and again.path == fp32_artifacts["onnx"].path


def test_other_precision_gets_its_own_directory(fp32_artifacts, resnext, shared_cache):
    spec, module, digest = resnext
    fp32_dir = fp32_artifacts["onnx"].path.parent
    before = set(entries(shared_cache.root))
    try:
        artifact = shared_cache.get(spec, module, digest, "onnx", "fp16", "cpu")
    except Unsupported:
        artifact = None  # onnxruntime may refuse fp16 on this CPU: the refusal is cached in its own directory
    new_dirs = [n for n in set(entries(shared_cache.root)) - before if not n.endswith(".lock")]
    assert len(new_dirs) == 1
    assert new_dirs[0].startswith("resnext-small-onnx-fp16-")
    assert new_dirs[0] != fp32_dir.name
    if artifact is not None:
        assert artifact.path.parent.name == new_dirs[0]
        assert [t.dtype for t in artifact.inputs] == ["float16"]  # ONNX carries fp16 I/O
        assert artifact.path.read_bytes() != fp32_artifacts["onnx"].path.read_bytes()


def test_key_depends_on_every_part_of_the_recipe(shared_cache):
    key = shared_cache.key
    base = key("d" * 64, "sig", "onnx", "fp32", "cpu")
    assert len(base) == 20
    assert key("d" * 64, "sig", "onnx", "fp32", "cpu") == base
    assert key("e" * 64, "sig", "onnx", "fp32", "cpu") != base
    assert key("d" * 64, "other", "onnx", "fp32", "cpu") != base
    assert key("d" * 64, "sig", "ts-trace", "fp32", "cpu") != base
    assert key("d" * 64, "sig", "onnx", "fp16", "cpu") != base
    assert key("d" * 64, "sig", "onnx", "fp32", "cuda:0") != base
    # The device kind counts, not the index: one export serves every GPU.
    assert key("d" * 64, "sig", "onnx", "fp32", "cuda:0") == key("d" * 64, "sig", "onnx", "fp32", "cuda:3")


def test_key_records_the_versions_of_the_formats_runtimes(shared_cache, monkeypatch):
    """An onnxruntime upgrade exports again, and asks again what the old one refused (a bf16 artifact, say)."""
    import importlib.metadata

    onnx, torchscript = (shared_cache.key("d" * 64, "sig", fmt, "fp32", "cpu") for fmt in ("onnx", "ts-trace"))
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "99.0" if name == "onnxruntime" else real(name))
    assert shared_cache.key("d" * 64, "sig", "onnx", "fp32", "cpu") != onnx
    # TorchScript artifacts do not depend on onnxruntime: they stay cached.
    assert shared_cache.key("d" * 64, "sig", "ts-trace", "fp32", "cpu") == torchscript


def test_a_fixed_spec_exports_again(tmp_path):
    """A spec corrected after a failure (a dim marked -1, a new max_batch_size, other trace shapes) must not be
    served the export made from the old one."""
    spec = tiny_spec("fixed-later", _Doubler)
    module = spec.build()
    first = ExportCache(tmp_path).get(spec, module, "5" * 64, "onnx", "fp32", "cpu")
    for changed in (
        dataclasses.replace(spec, max_batch_size=16),
        dataclasses.replace(spec, outputs=(TensorSpec("y", "float32", (-1,)),)),
        dataclasses.replace(spec, make_samples=lambda: [SampleCase(4, "b4", {"x": np.zeros((4, 4), np.float32)})]),
    ):
        again = ExportCache(tmp_path).get(changed, module, "5" * 64, "onnx", "fp32", "cpu")
        assert again.cache_hit is False and again.path.parent != first.path.parent
    assert ExportCache(tmp_path).get(spec, module, "5" * 64, "onnx", "fp32", "cpu").cache_hit is True


# -- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_trt_on_cpu_is_unsupported_naming_the_gpu(precision, resnext, tmp_path):
    spec, module, digest = resnext
    cache = ExportCache(tmp_path / "cache")
    with pytest.raises(Unsupported) as info:
        cache.get(spec, module, digest, "trt", precision, "cpu")
    assert "GPU" in str(info.value) and info.value.options == ("triton_gpu",)
    assert not (tmp_path / "cache").exists()  # refused before anything was written


def test_bert_tiny_as_ts_script_is_unsupported_naming_jit_script(tmp_path):
    spec = zoo_spec("bert-tiny")
    cache = ExportCache(tmp_path / "cache")
    with pytest.raises(Unsupported) as info:
        # Refused from the spec alone: the module is never built or touched.
        cache.get(spec, torch.nn.Identity(), "0" * 64, "ts-script", "fp32", "cpu")
    message = str(info.value)
    assert "torch.jit.script" in message and "bert-tiny as ts-script" in message
    assert "ts-trace" in message
    assert not (tmp_path / "cache").exists()


# -- weights digest -----------------------------------------------------------------------------


def test_weights_digest_is_stable_across_two_builds(resnext):
    _, module, digest = resnext
    assert len(digest) == 64
    assert weights_digest(zoo_spec("resnext-small").build()) == digest
    assert weights_digest(module) == digest  # and computing it does not change the module


def test_weights_digest_changes_with_one_weight(resnext):
    _, module, digest = resnext
    changed = zoo_spec("resnext-small").build()
    with torch.no_grad():
        changed.fc.bias[7] += 1e-6
    assert weights_digest(changed) != digest


def test_weights_digest_covers_buffers_and_names():
    torch.manual_seed(0)
    a = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    b = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    b.load_state_dict(a.state_dict())
    assert weights_digest(a) == weights_digest(b)
    b[1].running_mean += 1  # a buffer, not a parameter
    assert weights_digest(a) != weights_digest(b)
    renamed = torch.nn.Sequential()
    renamed.add_module("first", a[0])
    renamed.add_module("second", a[1])
    assert weights_digest(renamed) != weights_digest(a)  # same tensors, other names


def test_weights_digest_distinguishes_dtypes():
    a = torch.nn.Linear(2, 2)
    b = torch.nn.Linear(2, 2).double()
    b.load_state_dict(a.state_dict())
    assert weights_digest(a) != weights_digest(b)


# -- the artifact computes what the eager module computes ---------------------------------------


@pytest.mark.parametrize("fmt", FP32_FORMATS)
def test_artifact_matches_eager_module(fmt, fp32_artifacts, resnext):
    spec, module, _ = resnext
    case = next(c for c in spec.make_samples() if c.batch_size == 4)
    runner = load_runner(fmt, fp32_artifacts[fmt].path, "cpu")
    (served,) = runner.run([case.inputs["input"]])
    with torch.no_grad():
        expected = module(torch.from_numpy(case.inputs["input"])).numpy()
    assert served.shape == expected.shape == (4, 16)
    assert served.dtype == np.float32
    np.testing.assert_allclose(served, expected, atol=1e-4, rtol=0)


def test_onnx_runner_with_a_thread_cap_computes_the_same(fp32_artifacts, resnext):
    spec = resnext[0]
    case = next(c for c in spec.make_samples() if c.batch_size == 4)
    capped = load_runner("onnx", fp32_artifacts["onnx"].path, "cpu", threads=1)
    assert capped._session.get_session_options().intra_op_num_threads == 1
    (expected,) = load_runner("onnx", fp32_artifacts["onnx"].path, "cpu").run([case.inputs["input"]])
    np.testing.assert_allclose(capped.run([case.inputs["input"]])[0], expected, atol=1e-5, rtol=0)


def test_onnx_artifact_has_a_dynamic_batch(fp32_artifacts, resnext):
    spec = resnext[0]
    runner = load_runner("onnx", fp32_artifacts["onnx"].path, "cpu")
    for case in spec.make_samples():
        (out,) = runner.run([case.inputs["input"]])
        assert out.shape == (case.batch_size, 16)


def test_largest_sample_and_artifact_io(resnext):
    spec = resnext[0]
    assert largest_sample(spec)["input"].shape[0] == spec.max_batch_size
    inputs, outputs = artifact_io(spec, "onnx", "fp16")
    assert [t.dtype for t in (*inputs, *outputs)] == ["float16", "float16"]
    inputs, outputs = artifact_io(spec, "trt", "fp16")  # TensorRT keeps fp32 I/O
    assert [t.dtype for t in (*inputs, *outputs)] == ["float32", "float32"]


# -- corrupt and failing artifacts --------------------------------------------------------------


def test_corrupt_cached_artifact_is_returned_as_a_hit_not_as_a_new_export(resnext, tmp_path):
    """Documents current behaviour: the cache trusts any existing directory. A corrupted artifact is
    handed back unchanged with cache_hit=True (never re-exported, never reported as fresh); it only
    fails when a runtime loads it. Clearing the cache directory is the user's fix."""
    spec, module, digest = resnext
    cache = ExportCache(tmp_path)
    fresh = cache.get(spec, module, digest, "onnx", "fp32", "cpu")
    fresh.path.write_bytes(b"not an onnx model")
    again = cache.get(spec, module, digest, "onnx", "fp32", "cpu")
    assert again.cache_hit is True
    assert again.path == fresh.path
    assert again.path.read_bytes() == b"not an onnx model"
    with pytest.raises(Exception):
        load_runner("onnx", again.path, "cpu")


def test_cached_directory_without_its_artifact_is_still_a_hit(resnext, tmp_path):
    """Documents current behaviour: a hit is decided by the directory alone, so a deleted file gives a
    path that does not exist (the server then fails to load the model)."""
    spec, module, digest = resnext
    cache = ExportCache(tmp_path)
    fresh = cache.get(spec, module, digest, "ts-script", "fp32", "cpu")
    fresh.path.unlink()
    again = cache.get(spec, module, digest, "ts-script", "fp32", "cpu")
    assert again.cache_hit is True and not again.path.exists()


class _NotScriptable(torch.nn.Module):
    def forward(self, x):
        return sum(v for v in [x])  # generator expressions are outside TorchScript


class _Doubler(torch.nn.Module):
    def forward(self, x):
        return x * 2


class _FixedBatch(torch.nn.Module):
    """Traced at batch 8 with a literal 8: the trace cannot run batch 1."""

    def forward(self, x):
        return x.view(8, -1) * 2


def tiny_spec(name, module_type) -> ModelSpec:
    x = np.arange(32, dtype=np.float32).reshape(8, 4)
    return ModelSpec(
        name=name,
        family="test",
        build=module_type,
        inputs=(TensorSpec("x", "float32", (4,)),),
        outputs=(TensorSpec("y", "float32", (4,)),),
        make_samples=lambda: [SampleCase(8, "b8", {"x": x})],
    )


def test_failed_export_raises_export_error_and_leaves_nothing(tmp_path):
    spec = tiny_spec("not-scriptable", _NotScriptable)
    cache = ExportCache(tmp_path)
    with pytest.raises(ExportError) as info:
        cache.get(spec, spec.build(), "1" * 64, "ts-script", "fp32", "cpu")
    message = str(info.value)
    assert message.startswith("not-scriptable cannot be exported as ts-script fp32: ")
    # The remedy: another format, or the format declared unsupported in the spec.
    assert "serve it in another format" in message and "unsupported_formats={'ts-script': 'why'}" in message
    assert info.value.options == ("triton_formats",)
    assert info.value.__cause__ is not None
    assert [n for n in entries(tmp_path) if not n.endswith(".lock")] == []  # staging removed, nothing cached


class _KthValue(torch.nn.Module):
    def forward(self, x):
        return torch.kthvalue(x, 2, dim=1).values[:, None].expand(-1, 4)


def test_an_op_onnx_cannot_export_says_so_in_one_line_and_prints_nothing(tmp_path, capfd):
    """torch's exporter prints the whole TorchScript graph from C++ before it raises: dozens of lines in a test
    report, where the one line of the error says what."""
    spec = tiny_spec("kth", _KthValue)
    with pytest.raises(ExportError) as info:
        ExportCache(tmp_path).get(spec, spec.build(), "6" * 64, "onnx", "fp32", "cpu")
    assert "Exporting the operator 'aten::kthvalue' to ONNX opset version 17 is not supported" in str(info.value)
    assert "\n" not in str(info.value)
    out, err = capfd.readouterr()
    assert "Torch IR graph" not in out + err


def test_fp32_artifact_that_does_not_run_is_an_export_error(tmp_path):
    spec = tiny_spec("fixed-batch", _FixedBatch)
    cache = ExportCache(tmp_path)
    with pytest.raises(ExportError) as info:
        cache.get(spec, spec.build(), "2" * 64, "ts-trace", "fp32", "cpu")
    assert "the fresh ts-trace export of fixed-batch does not run" in str(info.value)
    assert [n for n in entries(tmp_path) if not n.endswith(".lock")] == []


def test_reduced_precision_refusal_is_cached_as_unsupported(tmp_path):
    spec = tiny_spec("fixed-batch", _FixedBatch)
    cache = ExportCache(tmp_path)
    with pytest.raises(Unsupported) as first:
        cache.get(spec, spec.build(), "3" * 64, "ts-trace", "fp16", "cpu")
    assert "ts-trace fp16 does not run on cpu here" in str(first.value)
    (directory,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert entries(directory) == ["unsupported.txt"]  # the artifact itself is not kept
    stamp = (directory / "unsupported.txt").stat().st_mtime_ns
    with pytest.raises(Unsupported) as second:
        cache.get(spec, spec.build(), "3" * 64, "ts-trace", "fp16", "cpu")
    assert str(second.value) == str(first.value)
    assert (directory / "unsupported.txt").stat().st_mtime_ns == stamp  # not exported again


def test_runtime_refusal_names_the_cause(tmp_path):
    spec = tiny_spec("fixed-batch", _FixedBatch)
    with pytest.raises(ExportError) as info:
        ExportCache(tmp_path).get(spec, spec.build(), "4" * 64, "ts-trace", "fp32", "cpu")
    assert "is invalid for input of size" in str(info.value)
