"""What a search leaves behind in <directory>/<model>/: a model repository of the top configurations, the
recommended one under the model's own name, each with the config a stock Triton loads (the format's native
backend) next to its artifact; report.json; report.md with the seeds' table per configuration; and
pareto.png."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Sequence

from pytest_triton.atomic_write import write_text_atomic
from pytest_triton.export.formats import export_format
from pytest_triton.models.spec import ModelSpec
from pytest_triton.perf.results import Measurement
from pytest_triton.report.markdown import markdown_table
from pytest_triton.repository.deployment import model_files
from pytest_triton.repository.store import write_model
from pytest_triton.search.objective import latency_bound
from pytest_triton.search.results import Ranked
from pytest_triton.search.run import SearchOutcome
from pytest_triton.search.sweep import concurrency_of
from pytest_triton.session import TritonSession
from pytest_triton.units import value_text

REPOSITORY = "repository"
_LATENCIES = ("latency_avg", "latency_p50", "latency_p90", "latency_p95", "latency_p99")  # report.json's, in µs


def repository_name(ranked: Ranked, place: int) -> str:
    """The recommended configuration (place 0) is served under the model's name, so that it drops into a
    repository as it is; the runners-up under the model's name and their configuration."""
    result = ranked.result
    return result.model if place == 0 else f"{result.model}-{result.candidate.id}"


def write_search(session: TritonSession, spec: ModelSpec, outcome: SearchOutcome) -> Path:
    """Write the repository, report.json, report.md and pareto.png of `spec`'s search; returns its directory."""
    directory = outcome.plan.directory / outcome.model
    directory.mkdir(parents=True, exist_ok=True)
    top = [r for r in outcome.ranked if r.eligible][: outcome.plan.top]
    _write_repository(session, spec, top, directory / REPOSITORY)
    latency = _latency_metric(outcome)
    _write_plot(outcome, latency, directory / "pareto.png")
    write_text_atomic(directory / "report.json", json.dumps(_document(outcome, top), indent=2) + "\n")
    write_text_atomic(directory / "report.md", _markdown(outcome, latency))
    return directory


def _write_repository(session: TritonSession, spec: ModelSpec, top: Sequence[Ranked], target: Path) -> None:
    if target.exists():  # an earlier search's top configurations would be mistaken for this one's
        shutil.rmtree(target)
    for place, ranked in enumerate(top):
        candidate = ranked.result.candidate
        artifact = session.artifact(spec, candidate.format, candidate.precision)
        native = export_format(candidate.format).backend
        serving = candidate.serving
        made = model_files(
            spec,
            artifact,
            (native,),
            repository_name(ranked, place),
            batching=serving.batching,
            instances=serving.instances(session.settings.gpus),
            max_batch_size=candidate.max_batch_size,
        )
        write_model(target / made.config.name, made.config, made.files)


def _latency_metric(outcome: SearchOutcome) -> str:
    """The latency the ranking table, the plot and its front show: the constrained one where a latency is
    constrained, else the p99 (a Measurement.value metric)."""
    bound = latency_bound(outcome.plan.constraints)
    return bound[0].metric if bound else "latency_p99"


