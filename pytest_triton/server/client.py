"""One client over Triton's gRPC and HTTP APIs, so checks are written once for both protocols."""

from __future__ import annotations

import itertools
import queue
import random
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from google.protobuf import json_format
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from pytest_triton.errors import ModelLoadError, ServerStartError
from pytest_triton.kinds import STREAM_TIMEOUT_S
from pytest_triton.server.endpoint import ServerEndpoint

# Generous enough for a BERT-large batch; a hung server is caught by these, never by the CI timeout.
REQUEST_TIMEOUT_S = 120.0
LOAD_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ModelStatistics:
    """Cumulative counters of one model version, as the statistics extension reports them."""

    inference_count: int
    execution_count: int
    durations_ns: dict[str, tuple[int, int]]  # success/queue/compute_*: (count, ns)
    batch_counts: dict[int, int]  # batch size -> executions


# Correlation IDs from a random start: workers and runs sharing a server (--triton-url) must never share a sequence.
_IDS = itertools.count(random.SystemRandom().randrange(1 << 40, 1 << 62))


def new_sequence_id() -> int:
    return next(_IDS)


@dataclass(frozen=True)
class SequenceStep:
    """Where a request stands in a sequence: its correlation ID and whether it starts or ends the sequence."""

    id: int
    start: bool = False
    end: bool = False

    @classmethod
    def at(cls, sequence_id: int, step: int, length: int) -> "SequenceStep":
        """Step `step` (0 first) of a sequence of `length` steps."""
        return cls(sequence_id, start=step == 0, end=step == length - 1)

    @classmethod
    def whole(cls) -> "SequenceStep":
        """A new sequence of one step: it starts and ends with this request."""
        return cls(new_sequence_id(), start=True, end=True)

    def arguments(self) -> dict[str, Any]:
        return {"sequence_id": self.id, "sequence_start": self.start, "sequence_end": self.end}


@dataclass(frozen=True)
class Streamed:
    """The responses to one request over a gRPC stream, in the order they came, and when: `final` says whether the
    final flag came before the stream went `timeout_s` without a response (or REQUEST_TIMEOUT_S in all)."""

    responses: tuple[dict[str, np.ndarray], ...]
    final: bool
    arrivals_s: tuple[float, ...]  # seconds from the request to each response holding outputs
    timeout_s: float


