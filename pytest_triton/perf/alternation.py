"""Closed-loop load switched between two models in short slices, over connections kept open throughout: two
throughputs measured side by side, with nothing between the slices but the drain of the last one's requests.

Measuring each slice as a measurement of its own (a new client, statistics calls, a warm-up), as the reference gate
first did, cost 0.13 s beyond each 0.5 s slice; here a switch costs the wait for the requests in flight, a few
milliseconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from pytest_triton.perf.aio_clients import AioInferer
from pytest_triton.perf.cpu import CpuMark
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint

_SLACK_S = 10.0


@dataclass(frozen=True)
class Slice:
    """One slice of one model: the latency (µs, as the client saw it) of each request, in the order started, and
    the slice's length from the first request's start to the last one's end."""

    latencies_us: tuple[int, ...]
    seconds: float
    inferences_per_request: int = 1
    client_cores: float = 0.0  # cores this process used over the slice: near one, the client set the pace


@dataclass(frozen=True)
class Slices:
    """Each model's slices, in the order taken: slice i of one lay next to slice i of the other."""

    first: tuple[Slice, ...]
    second: tuple[Slice, ...]


def alternate(
    endpoint: ServerEndpoint,
    workloads: tuple[Workload, Workload],
    concurrency: int,
    pairs: int,
    slice_s: float,
    settings: MeasurementSettings,
    second_endpoint: ServerEndpoint | None = None,
) -> Slices:
    """`pairs` slices of each workload at `concurrency` requests in flight, in pairs whose order alternates (the
    first workload first, then second), so that a steady drift moves both alike. A slice is the work of the
    requests started within `slice_s` (at least one for each in flight), over the time until the last of them
    finished: a model slower than a slice stretches it. `second_endpoint`: where the second workload is served, when
    not at `endpoint` (a baseline deployment on a server of its own). Answers are not checked. Any failed request
    fails the whole, as does a slice that does not end within the request timeout."""
    if pairs < 1 or concurrency < 1 or slice_s <= 0:
        raise ValueError(f"need pairs >= 1, concurrency >= 1 and slice_s > 0, not {pairs}, {concurrency}, {slice_s}")
    unchecked = [dataclasses.replace(w, check=None) for w in workloads]
    # Each request ends within its timeout (the clients enforce it); the slack covers a saturated event loop.
    limit = slice_s + settings.request_timeout_s + _SLACK_S

    async def run() -> Slices:
        sides: list[_Side] = []
        try:
            for w, at in zip(unchecked, (endpoint, second_endpoint or endpoint)):
                inferer = AioInferer(at, w, settings.protocol, settings.request_timeout_s, concurrency)
                sides.append(_Side(inferer, w))
            taken: tuple[list[Slice], list[Slice]] = ([], [])
            for index in range(pairs):
                for side in (0, 1) if index % 2 == 0 else (1, 0):
                    taken[side].append(await sides[side].slice(concurrency, slice_s, limit))
            return Slices(tuple(taken[0]), tuple(taken[1]))
        finally:
            for each in sides:
                await each.inferer.close()

    return asyncio.run(run())


@dataclass
class _Side:
    inferer: AioInferer
    workload: Workload
    sent: int = 0  # requests started: the next one's place in the workload's rotation, across slices

    async def slice(self, concurrency: int, slice_s: float, limit_s: float) -> Slice:
        try:
            return await asyncio.wait_for(self._slice(concurrency, slice_s), timeout=limit_s)
        except asyncio.TimeoutError:
            raise MeasurementFailed(
                f"a {slice_s} s slice of '{self.workload.model}' did not end within {limit_s:.0f} s"
            ) from None

    async def _slice(self, concurrency: int, slice_s: float) -> Slice:
        loop = asyncio.get_running_loop()
        mark = CpuMark.now()
        started = loop.time()
        stop_at = started + slice_s
        first = self.sent
        latencies: dict[int, int] = {}  # by the request's place in the rotation
        failures: list[Exception] = []

        async def closed_loop() -> None:
            # Each sends at least one request, however late the loop first runs it: a slice is never empty.
            while not failures:
                index, self.sent = self.sent, self.sent + 1
                try:
                    timing = await self.inferer.request(index)
                except Exception as error:  # noqa: BLE001 - any failure fails the slice, named below
                    failures.append(error)
                    return
                latencies[index] = timing.latency_ns // 1000
                if loop.time() >= stop_at:
                    return

        await asyncio.gather(*(closed_loop() for _ in range(concurrency)))
        if failures:
            error = failures[0]
            # A timeout's text is empty: its type says what happened.
            raise MeasurementFailed(
                f"a request to '{self.workload.model}' failed in a slice measured side by side: "
                + f"{type(error).__name__}: {error}".strip()
            ) from error
        ordered = tuple(latencies[index] for index in range(first, self.sent))
        return Slice(ordered, loop.time() - started, self.workload.batch_size, CpuMark.now().cores_since(mark))
