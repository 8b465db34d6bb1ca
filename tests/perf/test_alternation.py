"""Closed-loop load switched between two models on connections kept open (perf.alternation)."""

from __future__ import annotations

import asyncio
import statistics

import numpy as np
import pytest

from pytest_triton.perf.aio_clients import RequestTiming
from pytest_triton.perf.alternation import alternate
from pytest_triton.perf.engine import MeasurementFailed
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.perf.workload import Workload
from pytest_triton.server.endpoint import ServerEndpoint


@pytest.mark.server
def test_slices_alternate_between_the_two_models_and_time_each_request(calibration_server):
    sleep, identity = calibration_server.sleep.workload(), calibration_server.identity.workload()
    taken = alternate(calibration_server.endpoint, (sleep, identity), 2, 3, 0.1, MeasurementSettings())
    assert len(taken.first) == len(taken.second) == 3
    for piece in taken.first:
        # Two requests in flight for 0.1 s, 20 ms each: at most twelve (ten, and two started just before the end),
        # at least the two first ones, however slow the server's first answers; each takes at least the sleep.
        assert 2 <= len(piece.latencies_us) <= 12, piece
        assert min(piece.latencies_us) >= 20_000
        # Work started within the slice ends after it: the slice lasts until the last request is answered.
        assert piece.seconds >= 0.1
        # Sending and decoding cost this process some CPU; waiting on a sleeping model, far from a core's worth.
        assert 0 < piece.client_cores < 0.85, piece
    # The identity model answers many times faster than the one that sleeps 20 ms.
    typical = [statistics.median(r for p in side for r in p.latencies_us) for side in (taken.first, taken.second)]
    assert typical[1] * 3 < typical[0], typical


@pytest.mark.server
def test_a_model_slower_than_the_slice_stretches_it(calibration_server):
    sleep, identity = calibration_server.sleep.workload(), calibration_server.identity.workload()
    taken = alternate(calibration_server.endpoint, (sleep, identity), 2, 2, 0.005, MeasurementSettings())
    # Each of the two in flight sends its one request, whose 20 ms outlast the slice.
    for piece in taken.first:
        assert len(piece.latencies_us) == 2 and piece.seconds >= 0.02, piece


@pytest.mark.server
def test_a_failed_request_names_the_model(calibration_server):
    identity = calibration_server.identity.workload()
    broken = Workload("no_such_model", identity.requests, identity.outputs)
    with pytest.raises(MeasurementFailed, match="'no_such_model' failed in a slice measured side by side"):
        alternate(calibration_server.endpoint, (identity, broken), 1, 2, 0.05, MeasurementSettings())


@pytest.mark.parametrize(("pairs", "concurrency", "slice_s"), [(0, 1, 0.1), (1, 0, 0.1), (1, 1, 0.0)])
def test_arguments_out_of_range_are_refused_before_connecting(pairs, concurrency, slice_s):
    nowhere = ServerEndpoint("remote", "127.0.0.1:1", None)
    workload = Workload("m", ({"x": np.zeros(1)},), ("y",))
    with pytest.raises(ValueError, match="need pairs >= 1"):
        alternate(nowhere, (workload, workload), concurrency, pairs, slice_s, MeasurementSettings())


class _FakeInferer:
    """Stands in for the gRPC client, so that the bookkeeping is seen without a server or timing: each request
    takes 1 ms, reports its own index as its latency, and the order of all requests sent is kept."""

    sent: list[tuple[str, int]] = []

    def __init__(self, endpoint, workload, protocol, timeout_s, connections) -> None:
        self._model = workload.model

    async def request(self, index: int) -> RequestTiming:
        _FakeInferer.sent.append((self._model, index))
        await asyncio.sleep(0.001)
        return RequestTiming(latency_ns=index * 1000, send_ns=0, recv_ns=0)

    async def close(self) -> None:
        pass


def test_slices_take_turns_and_carry_each_models_rotation_on(monkeypatch):
    monkeypatch.setattr("pytest_triton.perf.alternation.AioInferer", _FakeInferer)
    _FakeInferer.sent = []
    a, b = (Workload(name, ({"x": np.zeros(1)},), ("y",)) for name in "ab")
    taken = alternate(ServerEndpoint("local", "127.0.0.1:1", None), (a, b), 3, 3, 0.01, MeasurementSettings())
    # Pairs alternate their order: a b, b a, a b. Adjacent slices of one model run together: a, bb, aa, b.
    runs = [model for i, (model, _) in enumerate(_FakeInferer.sent) if i == 0 or _FakeInferer.sent[i - 1][0] != model]
    assert runs == ["a", "b", "a", "b"]
    for side in (taken.first, taken.second):
        # Latencies in the order the requests started, each slice going on from where the model's last one stopped.
        indices = [i for piece in side for i in piece.latencies_us]
        assert indices == list(range(len(indices)))
        assert all(len(piece.latencies_us) >= 3 for piece in side)  # one at least for each of the 3 in flight
