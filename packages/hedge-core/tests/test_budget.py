from __future__ import annotations

import pytest

from hedge import ProportionalBudget, TokenBucketBudget
from hedge.testing import FakeClock


def test_each_request_earns_its_share_of_a_hedge(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.1, floor=0.0, now=clock())
    for _ in range(9):
        budget.deposit()
    assert not budget.try_withdraw(clock())  # 0.9 of a token
    budget.deposit()
    assert budget.try_withdraw(clock())
    assert not budget.try_withdraw(clock())


def test_the_reserve_is_bounded(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.1, floor=0.0, now=clock())
    for _ in range(10_000):  # a long healthy stretch
        budget.deposit()
    assert budget.available(clock()) == pytest.approx(10.0)  # max(1, 100 * ratio)
    assert sum(budget.try_withdraw(clock()) for _ in range(50)) == 10


def test_the_floor_lets_low_traffic_hedge_at_a_bounded_rate(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.1, floor=1.0, now=clock())
    sent = 0
    for _ in range(60):  # one request per second for a minute, every one wanting a hedge
        budget.deposit()
        sent += budget.try_withdraw(clock())
        clock.advance(1.0)
    # Without the floor: 6 hedges (10% of 60). With it: about one per second.
    assert 55 <= sent <= 60


@pytest.mark.parametrize(("percent", "floor"), [(10.0, 1.0), (5.0, 0.5), (10.0, 0.0), (20.0, 2.0)])
def test_an_outage_cannot_push_hedges_past_percent_plus_floor(
    clock: FakeClock, percent: float, floor: float
) -> None:
    # Sustained outage at 200 rps for 30 s: every request is slow and wants a hedge.
    budget = ProportionalBudget(ratio=percent / 100, floor=floor, now=clock())
    requests = hedges = 0
    for _ in range(30 * 200):
        budget.deposit()
        requests += 1
        hedges += budget.try_withdraw(clock())
        clock.advance(1 / 200)
    reserve = max(1.0, percent)
    bound = percent / 100 * requests + reserve + floor * 30 + max(1.0, floor)
    assert hedges <= bound
    assert hedges >= percent / 100 * requests - 1  # and the budget is actually usable


def test_zero_percent_and_zero_floor_never_hedge(clock: FakeClock) -> None:
    budget = ProportionalBudget(ratio=0.0, floor=0.0, now=clock())
    for _ in range(1000):
        budget.deposit()
        assert not budget.try_withdraw(clock())
        clock.advance(1.0)


def test_token_bucket_refills_at_its_rate_whatever_the_traffic(clock: FakeClock) -> None:
    bucket = TokenBucketBudget(rate=10.0, now=clock())  # estimated_rps 100 at 10%
    assert sum(bucket.try_withdraw(clock()) for _ in range(100)) == 20  # starts full: 2 x rate
    clock.advance(1.0)
    assert sum(bucket.try_withdraw(clock()) for _ in range(100)) == 10
    bucket.deposit()  # traffic changes nothing
    assert not bucket.try_withdraw(clock())


def test_token_bucket_of_rate_zero_is_empty(clock: FakeClock) -> None:
    bucket = TokenBucketBudget(rate=0.0, now=clock())
    clock.advance(100)
    assert not bucket.try_withdraw(clock())
    assert bucket.available(clock()) == 0.0
