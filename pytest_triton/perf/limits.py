"""Service-level limits that gate without a baseline: "p99<=20ms,throughput>=500/s,server_memory<=4GiB".

A first run on new hardware has no baseline to compare with; a limit still fails a configuration that is too
slow or too big. Each limit may name the configurations it is for: "bert-tiny:p99<=20ms" applies to every
configuration whose id is bert-tiny or starts with "bert-tiny-".
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from pytest_triton.perf.results import METRICS, Measurement
from pytest_triton.units import value_text

# Name in a limit -> (metric of Measurement.value, unit family).
_METRICS = {
    "throughput": ("throughput", "rate"),
    "avg": ("latency_avg", "time"),
    **{f"p{p}": (f"latency_p{p}", "time") for p in (50, 90, 95, 99)},
    "server_cpu": ("server_cpu_us", "time"),
    "server_memory": ("server_rss", "size"),
    "model_memory": ("model_rss", "size"),
    "gpu_memory": ("gpu_memory", "size"),
    "gpu_power": ("gpu_power", "power"),
}
# Unit -> factor to the metric's stored unit (µs, inferences/s, bytes).
_UNITS = {
    "time": {"us": 1.0, "µs": 1.0, "ms": 1e3, "s": 1e6},
    "rate": {"/s": 1.0, "infer/s": 1.0, "": 1.0},
    "power": {"W": 1.0, "kW": 1e3},
    "size": {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30},
}
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_LIMIT = re.compile(
    r"^\s*(?:(?P<scope>[^:=<>]+):)?\s*(?P<name>\w+)\s*(?P<op><=|>=|<|>)\s*(?P<number>[0-9.eE+-]+)\s*(?P<unit>\S*)\s*$"
)


@dataclass(frozen=True)
class Limit:
    metric: str  # a Measurement.value metric
    op: str
    value: float  # in the metric's stored unit
    text: str  # as given, for messages
    scope: str | None = None  # configurations it is for; None: all

    def applies_to(self, config: str) -> bool:
        return self.scope is None or config == self.scope or config.startswith(self.scope + "-")

    def broken_by(self, measurement: Measurement) -> str | None:
        """Why `measurement` breaks this limit, or None where it keeps it. A figure this measurement could not
        read (a remote server's memory) breaks nothing: the message of check_limits says it was not checked."""
        measured = measurement.value(self.metric)
        if measured is None or _OPERATORS[self.op](measured, self.value):
            return None
        return f"{self.text} broken: measured {value_text(measured, METRICS[self.metric][0])}"


def parse_limits(text: str) -> tuple[Limit, ...]:
    """ "[CONFIG:]NAME OP NUMBER[UNIT],..." -> limits; ValueError names what is wrong and what is valid."""
    limits = []
    scope: str | None = None
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"empty limit in {text!r}")
        match = _LIMIT.match(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not [CONFIG:]NAME<=VALUE (or >=, <, >), e.g. p99<=20ms")
        # A scope holds for the limits after it in the same value: "bert-tiny:p99<=20ms,throughput>=100/s".
        scope = match["scope"].strip() if match["scope"] else scope
        name = match["name"]
        if name not in _METRICS:
            raise ValueError(f"unknown limit {name!r}; known: {', '.join(_METRICS)}")
        metric, family = _METRICS[name]
        units = _UNITS[family]
        unit = match["unit"]
        if unit not in units:
            known = ", ".join(u for u in units if u) or "none"
            raise ValueError(f"{name} takes the units {known}, not {unit!r}")
        try:
            number = float(match["number"])
        except ValueError:
            raise ValueError(f"{match['number']!r} in {part.strip()!r} is not a number") from None
        text_shown = f"{scope + ':' if scope else ''}{name}{match['op']}{match['number']}{unit}"
        limits.append(Limit(metric, match["op"], number * units[unit], text_shown, scope))
    return tuple(limits)


def check_limits(limits: Sequence[Limit], config: str, measurement: Measurement) -> tuple[list[str], list[str]]:
    """(broken, unchecked): messages for the limits of `config` that `measurement` breaks, and the limits
    it has no figure for."""
    broken, unchecked = [], []
    for limit in limits:
        if not limit.applies_to(config):
            continue
        if measurement.value(limit.metric) is None:
            unchecked.append(
                f"{config}/{measurement.load.label}: {limit.text} not checked: this server's figure is unknown"
            )
            continue
        reason = limit.broken_by(measurement)
        if reason:
            broken.append(f"{config}/{measurement.load.label}: {reason}")
    return broken, unchecked
