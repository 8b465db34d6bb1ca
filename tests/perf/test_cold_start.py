"""Cold start figures as baseline entries."""

from __future__ import annotations

from pytest_triton.perf.cold_start import COLD_TOLERANCES, ColdStart


def test_a_cold_start_is_kept_as_lower_is_better_entries_with_wide_tolerances():
    entries = ColdStart(load_s=2.5, first_response_us=40_000.0, first_requests_us=9_000.0).entries()
    assert {name: (e.value, e.unit, e.direction) for name, e in entries.items()} == {
        "load_time": (2.5, "s", "lower"),
        "first_response": (40_000.0, "us", "lower"),
        "first_requests": (9_000.0, "us", "lower"),
    }
    assert all(entries[name].tolerance == COLD_TOLERANCES[name] for name in entries)
    # A model someone else loaded: its first requests, not its load time.
    assert set(ColdStart(None, 40_000.0, 9_000.0).entries()) == {"first_response", "first_requests"}
