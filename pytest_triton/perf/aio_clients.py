"""One inference request of a workload over tritonclient's gRPC or HTTP asyncio client, with the client's
own work timed apart from the wait."""

from __future__ import annotations

import asyncio
import collections
import ssl
import time
from dataclasses import dataclass, replace
from typing import Any

import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import np_to_triton_dtype

from pytest_triton.perf.workload import Workload
from pytest_triton.server.client import SequenceStep, new_sequence_id
from pytest_triton.server.endpoint import ServerEndpoint

_CLOSE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RequestTiming:
    """ns. send: building the request from numpy; recv: turning the response into numpy. Where the answer was
    checked (Workload.checks), `wrong` says what was wrong with it, or is None."""

    latency_ns: int
    send_ns: int
    recv_ns: int
    checked: bool = False
    wrong: str | None = None


class AioInferer:
    """Sends `workload` as a real client would: tensors serialized anew for every request, outputs decoded."""

    def __init__(
        self, endpoint: ServerEndpoint, workload: Workload, protocol: str, timeout_s: float, connections: int
    ) -> None:
        self._workload = workload
        self._headers = dict(endpoint.security.headers) or None
        self._call_options: dict[str, Any] = {"headers": self._headers, "model_version": workload.model_version}
        url = endpoint.url(protocol)
        security = endpoint.security
        if protocol == "grpc":
            import tritonclient.grpc.aio as grpc_aio

            self._module: Any = grpcclient
            self._client: Any = grpc_aio.InferenceServerClient(
                url, ssl=security.ssl, root_certificates=security.root_certificates
            )
            self._call_options["client_timeout"] = timeout_s
            self._outputs = [grpcclient.InferRequestedOutput(name) for name in workload.outputs]
        elif protocol == "http":
            import tritonclient.http.aio as http_aio

            context = ssl.create_default_context(cafile=security.root_certificates) if security.ssl else None
            self._module = httpclient
            # conn_timeout is aiohttp's total per-request timeout.
            self._client = http_aio.InferenceServerClient(
                url, ssl=security.ssl, ssl_context=context, conn_limit=max(connections, 1), conn_timeout=timeout_s
            )
            self._outputs = [httpclient.InferRequestedOutput(name, binary_data=True) for name in workload.outputs]
        else:
            raise ValueError(f"protocol must be 'grpc' or 'http', not {protocol!r}")
        self._dtypes = {name: np_to_triton_dtype(array.dtype) for name, array in workload.requests[0].items()}
        # A sequence model's sequences between two steps, (correlation ID, next step): a request takes one (or starts
        # a new one), so that as many sequences run at once as requests are in flight, each one step at a time.
        self._between: collections.deque[tuple[int, int]] = collections.deque()

    async def request(self, index: int) -> RequestTiming:
        """Send the `index`-th request of the rotation and time it; the check of its answer is not timed."""
        start = time.perf_counter_ns()
        inputs = []
        for name, array in self._workload.request(index).items():
            tensor = self._module.InferInput(name, list(array.shape), self._dtypes[name])
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        length, options = self._workload.sequence_length, self._call_options
        if length:  # a sequence model's request also says where it stands in its sequence
            sequence_id, step = self._between.popleft() if self._between else (new_sequence_id(), 0)
            options = {**options, **SequenceStep.at(sequence_id, step, length).arguments()}
        sent = time.perf_counter_ns()
        result = await self._client.infer(self._workload.model, inputs, outputs=self._outputs, **options)
        received = time.perf_counter_ns()
        if length and step + 1 < length:
            self._between.append((sequence_id, step + 1))
        outputs = {name: result.as_numpy(name) for name in self._workload.outputs}
        for name, array in outputs.items():
            if array is None:
                raise RuntimeError(f"the response has no output '{name}'")
        done = time.perf_counter_ns()
        timing = RequestTiming(latency_ns=done - start, send_ns=sent - start, recv_ns=done - received)
        if self._workload.check is None or not self._workload.checks(index):
            return timing
        return replace(timing, checked=True, wrong=self._workload.check(index, outputs))

    async def close(self) -> None:
        """Best effort and bounded: a connection that will not close must neither hold the caller up nor hide what
        happened before."""
        try:
            await asyncio.wait_for(self._client.close(), timeout=_CLOSE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - see above
            pass
