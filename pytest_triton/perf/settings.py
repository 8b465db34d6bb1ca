"""How a measurement is taken: windows, stability rule, protocol and timeouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_STRETCH = 10  # a window waiting for min_requests ends after this many window lengths all the same


@dataclass(frozen=True)
class MeasurementSettings:
    """Defaults follow perf_analyzer's rule (3 windows within 10%, at most 10 windows) with shorter
    windows, since the suites measure many configurations."""

    window_s: float = 1.0
    warmup_s: float = 0.5
    stability_pct: float = 10.0
    stable_windows: int = 3
    max_windows: int = 10
    protocol: Literal["grpc", "http"] = "grpc"
    # Per request; a hung server fails the request, never the whole session.
    request_timeout_s: float = 30.0
    # Open-loop safety valve: sends beyond this many in flight are dropped and counted, not queued.
    max_in_flight: int = 1000
    # The client counts as saturated at this share of one core (the asyncio loop is one thread).
    saturation_cores: float = 0.85
    # A window in which a hypervisor gave more than this share of the machine's CPU to other guests is disturbed:
    # it never counts towards stability. On the shared 2-core CI machine, window throughput fell with the steal
    # share (correlation -0.82 over 120 windows of 0.5 s); windows above 20% ran at half speed.
    max_steal_share: float = 0.10
    # A window lasts until it holds this many completed requests (up to MAX_STRETCH windows long), so that a
    # slow model's windows are not judged on a handful of requests.
    min_requests: int = 0
    # Stability judged on this latency percentile (50, 90, 95 or 99) instead of the average: perf_analyzer's
    # --percentile, for a gate on tail latency.
    percentile: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.warmup_s < 0:
            raise ValueError("window_s must be positive and warmup_s not negative")
        if self.stable_windows < 1 or self.max_windows < self.stable_windows:
            raise ValueError(f"need 1 <= stable_windows ({self.stable_windows}) <= max_windows ({self.max_windows})")
        if self.stability_pct <= 0:
            raise ValueError("stability_pct must be positive")
        if self.min_requests < 0:
            raise ValueError(f"min_requests must not be negative, not {self.min_requests}")
        if self.percentile not in (None, 50, 90, 95, 99):
            raise ValueError(f"percentile must be 50, 90, 95 or 99, not {self.percentile}")
        if self.protocol not in ("grpc", "http"):
            raise ValueError(f"protocol must be 'grpc' or 'http', not {self.protocol!r}")


@dataclass(frozen=True)
class Rounds:
    """How a point is measured: `pairs` slice pairs a round, rounds until every figure is decided or no further round
    fits in `budget_s` (judged by the rounds so far)."""

    pairs: int = 16
    budget_s: float = 20.0
