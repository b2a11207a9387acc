"""The relative-accuracy guarantee, checked against exact rank quantiles."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedge.sketch import MIN_INDEXABLE, DDSketch

QUANTILES = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]
SIZES = [1, 2, 3, 5, 10, 100, 1000, 10_000]


def _datasets() -> dict[str, Callable[[random.Random, int], list[float]]]:
    return {
        "uniform": lambda r, n: [r.uniform(0.001, 1.0) for _ in range(n)],
        "exponential": lambda r, n: [r.expovariate(50.0) + 1e-6 for _ in range(n)],
        "lognormal-latency": lambda r, n: [r.lognormvariate(math.log(0.005), 0.4) for _ in range(n)],
        "stragglers": lambda r, n: [
            r.lognormvariate(math.log(0.005), 0.4) * (10 if r.random() < 0.05 else 1) for _ in range(n)
        ],
        "pareto": lambda r, n: [r.paretovariate(1.2) for _ in range(n)],
        "normal-shifted": lambda r, n: [abs(r.gauss(100.0, 15.0)) + 1e-3 for _ in range(n)],
        "constant": lambda r, n: [0.042] * n,
        "ramp": lambda r, n: [float(i + 1) for i in range(n)],
        "bimodal": lambda r, n: [
            r.gauss(0.01, 0.001) if r.random() < 0.7 else r.gauss(1.0, 0.1) for _ in range(n)
        ],
        "integers": lambda r, n: [float(r.randint(1, 20)) for _ in range(n)],
        "tiny": lambda r, n: [r.uniform(2e-9, 5e-8) for _ in range(n)],
        "huge": lambda r, n: [r.uniform(1e8, 1e12) for _ in range(n)],
        "with-zeros": lambda r, n: [0.0 if r.random() < 0.2 else r.uniform(0.1, 10.0) for _ in range(n)],
        "decades": lambda r, n: [10 ** r.uniform(-6, 6) for _ in range(n)],
    }


def exact_quantile(sorted_values: list[float], q: float) -> float:
    """The element of 0-based rank floor(q * (n - 1)): the definition the sketch honours."""
    return sorted_values[math.floor(q * (len(sorted_values) - 1))]


def assert_within(estimate: float | None, exact: float, alpha: float) -> None:
    assert estimate is not None
    assert abs(estimate - exact) <= alpha * exact * (1 + 1e-9), (estimate, exact)


@pytest.mark.parametrize("name", sorted(_datasets()))
@pytest.mark.parametrize("size", SIZES)
def test_every_quantile_is_within_the_relative_accuracy(name: str, size: int) -> None:
    alpha = 0.01
    rng = random.Random(hash((name, size)) & 0xFFFF)
    values = _datasets()[name](rng, size)
    sketch = DDSketch(alpha)
    for value in values:
        sketch.add(value)
    ordered = sorted(values)
    assert sketch.count == size
    for q in QUANTILES:
        assert_within(sketch.quantile(q), exact_quantile(ordered, q), alpha)
    assert sketch.min == ordered[0]
    assert sketch.max == ordered[-1]


@pytest.mark.parametrize("alpha", [0.001, 0.005, 0.02, 0.05])
def test_the_bound_scales_with_alpha(alpha: float) -> None:
    rng = random.Random(11)
    values = [rng.lognormvariate(0, 2) for _ in range(5000)]
    sketch = DDSketch(alpha, bin_limit=100_000)  # no folding: every quantile is bound
    for value in values:
        sketch.add(value)
    ordered = sorted(values)
    for q in QUANTILES:
        assert_within(sketch.quantile(q), exact_quantile(ordered, q), alpha)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.floats(min_value=0.0, max_value=1e9, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=400,
    ),
    q=st.floats(min_value=0.0, max_value=1.0),
)
def test_property_any_values_any_quantile(values: list[float], q: float) -> None:
    sketch = DDSketch(0.01)
    for value in values:
        sketch.add(value)
    exact = exact_quantile(sorted(values), q)
    estimate = sketch.quantile(q)
    if exact <= MIN_INDEXABLE:
        # Values below one nanosecond count as zero, by the documented rule.
        assert estimate is not None
        assert estimate <= MIN_INDEXABLE
    else:
        assert_within(estimate, exact, 0.01)


def test_high_quantiles_survive_collapsing_the_low_end() -> None:
    # 256 bins at 1% span a factor of about 160: enough for p90..max of
    # values spread over eleven decades, far from enough for the low end.
    sketch = DDSketch(0.01, bin_limit=256)
    rng = random.Random(5)
    values = [10 ** rng.uniform(-8, 3) for _ in range(20_000)]
    for value in values:
        sketch.add(value)
    assert len(sketch.store) <= 256
    assert sketch.store.collapsed
    ordered = sorted(values)
    for q in (0.9, 0.95, 0.99, 0.999, 1.0):
        assert_within(sketch.quantile(q), exact_quantile(ordered, q), 0.01)


def test_merge_equals_adding_everything_to_one_sketch() -> None:
    rng = random.Random(9)
    first = [rng.expovariate(1.0) for _ in range(3000)]
    second = [rng.expovariate(0.1) for _ in range(2000)]
    a, b, whole = DDSketch(), DDSketch(), DDSketch()
    for value in first:
        a.add(value)
        whole.add(value)
    for value in second:
        b.add(value)
        whole.add(value)
    a.merge(b)
    assert a.count == whole.count == 5000
    for q in QUANTILES:
        assert a.quantile(q) == whole.quantile(q)
    assert (a.min, a.max) == (whole.min, whole.max)


def test_merge_rejects_a_different_accuracy() -> None:
    with pytest.raises(ValueError, match="relative accuracy"):
        DDSketch(0.01).merge(DDSketch(0.02))


@pytest.mark.parametrize("bad", [-1.0, -1e-300, math.nan, math.inf, -math.inf])
def test_rejects_negative_nan_and_infinite_values(bad: float) -> None:
    sketch = DDSketch()
    sketch.add(1.0)
    with pytest.raises(ValueError, match="finite values >= 0"):
        sketch.add(bad)
    # Nothing was corrupted by the rejected value.
    assert sketch.count == 1
    assert sketch.quantile(0.5) == 1.0


def test_zero_and_sub_nanosecond_values_count_as_zero() -> None:
    sketch = DDSketch()
    for value in [0.0, 1e-12, 5.0, 5.0]:
        sketch.add(value)
    assert sketch.zero_count == 2
    assert sketch.quantile(0.0) == 0.0
    assert sketch.quantile(0.3) == 0.0
    assert sketch.quantile(1.0) == 5.0


def test_empty_sketch_and_bad_quantiles() -> None:
    sketch = DDSketch()
    assert sketch.quantile(0.5) is None
    assert (sketch.count, sketch.min, sketch.max) == (0, None, None)
    for bad in (-0.1, 1.1, 90):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            sketch.quantile(bad)


def test_copy_and_clear_are_independent() -> None:
    sketch = DDSketch()
    for value in (1.0, 2.0, 3.0):
        sketch.add(value)
    clone = sketch.copy()
    sketch.clear()
    assert sketch.count == 0
    assert clone.count == 3
    assert clone.quantile(1.0) == 3.0
    assert "count=3" in repr(clone)
