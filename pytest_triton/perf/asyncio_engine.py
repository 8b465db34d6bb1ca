"""The load generator: tritonclient's asyncio clients driven in closed loop (concurrency) or open loop
(request rate), measured in time windows until the last ones agree (perf_analyzer's method)."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from tritonclient.utils import InferenceServerException

from pytest_triton.perf.aio_clients import AioInferer, RequestTiming
from pytest_triton.perf.cpu import CpuMark
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.gpu_figures import MEMORY as GPU_MEMORY
from pytest_triton.perf.gpu_figures import GpuFigures
from pytest_triton.perf.load import Concurrency, LoadPoint, RequestRate
from pytest_triton.perf.results import LatencyStats, Measurement, WindowResult
from pytest_triton.perf.server_stats import ServerWindow
from pytest_triton.perf.server_usage import MachineTime, Usage, machine_time, session_usage, steal_between
from pytest_triton.perf.settings import MAX_STRETCH, MeasurementSettings
from pytest_triton.perf.stability import is_stable
from pytest_triton.perf.workload import Workload
from pytest_triton.server.client import ModelStatistics, TritonClient
from pytest_triton.server.endpoint import ServerEndpoint
from pytest_triton.server.metrics import MetricsError, ServerMetrics, read_metrics

_STATS_TIMEOUT_S = 10.0
_SCRAPE_TIMEOUT_S = 2.0  # the metrics endpoint; a measurement goes on without it rather than wait
_CLOSE_TIMEOUT_S = 10.0
_ERROR_BACKOFF_S = 0.001


class AsyncioEngine:
    """Measures with tritonclient's grpc.aio / http.aio clients in this process."""

    name = "asyncio"

    def __init__(self, endpoint: ServerEndpoint) -> None:
        self.endpoint = endpoint

    def measure(
        self, workload: Workload, points: Sequence[LoadPoint], settings: MeasurementSettings = MeasurementSettings()
    ) -> list[Measurement]:
        """From synchronous code (a test); inside a running event loop await measure_async instead."""
        return asyncio.run(self.measure_async(workload, points, settings))

    async def measure_async(
        self, workload: Workload, points: Sequence[LoadPoint], settings: MeasurementSettings = MeasurementSettings()
    ) -> list[Measurement]:
        # Statistics come over the blocking client, run in a thread, so its parsing is TritonClient's own.
        stats = _StatisticsThread(TritonClient(self.endpoint, settings.protocol))
        try:
            return await self._sweep(workload, points, settings, stats)
        finally:
            stats.close()

    async def _sweep(
        self,
        workload: Workload,
        points: Sequence[LoadPoint],
        settings: MeasurementSettings,
        stats: _StatisticsThread,
    ) -> list[Measurement]:
        connections = max(
            [p.requests for p in points if isinstance(p, Concurrency)]
            + [settings.max_in_flight for p in points if isinstance(p, RequestRate)]
            + [1]
        )
        inferer = AioInferer(self.endpoint, workload, settings.protocol, settings.request_timeout_s, connections)
        try:
            results = []
            for point in points:
                run = _PointRun(inferer, workload, point, settings, stats, self.endpoint)
                deadline = _point_deadline(settings)
                try:
                    results.append(await asyncio.wait_for(run.run(), timeout=deadline))
                except asyncio.TimeoutError:
                    raise MeasurementFailed(
                        f"measuring '{workload.model}' at {point.label} did not finish within {deadline:.0f} s"
                    ) from None
            return results
        finally:
            await inferer.close()


def _point_deadline(settings: MeasurementSettings) -> float:
    # Generous: windows overrun while the client is saturated; what matters is that nothing waits forever.
    stretch = MAX_STRETCH if settings.min_requests else 1
    windows = settings.warmup_s + settings.max_windows * settings.window_s * stretch
    return 2 * windows + 2 * settings.request_timeout_s + 4 * _STATS_TIMEOUT_S


