"""Percentiles of measured latencies, computed one way for ``run`` and ``simulate`` alike.

Percentiles are exact order statistics of the sample with linear
interpolation between neighbours (the "type 7" rule of R and numpy's
default), so a report can be reproduced from the raw latencies in the JSON
output with ``numpy.percentile``. With 500 requests, p99.9 lies between the
two slowest requests: read it as "about the worst", not as a stable figure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

__all__ = ["PERCENTILES", "percentile", "percentiles", "spread"]

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
)
"""The columns of the results table: name and quantile."""


def percentile(ordered: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile (0 <= q <= 1) of an already sorted, non-empty sequence."""
    if not ordered:
        raise ValueError("percentile of an empty sample")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """Return the table's percentiles of ``values``, by column name."""
    ordered = sorted(values)
    return {name: percentile(ordered, q) for name, q in PERCENTILES}


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, minimum and maximum of one figure over repeats."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
