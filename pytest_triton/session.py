"""One testing session against one server: start it, deploy variants on demand, remember every outcome.

Usable without pytest; the plugin holds one of these per process in `config.stash`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from pytest_triton.baselines.software import software_versions
from pytest_triton.checks.against import BaselineSide
from pytest_triton.checks.payload import reference_outputs
from pytest_triton.checks.performance import Reference
from pytest_triton.errors import (
    Advised,
    BaselineDeploymentError,
    ModelLoadError,
    ServerStartError,
    TritonPluginError,
    Unsupported,
)
from pytest_triton.export.cache import Artifact, ExportCache, check_supported
from pytest_triton.export.fingerprint import Fingerprint
from pytest_triton.kinds import PRECISIONS, SERVED, variant_id
from pytest_triton.launch_modes import make_server
from pytest_triton.models.kind import kind_from_config
from pytest_triton.models.served import served_tensor, spec_from_server
from pytest_triton.models.spec import ModelSpec, TensorSpec
from pytest_triton.models.spec_check import checked_module
from pytest_triton.perf.reference import REFERENCE_MODEL
from pytest_triton.perf.workload import Workload
from pytest_triton.repository.backends import PROBE_PREFIX, probe_backends
from pytest_triton.repository.baseline_deployment import (
    baseline_model,
    check_signature,
    directory_models,
    load_from_directory,
)
from pytest_triton.repository.deployment import Deployment, ModelFiles, deploy
from pytest_triton.repository.policy import ServingPolicy
from pytest_triton.repository.saved import SavedModel, save_model
from pytest_triton.repository.store import ModelRepository
from pytest_triton.server.client import TritonClient
from pytest_triton.server.endpoint import Server, ServerEndpoint
from pytest_triton.server.remote import RemoteServer
from pytest_triton.settings import Settings

if TYPE_CHECKING:  # torch is imported where a reference model is built: served models are checked without it
    import torch

K = TypeVar("K")
V = TypeVar("V")
BASELINE_SERVER_TIMEOUT_S = 10.0  # a server someone else runs is ready already
_PROBE_LOG_LINES = 40  # more than the backend probes write, so a tail without them still has `lines` lines
# A log line's prefix with no message after it: "I1204 12:15:54.869152 3788 server.cc:604]".
_EMPTY_LOG_LINE = re.compile(r"[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]")
# What a healthy server logs on a machine without a GPU or DCGM, and for a python model it asks to auto-complete.
_BENIGN = (
    "Failed to initialize NVML",
    "DCGM unable to start",
    "CudaDriverHelper has not been initialized",
    "Unable to allocate pinned system memory",
    "CUDA memory pool disabled",
    "Collecting CPU metrics",
    "Python stub for auto-complete",
)


@dataclass(frozen=True)
class ServerFacts:
    """What the server says about itself; the terminal summary shows these."""

    version: str
    launch_mode: str
    address: str  # where a remote server answers; "" for one this run launched
    device: str
    backends: tuple[str, ...]
    start_seconds: float


@dataclass
class TritonSession:
    settings: Settings
    work_dir: Path
    cache_dir: Path
    worker_index: int = 0
    server: Server | None = None
    endpoint: ServerEndpoint | None = None
    facts: ServerFacts | None = None
    _client: TritonClient | None = field(default=None, repr=False)
    # Each kept by _remembered: per model its checked module and fingerprint, per (model, format, precision) its
    # export, per serving policy too its deployment; or why there is none, raised again as the same error.
    _references: dict[str, tuple[torch.nn.Module, Fingerprint] | Advised] = field(default_factory=dict, repr=False)
    _artifacts: dict[tuple[str, str, str], Artifact | Advised] = field(default_factory=dict, repr=False)
    _deployments: dict[tuple[str, str, str, ServingPolicy], Deployment | Advised] = field(
        default_factory=dict, repr=False
    )
    exports_cached: int = 0
    exports_new: int = 0
    unloaded: int = 0  # deployments unloaded again (the config search's candidates)
    _perf_reference: Workload | Exception | None = field(default=None, repr=False)
    # Per candidate model, its model in the baseline deployment (perf_against), or why there is none.
    _against: dict[str, BaselineSide | Advised] = field(default_factory=dict, repr=False)
    _against_server: tuple[ServerEndpoint, TritonClient] | Advised | None = field(default=None, repr=False)

    def start(self) -> ServerFacts:
        began = time.monotonic()
        _check_gpus(self.settings.gpus)
        self.server = make_server(self.settings, self.work_dir, self.worker_index)
        try:
            self.endpoint = self.server.start()
            self._client = TritonClient(
                self.endpoint, self.endpoint.preferred(self.settings.protocol), self.settings.stream_timeout
            )
            metadata = self._client.server_metadata()
            placed = ModelRepository(self._client, self.server.repository)
            backends = probe_backends(placed) if self.endpoint.manages_models else ()
        except BaseException:
            self.close()
            raise
        self.facts = ServerFacts(
            version=str(metadata.get("version", "?")),
            launch_mode=self.endpoint.launch_mode,
            address=str(self.settings.remote) if self.endpoint.launch_mode == "remote" and self.settings.remote else "",
            device=self.settings.device,
            backends=backends,
            start_seconds=time.monotonic() - began,
        )
        return self.facts

    @property
    def client(self) -> TritonClient:
        if self._client is None:
            raise TritonPluginError("the Triton session was not started")
        return self._client

    def reference(self, spec: ModelSpec) -> torch.nn.Module:
        """The eager fp32 module, built and checked against its spec once per session (SpecError where the spec
        is wrong: the same error every time)."""
        return self._built(spec)[0]

    def answers_reference(self, spec: ModelSpec) -> Reference | None:
        """The eager module's answers to spec-named inputs, where the spec has one and no golden files stand in
        for it: what answers sampled under load are held to."""
        if spec.build is None or self.settings.golden_dir is not None:
            return None
        module = self.reference(spec)
        return lambda inputs: reference_outputs(module, spec, inputs, self.settings.device)

    def weights_digest(self, spec: ModelSpec) -> str:
        """sha256 of the reference module's weights: what tells two models with the same name apart."""
        return self._built(spec)[1].weights

    def _built(self, spec: ModelSpec) -> tuple[torch.nn.Module, Fingerprint]:
        """The checked module and its fingerprint, or why there is none: a wrong spec, a checkpoint that is not
        there, a model known only by name."""

        def build() -> tuple[torch.nn.Module, Fingerprint]:
            module = checked_module(spec)
            return module, Fingerprint.of(module)

        return _remembered(self._references, spec.name, build)

    def deployment(
        self, spec: ModelSpec, fmt: str, precision: str, serving: ServingPolicy = ServingPolicy()
    ) -> Deployment:
        """Export (cached) and deploy one variant under one serving policy once; later calls re-raise the
        first outcome's error."""
        key = (spec.name, fmt, precision, serving)
        return _remembered(self._deployments, key, lambda: self._deploy(spec, fmt, precision, serving))

    def reloader(self, deployment: Deployment) -> Callable[[], float] | None:
        """A function that unloads and loads `deployment` again and returns the load's seconds, where this run
        placed it in a repository directory on this machine; None elsewhere."""
        if deployment.load_s is None or self.server is None or self.server.repository is None:
            return None
        repository = ModelRepository(self.client, self.server.repository)
        return lambda: repository.reload(deployment.model_name)

    def perf_reference(self) -> Workload:
        """The requests of the reference a perf measurement is set against (perf.reference), its model loaded once.
        Unsupported where this run cannot load it: a server it does not manage, or one without the python
        backend. A load that failed fails every later call the same way, without trying again."""
        if self._perf_reference is None:
            self._perf_reference = self._load_perf_reference()
        if isinstance(self._perf_reference, Exception):
            raise self._perf_reference
        return self._perf_reference

    def _load_perf_reference(self) -> Workload | Exception:
        if self.endpoint is None or not self.endpoint.manages_models:
            return Unsupported("the perf reference can only be loaded on a server this run manages")
        if self.facts is not None and "python" not in self.facts.backends:
            return Unsupported("the perf reference is a python-backend model, and this server has no python backend")
        try:
            REFERENCE_MODEL.place(ModelRepository(self.client, self.server.repository if self.server else None))
        except ModelLoadError as error:
            return error
        return REFERENCE_MODEL.workload()

    def unload(self, deployment: Deployment) -> None:
        """Unload a deployment this run made and forget it (a later `deployment` call loads it again): the config
        search measures one candidate at a time, with nothing else of its own loaded beside it."""
        ModelRepository(self.client, None).unload(deployment.model_name)
        self.unloaded += 1
        self._deployments = {key: d for key, d in self._deployments.items() if d is not deployment}

    def artifact(self, spec: ModelSpec, fmt: str, precision: str) -> Artifact:
        """The exported file of one variant (from the export cache where it holds it), as the server gets it; also
        for timing it in-process. Asked once per session: a failure is raised again as the same error, so that it
        is reported once and not exported again for every serving policy."""
        return _remembered(self._artifacts, (spec.name, fmt, precision), lambda: self._export(spec, fmt, precision))

    def _export(self, spec: ModelSpec, fmt: str, precision: str) -> Artifact:
        check_supported(spec, fmt, precision, self.settings.device)
        module, fingerprint = self._built(spec)
        device = self.settings.device
        artifact = ExportCache(self.cache_dir).get(spec, module, fingerprint.digest, fmt, precision, device)
        if artifact.cache_hit:
            self.exports_cached += 1
        else:
            self.exports_new += 1
        return artifact

    def _deploy(self, spec: ModelSpec, fmt: str, precision: str, serving: ServingPolicy) -> Deployment:
        if self.endpoint is None:
            raise TritonPluginError("the Triton session was not started")
        if fmt == SERVED:
            return self._served(spec, precision)
        artifact = self.artifact(spec, fmt, precision)
        repository = ModelRepository(self.client, self.server.repository if self.server else None)
        keep = None
        if self.settings.save_deployment is not None:
            keep = lambda name, made: self._save(name, made, spec, artifact.format, precision, serving)  # noqa: E731
        return deploy(
            repository,
            spec,
            artifact,
            self.facts.backends if self.facts else (),
            name=variant_id(spec.name, fmt, precision, serving.suffix),
            batching=serving.batching,
            instances=serving.instances(self.settings.gpus),
            warmup=serving.warmup,
            cuda_graphs=serving.cuda_graphs,
            max_batch_size=serving.max_batch_size,
            keep=keep,
        )

    def _save(
        self, name: str, made: ModelFiles, spec: ModelSpec, fmt: str, precision: str, serving: ServingPolicy
    ) -> None:
        """Save a model this run loaded into settings.save_deployment, with what made it."""
        assert self.settings.save_deployment is not None
        fingerprint = self._built(spec)[1]
        entry = SavedModel(
            model=spec.name,
            format=fmt,
            precision=precision,
            serving=serving.suffix,
            max_batch_size=made.config.max_batch_size,
            served_by=made.served_by,
            weights_digest=fingerprint.weights,
            code_digest=fingerprint.code,
            saved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            versions=self._saved_versions,
        )
        save_model(self.settings.save_deployment, name, made, entry)

    @functools.cached_property
    def _saved_versions(self) -> dict[str, str | None]:
        """What a saved model's manifest entry says made it, asked once a session (on a GPU, nvidia-smi runs)."""
        versions = software_versions({"version": self.facts.version} if self.facts else None, None, self.settings.gpus)
        return {"pytest_triton": _own_version(), **{k: v for k, v in versions.items() if k != "backend"}}

    def against(self, deployment: Deployment) -> BaselineSide:
        """`deployment`'s model in the baseline deployment (settings.perf_against), loaded beside it where the
        baseline is a directory, and checked to take the same requests; asked once per model (BaselineDeploymentError,
        the same every time, where there is none)."""
        return _remembered(self._against, deployment.model_name, lambda: self._baseline_side(deployment))

    def baseline_client(self, deployment: Deployment) -> tuple[TritonClient, Deployment] | None:
        """A client of the server that serves `deployment`'s baseline model, and that model as served there; None
        where the run has no baseline deployment (settings.perf_against). For checks that ask it one request at a
        time (accuracy on the same data)."""
        if self.settings.perf_against is None:
            return None
        side = self.against(deployment)
        client = self.client if side.endpoint == self.endpoint else self._baseline_server()[1]
        return client, side.deployment

    def _baseline_side(self, deployment: Deployment) -> BaselineSide:
        from tritonclient.utils import InferenceServerException

        source = self.settings.perf_against
        if source is None or self.endpoint is None:
            raise TritonPluginError("no baseline deployment was given to measure against")
        try:
            if source.directory is not None:
                endpoint, client, loaded = self._baseline_from_directory(deployment, source.directory)
            else:
                endpoint, client, loaded = self._baseline_on_server(deployment)
            where = f"model '{loaded}' in {source.label}"
            batches = client.model_config(loaded).max_batch_size > 0
            metadata = client.model_metadata(loaded)
        except InferenceServerException as error:
            raise BaselineDeploymentError(
                f"the baseline deployment {source.label} did not answer as asked: {error.message()}"
            ) from None
        if batches != (deployment.max_batch_size > 0):
            raise BaselineDeploymentError(
                f"the baseline {where} {'batches' if batches else 'does not batch'}, the candidate "
                f"{'does' if deployment.max_batch_size > 0 else 'does not'}: the same requests cannot go to both"
            )
        check_signature(deployment.inputs, deployment.outputs, metadata, where, int(batches))
        baseline = dataclasses.replace(deployment, model_name=loaded, config=None, load_s=None, warmup_inferences=0)
        return BaselineSide(endpoint, baseline, source.label)

    def _baseline_from_directory(
        self, deployment: Deployment, directory: Path
    ) -> tuple[ServerEndpoint, TritonClient, str]:
        """The baseline's model for `deployment` loaded beside it from `directory`: the endpoint, client and name."""
        assert self.endpoint is not None and self.settings.perf_against is not None
        if not self.endpoint.manages_models:
            raise BaselineDeploymentError(
                f"the baseline deployment {directory} is loaded beside the candidate on a server this run manages; "
                "against a server someone else runs, give the baseline as a server's URL",
                options=("triton_perf_against",),
            )
        available = directory_models(directory)
        name = baseline_model(deployment.model_name, deployment.spec.name, available, self.settings.perf_against)
        repository = ModelRepository(self.client, self.server.repository if self.server else None)
        return self.endpoint, self.client, load_from_directory(repository, directory, name)

    def _baseline_on_server(self, deployment: Deployment) -> tuple[ServerEndpoint, TritonClient, str]:
        """The baseline server's model for `deployment`, ready: the endpoint, client and name."""
        assert self.endpoint is not None and self.settings.perf_against is not None
        source = self.settings.perf_against
        assert source.address is not None
        protocol = self.endpoint.preferred(self.settings.protocol)
        if protocol not in source.address.protocols:  # both sides are measured over one protocol
            raise BaselineDeploymentError(
                f"the baseline server {source.label} is known by another protocol's address, and this run measures "
                f"over {protocol}: give its {protocol}://HOST:PORT",
                options=("triton_perf_against",),
            )
        endpoint, client = self._baseline_server()
        served = tuple(sorted(str(m["name"]) for m in client.repository_index()))
        loaded = baseline_model(deployment.model_name, deployment.spec.name, served, source)
        if not client.is_model_ready(loaded):
            raise BaselineDeploymentError(f"model '{loaded}' is not ready on the baseline server {source.label}")
        return endpoint, client, loaded

    def _baseline_server(self) -> tuple[ServerEndpoint, TritonClient]:
        """The endpoint of the baseline server, and a client of it, once (the first failure every time)."""
        if self._against_server is None:
            self._against_server = self._connect_baseline()
        if isinstance(self._against_server, Advised):
            raise self._against_server
        return self._against_server

    def _connect_baseline(self) -> tuple[ServerEndpoint, TritonClient] | Advised:
        source = self.settings.perf_against
        assert source is not None and source.address is not None
        endpoint = RemoteServer(source.address, self.settings.protocol, self.settings.security).endpoint()
        client = TritonClient(endpoint, endpoint.preferred(self.settings.protocol))
        try:
            client.wait_ready(BASELINE_SERVER_TIMEOUT_S)
        except ServerStartError as error:
            client.close()
            return BaselineDeploymentError(
                f"the baseline server {source.label} did not answer: {error}; check its address and that it runs",
                options=("triton_perf_against",),
            )
        return endpoint, client

    def log_tail(self, lines: int) -> str:
        """The last `lines` lines of the server's log, less those of the backend probes, whose expected load
        failures ("unable to find backend library") read like the cause of whatever failed later, less what every
        server says on a machine without a GPU, and less blank lines."""
        if self.server is None:
            return ""
        tail = self.server.log_tail(lines + _PROBE_LOG_LINES).splitlines(keepends=True)
        return "".join([line for line in tail if _worth_reading(line)][-lines:])

    def _served(self, spec: ModelSpec, precision: str) -> Deployment:
        """A model someone else deployed under the spec's name: loaded by name where this run controls the server
        (an existing repository served beside ours), with its dtypes as the server reports them, and its whole
        signature where the spec came from the server."""
        if self.endpoint is not None and self.endpoint.manages_models:
            self.client.load_model(spec.name)
        elif not self.client.is_model_ready(spec.name):
            raise ModelLoadError(
                f"model '{spec.name}' is not ready on {self.settings.url}; deploy it there, or name the served "
                "models to check",
                options=("triton_models",),
            )
        metadata = self.client.model_metadata(spec.name)
        config = self.client.model_config(spec.name)
        if spec.from_server:
            checkpoint = self.settings.checkpoints.get(spec.name)
            spec = spec_from_server(spec.name, metadata, config.max_batch_size, self.settings.input_shapes, checkpoint)
        dtypes = {
            t["name"]: served_tensor(spec.name, t).dtype
            for t in (*metadata.get("inputs", []), *metadata.get("outputs", []))
        }
        missing = [t.name for t in (*spec.inputs, *spec.outputs) if t.name not in dtypes]
        if missing:
            raise TritonPluginError(
                f"model '{spec.name}' has no tensor named {', '.join(missing)}: it serves "
                f"{', '.join(dtypes)}; name the spec's tensors as the server does"
            )

        def served(tensors: tuple[TensorSpec, ...]) -> tuple[TensorSpec, ...]:
            return tuple(TensorSpec(t.name, dtypes[t.name], t.dims) for t in tensors)

        # A deployment that says its data type (FasterTransformer's `data_type`) is held to that precision's tolerance.
        data_type = config.parameters["data_type"].string_value if "data_type" in config.parameters else ""
        return Deployment(
            spec.name,
            spec,
            SERVED,
            data_type if data_type in PRECISIONS else precision,
            config.backend or config.platform or "unknown",
            served(spec.inputs),
            served(spec.outputs),
            spec.max_batch_size,
            config,
            kind=kind_from_config(config),
        )

    def summary(self) -> str:
        """One line for the end of a run: what was deployed and how much came from the export cache."""
        loaded = sum(isinstance(d, Deployment) for d in self._deployments.values())
        deployed = loaded + self.unloaded
        skipped = sum(isinstance(d, Unsupported) for d in self._deployments.values())
        failed = len(self._deployments) - loaded - skipped
        unloaded = f" ({self.unloaded} unloaded again)" if self.unloaded else ""
        kept = ": reused for the same weights, code and spec; delete it to export again" if self.exports_cached else ""
        refresh = f" ({self.cache_dir}{kept})"
        return (
            f"{deployed} deployed{unloaded}, {skipped} unsupported here, {failed} failed; "
            f"exports: {self.exports_new} new, {self.exports_cached} from cache{refresh}"
        )

    def close(self) -> None:
        if isinstance(self._against_server, tuple):
            self._against_server[1].close()
            self._against_server = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.server is not None:
            self.server.stop()


