"""Where bert-tiny's throughput goes: the same ONNX artifact in-process, served by Triton under perf load, and
driven by the SQuAD evaluation.

    .venv/bin/python benchmarks/bert_tiny_throughput.py [--batch-sizes 1 8] [--seconds 3]

Prints, per batch size, in-process inf/s (onnxruntime, same file, same requests as the perf workload) against served
inf/s at concurrency 1; then the SQuAD evaluation's features/s through Triton against the perf suite's figure
at the evaluation's own batch size and concurrency.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pytest_triton.baselines.hardware import hardware_key
from pytest_triton.checks.accuracy import AccuracyRun, evaluate_backend, triton_infer
from pytest_triton.checks.accuracy_plan import AccuracyPlan
from pytest_triton.checks.performance import load_cases, perf_workload
from pytest_triton.export.formats import load_runner
from pytest_triton.models.zoo import zoo_spec
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.measure import measure
from pytest_triton.perf.settings import MeasurementSettings
from pytest_triton.session import TritonSession
from pytest_triton.settings import Settings

FORMAT, PRECISION = "onnx", "fp32"


def in_process_throughput(runner, requests: list[list], batch_size: int, seconds: float) -> float:
    """Back-to-back calls on one thread, the requests in rotation, like one request in flight; inferences (rows)
    per second."""
    for inputs in requests * 2:  # warm-up: first calls allocate
        runner.run(inputs)
    calls, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        runner.run(requests[calls % len(requests)])
        calls += 1
    return calls * batch_size / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--seconds", type=float, default=3.0, help="in-process timing per batch size")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bert-tiny-throughput-"))
    spec = zoo_spec("bert-tiny")
    session = TritonSession(Settings(), work_dir=work, cache_dir=work / "exports")
    print(f"hardware {hardware_key()}, bert-tiny {FORMAT} {PRECISION}, server on the same machine")
    session.start()
    try:
        deployment = session.deployment(spec, FORMAT, PRECISION)
        runner = load_runner(FORMAT, session.artifact(spec, FORMAT, PRECISION).path, "cpu")
        settings = MeasurementSettings()
        print(f"{'batch':>5} {'in-process inf/s':>16} {'served inf/s':>12} {'served/in-process':>17}")
        for batch_size in args.batch_sizes:
            workload = perf_workload(deployment, load_cases(deployment, batch_size))
            requests = [list(request.values()) for request in workload.requests]
            local = in_process_throughput(runner, requests, batch_size, args.seconds)
            served = measure(session.endpoint, workload, [Concurrency(1)], settings)[0]
            print(f"{batch_size:>5} {local:>16.1f} {served.throughput:>12.1f} {served.throughput / local:>17.2f}")

        plan = AccuracyPlan(squad_file=None, max_seq_length=None, doc_stride=None, max_query_length=None)
        accuracy = AccuracyRun(plan, work / "squad", "cpu")
        perf = measure(
            session.endpoint,
            perf_workload(deployment, load_cases(deployment, plan.batch_size)),
            [Concurrency(plan.concurrency)],
            settings,
        )[0]
        print(f"SQuAD evaluation (batch {plan.batch_size}, {plan.concurrency} in flight) vs perf at the same load:")
        for squad in accuracy.sets(spec):
            result = evaluate_backend(squad, triton_infer(session.client, deployment), plan)
            print(
                f"  {squad.name}: {result.features} features in {result.seconds:.2f} s = "
                f"{result.features_per_second:.1f}/s; perf {perf.throughput:.1f} inf/s; "
                f"ratio {result.features_per_second / perf.throughput:.2f} (EM {result.exact_match:.1f}, "
                f"F1 {result.f1:.1f})"
            )
    finally:
        session.close()


if __name__ == "__main__":
    main()
