from __future__ import annotations

import math

import pytest

from hedge.sketch import WindowedSketch
from hedge.testing import FakeClock


def test_values_stay_for_one_to_two_windows(clock: FakeClock) -> None:
    window = WindowedSketch(10.0, now=clock())
    window.add(1.0, clock())
    clock.advance(9.9)
    assert window.count(clock()) == 1  # same window
    clock.advance(0.2)  # rotated once: the value is in the previous window
    assert window.count(clock()) == 1
    window.add(2.0, clock())
    assert window.quantile(1.0, clock()) == pytest.approx(2.0, rel=0.01)
    clock.advance(10.0)  # rotated again: the first value aged out
    assert window.count(clock()) == 1
    assert window.quantile(0.0, clock()) == pytest.approx(2.0, rel=0.01)


def test_idle_for_two_windows_forgets_everything(clock: FakeClock) -> None:
    window = WindowedSketch(5.0, now=clock())
    for value in (1.0, 2.0, 3.0):
        window.add(value, clock())
    clock.advance(12.0)
    assert window.count(clock()) == 0
    assert window.quantile(0.9, clock()) is None


def test_rotation_stays_on_the_original_grid(clock: FakeClock) -> None:
    window = WindowedSketch(10.0, now=clock())
    clock.advance(13.0)  # rotation at 1010: the next is due at 1020, not 1023
    window.add(1.0, clock())
    clock.advance(6.9)  # 1019.9
    window.add(2.0, clock())
    assert window.count(clock()) == 2
    clock.advance(0.2)  # 1020.1: rotated; both values are in the previous window
    assert window.count(clock()) == 2
    clock.advance(10.0)  # 1030.1: aged out
    assert window.count(clock()) == 0


def test_quantile_reads_both_windows_without_merging(clock: FakeClock) -> None:
    window = WindowedSketch(10.0, now=clock())
    for value in range(1, 51):
        window.add(float(value), clock())
    clock.advance(10.0)
    for value in range(51, 101):
        window.add(float(value), clock())
    # 100 values across two windows: p90 is the element of rank 89 (value 90).
    assert window.quantile(0.9, clock()) == pytest.approx(90.0, rel=0.01)
    assert window.quantile(0.0, clock()) == 1.0
    assert window.quantile(1.0, clock()) == 100.0
    assert window.quantile(0.5, clock()) == pytest.approx(50.0, rel=0.01)


def test_zeros_are_counted_across_windows(clock: FakeClock) -> None:
    window = WindowedSketch(10.0, now=clock())
    window.add(0.0, clock())
    window.add(0.0, clock())
    clock.advance(10.0)
    window.add(4.0, clock())
    assert window.quantile(0.4, clock()) == 0.0
    assert window.quantile(1.0, clock()) == 4.0


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_rejects_a_window_that_is_not_positive_and_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="window"):
        WindowedSketch(bad)


def test_rejects_bad_quantiles(clock: FakeClock) -> None:
    window = WindowedSketch(1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        window.quantile(90, clock())