def _remembered(kept: dict[K, V | Advised], key: K, make: Callable[[], V]) -> V:
    """make()'s value under `key`, made once; where it raised one of the library's errors, that same error object
    every time: a cause is then reported once (outcomes), and nothing is built or exported again only to fail."""
    if key not in kept:
        try:
            kept[key] = make()
        except Advised as error:
            kept[key] = error
    outcome = kept[key]
    if isinstance(outcome, Advised):
        raise outcome
    return outcome


def _own_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("pytest-triton")
    except metadata.PackageNotFoundError:
        return None


def _worth_reading(line: str) -> bool:
    """Not blank, not a backend probe's, not the start-up table's (its rows, its rules and the log lines with no
    message that head its parts), not benign."""
    text = line.strip()
    if not text or text[0] in "|+" or _EMPTY_LOG_LINE.fullmatch(text) or PROBE_PREFIX in text:
        return False
    return not any(benign in text for benign in _BENIGN)


def _check_gpus(gpus: tuple[int, ...]) -> None:
    """The GPUs asked for must exist, or the server would fail later with a less clear error."""
    if not gpus:
        return
    import torch

    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    missing = [g for g in gpus if g >= available]
    if missing:
        raise TritonPluginError(
            f"GPU {missing[0]} does not exist: this machine has {available} CUDA device(s) visible to torch; "
            "name GPUs that exist, or none to run on the CPU",
            options=("triton_gpu",),
        )
