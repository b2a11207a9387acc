from __future__ import annotations

import math
import random

import pytest

from hedge.sketch import LogarithmicMapping


@pytest.mark.parametrize("alpha", [0.001, 0.01, 0.02, 0.05, 0.1, 0.3])
def test_every_value_is_within_alpha_of_its_bin_representative(alpha: float) -> None:
    mapping = LogarithmicMapping(alpha)
    rng = random.Random(7)
    values = [10 ** rng.uniform(-9, 9) for _ in range(20_000)]
    for value in values:
        estimate = mapping.value(mapping.key(value))
        assert abs(estimate - value) <= alpha * value * (1 + 1e-12)


@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_bin_edges_are_within_alpha(alpha: float) -> None:
    mapping = LogarithmicMapping(alpha)
    for key in range(-200, 200, 7):
        upper = mapping.gamma**key
        lower = mapping.lower_bound(key)
        representative = mapping.value(key)
        assert representative / upper >= 1 - alpha - 1e-12
        assert representative / lower <= 1 + alpha + 1e-12


def test_geometric_midpoint_would_break_the_bound() -> None:
    # The representative used by the seed library (the geometric mean of the
    # bin edges) errs by sqrt(gamma) - 1, just over alpha: the reason for ours.
    mapping = LogarithmicMapping(0.01)
    assert math.sqrt(mapping.gamma) - 1 > 0.01


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, math.nan])
def test_rejects_accuracy_outside_the_open_unit_interval(bad: float) -> None:
    with pytest.raises(ValueError, match="relative_accuracy"):
        LogarithmicMapping(bad)


@pytest.mark.parametrize("bad", ["0.01", None, True])
def test_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match="relative_accuracy"):
        LogarithmicMapping(bad)  # type: ignore[arg-type]


def test_equality_follows_gamma() -> None:
    assert LogarithmicMapping(0.01) == LogarithmicMapping(0.01)
    assert LogarithmicMapping(0.01) != LogarithmicMapping(0.02)
    assert hash(LogarithmicMapping(0.01)) == hash(LogarithmicMapping(0.01))
