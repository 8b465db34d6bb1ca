"""The Markdown summary, fit for a CI job page (GitHub's step summary, GitLab's job artifacts)."""

from __future__ import annotations

from typing import Mapping, Sequence

from pytest_triton.baselines.verdict import Comparison
from pytest_triton.perf.results import Measurement
from pytest_triton.report.format import change_text, counts_text, display_order, verdict_text
from pytest_triton.units import value_text


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows),
    ]


def markdown_summary(
    title: str,
    measurements: Mapping[str, Sequence[Measurement]],
    comparisons: Sequence[Comparison],
    plots: Sequence[str] = (),
    metadata: Mapping[str, object] | None = None,
) -> str:
    lines = [f"# {title}", ""]
    if metadata:
        lines += [f"- **{key}**: {value}" for key, value in metadata.items()] + [""]
    lines += ["## Baselines", "", f"**{counts_text(comparisons)}**", ""]
    if comparisons:
        ordered = display_order(comparisons)
        lines += markdown_table(
            ("config", "metric", "baseline", "measured", "change", "verdict"),
            [
                (
                    c.config,
                    c.metric,
                    value_text(c.baseline_value, c.measured.unit),
                    value_text(c.measured.value, c.measured.unit),
                    change_text(c),
                    f"**{verdict_text(c)}**" if c.failed else verdict_text(c),
                )
                for c in ordered
            ],
        )
        lines.append("")
    lines += ["## Measurements", ""]
    rows = []
    for config, series in measurements.items():
        for m in series:
            rows.append(
                (
                    config,
                    m.load.label,
                    f"{m.throughput:.4g}",
                    value_text(m.latency.avg_us, "us"),
                    value_text(m.latency.p50_us, "us"),
                    value_text(m.latency.p90_us, "us"),
                    value_text(m.latency.p95_us, "us"),
                    value_text(m.latency.p99_us, "us"),
                    value_text(m.breakdown.compute_infer_us, "us"),
                    value_text(m.breakdown.server_queue_us, "us"),
                    value_text(m.server_cpu_us, "us"),
                    value_text(m.server_rss_bytes, "bytes"),
                    value_text(m.model_rss_bytes, "bytes"),
                    _gpu_text(m),
                    "yes" if m.stable else "**no**",
                    f"{m.client_cpu_cores:.2f}" + (" **saturated**" if m.client_saturated else ""),
                    str(m.errors),
                )
            )
    lines += markdown_table(
        (
            "config",
            "load",
            "infer/s",
            "avg",
            "p50",
            "p90",
            "p95",
            "p99",
            "compute infer",
            "queue",
            "server CPU/infer",
            "server memory",
            "model memory",
            "GPU memory, utilization, power",
            "stable",
            "client cores",
            "errors",
        ),
        rows,
    )
    lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    return "\n".join(lines)


def _gpu_text(m: Measurement) -> str:
    if m.gpu_memory_bytes is None and m.gpu_utilization is None and m.gpu_power_w is None:
        return "-"
    utilization = "-" if m.gpu_utilization is None else f"{m.gpu_utilization:.0%}"
    power = "-" if m.gpu_power_w is None else f"{m.gpu_power_w:.0f} W"
    return f"{value_text(m.gpu_memory_bytes, 'bytes')}, {utilization}, {power}"
