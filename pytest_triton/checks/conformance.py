"""Conformance: a deployment is served as exported, answers alike over both protocols, and refuses bad requests
cleanly. Each check returns a ConformanceResult; none raises on what it finds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from tritonclient.grpc import model_config_pb2 as mc
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from pytest_triton.checks.exchange import answers
from pytest_triton.checks.parity import differing, identical
from pytest_triton.checks.payload import served_inputs
from pytest_triton.errors import Unsupported
from pytest_triton.kinds import SERVED
from pytest_triton.models.spec import dims_fit
from pytest_triton.repository.config import triton_dtype
from pytest_triton.repository.deployment import Deployment
from pytest_triton.server.client import SequenceStep, TritonClient


@dataclass(frozen=True)
class ConformanceResult:
    """What one conformance check of one deployment found wrong; nothing found is a pass."""

    model_name: str
    check: str  # what was checked, the heading of the report
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        return f"{self.model_name}: {self.check}:\n" + "\n".join(f"  {problem}" for problem in self.problems)


def metadata_matches_signature(client: TritonClient, deployment: Deployment) -> ConformanceResult:
    """The served metadata's inputs and outputs are the exported ones: names, datatypes and shapes (with a leading
    -1 where the model batches)."""
    metadata = client.model_metadata(deployment.model_name)
    batch = [-1] if deployment.max_batch_size > 0 else []
    problems = []
    for kind, expected in (("inputs", deployment.inputs), ("outputs", deployment.outputs)):
        # gRPC's metadata gives dims as strings, HTTP's as numbers.
        served = sorted((t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in metadata.get(kind, []))
        exported = sorted((t.name, np_to_triton_dtype(np.dtype(t.dtype)), batch + list(t.dims)) for t in expected)
        if served != exported:
            problems.append(f"{kind}: served {served}, exported {exported}")
    return ConformanceResult(deployment.model_name, "metadata against the exported signature", tuple(problems))


def config_matches_signature(client: TritonClient, deployment: Deployment) -> ConformanceResult:
    """The served config has the exported max_batch_size, inputs and outputs (in order) and, where this session
    deployed the model, dynamic batching with a queue delay (where the model batches) and a CPU or GPU instance
    group."""
    config = client.model_config(deployment.model_name)
    problems = []
    if config.max_batch_size != deployment.max_batch_size:
        hint = (
            "; the served model does not batch: declare max_batch_size=0 in its spec, with every dimension in dims"
            if config.max_batch_size == 0
            else "; the served model batches: declare its max_batch_size in the spec, without the batch dimension"
            if deployment.max_batch_size == 0
            else ""
        )
        problems.append(f"max_batch_size: served {config.max_batch_size}, exported {deployment.max_batch_size}{hint}")
    for kind, served, expected in (
        ("inputs", config.input, deployment.inputs),
        ("outputs", config.output, deployment.outputs),
    ):
        got = [(t.name, mc.DataType.Name(t.data_type), list(t.dims)) for t in served]
        want = [(t.name, mc.DataType.Name(triton_dtype(t.dtype)), list(t.dims)) for t in expected]
        if got != want:
            problems.append(f"{kind}: served {got}, exported {want}")
    # A model someone else deployed has whatever batching and instances they chose.
    if deployment.format != SERVED:
        if deployment.max_batch_size > 0 and config.dynamic_batching.max_queue_delay_microseconds <= 0:
            problems.append("dynamic batching has no max_queue_delay_microseconds")
        kinds = [mc.ModelInstanceGroup.Kind.Name(group.kind) for group in config.instance_group]
        if not kinds or kinds[0] not in ("KIND_CPU", "KIND_GPU"):
            problems.append(f"instance group kinds {kinds}: expected the first to be KIND_CPU or KIND_GPU")
    return ConformanceResult(deployment.model_name, "config against the exported signature", tuple(problems))


def responses_match_config(client: TritonClient, deployment: Deployment) -> ConformanceResult:
    """Every sample case's answer has the outputs the served config declares, of its datatypes and dims (-1: any;
    the request's batch first where the model batches). The metadata checks cannot see this: the server builds its
    metadata from the config, and a python model's answer is not held to it."""
    config = client.model_config(deployment.model_name)
    # dims are what clients get; a reshape is what the model itself gives, which Triton reshapes to dims.
    declared = {t.name: (t.data_type, list(t.dims)) for t in config.output}
    names, problems = _output_names(deployment), {}
    for case in deployment.spec.make_samples():
        batch = [case.batch_size] if config.max_batch_size > 0 else []
        try:
            responses = answers(client, deployment, served_inputs(deployment, case.inputs), names)
        except InferenceServerException as refused:
            problems[f"case {case.label}"] = f"sample case {case.label} is refused: {refused.message()}"
            continue
        for name, array in ((name, answer[name]) for answer in responses for name in names):
            data_type, dims = declared.get(name, (mc.TYPE_INVALID, []))
            served = triton_dtype(array.dtype.name)
            if (served != data_type or not dims_fit(batch + dims, array.shape)) and name not in problems:
                problems[name] = (
                    f"output {name} of sample case {case.label}: served {mc.DataType.Name(served)} "
                    f"{list(array.shape)}, the config says {mc.DataType.Name(data_type)} {batch + dims}"
                    + (" (the request's batch first)" if batch else "")
                )
    return ConformanceResult(deployment.model_name, "responses against the served config", tuple(problems.values()))