class _StatisticsThread:
    """The blocking client's statistics calls, on one thread of their own: its HTTP flavour (gevent) fails when a
    call comes from another thread than the calls before it, as the default executor may pick under load."""

    def __init__(self, client: TritonClient) -> None:
        self._client = client
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="triton-statistics")

    async def statistics(self, model: str) -> ModelStatistics:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._client.statistics, model)

    def close(self) -> None:
        """Close the client on its own thread, after any call in flight; not waiting: a call stuck past its timeout
        must not hold the measurement up."""
        self._thread.submit(self._client.close)
        self._thread.shutdown(wait=False)


@dataclass
class _Window:
    """Raw numbers of one window, kept until the tail is aggregated."""

    result: WindowResult
    timings: list[RequestTiming]


class _PointRun:
    """One load point: warm-up, then windows until stable or `max_windows`."""

    def __init__(
        self,
        inferer: AioInferer,
        workload: Workload,
        point: LoadPoint,
        settings: MeasurementSettings,
        stats: _StatisticsThread,
        endpoint: ServerEndpoint,
    ) -> None:
        self._inferer = inferer
        self._server_session = endpoint.server_session
        self._metrics_url = endpoint.metrics_url
        self._workload = workload
        self._point = point
        self._settings = settings
        self._stats = stats
        self._stopping = False
        self._timings: list[RequestTiming] = []
        self._errors = 0
        self._dropped = 0
        self._first_error: str | None = None
        self._sent = 0  # requests started: the next one's place in the workload's rotation
        self._checked = 0  # answers checked, warm-up included: a wrong answer anywhere is worth seeing
        self._wrong = 0
        self._first_wrong: str | None = None
        self._in_flight: set[asyncio.Task] = set()

    async def run(self) -> Measurement:
        drivers = self._start_load()
        try:
            return await self._measure()
        finally:
            self._stopping = True
            await self._drain(drivers)

    # -- load -------------------------------------------------------------------------------------
    def _start_load(self) -> list[asyncio.Task]:
        if isinstance(self._point, Concurrency):
            return [asyncio.create_task(self._closed_loop()) for _ in range(self._point.requests)]
        return [asyncio.create_task(self._open_loop(self._point))]

    async def _closed_loop(self) -> None:
        while not self._stopping:
            await self._one_request()

    async def _open_loop(self, point: RequestRate) -> None:
        loop = asyncio.get_running_loop()
        draw = random.Random(self._settings.seed)
        due = loop.time()
        while not self._stopping:
            if len(self._in_flight) >= self._settings.max_in_flight:
                self._dropped += 1
            else:
                task = asyncio.create_task(self._one_request())
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            # Due times follow the schedule, not the previous send, so a late send does not shift the rest.
            due += draw.expovariate(point.per_second) if point.arrivals == "poisson" else 1.0 / point.per_second
            # sleep(0) when behind still lets responses be handled between sends.
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _one_request(self) -> None:
        index, self._sent = self._sent, self._sent + 1
        try:
            timing = await self._inferer.request(index)
        except Exception as error:  # noqa: BLE001 - any failure is a failed request of this measurement
            self._errors += 1
            if self._first_error is None:
                self._first_error = f"{type(error).__name__}: {error}".strip()
            # A request that fails without waiting must still let the window timer run.
            await asyncio.sleep(_ERROR_BACKOFF_S)
            return
        self._timings.append(timing)
        if timing.checked:
            self._checked += 1
            if timing.wrong is not None:
                self._wrong += 1
                self._first_wrong = self._first_wrong or timing.wrong

    async def _drain(self, drivers: list[asyncio.Task]) -> None:
        if isinstance(self._point, RequestRate):
            # Open loop: the schedule and the (possibly many) requests in flight are no longer measured.
            for task in [*drivers, *self._in_flight]:
                task.cancel()
        # Closed loop: each worker finishes its one request, so the next load point starts on an idle server.
        pending = [*drivers, *self._in_flight]
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=self._settings.request_timeout_s + _CLOSE_TIMEOUT_S)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=_CLOSE_TIMEOUT_S)

    # -- windows ----------------------------------------------------------------------------------
    async def _snapshot(self) -> ModelStatistics:
        call = self._stats.statistics(self._workload.model)
        try:
            return await asyncio.wait_for(call, timeout=_STATS_TIMEOUT_S)
        except (InferenceServerException, asyncio.TimeoutError) as error:
            failed = f"; requests failed with: {self._first_error}" if self._first_error else ""
            raise MeasurementFailed(
                f"no statistics for model '{self._workload.model}' from the server "
                f"({type(error).__name__}: {error}){failed}"
            ) from None

    async def _usage(self) -> Usage | None:
        if self._server_session is None:
            return None
        # Reading /proc takes milliseconds: off the loop, so responses keep being timed meanwhile.
        return await asyncio.to_thread(session_usage, self._server_session)

    async def _scrape(self) -> ServerMetrics | None:
        """The server's metrics where it exports GPU figures. After a scrape fails, or shows no GPU, the rest of
        the point goes without: a slow endpoint would stretch every window by its timeout, and a CPU server's
        scrapes would only load it."""
        if self._metrics_url is None:
            return None
        try:
            scraped = await asyncio.to_thread(read_metrics, self._metrics_url, _SCRAPE_TIMEOUT_S)
        except MetricsError:
            scraped = None
        if scraped is None or not scraped.values(GPU_MEMORY):
            self._metrics_url = None
        return scraped

    async def _measure(self) -> Measurement:
        settings = self._settings
        loop = asyncio.get_running_loop()
        await asyncio.sleep(settings.warmup_s)
        marks = [CpuMark.now()]
        self._take_window()  # warm-up requests are not measured
        snapshots = [await self._snapshot()]
        machine = [machine_time()]
        usages = [await self._usage()]
        scrapes = [await self._scrape()]
        windows: list[_Window] = []
        boundary = loop.time()
        stable = False
        while len(windows) < settings.max_windows:
            boundary += settings.window_s
            await asyncio.sleep(max(0.0, boundary - loop.time()))
            if len(self._timings) < settings.min_requests:
                stretch_until = boundary + (MAX_STRETCH - 1) * settings.window_s
                while len(self._timings) < settings.min_requests and loop.time() < stretch_until:
                    await asyncio.sleep(settings.window_s / 20)
                boundary = loop.time()
            marks.append(CpuMark.now())
            timings, errors, dropped = self._take_window()
            snapshots.append(await self._snapshot())  # first: the breakdown's window ends here
            machine.append(machine_time())
            usages.append(await self._usage())
            scrapes.append(await self._scrape())
            windows.append(self._window(marks[-2], marks[-1], timings, errors, dropped, usages[-2:], machine[-2:]))
            if len(windows) == 1 and errors and not timings:
                # A broken deployment, not a slow one: say so now instead of measuring failures.
                raise MeasurementFailed(
                    f"every request to model '{self._workload.model}' failed during the first window "
                    f"({errors} failures); the first: {self._first_error}"
                )
            stable = is_stable(
                [w.result.throughput for w in windows],
                [_judged_latency(w.result.latency, settings.percentile) for w in windows],
                settings.stability_pct,
                settings.stable_windows,
                [w.result.steal_share is not None and w.result.steal_share > settings.max_steal_share for w in windows],
            )
            if stable:
                break
        tail = min(settings.stable_windows, len(windows))
        gpu = GpuFigures.of(scrapes[-tail - 1 :])  # over the aggregated windows, as every other figure
        return self._aggregate(windows, marks, usages, machine, gpu, snapshots, stable)

    def _take_window(self) -> tuple[list[RequestTiming], int, int]:
        # Swapping the lists is the window boundary: responses are appended on this one thread, in order.
        taken = (self._timings, self._errors, self._dropped)
        self._timings, self._errors, self._dropped = [], 0, 0
        return taken

    def _window(
        self,
        opened: CpuMark,
        closed: CpuMark,
        timings: list[RequestTiming],
        errors: int,
        dropped: int,
        usages: list[Usage | None],
        machine: list[MachineTime | None],
    ) -> _Window:
        duration = closed.wall - opened.wall
        result = WindowResult(
            duration_s=duration,
            requests=len(timings),
            errors=errors,
            dropped=dropped,
            throughput=len(timings) * self._workload.batch_size / duration,
            latency=LatencyStats.of([t.latency_ns / 1000.0 for t in timings]),
            client_cpu_cores=closed.cores_since(opened),
            server_cpu_s=_cpu_between(*usages),
            steal_share=steal_between(*machine),
        )
        return _Window(result, timings)

    def _aggregate(
        self,
        windows: list[_Window],
        marks: list[CpuMark],
        usages: list[Usage | None],
        machine: list[MachineTime | None],
        gpu: GpuFigures,
        snapshots: list[ModelStatistics],
        stable: bool,
    ) -> Measurement:
        count = min(self._settings.stable_windows, len(windows))
        tail = windows[-count:]
        timings = [t for w in tail for t in w.timings]
        latency = LatencyStats.of([t.latency_ns / 1000.0 for t in timings], bound=True)
        server = ServerWindow.between(snapshots[-count - 1], snapshots[-1])
        send_us = float(np.mean([t.send_ns for t in timings])) / 1000.0 if timings else 0.0
        recv_us = float(np.mean([t.recv_ns for t in timings])) / 1000.0 if timings else 0.0
        duration = sum(w.result.duration_s for w in tail)
        cores = marks[-1].cores_since(marks[-count - 1])
        inferences = len(timings) * self._workload.batch_size
        server_cpu = _cpu_between(usages[-count - 1], usages[-1])
        known = [u.rss_bytes for u in usages if u is not None]
        model = [
            u.stub_rss_bytes[self._workload.model]
            for u in usages
            if u is not None and self._workload.model in u.stub_rss_bytes
        ]
        return Measurement(
            model=self._workload.model,
            protocol=self._settings.protocol,
            engine=AsyncioEngine.name,
            load=self._point,
            batch_size=self._workload.batch_size,
            throughput=len(timings) * self._workload.batch_size / duration,
            latency=latency,
            breakdown=server.breakdown(latency.avg_us, send_us, recv_us),
            batch_histogram=server.batch_histogram,
            stable=stable,
            windows=tuple(w.result for w in windows),
            tail_windows=count,
            requests=len(timings),
            errors=sum(w.result.errors for w in windows),
            dropped=sum(w.result.dropped for w in windows),
            first_error=self._first_error,
            answers_checked=self._checked,
            answers_wrong=self._wrong,
            first_wrong=self._first_wrong,
            client_cpu_cores=cores,
            client_saturated=cores >= self._settings.saturation_cores,
            server_cpu_us=server_cpu / inferences * 1e6 if server_cpu is not None and inferences else None,
            server_rss_bytes=max(known) if known else None,
            model_rss_bytes=max(model) if model else None,
            gpu_memory_bytes=gpu.memory_bytes,
            gpu_utilization=gpu.utilization,
            gpu_power_w=gpu.power_w,
            steal_share=steal_between(machine[-count - 1], machine[-1]),
        )


def _judged_latency(latency: LatencyStats, percentile: int | None) -> float:
    return latency.avg_us if percentile is None else float(getattr(latency, f"p{percentile}_us"))


def _cpu_between(opened: Usage | None, closed: Usage | None) -> float | None:
    # A stub that exits between two readings takes its CPU time with it: the difference is then meaningless.
    if opened is None or closed is None or closed.cpu_s < opened.cpu_s:
        return None
    return closed.cpu_s - opened.cpu_s
