from __future__ import annotations

import threading

import pytest

from hedge import Stats, StatsSnapshot
from hedge import _stats as codes


def test_counting_rules() -> None:
    stats = Stats()
    stats.record("k", codes.PRIMARY_WIN)
    stats.record("k", codes.HEDGE_WIN, hedges=1)
    stats.record("k", codes.HEDGE_WIN, hedges=2, cancelled=2)
    stats.record("k", codes.FAILED, hedges=1, denied=0)
    stats.record("j", codes.PRIMARY_WIN, denied=1)
    stats.record("j", codes.ABANDONED, hedges=1, cancelled=2)
    stats.record_passthrough("j")
    snap = stats.snapshot()
    assert snap == StatsSnapshot(
        total_requests=6,
        hedged_requests=4,
        hedges_sent=5,
        hedge_wins=2,
        primary_wins=2,
        budget_exhausted=1,
        errors=1,
        cancelled_requests=1,
        attempts_cancelled=4,
        passthrough_requests=1,
    )
    assert snap.hedge_rate() == pytest.approx(4 / 6)
    assert stats.hedge_rate() == pytest.approx(4 / 6)
    assert snap.extra_load() == pytest.approx(5 / 6)
    key = stats.key_snapshot("k")
    assert key is not None
    assert (key.total_requests, key.hedge_wins, key.hedges_sent) == (4, 2, 4)
    assert stats.key_snapshot("missing") is None
    assert StatsSnapshot().hedge_rate() == 0.0


def test_per_key_delay_and_reset() -> None:
    stats = Stats()
    stats.record_delay("k", 0.05)
    assert stats.keys()["k"].delay == 0.05
    stats.reset()
    assert stats.snapshot() == StatsSnapshot()
    assert stats.keys() == {}


def test_per_key_counters_are_bounded_but_totals_are_not() -> None:
    stats = Stats(max_keys=10)
    for i in range(1000):
        stats.record(f"key-{i}", codes.PRIMARY_WIN)
    assert len(stats.keys()) == 10
    assert stats.snapshot().total_requests == 1000


def test_counts_add_up_exactly_across_threads() -> None:
    stats = Stats()

    def work(key: str) -> None:
        for _ in range(5000):
            stats.record(key, codes.HEDGE_WIN, hedges=1)

    threads = [threading.Thread(target=work, args=(f"k{i % 3}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    snap = stats.snapshot()
    assert (snap.total_requests, snap.hedge_wins, snap.hedges_sent) == (40_000, 40_000, 40_000)
    assert sum(k.total_requests for k in stats.keys().values()) == 40_000


def test_bad_max_keys() -> None:
    with pytest.raises(ValueError, match="max_keys"):
        Stats(max_keys=0)
    with pytest.raises(TypeError, match="max_keys"):
        Stats(max_keys="10")  # type: ignore[arg-type]
    assert "total_requests=0" in repr(Stats())
