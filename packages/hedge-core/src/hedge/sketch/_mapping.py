"""Logarithmic mapping between positive values and integer bin indices.

Bin ``i`` covers the half-open interval ``(gamma**(i-1), gamma**i]`` where
``gamma = (1 + alpha) / (1 - alpha)``. Every value in a bin is represented by
``2 * gamma**i / (gamma + 1)``, which is within a relative distance of exactly
``alpha`` of both ends of the bin, so any value estimated through the mapping
is within ``alpha`` of the true value (Masson, Rim and Lee, VLDB 2019, §2).

A midpoint such as the geometric mean ``gamma**(i - 1/2)`` looks natural but
errs by ``sqrt(gamma) - 1``, a little more than ``alpha``; the representative
used here is the one that honours the bound.

Cost: one ``math.log`` and one ``math.ceil`` per value. With ``alpha = 0.01``
the range from 1 microsecond to 1 hour spans about 1,100 bins.
"""

from __future__ import annotations

import math

__all__ = ["LogarithmicMapping"]


class LogarithmicMapping:
    """Map positive values to bin indices with relative accuracy ``alpha``.

    Args:
        relative_accuracy: the bound ``alpha`` on the relative error of a value
            recovered from its bin, strictly between 0 and 1.

    Raises:
        TypeError: if ``relative_accuracy`` is not a real number.
        ValueError: if it is not in the open interval (0, 1).
    """

    __slots__ = ("_multiplier", "gamma", "relative_accuracy")

    def __init__(self, relative_accuracy: float = 0.01) -> None:
        if isinstance(relative_accuracy, bool) or not isinstance(relative_accuracy, (int, float)):
            raise TypeError(
                f"relative_accuracy must be a float in (0, 1), got {type(relative_accuracy).__name__}"
            )
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        self.relative_accuracy = float(relative_accuracy)
        self.gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._multiplier = 1.0 / math.log(self.gamma)

    def key(self, value: float) -> int:
        """Return the index of the bin holding ``value`` (positive, finite)."""
        return math.ceil(math.log(value) * self._multiplier)

    def value(self, key: int) -> float:
        """Return the representative value of bin ``key``."""
        return 2.0 * self.gamma**key / (self.gamma + 1.0)

    def lower_bound(self, key: int) -> float:
        """Return the exclusive lower end of bin ``key``."""
        return float(self.gamma ** (key - 1))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogarithmicMapping):
            return NotImplemented
        return self.gamma == other.gamma

    def __hash__(self) -> int:
        return hash(self.gamma)

    def __repr__(self) -> str:
        return f"LogarithmicMapping(relative_accuracy={self.relative_accuracy!r})"
