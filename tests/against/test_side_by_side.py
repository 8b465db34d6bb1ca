"""The side-by-side verdict (perf.side_by_side): ratios with their intervals, Pinpoint's three outcomes, and rounds
measured while a figure is inconclusive and the budget lasts."""

from __future__ import annotations

import random

import pytest

from pytest_triton.perf.alternation import Slice
from pytest_triton.perf.settings import Rounds
from pytest_triton.perf.side_by_side import PairedSlices, measure_side_by_side
from pytest_triton.perf.side_by_side_verdict import FIGURES, Figure, Outcome, SideBySide, outcome_of

THROUGHPUT = Figure("throughput", "infer/s", True, 0.03)
P99 = Figure("p99", "ms", False, 0.10)


@pytest.mark.parametrize(
    ("figure", "ratio", "low", "high", "expected"),
    [
        (THROUGHPUT, 1.0, 0.98, 1.02, Outcome.SAME),  # the whole interval within 3%
        (THROUGHPUT, 0.95, 0.93, 0.97, Outcome.REGRESSED),  # throughput lower, all of it, and beyond 3%
        (THROUGHPUT, 1.06, 1.04, 1.08, Outcome.IMPROVED),
        (THROUGHPUT, 0.99, 0.90, 1.08, Outcome.INCONCLUSIVE),  # too wide to say
        (THROUGHPUT, 0.98, 0.975, 0.985, Outcome.SAME),  # a real 2% change is within the tolerance
        (THROUGHPUT, 0.975, 0.94, 0.995, Outcome.INCONCLUSIVE),  # lower, but not beyond the tolerance: not yet
        (P99, 1.2, 1.12, 1.3, Outcome.REGRESSED),  # latency: higher is worse
        (P99, 0.8, 0.7, 0.88, Outcome.IMPROVED),
        (P99, 1.05, 0.95, 1.09, Outcome.SAME),
    ],
)
def test_three_outcomes_as_pinpoint_gives_them(figure, ratio, low, high, expected):
    assert outcome_of(ratio, low, high, figure) is expected


def test_the_same_is_judged_on_the_narrower_equivalence_interval():
    # The 99% interval reaches beyond 3%; the 90% one lies within: the same, as two one-sided tests at 5% say.
    assert outcome_of(1.0, 0.96, 1.04, THROUGHPUT) is Outcome.INCONCLUSIVE
    assert outcome_of(1.0, 0.96, 1.04, THROUGHPUT, within=(0.985, 1.015)) is Outcome.SAME
    # A regression must lie wholly beyond no change in the wider one.
    assert outcome_of(0.95, 0.90, 1.01, THROUGHPUT, within=(0.93, 0.97)) is Outcome.INCONCLUSIVE


def _slices(latency_us: float, pairs: int, rng: random.Random, jitter: float = 0.05) -> tuple[Slice, ...]:
    """Slices of 60 requests each around `latency_us`."""
    return tuple(
        Slice(tuple(int(latency_us * (1 + rng.gauss(0, jitter))) for _ in range(60)), 0.25) for _ in range(pairs)
    )


def test_a_ten_percent_slower_candidate_regresses_and_an_unchanged_one_is_the_same():
    rng = random.Random(1)
    base = _slices(2_000, 20, rng)
    slow = PairedSlices(_slices(2_200, 20, rng), base, 1)
    ratios = {r.figure: r for r in slow.ratios()}
    assert ratios["throughput"].ratio == pytest.approx(1 / 1.1, rel=0.01)
    assert ratios["throughput"].low < ratios["throughput"].ratio < ratios["throughput"].high
    assert ratios["throughput"].outcome is Outcome.REGRESSED
    assert ratios["p50"].ratio == pytest.approx(1.1, rel=0.01) and ratios["p50"].outcome is Outcome.REGRESSED
    assert ratios["p50"].candidate == pytest.approx(2.2, rel=0.01)  # ms
    same = PairedSlices(_slices(2_000, 20, rng), base, 1)
    assert {r.figure: r.outcome for r in same.ratios()} == {f.name: Outcome.SAME for f in FIGURES}


