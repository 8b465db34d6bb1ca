"""PNG plots of a sweep, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display,
no change to the process's global backend)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from pytest_triton.baselines.verdict import Comparison, Verdict
from pytest_triton.kinds import baseline_id
from pytest_triton.perf.load import Concurrency
from pytest_triton.perf.results import LatencyBreakdown, Measurement
from pytest_triton.report.against import AgainstRecord
from pytest_triton.report.format import VERDICT_LABELS, display_order
from pytest_triton.report.labels import config_words, point_words

# Bottom to top: where the request waited, where it ran, and what the transport and client added.
_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("queue", "#4c72b0"),
    ("compute input", "#dd8452"),
    ("compute infer", "#55a868"),
    ("compute output", "#c44e52"),
    ("network + client", "#8c8c8c"),
)
_DPI = 120
_VERDICT_COLORS = {
    Verdict.OK: "#55a868",
    Verdict.WITHIN_NOISE: "#b0b0b0",
    Verdict.REGRESSION: "#c44e52",
    Verdict.IMPROVEMENT: "#4c72b0",
    Verdict.MISSING: "#dddddd",
    Verdict.NOT_APPLIED: "#dddddd",
}


def _components_ms(b: LatencyBreakdown) -> list[float]:
    network_client = b.network_server_us + b.client_send_us + b.client_recv_us
    parts = (b.server_queue_us, b.compute_input_us, b.compute_infer_us, b.compute_output_us, network_client)
    return [v / 1000.0 for v in parts]


def _ordered(measurements: Sequence[Measurement]) -> list[Measurement]:
    def load(m: Measurement) -> float:
        return m.load.requests if isinstance(m.load, Concurrency) else m.load.per_second

    return sorted(measurements, key=load)


def _spread(values: Sequence[float]) -> float:
    positive = [v for v in values if v > 0]
    if len(positive) < len(values) or not positive:
        return 1.0  # a zero cannot go on a log axis
    return max(positive) / min(positive)


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=_DPI)
    return path


def plot_latency_throughput(
    series: Mapping[str, Sequence[Measurement]], path: Path, comparisons: Sequence[Comparison] = ()
) -> Path:
    """One line per config through its load points (a marker where it has one): p50 latency solid, p99 dashed,
    points labelled in words. Where a baseline holds a point's throughput and p50, a hollow marker stands at the
    baseline and an arrow runs from it to this run's point, coloured by the throughput's verdict."""
    figure = Figure(figsize=(10, 6), layout="constrained")
    axes = figure.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(series))]
    baselines = _baseline_points(comparisons)
    for (config, measurements), color in zip(series.items(), colors):
        points = _ordered(measurements)
        throughput = [m.throughput for m in points]
        p50 = [m.latency.p50_us / 1000.0 for m in points]
        p99 = [m.latency.p99_us / 1000.0 for m in points]
        label = textwrap.fill(config_words(config), 60)
        axes.plot(throughput, p50, "-o" if len(points) > 1 else "o", color=color, label=f"{label}\np50", linewidth=2)
        axes.plot(throughput, p99, "--x" if len(points) > 1 else "x", color=color, alpha=0.6, label="p99")
        for m, x, y in zip(points, throughput, p50):
            note = point_words(m.load.label) + ("" if m.stable else " (unstable)")
            # Left of the point: higher loads lie up and to the left, the p99 line above, so this side is free.
            axes.annotate(
                note, (x, y), textcoords="offset points", xytext=(-7, -3), ha="right", fontsize=8, color=color
            )
            before = baselines.get(baseline_id(config, m.load.label))
            if before is not None:
                (base_x, base_y), verdict = before
                axes.plot([base_x], [base_y], "o", markerfacecolor="none", color=color, markersize=9)
                axes.annotate(
                    "", (x, y), (base_x, base_y), arrowprops={"arrowstyle": "->", "color": _VERDICT_COLORS[verdict]}
                )
    if baselines:
        axes.plot([], [], "o", markerfacecolor="none", color="#555555", label="baseline (arrow: to this run)")
    axes.set_xlabel("throughput (inferences/s)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Latency vs throughput" + ("" if baselines else " (no baseline recorded for these points)"))
    # Configs of very different speed (a sleep model next to an identity one) squash each other on a
    # linear axis; past a 10x spread that axis goes logarithmic.
    everything = [m for sweep in series.values() for m in sweep]
    latencies = [m.latency.p50_us for m in everything] + [m.latency.p99_us for m in everything]
    for values, set_scale, axis, set_limit in (
        ([m.throughput for m in everything], axes.set_xscale, axes.xaxis, axes.set_xlim),
        (latencies, axes.set_yscale, axes.yaxis, axes.set_ylim),
    ):
        if _spread(values) > 10:
            set_scale("log")
            axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # 100, not 10^2
        else:
            set_limit(0, None)
    axes.grid(True, which="both", alpha=0.3)
    figure.legend(*axes.get_legend_handles_labels(), fontsize=7, loc="outside right upper")
    return _save(figure, path)


def _baseline_points(comparisons: Sequence[Comparison]) -> dict[str, tuple[tuple[float, float], Verdict]]:
    """Baseline id -> the baseline's (throughput, p50 ms) and the throughput's verdict, where both are stored."""
    found: dict[str, dict[str, tuple[float, Verdict]]] = {}
    for c in comparisons:
        if c.metric in ("throughput", "latency_p50") and c.baseline_value is not None:
            found.setdefault(c.config, {})[c.metric] = (c.baseline_value, c.verdict)
    return {
        config: ((pair["throughput"][0], pair["latency_p50"][0] / 1000.0), pair["throughput"][1])
        for config, pair in found.items()
        if len(pair) == 2
    }


def plot_against_baseline(comparisons: Sequence[Comparison], path: Path) -> Path:
    """Every figure that has a baseline, as its change against it: one bar each, coloured by its verdict, with the
    baseline's tolerance drawn across zero; under a heading per configuration, those with a failure first."""
    groups: dict[str, list[Comparison]] = {}
    for c in display_order(c for c in comparisons if c.change is not None and math.isfinite(c.change)):
        groups.setdefault(c.config.rpartition("/")[0], []).append(c)
    rows: list[str | Comparison] = []
    for config, group in groups.items():
        rows += [config, *group]
    figure = Figure(figsize=(11, 1.2 + 0.28 * len(rows)), layout="constrained")
    axes = figure.add_subplot()
    for y, row in zip(range(len(rows) - 1, -1, -1), rows):  # the first row on top
        if isinstance(row, Comparison):
            tolerance = 100 * row.baseline.tolerance if row.baseline else 0.0
            axes.barh([y], [100 * (row.change or 0.0)], color=_VERDICT_COLORS[row.verdict], height=0.7)
            axes.plot([-tolerance, tolerance], [y, y], "|-", color="#333333", alpha=0.5, markersize=8, linewidth=0.8)
    axes.set_yticks(
        range(len(rows) - 1, -1, -1),
        [
            textwrap.shorten(config_words(row), 90) if isinstance(row, str)
            else f"{point_words(row.config.rpartition('/')[2])} | {row.metric}"
            for row in rows
        ],
        fontsize=7,
    )  # fmt: skip
    for label, row in zip(axes.get_yticklabels(), rows):
        if isinstance(row, str):
            label.set_fontweight("bold")
    axes.axvline(0, color="#333333", linewidth=0.8)
    axes.set_xlabel("change against the baseline (%); the line across zero: its tolerance")
    axes.set_title("This run against its baselines")
    shown = {row.verdict for row in rows if isinstance(row, Comparison)}
    handles = [Patch(color=color, label=VERDICT_LABELS[v]) for v, color in _VERDICT_COLORS.items() if v in shown]
    axes.legend(handles=handles, fontsize=8, loc="best")
    axes.grid(True, axis="x", alpha=0.3)
    return _save(figure, path)


