"""Turning an artifact into a served model: native backend where the server has one, else the python runner."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tritonclient.grpc import model_config_pb2 as mc

from pytest_triton.errors import Unsupported
from pytest_triton.export.cache import Artifact
from pytest_triton.export.formats import export_format
from pytest_triton.kinds import SERVED, variant_id
from pytest_triton.models.kind import STATELESS, ModelKind
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
    # As its config declares it; this run's own deployments are stateless.
    kind: ModelKind = STATELESS

    @property
    def variant(self) -> str:
        return f"{self.format}-{self.precision}"

    def own_parameters(self) -> dict[str, str]:
        """The config's parameters of a model someone else deployed (FasterTransformer's say how it runs); none for
        this run's own deployments, whose parameters are the python runner's."""
        if self.format != SERVED or self.config is None:
            return {}
        return {key: value.string_value for key, value in sorted(self.config.parameters.items())}


def _libtorch_names(tensors: tuple[TensorSpec, ...], prefix: str) -> tuple[TensorSpec, ...]:
    # The libtorch backend maps tensors by position through the <name>__<index> convention.
    return tuple(TensorSpec(f"{prefix}__{i}", t.dtype, t.dims) for i, t in enumerate(tensors))


def _row_dims(spec: ModelSpec, served: tuple[TensorSpec, ...]) -> dict[str, tuple[int, ...]]:
    """One row's dims per served input, from the spec's largest sample case (it fixes variable dims)."""
    case = spec.largest_case()
    batched = spec.max_batch_size > 0
    return {
        tensor.name: tuple(case.inputs[own.name].shape[1 if batched else 0 :])
        for own, tensor in zip(spec.inputs, served)
    }


@dataclass(frozen=True)
class ModelFiles:
    """What a model directory holds for an artifact: its config, its files (relative path -> source) and the
    tensors as served under that config."""

    config: mc.ModelConfig
    files: dict[str, Path | bytes]
    served_by: str  # the platform, or "python" for the generic runner
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def model_files(
    spec: ModelSpec,
    artifact: Artifact,
    backends: tuple[str, ...],
    name: str,
    *,
    batching: BatchingPolicy = BatchingPolicy(),
    instances: InstancePolicy = InstancePolicy(),
    warmup: bool = False,
    cuda_graphs: bool = False,
    max_batch_size: int | None = None,
) -> ModelFiles:
    """The native backend's config where `backends` has it, else the python runner's. `max_batch_size`: the
    config's, at most the export's (None: the export's). Unsupported: CUDA graphs anywhere but a TensorRT plan on
    the TensorRT backend."""
    fmt = export_format(artifact.format)
    largest = spec.max_batch_size if max_batch_size is None else max_batch_size
    if largest > spec.max_batch_size:
        raise Unsupported(f"{spec.name}: max_batch_size {largest} is above the export's {spec.max_batch_size}")
    inputs, outputs = artifact.inputs, artifact.outputs
    files: dict[str, Path | bytes] = {f"1/{fmt.file_name}": artifact.path}
    native = fmt.backend in backends
    if cuda_graphs and not (native and fmt.platform == "tensorrt_plan"):
        raise Unsupported(
            f"{spec.name}: CUDA graphs are captured by Triton's TensorRT backend, for a TensorRT plan on a GPU; "
            f"this {artifact.format} variant is served by the {fmt.backend if native else 'python'} backend"
        )
    if native and fmt.platform == "pytorch_libtorch":
        inputs, outputs = _libtorch_names(inputs, "input"), _libtorch_names(outputs, "output")
    if not native:
        files["1/model.py"] = MODEL_FILE
    rows = _row_dims(spec, inputs) if warmup or cuda_graphs else None  # the samples are built once for both
    config = build_config(
        name,
        inputs,
        outputs,
        largest,
        batching=batching,
        instances=instances,
        warmup=rows if warmup else None,
        cuda_graphs=rows if cuda_graphs else None,
        platform=fmt.platform if native else "",
        backend="" if native else "python",
        parameters=None if native else {"format": artifact.format, "artifact": fmt.file_name},
    )
    return ModelFiles(config, files, fmt.platform if native else "python", inputs, outputs)


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
    cuda_graphs: bool = False,
    max_batch_size: int | None = None,
    keep: Callable[[str, ModelFiles], None] | None = None,
) -> Deployment:
    """Write the config and files for `artifact` and load it; ModelLoadError carries the server's reason. `keep` is
    given the name and files of a model the server loaded (to save the deployment)."""
    model_name = name or variant_id(spec.name, artifact.format, artifact.precision)
    made = model_files(
        spec,
        artifact,
        backends,
        model_name,
        batching=batching,
        instances=instances,
        warmup=warmup,
        cuda_graphs=cuda_graphs,
        max_batch_size=max_batch_size,
    )
    loaded = repository.place(model_name, made.config, made.files)
    if keep is not None:
        keep(model_name, made)
    return Deployment(
        model_name,
        spec,
        artifact.format,
        artifact.precision,
        made.served_by,
        made.inputs,
        made.outputs,
        made.config.max_batch_size,
        made.config,
        loaded,
        instances.count * max(1, len(instances.gpus)) if warmup else 0,  # count is per GPU where GPUs are named
    )