def _latency_ms(point: Measurement, metric: str) -> float:
    return (point.value(metric) or 0.0) / 1000


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (throughput, latency) points no other point beats at both: more throughput and no more latency."""
    front: list[tuple[float, float]] = []
    for throughput, latency in sorted(points, key=lambda p: (p[1], -p[0])):
        if not front or throughput > front[-1][0]:
            front.append((throughput, latency))
    return front


def _write_plot(outcome: SearchOutcome, latency: str, path: Path) -> None:
    series = {
        r.result.candidate.id: [(p.throughput, _latency_ms(p, latency)) for p in r.result.points]
        for r in outcome.ranked
        if r.result.points
    }
    recommended = outcome.recommended
    star = None
    if recommended is not None and recommended.point is not None:
        point = recommended.point
        star = (recommended.result.candidate.id, point.throughput, _latency_ms(point, latency))
    from pytest_triton.report.plots import plot_pareto  # matplotlib, only once a search writes its report

    front = pareto_front([p for points in series.values() for p in points])
    plot_pareto(series, front, star, latency.removeprefix("latency_"), path)


def _point_dict(point: Measurement) -> dict[str, Any]:
    return {
        "concurrency": concurrency_of(point),
        "throughput": point.throughput,
        **{f"{metric}_us": point.value(metric) for metric in _LATENCIES},
        "server_rss_bytes": point.server_rss_bytes,
        "gpu_memory_bytes": point.gpu_memory_bytes,
        "answers_checked": point.answers_checked,
        "stable": point.stable,
    }


def _document(outcome: SearchOutcome, top: Sequence[Ranked]) -> dict[str, Any]:
    plan = outcome.plan
    recommended = outcome.recommended
    return {
        "model": outcome.model,
        "mode": plan.mode,
        "objective": plan.objective.text,
        "constraints": [limit.text for limit in plan.constraints],
        "space": {
            "variants": [f"{fmt}-{precision}" for fmt, precision in outcome.space.variants],
            "max_batch_sizes": list(outcome.space.max_batch_sizes),
            "queue_delays_us": list(outcome.space.queue_delays_us),
            "instances": list(outcome.space.instances),
            "max_concurrency": plan.max_concurrency,
            "configurations": outcome.grid_size,
            "left_out": list(outcome.unsupported),
        },
        "measured": outcome.measured,
        "from_checkpoint": outcome.resumed,
        "wall_s": round(outcome.wall_s, 1),
        "budget_s": plan.budget_s,
        "budget_spent": outcome.budget_spent,
        "recommended": None if recommended is None else recommended.result.candidate.id,
        "repository": {repository_name(ranked, place): ranked.result.candidate.id for place, ranked in enumerate(top)},
        "configurations": [
            {
                "id": r.result.candidate.id,
                **r.result.candidate.to_dict(),
                "eligible": r.eligible,
                "score": round(r.score, 4),
                "broken": list(r.broken),
                "best": None if r.point is None else _point_dict(r.point),
                "load_s": r.result.load_s,
                "points": [_point_dict(p) for p in r.result.points],
            }
            for r in outcome.ranked
        ],
    }


def _markdown(outcome: SearchOutcome, latency: str) -> str:
    plan = outcome.plan
    recommended = outcome.recommended
    lines = [f"# Config search: {outcome.model}", ""]
    lines += [
        f"- **mode**: {plan.mode}, **objective**: {plan.objective.text}, **constraints**: "
        + (", ".join(limit.text for limit in plan.constraints) or "none"),
        f"- **measured**: {outcome.measured} of {outcome.grid_size} configurations"
        + (f", {outcome.resumed} from the checkpoint" if outcome.resumed else "")
        + f", in {outcome.wall_s:.0f} s"
        + (f" (the {plan.budget_s:.0f} s budget ended the search)" if outcome.budget_spent else ""),
        "- **recommended**: "
        + (
            f"`{recommended.result.candidate.id}`, served as `{outcome.model}` in `{REPOSITORY}/`"
            if recommended
            else "none: no configuration keeps the constraints"
        ),
        "",
        "![Pareto front](pareto.png)",
        "",
        "## Ranking",
        "",
    ]
    rows = []
    for place, r in enumerate(outcome.ranked, 1):
        point = r.point
        rows.append(
            (
                str(place) if r.eligible else "-",
                r.result.candidate.id,
                "-" if point is None else str(concurrency_of(point)),
                "-" if point is None else f"{point.throughput:.4g}",
                "-" if point is None else value_text(point.value(latency), "us"),
                "; ".join(r.broken) or "within constraints",
            )
        )
    shown = latency.removeprefix("latency_")
    lines += markdown_table(("rank", "configuration", "concurrency", "infer/s", shown, "verdict"), rows)
    lines += ["", "## Per configuration", ""]
    for r in outcome.ranked:
        if not r.result.points:
            continue
        lines += [f"### {r.result.candidate.id}", ""]
        lines += markdown_table(
            ("concurrency", "infer/s", "avg", "p90", "p95", "p99"),
            [
                (
                    str(concurrency_of(p)),
                    f"{p.throughput:.4g}",
                    *(value_text(p.value(f"latency_{name}"), "us") for name in ("avg", "p90", "p95", "p99")),
                )
                for p in r.result.points
            ],
        )
        lines.append("")
    return "\n".join(lines)