def protocols_agree(client: TritonClient, deployment: Deployment) -> ConformanceResult:
    """The first sample case over gRPC and over HTTP gives identical outputs; a decoupled model's HTTP endpoint
    refuses it instead, saying the model is decoupled. Unsupported where only one protocol's address is known."""
    endpoint = client.endpoint
    if len(endpoint.protocols) < 2:
        raise Unsupported(
            f"only one protocol's address is known for this server ({endpoint.launch_mode} mode, "
            f"{endpoint.protocols[0]} only)"
        )
    inputs, names = _first_case(deployment), _output_names(deployment)
    with client.sibling("grpc") as grpc, client.sibling("http") as http:
        over_grpc = answers(grpc, deployment, inputs, names)
        if deployment.kind.decoupled:
            refused = _http_refuses(http, deployment, inputs, names)
            return ConformanceResult(deployment.model_name, "HTTP refuses a decoupled model", refused)
        over_http = answers(http, deployment, inputs, names)
    problems = [
        f"output {name}: {differing(over_grpc[0][name], over_http[0][name])} between gRPC and HTTP"
        for name in names
        if not identical(over_grpc[0][name], over_http[0][name])
    ]
    return ConformanceResult(deployment.model_name, "gRPC against HTTP", tuple(problems))


def _http_refuses(
    http: TritonClient, deployment: Deployment, inputs: Mapping[str, np.ndarray], names: list[str]
) -> tuple[str, ...]:
    try:
        http.infer(deployment.model_name, inputs, names)
    except InferenceServerException as refused:
        said = refused.message() or ""
        return () if "decoupled" in said.lower() else (f"HTTP refuses it without saying it is decoupled: {said}",)
    return ("HTTP answered a request to a decoupled model: its responses cannot be streamed there",)


Spoil = Callable[[Deployment, Mapping[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class BadRequest:
    """One way to spoil a good request, and the words (lower case) the server's refusal must contain."""

    name: str
    spoil: Spoil
    refusal_says: str


def _wrong_name(deployment: Deployment, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    first = next(iter(inputs))
    return {("not_" + first if k == first else k): v for k, v in inputs.items()}


def _wrong_dtype(deployment: Deployment, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    first = next(iter(inputs))
    value = inputs[first]
    if value.dtype == object:  # BYTES: numbers of the same shape
        return {k: (np.zeros(v.shape, np.float32) if k == first else v) for k, v in inputs.items()}
    wrong = np.int8 if value.dtype != np.int8 else np.float64
    return {k: (v.astype(wrong) if k == first else v) for k, v in inputs.items()}


def _wrong_shape(deployment: Deployment, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    first = next(iter(inputs))
    return {k: (v[..., None] if k == first else v) for k, v in inputs.items()}


def _over_max_batch(deployment: Deployment, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if deployment.max_batch_size == 0:
        raise Unsupported(
            f"{deployment.model_name} does not batch (max_batch_size 0): there is no batch size to exceed"
        )
    size = deployment.max_batch_size + 1
    return {k: np.concatenate([v[:1]] * size) for k, v in inputs.items()}


BAD_REQUESTS = (
    BadRequest("wrong_name", _wrong_name, "unexpected inference input"),
    BadRequest("wrong_dtype", _wrong_dtype, "data-type"),
    BadRequest("wrong_shape", _wrong_shape, "shape"),
    BadRequest("over_max_batch", _over_max_batch, "batch-size must be <="),
)


def bad_request_refused(client: TritonClient, deployment: Deployment, bad: BadRequest) -> ConformanceResult:
    """The spoiled first sample case is refused with words that say why, and afterwards the server and the model
    are still ready and still serve the good one."""
    good, names = _first_case(deployment), _output_names(deployment)
    problems = []
    # A sequence model's bad request goes whole, as a sequence of one step: never split into rows that fit.
    sequence = SequenceStep.whole() if deployment.kind.sequence else None
    try:
        answers(client, deployment, bad.spoil(deployment, good), names, sequence)
        problems.append("the server accepted it")
    except InferenceServerException as refused:
        if bad.refusal_says not in (refused.message() or "").lower():
            problems.append(f"the refusal does not say {bad.refusal_says!r}: {refused.message()}")
    if not (client.is_ready() and client.is_model_ready(deployment.model_name)):
        problems.append("the server or the model is not ready afterwards")
    else:
        try:
            answers(client, deployment, good, names)
        except InferenceServerException as refused:
            problems.append(f"a good request is refused afterwards: {refused.message()}")
    return ConformanceResult(deployment.model_name, f"bad request {bad.name}", tuple(problems))


def _first_case(deployment: Deployment) -> dict[str, np.ndarray]:
    return served_inputs(deployment, deployment.spec.make_samples()[0].inputs)


def _output_names(deployment: Deployment) -> list[str]:
    return [t.name for t in deployment.outputs]
