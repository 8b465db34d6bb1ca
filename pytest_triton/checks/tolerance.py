"""Parity tolerances per precision and per output, and their parsing from PRECISION[/OUTPUT]:atol=... items (see
checks.parity for what they bound and how the defaults were measured). No numpy: the plugin parses them at start-up."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Mapping

from pytest_triton.errors import BadValue
from pytest_triton.models.spec import Tolerance

DEFAULT_TOLERANCES = {
    "fp32": Tolerance(1e-3, 1e-3, 1e-4),
    "fp16": Tolerance(5e-2, 5e-2, 1e-2),
    "bf16": Tolerance(0.15, 0.15, 5e-2),
}
_NUMBERS = ("atol", "rtol", "mean_abs")
STATISTIC = r"max|mean|median|p(100|[1-9]?[0-9])(\.[0-9]+)?"  # the JSON schema of golden files holds it too


def checked_statistic(text: str) -> str:
    """An error statistic's name as given; ValueError names the valid ones."""
    if not re.fullmatch(STATISTIC, text):
        raise ValueError(f"statistic {text!r}: use max, mean, median or a quantile such as p99 or p99.9")
    return text


@dataclass(frozen=True)
class Tolerances:
    """Per precision, and per (precision, output) where given on the command line."""

    by_precision: Mapping[str, Tolerance] = field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    by_output: Mapping[tuple[str, str], Tolerance] = field(default_factory=dict)

    def for_output(
        self, precision: str, output: str, spec_tolerances: Mapping[str, Mapping[str, Tolerance]] | None = None
    ) -> Tolerance:
        """Command line per output, then the spec's per output, then per precision."""
        given = self.by_output.get((precision, output))
        if given is None and spec_tolerances:
            given = spec_tolerances.get(precision, {}).get(output)
        return given if given is not None else self.by_precision[precision]


def parse_tolerances(values: list[str]) -> Tolerances:
    """Defaults overridden by "PRECISION[/OUTPUT]:atol=X,rtol=Y,mean_abs=Z,statistic=S" items (any subset, later
    items win); a bad item names itself."""
    by_precision = dict(DEFAULT_TOLERANCES)
    by_output: dict[tuple[str, str], Tolerance] = {}
    for item in values:
        target, _, settings = item.partition(":")
        precision, _, output = target.partition("/")
        if precision not in by_precision or not settings or (output == "" and "/" in target):
            raise BadValue(
                "expected PRECISION[/OUTPUT]:atol=X[,rtol=Y][,mean_abs=Z][,statistic=S] "
                f"with PRECISION one of {sorted(by_precision)}",
                where=f"={item!r}",
            )
        # Fields an item leaves out keep what its output, else its precision, had so far.
        current = by_output.get((precision, output), by_precision[precision]) if output else by_precision[precision]
        values_now = dataclasses.asdict(current)
        for setting in settings.split(","):
            key, _, value = setting.partition("=")
            try:
                if key == "statistic":
                    values_now[key] = checked_statistic(value)
                    continue
                if key not in _NUMBERS or not float(value) >= 0:
                    raise ValueError
                values_now[key] = float(value)
            except ValueError as error:
                numbers = f"{setting!r} is not atol=NUMBER, rtol=NUMBER or mean_abs=NUMBER with NUMBER >= 0"
                raise BadValue(str(error) if key == "statistic" else numbers, where=f"={item!r}") from None
        if output:
            by_output[(precision, output)] = Tolerance(**values_now)
        else:
            by_precision[precision] = Tolerance(**values_now)
    return Tolerances(by_precision, by_output)
