"""A candidate deployment measured against a baseline deployment, side by side: the same requests at the same
concurrency, in alternating slices over connections kept open (perf.alternation), and each figure's ratio judged
with its confidence interval. Nothing stored is needed, and whatever the machine does to one side in a pair it
does to the other, so the ratio holds on machines whose plain throughput moves by more than the change sought.

Each figure's verdict follows Chromium's Pinpoint in having three outcomes: the same (its 90% interval within the
tolerance, as an equivalence test asks), regressed or improved (its 99% interval wholly beyond no change and the
estimate beyond the tolerance), or inconclusive. An inconclusive point is measured in further rounds of slice pairs,
pooled, while its time budget lasts. The rates of false alarms and of slowdowns caught are in benchmarks/RESULTS.md
(benchmarks/side_by_side_detection.py).

The intervals come from a bootstrap over blocks of two consecutive pairs. The pairs' order alternates (candidate
first, then baseline first), and on the 2-core CI machine the slice right after a switch ran 10-13% slower than the
next one of the same side (bert-tiny, 0.25 s slices): a pair's ratio swings with its order, while a block holds one
pair of each order and cancels it. Resampled by block, the interval is that of the estimate actually made.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from pytest_triton.perf.alternation import Slice, Slices
from pytest_triton.perf.reference import slice_throughput, steady_latencies
from pytest_triton.perf.settings import Rounds
from pytest_triton.perf.side_by_side_verdict import FIGURES, Figure, Outcome, Ratio, SideBySide, outcome_of

RESAMPLES = 4000  # bootstrap resamples of the blocks: enough for the expanded intervals' tails
CONFIDENCE = 0.99  # the interval shown, which a regression must lie wholly beyond no change in
EQUIVALENCE = 0.90  # the interval that must lie within the tolerance for "the same" (two one-sided tests at 5%)
SEED = 20261204
BLOCK = 2  # pairs resampled together: one of each order


@dataclass(frozen=True)
class PairedSlices:
    """Slices of the candidate and the baseline, pair i of one taken next to pair i of the other, at `concurrency`."""

    candidate: tuple[Slice, ...]
    baseline: tuple[Slice, ...]
    concurrency: int

    def __post_init__(self) -> None:
        if len(self.candidate) != len(self.baseline) or len(self.candidate) < 2:
            raise ValueError("need at least two slice pairs, as many of the candidate as of the baseline")

    @classmethod
    def of(cls, taken: Slices, concurrency: int) -> "PairedSlices":
        return cls(taken.first, taken.second, concurrency)

    def pooled(self, more: "PairedSlices") -> "PairedSlices":
        return PairedSlices(self.candidate + more.candidate, self.baseline + more.baseline, self.concurrency)

    @property
    def pairs(self) -> int:
        return len(self.candidate)

    def ratios(self, figures: Sequence[Figure] = FIGURES) -> tuple[Ratio, ...]:
        """Each figure's ratio over all pairs, with expanded percentile bootstrap intervals over blocks of BLOCK
        consecutive pairs (resampled whole, so what hit both sides of a pair, or both orders of a block, stays
        together)."""
        import numpy as np

        picks = self._resampled_pairs()
        levels = (CONFIDENCE, EQUIVALENCE)
        sides = (self.candidate, self.baseline)
        throughputs = [np.array([slice_throughput(s, self.concurrency) for s in side]) for side in sides]
        latencies = [[np.asarray(steady_latencies(s, self.concurrency), float) for s in side] for side in sides]
        out = []
        for figure in figures:
            if figure.name == "throughput":
                values = [float(t.mean()) for t in throughputs]
                resampled = throughputs[0][picks].mean(axis=1) / throughputs[1][picks].mean(axis=1)
            else:
                q = float(figure.name[1:])
                values = [
                    float(np.percentile(np.concatenate(side), q, method="inverted_cdf")) / 1000 for side in latencies
                ]
                resampled = _percentile_ratios(latencies, picks, q)
            wide, narrow = (expanded_tail((1 - level) / 2, picks.shape[1] // self._block) for level in levels)
            tails = [wide, narrow, 1 - narrow, 1 - wide]
            low, same_low, same_high, high = (float(v) for v in np.quantile(resampled, tails))
            ratio = values[0] / values[1]
            outcome = outcome_of(ratio, low, high, figure, (same_low, same_high))
            out.append(Ratio(figure.name, values[0], values[1], ratio, low, high, figure.tolerance, outcome))
        return tuple(out)

    @property
    def _block(self) -> int:
        return BLOCK if self.pairs >= 2 * BLOCK else 1

    def _resampled_pairs(self):
        """RESAMPLES rows of pair indices, each drawn as whole blocks of BLOCK consecutive pairs (single pairs where
        there are fewer than two blocks); an odd last pair counts in the estimate, not in the resampling."""
        import numpy as np

        size = self._block
        blocks = self.pairs // size
        drawn = np.random.default_rng(SEED).integers(0, blocks, size=(RESAMPLES, blocks))
        return (drawn[:, :, None] * size + np.arange(size)).reshape(RESAMPLES, blocks * size)

    def throughputs(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Each side's slice throughputs (inferences/s), in the order taken."""
        return tuple(  # type: ignore[return-value]
            tuple(slice_throughput(s, self.concurrency) for s in side) for side in (self.candidate, self.baseline)
        )