def _panels(count: int, size: tuple[float, float], margin: float):
    """A figure of `count` panels (at least one), three to a row, each `size` inches, and `margin` inches beside
    them, the grid's cells beyond them hidden; returns it and its grid of axes."""
    count = max(count, 1)
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(size[0] * columns + margin, size[1] * rows + 0.6), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes in list(grid.flat)[count:]:
        axes.set_visible(False)
    return figure, grid


_OUTCOME_COLORS = {"same": "#55a868", "regressed": "#c44e52", "improved": "#4c72b0", "inconclusive": "#dd8452"}


def plot_side_by_side(records: Sequence[AgainstRecord], path: Path) -> Path:
    """Per load point measured against the baseline deployment, both sides' slice throughputs in the order taken
    (pair i of one beside pair i of the other), the candidate's coloured by the point's verdict."""
    figure, grid = _panels(len(records), (4.6, 3.2), 0.8)
    for axes, record in zip(grid.flat, records):
        verdict = record.point.verdict
        pairs = range(1, len(record.point.candidate) + 1)
        axes.plot(pairs, record.point.baseline, ".-", color="#8c8c8c", linewidth=0.8, label="baseline")
        color = _OUTCOME_COLORS[verdict.outcome.value]
        axes.plot(pairs, record.point.candidate, ".-", color=color, linewidth=0.8, label="candidate")
        config, _, point = record.config.rpartition("/")
        throughput = verdict.ratio("throughput")
        axes.set_title(
            f"{textwrap.shorten(config_words(config), 60)}\n{point_words(point)}: {verdict.outcome.value}, "
            f"throughput {throughput.ratio:.3f}x",
            fontsize=8,
        )
        axes.set_xlabel("slice pair", fontsize=8)
        axes.set_ylabel("infer/s", fontsize=8)
        axes.legend(fontsize=7, loc="best")
        axes.grid(True, alpha=0.3)
    figure.suptitle(f"Side by side against {records[0].source}" if records else "Side by side", fontsize=10)
    return _save(figure, path)


