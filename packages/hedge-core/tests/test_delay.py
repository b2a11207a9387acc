from __future__ import annotations

import random

import pytest

from hedge import HedgeConfig
from hedge._delay import REFRESH_INTERVAL, REFRESH_SAMPLES, DelayEstimator
from hedge.testing import FakeClock


def test_warmup_delay_until_enough_samples(clock: FakeClock) -> None:
    estimator = DelayEstimator(HedgeConfig(warmup_requests=5, warmup_delay=0.02), clock())
    for _ in range(4):
        assert estimator.delay(clock()) == 0.02
        estimator.observe(0.1, clock())
    assert not estimator.estimated
    estimator.observe(0.1, clock())
    assert estimator.delay(clock()) == pytest.approx(0.1, rel=0.01)
    assert estimator.estimated


def test_delay_is_the_configured_percentile_clamped(clock: FakeClock) -> None:
    rng = random.Random(1)
    samples = [rng.uniform(0.001, 0.1) for _ in range(5000)]
    config = HedgeConfig(percentile=0.9, warmup_requests=10)
    estimator = DelayEstimator(config, clock())
    for sample in samples:
        estimator.observe(sample, clock())
    exact = sorted(samples)[int(0.9 * (len(samples) - 1))]
    assert estimator.refresh(clock()) == pytest.approx(exact, rel=0.01)
    low = DelayEstimator(HedgeConfig(min_delay=0.5, max_delay=1.0, warmup_requests=1), clock())
    high = DelayEstimator(HedgeConfig(min_delay=0.0, max_delay=0.002, warmup_requests=1), clock())
    for sample in samples:
        low.observe(sample, clock())
        high.observe(sample, clock())
    assert low.refresh(clock()) == 0.5
    assert high.refresh(clock()) == 0.002


def test_cached_delay_refreshes_after_samples_or_time(clock: FakeClock) -> None:
    estimator = DelayEstimator(HedgeConfig(warmup_requests=1), clock())
    estimator.observe(0.010, clock())
    assert estimator.delay(clock()) == pytest.approx(0.010, rel=0.01)
    for _ in range(REFRESH_SAMPLES - 1):
        estimator.observe(1.0, clock())
    # Not refreshed yet: the cached value is served.
    assert estimator.delay(clock()) == pytest.approx(0.010, rel=0.01)
    estimator.observe(1.0, clock())
    assert estimator.delay(clock()) == pytest.approx(1.0, rel=0.01)
    other = DelayEstimator(HedgeConfig(warmup_requests=1), clock())
    other.observe(0.01, clock())
    other.delay(clock())
    other.observe(5.0, clock())
    other.observe(5.0, clock())
    assert other.delay(clock()) == pytest.approx(0.01, rel=0.01)
    clock.advance(REFRESH_INTERVAL)
    assert other.delay(clock()) == pytest.approx(5.0, rel=0.01)


def test_an_idle_key_keeps_its_last_estimate(clock: FakeClock) -> None:
    config = HedgeConfig(warmup_requests=3, warmup_delay=0.01, window_duration=30.0)
    estimator = DelayEstimator(config, clock())
    for _ in range(50):
        estimator.observe(0.5, clock())
    assert estimator.delay(clock()) == pytest.approx(0.5, rel=0.01)
    clock.advance(300.0)  # ten windows idle: the sketch is empty
    assert estimator.window.count(clock()) == 0
    # The seed fell back to 10 ms here and hedged everything slower.
    assert estimator.delay(clock()) == pytest.approx(0.5, rel=0.01)


def test_the_estimate_follows_a_shift_within_two_windows(clock: FakeClock) -> None:
    config = HedgeConfig(warmup_requests=5, window_duration=10.0)
    estimator = DelayEstimator(config, clock())
    for _ in range(100):
        estimator.observe(0.01, clock())
        clock.advance(0.1)
    assert estimator.delay(clock()) == pytest.approx(0.01, rel=0.01)
    for _ in range(250):  # 25 s of slower latency
        estimator.observe(0.2, clock())
        clock.advance(0.1)
    assert estimator.delay(clock()) == pytest.approx(0.2, rel=0.01)
