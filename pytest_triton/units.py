"""Figures as the tables show them: the one formatter of a value in its unit, so that a failure's message reads
like the summary table beside it."""

from __future__ import annotations


def value_text(value: float | None, unit: str) -> str:
    """Latencies (stored in µs) from 1 ms up in ms, memory in MiB; four significant digits, so that a 20.04 ms
    latency does not read as 20 ms, and whole numbers from 10000 up (15670 infer/s, not 1.567e+04)."""
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{_significant(value / 2**20)} MiB"
    if unit == "us" and abs(value) >= 1000:
        return f"{_significant(value / 1000)} ms"
    return f"{_significant(value)} {unit}"


def _significant(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