class TritonClient:
    """The calls the checks need, over `protocol` ("grpc" or "http") of `endpoint`."""

    def __init__(
        self, endpoint: ServerEndpoint, protocol: str = "grpc", stream_timeout: float = STREAM_TIMEOUT_S
    ) -> None:
        self.endpoint = endpoint
        self.protocol = protocol
        self.stream_timeout = stream_timeout
        security = endpoint.security
        self._headers = dict(security.headers) or None
        url = endpoint.url(protocol)
        if protocol == "grpc":
            self._module = grpcclient
            self._client: Any = grpcclient.InferenceServerClient(
                url, ssl=security.ssl, root_certificates=security.root_certificates
            )
        else:
            self._module = httpclient
            self._client = httpclient.InferenceServerClient(
                url,
                ssl=security.ssl,
                ssl_options={"ca_certs": security.root_certificates} if security.root_certificates else None,
                connection_timeout=REQUEST_TIMEOUT_S,
                network_timeout=REQUEST_TIMEOUT_S,
            )

    def sibling(self, protocol: str) -> "TritonClient":
        """A new client of the same server over `protocol`, with the same timeouts."""
        return TritonClient(self.endpoint, protocol, self.stream_timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "TritonClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- server ---------------------------------------------------------------------------------
    def wait_ready(self, timeout: float) -> None:
        """Poll readiness until `timeout`; raise ServerStartError naming the last problem seen."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                if self._client.is_server_ready(headers=self._headers):
                    return
                last = "the server answers but is not ready"
            except OSError as error:
                last = str(error).strip() or type(error).__name__
            except InferenceServerException as error:
                last = str(error).strip()
                # Only "cannot connect yet" is worth waiting out; any other refusal will not change.
                if error.status() not in (None, "StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED"):
                    raise ServerStartError(f"the server refused the request ({last})") from None
            time.sleep(0.25)
        raise ServerStartError(f"not ready after {timeout:.0f} s ({last})")

    def is_live(self) -> bool:
        return bool(self._client.is_server_live(headers=self._headers))

    def is_ready(self) -> bool:
        return bool(self._client.is_server_ready(headers=self._headers))

    def server_metadata(self) -> dict[str, Any]:
        return self._as_dict(self._client.get_server_metadata(headers=self._headers))

    # -- models ---------------------------------------------------------------------------------
    def load_model(self, name: str, config_json: str | None = None, files: Mapping[str, bytes] | None = None) -> None:
        """Load (or reload) `name`; a refusal becomes ModelLoadError with the server's reason, and so does a load
        that takes longer than LOAD_TIMEOUT_S (HTTP's network timeout bounds it there)."""
        timeout = {"client_timeout": LOAD_TIMEOUT_S} if self.protocol == "grpc" else {}
        try:
            self._client.load_model(name, headers=self._headers, config=config_json, files=files, **timeout)
        except InferenceServerException as error:
            if "DEADLINE_EXCEEDED" in str(error.status()):
                raise ModelLoadError(
                    f"the server did not load model '{name}' within {LOAD_TIMEOUT_S:.0f} s; its log says why it takes "
                    "so long, or serve a smaller model"
                ) from None
            raise ModelLoadError(f"the server could not load model '{name}': {error.message()}") from None

    def unload_model(self, name: str) -> None:
        self._client.unload_model(name, headers=self._headers)

    def is_model_ready(self, name: str) -> bool:
        return bool(self._client.is_model_ready(name, headers=self._headers))

    def model_metadata(self, name: str) -> dict[str, Any]:
        return self._as_dict(self._client.get_model_metadata(name, headers=self._headers))

    def model_config(self, name: str) -> model_config_pb2.ModelConfig:
        """The served config as a protobuf, whichever protocol fetched it."""
        raw = self._client.get_model_config(name, headers=self._headers)
        if self.protocol == "grpc":
            return raw.config
        return json_format.ParseDict(raw, model_config_pb2.ModelConfig(), ignore_unknown_fields=True)

    def repository_index(self) -> list[dict[str, Any]]:
        index = self._client.get_model_repository_index(headers=self._headers)
        if self.protocol == "grpc":
            return [json_format.MessageToDict(m, preserving_proto_field_name=True) for m in index.models]
        return list(index)

    def statistics(self, name: str) -> ModelStatistics:
        raw = self._as_dict(self._client.get_inference_statistics(name, headers=self._headers))
        stats = raw["model_stats"][0]
        durations = {
            key: (int(value.get("count", 0)), int(value.get("ns", 0)))
            for key, value in stats.get("inference_stats", {}).items()
        }
        batches = {
            int(b["batch_size"]): int(b.get("compute_infer", {}).get("count", 0)) for b in stats.get("batch_stats", [])
        }
        return ModelStatistics(
            inference_count=int(stats.get("inference_count", 0)),
            execution_count=int(stats.get("execution_count", 0)),
            durations_ns=durations,
            batch_counts=batches,
        )

    # -- inference ------------------------------------------------------------------------------
    def infer(
        self,
        name: str,
        inputs: Mapping[str, np.ndarray],
        outputs: Sequence[str],
        timeout: float = REQUEST_TIMEOUT_S,
        sequence: SequenceStep | None = None,
        version: int = -1,
    ) -> dict[str, np.ndarray]:
        """Run one request (on `version`; -1: the server's choice); raises InferenceServerException with the server's
        message on refusal."""
        kwargs: dict[str, Any] = {"headers": self._headers, **(sequence.arguments() if sequence else {})}
        if version >= 0:
            kwargs["model_version"] = str(version)
        if self.protocol == "grpc":
            kwargs["client_timeout"] = timeout
        result = self._client.infer(name, self._request(inputs), outputs=self._wanted(outputs), **kwargs)
        return {o: result.as_numpy(o) for o in outputs}

    def stream(
        self, name: str, inputs: Mapping[str, np.ndarray], outputs: Sequence[str], sequence: SequenceStep | None = None
    ) -> Streamed:
        """Send one request over a gRPC stream and collect its responses until the final flag, or until the stream
        goes stream_timeout seconds without one, or REQUEST_TIMEOUT_S pass in all (a model that streams without
        end); then the request is cancelled. Raises InferenceServerException with the server's message where it
        refuses the request."""
        if self.protocol != "grpc":
            raise ValueError("streaming is gRPC's: HTTP has no streams")
        arrived: queue.Queue[tuple[float, Any, Any]] = queue.Queue()
        self._client.start_stream(
            lambda result, error: arrived.put((time.monotonic(), result, error)), headers=self._headers
        )
        responses: list[dict[str, np.ndarray]] = []
        times: list[float] = []
        try:
            sent = time.monotonic()
            self._client.async_stream_infer(
                name,
                self._request(inputs),
                outputs=self._wanted(outputs),
                enable_empty_final_response=True,
                **(sequence.arguments() if sequence else {}),
            )
            while (left := sent + REQUEST_TIMEOUT_S - time.monotonic()) > 0:
                try:
                    when, result, error = arrived.get(timeout=min(self.stream_timeout, left))
                except queue.Empty:
                    break
                if error is not None:
                    raise error
                response = result.get_response()
                if response.outputs:
                    responses.append({o: result.as_numpy(o) for o in outputs})
                    times.append(when - sent)
                if response.parameters["triton_final_response"].bool_param:
                    return Streamed(tuple(responses), True, tuple(times), self.stream_timeout)
            return Streamed(tuple(responses), False, tuple(times), self.stream_timeout)
        finally:
            self._client.stop_stream(cancel_requests=True)

    def _request(self, inputs: Mapping[str, np.ndarray]) -> list[Any]:
        request = []
        for input_name, array in inputs.items():
            tensor = self._module.InferInput(input_name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array)
            request.append(tensor)
        return request

    def _wanted(self, outputs: Sequence[str]) -> list[Any]:
        return [self._module.InferRequestedOutput(o) for o in outputs]

    def _as_dict(self, message: Any) -> dict[str, Any]:
        if self.protocol == "grpc":
            return json_format.MessageToDict(message, preserving_proto_field_name=True)
        return dict(message)
