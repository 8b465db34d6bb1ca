"""Turning an artifact into a served model: native backend where the server has one, else the python runner."""

from __future__ import annotations

from dataclasses import dataclass, field

from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.export.cache import Artifact
from pytest_triton.export.formats import export_format
from pytest_triton.kinds import variant_id
from pytest_triton.models.spec import ModelSpec, TensorSpec
from pytest_triton.repository.config import build_config
from pytest_triton.repository.policy import BatchingPolicy, InstancePolicy
from pytest_triton.repository.python_runner import MODEL_FILE
from pytest_triton.repository.store import ModelRepository


@dataclass(frozen=True)
class Deployment:
    """A model as the server serves it: what the checks talk to. Knows nothing of how the server runs."""

    model_name: str
    spec: ModelSpec
    format: str
    precision: str
    backend: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int
    config: mc.ModelConfig | None = field(default=None, compare=False, repr=False)
    # Seconds from the load request to READY, where this run loaded the model (its cold start, perf.cold_start).
    load_s: float | None = field(default=None, compare=False)
    # Inferences the server ran before anyone asked: model_warmup's, one per instance.
    warmup_inferences: int = 0

    @property
    def variant(self) -> str:
        return f"{self.format}-{self.precision}"


def _libtorch_names(tensors: tuple[TensorSpec, ...], prefix: str) -> tuple[TensorSpec, ...]:
    # The libtorch backend maps tensors by position through the <name>__<index> convention.
    return tuple(TensorSpec(f"{prefix}__{i}", t.dtype, t.dims) for i, t in enumerate(tensors))


def _warmup_dims(spec: ModelSpec, served: tuple[TensorSpec, ...]) -> dict[str, tuple[int, ...]]:
    """One row's dims per served input, from the spec's largest sample case (it fixes variable dims)."""
    case = spec.largest_case()
    batched = spec.max_batch_size > 0
    return {
        tensor.name: tuple(case.inputs[own.name].shape[1 if batched else 0 :])
        for own, tensor in zip(spec.inputs, served)
    }


def deploy(
    repository: ModelRepository,
    spec: ModelSpec,
    artifact: Artifact,
    backends: tuple[str, ...],
    *,
    name: str | None = None,
    batching: BatchingPolicy = BatchingPolicy(),
    instances: InstancePolicy = InstancePolicy(),
    warmup: bool = False,
) -> Deployment:
    """Write the config and files for `artifact` and load it; ModelLoadError carries the server's reason."""
    model_name = name or variant_id(spec.name, artifact.format, artifact.precision)
    fmt = export_format(artifact.format)
    inputs, outputs = artifact.inputs, artifact.outputs
    files: dict[str, object] = {f"1/{fmt.file_name}": artifact.path}
    if fmt.backend in backends:
        if fmt.platform == "pytorch_libtorch":
            inputs, outputs = _libtorch_names(inputs, "input"), _libtorch_names(outputs, "output")
        config = build_config(
            model_name,
            inputs,
            outputs,
            spec.max_batch_size,
            platform=fmt.platform,
            batching=batching,
            instances=instances,
            warmup=_warmup_dims(spec, inputs) if warmup else None,
        )
        served_by = fmt.platform
    else:
        config = build_config(
            model_name,
            inputs,
            outputs,
            spec.max_batch_size,
            backend="python",
            batching=batching,
            instances=instances,
            warmup=_warmup_dims(spec, inputs) if warmup else None,
            parameters={"format": artifact.format, "artifact": fmt.file_name},
        )
        files["1/model.py"] = MODEL_FILE
        served_by = "python"
    loaded = repository.place(model_name, config, files)  # type: ignore[arg-type]
    return Deployment(
        model_name,
        spec,
        artifact.format,
        artifact.precision,
        served_by,
        inputs,
        outputs,
        spec.max_batch_size,
        config,
        loaded,
        instances.count * max(1, len(instances.gpus)) if warmup else 0,  # count is per GPU where GPUs are named
    )
