from __future__ import annotations

import pytest

from hedge import ProportionalBudget, TokenBucketBudget
from hedge._budget import RESERVE_SECONDS
from hedge.testing import FakeClock


def test_each_request_earns_its_share_of_a_hedge(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.1, floor=0.0, now=clock())
    for _ in range(9):
        budget.deposit(clock())
    assert not budget.try_withdraw(clock())  # 0.9 of a token
    budget.deposit(clock())
    assert budget.try_withdraw(clock())  # exactly one: integer arithmetic, no 0.999...
    assert not budget.try_withdraw(clock())


def test_the_reserve_holds_what_recent_traffic_earned(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.1, floor=0.0, now=clock())
    for _ in range(60 * 100):  # a minute at 100 rps, no hedge wanted
        budget.deposit(clock())
        clock.advance(0.01)
    # 10% of the last 10-20 seconds of requests: between 100 and 200 hedges.
    assert 100 <= budget.available(clock()) <= 200
    # After a quiet spell the reserve shrinks to what the new traffic earns.
    clock.advance(3 * RESERVE_SECONDS)
    budget.deposit(clock())
    assert budget.available(clock()) == pytest.approx(1.0)


def test_a_matched_budget_rarely_refuses(clock: FakeClock) -> None:
    # Hedging at p90 with a 10% budget: on average exactly what is earned is
    # asked for. A reserve sized by traffic keeps random refusals rare.
    budget = ProportionalBudget(ratio=0.1, floor=0.0, now=clock())
    wanted = refused = 0
    for index in range(100_000):
        budget.deposit(clock())
        if (index * 7919) % 10 == 0:  # a deterministic one request in ten
            wanted += 1
            refused += not budget.try_withdraw(clock())
        clock.advance(0.01)
    assert refused <= 0.01 * wanted


def test_the_floor_lets_low_traffic_hedge_at_a_bounded_rate(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.1, floor=1.0, now=clock())
    sent = 0
    for _ in range(60):  # one request per second for a minute, every one wanting a hedge
        budget.deposit(clock())
        sent += budget.try_withdraw(clock())
        clock.advance(1.0)
    # Without the floor: 6 hedges (10% of 60). With it: about one per second.
    assert 55 <= sent <= 60


@pytest.mark.parametrize(("percent", "floor"), [(10.0, 1.0), (5.0, 0.5), (10.0, 0.0), (20.0, 2.0)])
def test_an_outage_cannot_push_hedges_past_percent_plus_floor(
    clock: FakeClock, percent: float, floor: float
) -> None:
    budget = ProportionalBudget(ratio=percent / 100, floor=floor, now=clock())
    for _ in range(60 * 200):  # a healthy minute at 200 rps banks its full reserve
        budget.deposit(clock())
        clock.advance(1 / 200)
    reserve = budget.available(clock())
    requests = hedges = 0
    for _ in range(30 * 200):  # then a 30 s outage: every request wants a hedge
        budget.deposit(clock())
        requests += 1
        hedges += budget.try_withdraw(clock())
        clock.advance(1 / 200)
    assert hedges <= percent / 100 * requests + reserve + floor * 30 + 1
    assert hedges >= percent / 100 * requests - 1  # and the budget is actually usable
    # The reserve was at most what the 20 s before earned.
    assert reserve <= percent / 100 * 200 * 2 * RESERVE_SECONDS + max(1.0, floor)


def test_zero_percent_and_zero_floor_never_hedge(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.0, floor=0.0, now=clock())
    for _ in range(1000):
        budget.deposit(clock())
        assert not budget.try_withdraw(clock())
        clock.advance(1.0)
    assert budget.reserve == 0.0


def test_token_bucket_refills_at_its_rate_whatever_the_traffic(clock: FakeClock) -> None:
    bucket = TokenBucketBudget(rate=10.0, now=clock())  # estimated_rps 100 at 10%
    assert sum(bucket.try_withdraw(clock()) for _ in range(100)) == 20  # starts full: 2 x rate
    clock.advance(1.0)
    assert sum(bucket.try_withdraw(clock()) for _ in range(100)) == 10
    bucket.deposit(clock())  # traffic changes nothing
    assert not bucket.try_withdraw(clock())


def test_token_bucket_of_rate_zero_is_empty(clock: FakeClock) -> None:
    bucket = TokenBucketBudget(rate=0.0, now=clock())
    clock.advance(100)
    assert not bucket.try_withdraw(clock())
    assert bucket.available(clock()) == 0.0
