"""The simulator against cases worked out by hand.

Two-point latencies (1 ms, or 100 ms with probability q = 0.2, independent
per attempt) with a fixed hedge delay d = 10 ms and a budget that never
refuses. With ``max_hedges=1`` a request takes 1 ms (fast primary,
probability 0.8), d + 1 = 11 ms (slow primary, fast hedge, 0.16) or 100 ms
(both slow, 0.04); the extra load is q = 20%. With ``max_hedges=2`` a second
hedge at 2d = 20 ms makes it 1, 11, 21 ms (0.032) or 100 ms (q**3 = 0.008);
the extra load is q + q**2 = 24%. So p50 = 1 ms, p90 = 11 ms, and p99 is
100 ms with one hedge but 21 ms with two.
"""

import math

import pytest

from hedge import HedgeConfig
from hedge_bench import TwoPointModel, Workload, frontier, simulate
from hedge_bench._simulate import FrontierPoint, pareto

Q = 0.2
DELAY = 0.010
REQUESTS = 4000
MODEL = TwoPointModel(1.0, 100.0, Q)
# budget_percent=100: every request deposits the token its hedge may spend.
FIXED = HedgeConfig(
    min_delay=DELAY, max_delay=DELAY, warmup_delay=DELAY, budget_percent=100.0, budget_floor=100.0
)


def _expected(workload, max_hedges):
    """Every request's latency (ms) and the hedges sent, from the draws themselves."""
    latencies, hedges = [], 0
    for index in range(REQUESTS):
        slow = [workload.latency(0, index, attempt) > 0.05 for attempt in range(max_hedges + 1)]
        for attempt, is_slow in enumerate(slow):
            if not is_slow:
                latencies.append(1.0 + 10.0 * attempt)
                break
        else:
            latencies.append(100.0)
        # A hedge is sent each time every attempt so far is still out at the next multiple of d.
        for attempt in range(max_hedges):
            if all(slow[: attempt + 1]):
                hedges += 1
    return latencies, hedges


@pytest.mark.parametrize("max_hedges", [1, 2])
def test_every_request_matches_the_hand_computed_outcome(max_hedges):
    workload = Workload(MODEL, 42)
    outcome = simulate(
        workload, FIXED.__class__(**{**_fields(FIXED), "max_hedges": max_hedges}), requests=REQUESTS
    )
    expected, hedges = _expected(workload, max_hedges)
    assert outcome.latencies_ms == pytest.approx(expected, abs=1e-6)
    assert outcome.hedges_sent == hedges
    assert outcome.budget_denied == 0


def _fields(config):
    return {name: getattr(config, name) for name in config.__dataclass_fields__ if name != "stats"}


def test_closed_form_percentiles_and_extra_load():
    workload = Workload(MODEL, 1)
    one = simulate(workload, FIXED, requests=REQUESTS, concurrency=4)
    two = simulate(
        workload, HedgeConfig(**{**_fields(FIXED), "max_hedges": 2}), requests=REQUESTS, concurrency=4
    )
    none = simulate(workload, HedgeConfig(max_hedges=0), requests=REQUESTS)
    tolerance = 4 * math.sqrt(Q * (1 - Q) / REQUESTS) * 100  # percentage points
    assert one.percentiles()["p50"] == pytest.approx(1.0)
    assert one.percentiles()["p90"] == pytest.approx(11.0)
    assert one.percentiles()["p99"] == pytest.approx(100.0)
    assert one.extra_percent == pytest.approx(100 * Q, abs=tolerance)
    assert two.percentiles()["p99"] == pytest.approx(21.0)
    assert two.percentiles()["p999"] == pytest.approx(100.0)
    assert two.extra_percent == pytest.approx(100 * (Q + Q * Q), abs=tolerance)
    # Without hedging the latencies are the primaries' own: 1 ms or 100 ms.
    assert none.percentiles()["p90"] == pytest.approx(100.0)
    assert none.hedges_sent == 0


def test_the_budget_caps_the_extra_load():
    # 5% budget and no floor: at most 5% of requests (plus nothing banked) may hedge, though 20% want to.
    capped = HedgeConfig(
        min_delay=DELAY, max_delay=DELAY, warmup_delay=DELAY, budget_percent=5.0, budget_floor=0.0
    )
    outcome = simulate(Workload(MODEL, 3), capped, requests=REQUESTS)
    assert outcome.extra_percent <= 5.0
    assert outcome.extra_percent > 4.5
    assert outcome.budget_denied > 0


def test_adaptive_delay_learns_the_percentile():
    # Two-point with q = 0.05: p90 of the primaries is 1 ms, so adaptive hedges every slow primary early.
    workload = Workload(TwoPointModel(1.0, 100.0, 0.05), 9)
    outcome = simulate(workload, HedgeConfig(budget_percent=100.0), requests=2000, warmup=200)
    assert outcome.delay_ms == pytest.approx(1.0, rel=0.02)
    assert outcome.percentiles()["p99"] < 5.0


def test_warmup_is_not_measured_and_does_not_change_the_measured_primaries():
    workload = Workload(MODEL, 5)
    cold = simulate(workload, HedgeConfig(max_hedges=0), requests=300)
    warm = simulate(workload, HedgeConfig(max_hedges=0), requests=300, warmup=500)
    assert warm.latencies_ms == pytest.approx(cold.latencies_ms, abs=1e-6)
    assert warm.requests == 300


def test_simulate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="requests"):
        simulate(Workload(MODEL), HedgeConfig(), requests=0)
    with pytest.raises(ValueError, match="concurrency"):
        simulate(Workload(MODEL), HedgeConfig(), requests=1, concurrency=0)


def test_frontier_grid_and_pareto_marks():
    points = frontier(
        Workload(MODEL, 2),
        HedgeConfig(budget_percent=100.0),
        grid_percentiles=[0.5, 0.9],
        grid_max_hedges=[0, 1, 2],
        requests=500,
        warmup=100,
        repeat=2,
    )
    assert [(math.isnan(p.percentile), p.max_hedges) for p in points] == [
        (True, 0),
        (False, 1),
        (False, 1),
        (False, 2),
        (False, 2),
    ]
    assert points[0].extra_percent == 0.0
    assert any(point.efficient for point in points)
    assert points[0].efficient  # nothing sends less than no hedging at all


def test_pareto():
    def point(p99, extra):
        return FrontierPoint(0.9, 1, 1.0, p99, p99, extra, 0.0, None)

    marked = pareto([point(10, 5), point(20, 1), point(12, 6), point(10, 5)])
    assert [p.efficient for p in marked] == [True, True, False, True]
