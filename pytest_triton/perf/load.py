"""Load points: how much traffic a measurement offers, and perf_analyzer-style ranges of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Union

Arrivals = Literal["constant", "poisson"]


@dataclass(frozen=True)
class Concurrency:
    """Closed loop: `requests` in flight at all times, each sent as soon as the previous one returns."""

    requests: int

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.requests}")

    @property
    def label(self) -> str:
        return f"c{self.requests}"

    def to_dict(self) -> dict[str, object]:
        return {"mode": "concurrency", "concurrency": self.requests}


@dataclass(frozen=True)
class RequestRate:
    """Open loop (MLPerf's Server scenario): requests sent on a schedule whatever the responses do."""

    per_second: float
    arrivals: Arrivals = "constant"

    def __post_init__(self) -> None:
        if self.per_second <= 0:
            raise ValueError(f"request rate must be positive, not {self.per_second}")
        if self.arrivals not in ("constant", "poisson"):
            raise ValueError(f"arrivals must be 'constant' or 'poisson', not {self.arrivals!r}")

    @property
    def label(self) -> str:
        return f"r{self.per_second:g}" + ("-poisson" if self.arrivals == "poisson" else "")

    def to_dict(self) -> dict[str, object]:
        return {"mode": "request_rate", "request_rate": self.per_second, "arrivals": self.arrivals}


LoadPoint = Union[Concurrency, RequestRate]


def _parse_range(spec: str) -> tuple[float, float, float]:
    # perf_analyzer's start[:end[:step]], end inclusive.
    parts = spec.split(":")
    if not 1 <= len(parts) <= 3 or not all(p.strip() for p in parts):
        raise ValueError(f"range {spec!r} is not start[:end[:step]]")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"range {spec!r} is not start[:end[:step]] of numbers") from None
    start = numbers[0]
    end = numbers[1] if len(numbers) > 1 else start
    step = numbers[2] if len(numbers) > 2 else 1.0
    if step <= 0 or end < start:
        raise ValueError(f"range {spec!r} needs end >= start and a positive step")
    return start, end, step


def _values(spec: str) -> list[float]:
    start, end, step = _parse_range(spec)
    count = int((end - start) / step + 1e-9) + 1
    return [start + i * step for i in range(count)]


def concurrency_range(spec: str) -> tuple[Concurrency, ...]:
    """ "1:16:4" -> c1, c5, c9, c13 (perf_analyzer's --concurrency-range)."""
    values = _values(spec)
    if any(v != int(v) for v in values):
        raise ValueError(f"concurrency range {spec!r} must be whole numbers")
    return tuple(Concurrency(int(v)) for v in values)


def request_rate_range(spec: str, arrivals: Arrivals = "constant") -> tuple[RequestRate, ...]:
    """ "50:150:50" -> 50, 100, 150 requests/s (perf_analyzer's --request-rate-range)."""
    return tuple(RequestRate(v, arrivals) for v in _values(spec))


def load_from_dict(data: Mapping[str, Any]) -> LoadPoint:
    """Back from Concurrency/RequestRate.to_dict()."""
    if data["mode"] == "concurrency":
        return Concurrency(int(data["concurrency"]))
    return RequestRate(float(data["request_rate"]), data["arrivals"])