def plot_latency_breakdown(series: Mapping[str, Sequence[Measurement]], path: Path) -> Path:
    """Per config, one stacked bar per load point: the average request's latency by component."""
    figure, grid = _panels(len(series), (4.2, 3.6), 1.5)
    for axes, (config, measurements) in zip(grid.flat, series.items()):
        points = _ordered(measurements)
        labels = [point_words(m.load.label) for m in points]
        stacked = [0.0] * len(points)
        for index, (name, color) in enumerate(_COMPONENTS):
            heights = [_components_ms(m.breakdown)[index] for m in points]
            axes.bar(labels, heights, bottom=stacked, color=color, label=name, width=0.6)
            stacked = [s + h for s, h in zip(stacked, heights)]
        axes.set_title(textwrap.fill(config_words(config), 45), fontsize=9)
        axes.set_xlabel("load")
        axes.set_ylabel("avg latency (ms)")
        axes.grid(True, axis="y", alpha=0.3)
    handles, names = grid.flat[0].get_legend_handles_labels()
    figure.legend(handles[::-1], names[::-1], loc="outside right upper", fontsize=9, title="component")
    figure.suptitle("Latency breakdown per request")
    return _save(figure, path)


def plot_pareto(
    series: Mapping[str, Sequence[tuple[float, float]]],
    front: Sequence[tuple[float, float]],
    recommended: tuple[str, float, float] | None,
    latency_name: str,
    path: Path,
) -> Path:
    """Every configuration's sweep as (throughput, latency ms) points joined by a thin line, the Pareto front
    (no other point is both faster and quicker) as a step line, and the recommended point starred."""
    figure = Figure(figsize=(9, 5.5), layout="constrained")
    axes = figure.add_subplot()
    for points in series.values():
        axes.plot([x for x, _ in points], [y for _, y in points], "-o", color="#9a9a9a", alpha=0.6, markersize=3)
    if front:
        ordered = sorted(front)
        axes.step([x for x, _ in ordered], [y for _, y in ordered], "-", where="post", color="C3", label="Pareto front")
        axes.plot([x for x, _ in ordered], [y for _, y in ordered], "o", color="C3", markersize=5)
    if recommended is not None:
        name, x, y = recommended
        axes.plot([x], [y], "*", color="C2", markersize=16, label=f"recommended: {name}")
    axes.set_xlabel("throughput (inferences/s)")
    axes.set_ylabel(f"{latency_name} latency (ms)")
    axes.set_title(f"Configurations searched ({len(series)})")
    axes.set_xlim(0, None)
    axes.set_ylim(0, None)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    return _save(figure, path)