def test_blocks_of_both_orders_are_resampled_whole_so_an_order_effect_cancels():
    rng = random.Random(6)
    # The slice right after a switch runs 12% slower: with the order alternating, a pair's ratio swings by about 25%,
    # while the estimate over both orders is unbiased. Resampled by block, its interval stays narrow.
    candidate, baseline = [], []
    for i in range(32):
        first, second = (1.12, 1.0)
        c, b = (first, second) if i % 2 == 0 else (second, first)
        candidate.append(Slice(tuple(int(2_000 * c * (1 + rng.gauss(0, 0.01))) for _ in range(60)), 0.25))
        baseline.append(Slice(tuple(int(2_000 * b * (1 + rng.gauss(0, 0.01))) for _ in range(60)), 0.25))
    throughput = PairedSlices(tuple(candidate), tuple(baseline), 1).ratios((THROUGHPUT,))[0]
    assert throughput.ratio == pytest.approx(1.0, abs=0.01)
    assert throughput.high - throughput.low < 0.02 and throughput.outcome is Outcome.SAME


def test_pairs_are_resampled_whole_so_a_disturbance_on_both_sides_of_a_pair_cancels():
    rng = random.Random(2)
    # Every other pair runs at half speed on both sides (a busy neighbour): the ratio stays 1, narrowly.
    levels = [1.0 if i % 2 else 2.0 for i in range(20)]
    candidate = tuple(
        Slice(tuple(int(2_000 * lv * (1 + rng.gauss(0, 0.01))) for _ in range(60)), 0.25) for lv in levels
    )
    baseline = tuple(Slice(tuple(int(2_000 * lv * (1 + rng.gauss(0, 0.01))) for _ in range(60)), 0.25) for lv in levels)
    throughput = PairedSlices(candidate, baseline, 1).ratios((THROUGHPUT,))[0]
    assert throughput.high - throughput.low < 0.02
    assert throughput.outcome is Outcome.SAME


