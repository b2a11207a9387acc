import pytest

from hedge_bench import PERCENTILES, percentile, percentiles
from hedge_bench._summary import spread


def test_percentile_interpolates_linearly_between_order_statistics():
    ordered = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert percentile(ordered, 0.0) == 1.0
    assert percentile(ordered, 1.0) == 5.0
    assert percentile(ordered, 0.5) == 3.0
    assert percentile(ordered, 0.9) == pytest.approx(4.6)  # numpy.percentile(..., 90)
    assert percentile([7.0], 0.99) == 7.0


def test_percentiles_of_the_table():
    values = list(range(1, 1001))
    figures = percentiles(reversed(values))
    assert list(figures) == [name for name, _ in PERCENTILES]
    assert figures["p50"] == pytest.approx(500.5)
    assert figures["p99"] == pytest.approx(990.01)
    assert figures["p999"] == pytest.approx(999.001)


def test_percentile_errors():
    with pytest.raises(ValueError, match="empty"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        percentile([1.0], 90)


def test_spread():
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
