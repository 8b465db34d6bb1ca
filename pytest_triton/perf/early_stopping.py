"""A conservative latency percentile given how many requests were seen (MLPerf LoadGen's early stopping).

The p99 of a few hundred requests rests on its last few: between unchanged runs it moved by 30-40% here. The
early-stopping estimate is instead the smallest order statistic that bounds the true percentile from above with
the given confidence: with n latencies, the k-th smallest is such a bound when a Binomial(n, p) count falls
below k with that probability. It is never below the plain percentile, and it approaches it as n grows.
"""

from __future__ import annotations

import math
from typing import Sequence


def early_stopping_percentile(latencies: Sequence[float], percentile: float, confidence: float = 0.99) -> float | None:
    """The bound on the `percentile` (0-100) of the latencies' distribution, or None where there are too few
    latencies for any of them to bound it with `confidence` (p99 at 99% needs at least 459)."""
    if not 0 < percentile < 100 or not 0 < confidence < 1:
        raise ValueError(f"percentile in (0, 100) and confidence in (0, 1), not {percentile} and {confidence}")
    ordered = sorted(latencies)
    n = len(ordered)
    p = percentile / 100.0
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    # The smallest k with P(Binomial(n, p) <= k - 1) >= confidence, the CDF summed term by term in log space.
    cdf = 0.0
    for i in range(n):
        cdf += math.exp(log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
        if cdf >= confidence:
            return ordered[i]  # the (i + 1)-th smallest
    return None