def _swinging(pairs: int) -> PairedSlices:
    """Blocks whose candidate runs 20% slower, then 20% faster, than the baseline: no change overall, but too
    scattered to say so from a few blocks."""
    candidate = [2_000 * (1.2 if (i // 2) % 2 == 0 else 1 / 1.2) for i in range(pairs)]
    return PairedSlices(
        tuple(Slice((int(c),) * 20, 0.25) for c in candidate), tuple(Slice((2_000,) * 20, 0.25) for _ in candidate), 1
    )


def _steady_pairs(pairs: int) -> PairedSlices:
    return PairedSlices(*(tuple(Slice((2_000,) * 20, 0.25) for _ in range(pairs)) for _ in range(2)), 1)


def test_an_inconclusive_point_is_measured_in_further_rounds_until_decided():
    calls = []
    clock = {"now": 0.0}

    def take(pairs: int) -> PairedSlices:
        calls.append(pairs)
        clock["now"] += 4.0
        return _swinging(pairs) if len(calls) == 1 else _steady_pairs(pairs)

    rounds = Rounds(pairs=4, budget_s=100)
    verdict, pooled = measure_side_by_side("m/c1", take, rounds, (THROUGHPUT,), lambda: clock["now"])
    assert len(calls) > 1 and verdict.rounds == len(calls) and calls == [4] * len(calls)
    assert pooled.pairs == 4 * len(calls) == verdict.pairs
    assert verdict.outcome is Outcome.SAME and not verdict.budget_spent


def test_the_budget_ends_the_rounds_and_the_point_stays_inconclusive():
    clock = {"now": 0.0}

    def take(pairs: int) -> PairedSlices:
        clock["now"] += 8.0
        return _swinging(pairs)

    rounds = Rounds(pairs=4, budget_s=20)
    verdict, _ = measure_side_by_side("m/c1", take, rounds, (THROUGHPUT,), lambda: clock["now"])
    # 8 s a round: a third round would end at 24 s, beyond the 20 s budget.
    assert verdict.rounds == 2 and verdict.seconds == 16.0
    assert verdict.outcome is Outcome.INCONCLUSIVE and verdict.budget_spent
    assert "inconclusive" in verdict.line() and "(8 slice pairs)" in verdict.line()


def test_a_verdict_reads_back_from_its_dict():
    rng = random.Random(5)
    paired = PairedSlices(_slices(2_000, 4, rng), _slices(2_100, 4, rng), 1)
    verdict = SideBySide("m/c1", paired.ratios(), 4, 1, 2.5, False)
    assert SideBySide.from_dict(verdict.to_dict()) == verdict
    with pytest.raises(ValueError, match="at least two slice pairs"):
        PairedSlices(paired.candidate[:1], paired.baseline[:1], 1)


def test_accuracy_apart_from_the_baseline_deployment_is_named_so():
    from types import SimpleNamespace

    from pytest_triton.checks.accuracy_baselines import points_apart

    served, theirs = SimpleNamespace(top1=91.0, top5=99.0), SimpleNamespace(top1=93.5, top5=99.5)
    assert points_apart("val", served, theirs, ("top1", "top5"), 1.0, "the baseline deployment") == [
        "val: top1 -2.50 points from the baseline deployment (tolerance 1.0)"
    ]
    assert points_apart("val", served, theirs, ("top5",), 1.0) == []


def test_few_blocks_widen_the_interval_as_students_t_does():
    from pytest_triton.perf.side_by_side import _student_t, expanded_tail

    for df, exact in ((7, 3.499), (15, 2.947), (31, 2.744)):  # t(0.995, df) from the tables
        assert _student_t(0.995, df) == pytest.approx(exact, abs=0.002)
    # 16 blocks: the 99% interval is read at the 0.12% quantiles, not the 0.5% ones; many blocks: barely wider.
    assert expanded_tail(0.005, 16) == pytest.approx(0.00117, abs=0.00005)
    assert 0.0045 < expanded_tail(0.005, 1000) < 0.005


def _taking(*measurements: PairedSlices):
    """take() handing out `measurements` one round each, on a clock of 4 s a round."""
    queue, clock = list(measurements), {"now": 0.0}

    def take(pairs: int) -> PairedSlices:
        clock["now"] += 4.0
        return queue.pop(0)

    return take, lambda: clock["now"]


def test_a_regression_is_measured_again_and_stands_only_where_the_second_finds_it_too():
    rng = random.Random(2)
    base = _slices(2_000, 16, rng)
    slow = PairedSlices(_slices(2_200, 16, rng), base, 1)
    take, clock = _taking(slow, PairedSlices(_slices(2_200, 16, rng), base, 1))
    verdict, _ = measure_side_by_side("m/c1", take, Rounds(pairs=16, budget_s=100), (THROUGHPUT,), clock)
    assert verdict.outcome is Outcome.REGRESSED
    assert (verdict.pairs, verdict.rounds, verdict.seconds) == (32, 2, 8.0)  # both measurements count


def test_a_regression_the_second_measurement_does_not_find_is_not_one():
    rng = random.Random(3)
    base = _slices(2_000, 16, rng)
    take, clock = _taking(
        PairedSlices(_slices(2_200, 16, rng), base, 1), PairedSlices(_slices(2_000, 16, rng), base, 1)
    )
    verdict, pooled = measure_side_by_side("m/c1", take, Rounds(pairs=16, budget_s=100), (THROUGHPUT,), clock)
    assert verdict.outcome is Outcome.SAME and verdict.pairs == 32
    assert pooled.pairs == 16  # the plot shows the second measurement


def test_a_figure_regressed_only_in_the_second_measurement_is_inconclusive():
    rng = random.Random(4)
    base = _slices(2_000, 16, rng)
    first = PairedSlices(_slices(2_200, 16, rng), base, 1)
    figures = (THROUGHPUT, next(f for f in FIGURES if f.name == "p50"))
    take, clock = _taking(first, PairedSlices(_slices(2_200, 16, rng), base, 1))
    once, _ = measure_side_by_side("m/c1", lambda pairs: first, Rounds(pairs=16, budget_s=100), (THROUGHPUT,), clock)
    again, _ = measure_side_by_side("m/c1", take, Rounds(pairs=16, budget_s=100), figures, clock)
    confirmed = once.confirmed_by(again)
    assert confirmed.ratio("throughput").outcome is Outcome.REGRESSED
    assert confirmed.ratio("p50").outcome is Outcome.INCONCLUSIVE