def expanded_tail(tail: float, n: int) -> float:
    """The bootstrap quantile to read for a two-sided interval with `tail` in each tail, from `n` resampled blocks:
    Hesterberg's expanded percentile interval, Phi(-sqrt(n / (n - 1)) * t(1 - tail, n - 1)). The plain percentile
    interval is too narrow for few blocks (16 in a round here): in CI an unchanged heavy model was called 5% slower
    on an interval of [0.905, 0.999]."""
    if n < 2:
        return tail
    normal = statistics.NormalDist()
    return normal.cdf(-math.sqrt(n / (n - 1)) * _student_t(1 - tail, n - 1))


def _student_t(p: float, df: int) -> float:
    """Student's t quantile by the Cornish-Fisher expansion in 1/df (Abramowitz and Stegun 26.7.5): within 0.2% of
    the exact value from 5 degrees of freedom on, at the tails used here."""
    z = statistics.NormalDist().inv_cdf(p)
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return z + sum(term / df ** (power + 1) for power, term in enumerate(terms))


def _percentile_ratios(latencies, picks, q: float):
    """Per resample, the q-th percentile of the candidate's pooled latencies over the baseline's."""
    return _resampled_percentile(latencies[0], picks, q) / _resampled_percentile(latencies[1], picks, q)


def _resampled_percentile(side, picks, q: float):
    """Per row of `picks` (slice indices), the q-th percentile (the inverted CDF's) of those slices' latencies
    pooled: every latency sorted once and weighted by how often its slice was drawn, so that no resample
    concatenates or sorts anything (a row at a time took about 2 s a point)."""
    import numpy as np

    values = np.concatenate(side)
    owners = np.repeat(np.arange(len(side)), [len(s) for s in side])
    order = np.argsort(values, kind="stable")
    values, owners = values[order], owners[order]
    out = np.empty(len(picks))
    chunk = max(1, 5_000_000 // len(values))  # resamples at a time: a few tens of MB, however many requests
    for start in range(0, len(picks), chunk):
        rows = picks[start : start + chunk]
        drawn = np.zeros((len(rows), len(side)), dtype=np.int32)
        np.add.at(drawn, (np.arange(len(rows))[:, None], rows), 1)
        cumulative = np.cumsum(drawn[:, owners], axis=1)
        reached = (cumulative < (q / 100) * cumulative[:, -1:]).sum(axis=1)
        out[start : start + chunk] = values[np.minimum(reached, len(values) - 1)]
    return out


def measure_side_by_side(
    point: str,
    take: Callable[[int], PairedSlices],
    rounds: Rounds = Rounds(),
    figures: Sequence[Figure] = FIGURES,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[SideBySide, PairedSlices]:
    """Rounds of `take(pairs)`, pooled, until no figure is inconclusive or the next round would overrun the budget
    (by `clock`: a benchmark replays recorded slices on their own time). A regression is measured again, apart, and
    stands only where the second measurement finds it too (SideBySide.confirmed_by): on the 2-core CI machine an
    unchanged deployment was once judged 0.938x [0.874, 0.998] in throughput. Returns the verdict and the last
    measurement's pooled slices (for the report's plot)."""
    verdict, pooled = _rounds(point, take, rounds, figures, clock)
    if verdict.outcome is not Outcome.REGRESSED:
        return verdict, pooled
    again, pooled = _rounds(point, take, rounds, figures, clock)
    return verdict.confirmed_by(again), pooled


def _rounds(
    point: str,
    take: Callable[[int], PairedSlices],
    rounds: Rounds,
    figures: Sequence[Figure],
    clock: Callable[[], float],
) -> tuple[SideBySide, PairedSlices]:
    began = clock()
    pooled = take(rounds.pairs)
    count = 1
    while True:
        ratios = pooled.ratios(figures)
        spent = clock() - began
        undecided = any(r.outcome is Outcome.INCONCLUSIVE for r in ratios)
        if not undecided or spent * (count + 1) / count > rounds.budget_s:
            break
        pooled = pooled.pooled(take(rounds.pairs))
        count += 1
    return SideBySide(point, ratios, pooled.pairs, count, spent, undecided), pooled
