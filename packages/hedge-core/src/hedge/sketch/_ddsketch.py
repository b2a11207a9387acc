"""DDSketch: quantiles with a relative-error guarantee in bounded memory.

Guarantee: for a sketch of ``n`` values and any ``q`` in ``[0, 1]``,
``quantile(q)`` is within a relative distance ``alpha`` of the exact rank
quantile, the element of 0-based rank ``floor(q * (n - 1))`` in sorted order,
as long as that element was not folded by the store's bin limit (see
:mod:`hedge.sketch._store`). ``quantile(0)`` and ``quantile(1)`` are the exact
minimum and maximum.

Input rule: the sketch holds non-negative finite numbers. Values below
``MIN_INDEXABLE`` (one nanosecond when values are seconds), zero included,
are counted in a zero bin and estimated as 0. Negative numbers, NaN and
infinities raise :class:`ValueError`: they are never folded into the estimate.

Cost: ``add`` is a logarithm, a ceiling and a list increment. Memory is
bounded by ``bin_limit`` counters (2,048 by default: 16 kB, enough for eight
decades at 1% accuracy without folding).
"""

from __future__ import annotations

import math

from ._mapping import LogarithmicMapping
from ._store import DEFAULT_BIN_LIMIT, BinStore

__all__ = ["MIN_INDEXABLE", "DDSketch"]

MIN_INDEXABLE = 1e-9
_INF = math.inf
_log = math.log
_ceil = math.ceil


class DDSketch:
    """A mergeable quantile sketch with relative accuracy ``relative_accuracy``.

    Args:
        relative_accuracy: ``alpha``, the bound on the relative error of every
            quantile estimate, in (0, 1). Default 0.01.
        bin_limit: the most bins the sketch keeps (memory bound), at least 1.

    Raises:
        TypeError, ValueError: for arguments outside those ranges.
    """

    __slots__ = ("_max", "_min", "_multiplier", "_store", "mapping", "zero_count")

    def __init__(self, relative_accuracy: float = 0.01, bin_limit: int = DEFAULT_BIN_LIMIT) -> None:
        self.mapping = LogarithmicMapping(relative_accuracy)
        self._store = BinStore(bin_limit)
        self._multiplier = self.mapping._multiplier
        self.zero_count = 0
        self._min = _INF
        self._max = -_INF

    @property
    def relative_accuracy(self) -> float:
        """The bound ``alpha`` on the relative error of estimates."""
        return self.mapping.relative_accuracy

    @property
    def count(self) -> int:
        """How many values were added."""
        return self._store.count + self.zero_count

    @property
    def min(self) -> float | None:
        """The smallest value added, or ``None`` when empty."""
        return None if self._min == _INF else self._min

    @property
    def max(self) -> float | None:
        """The largest value added, or ``None`` when empty."""
        return None if self._max == -_INF else self._max

    @property
    def store(self) -> BinStore:
        """The bins holding the positive values (read-only use)."""
        return self._store

    def add(self, value: float) -> None:
        """Add one value.

        Raises:
            ValueError: if ``value`` is negative, NaN or infinite.
        """
        if MIN_INDEXABLE < value < _INF:
            store = self._store
            # The mapping's key and the store's increment, inlined: this is the
            # one line every request pays for. Anything unusual (a key outside
            # the run) goes through BinStore.add.
            index = _ceil(_log(value) * self._multiplier) - store.offset
            if index >= 0:
                try:
                    store.bins[index] += 1
                except IndexError:
                    store.add(index + store.offset)
            else:
                store.add(index + store.offset)
        elif 0.0 <= value < _INF:
            self.zero_count += 1
        else:
            raise ValueError(f"DDSketch accepts finite values >= 0, got {value!r}")
        if value < self._min:
            self._min = value
        if value > self._max:
            self._max = value

    def quantile(self, q: float) -> float | None:
        """Return the estimate of quantile ``q``, or ``None`` when empty.

        Raises:
            ValueError: if ``q`` is not in ``[0, 1]``.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile q must be in [0, 1], got {q!r}")
        count = self.count
        if not count:
            return None
        if q == 1.0:
            return self._max
        if q == 0.0:
            return self._min
        rank = q * (count - 1)
        if rank < self.zero_count:
            return 0.0
        estimate = self.mapping.value(self._store.key_at_rank(rank - self.zero_count))
        # The exact quantile lies in [min, max]; clamping can only move the
        # estimate closer to it.
        return min(max(estimate, self._min), self._max)

    def merge(self, other: DDSketch) -> None:
        """Add every value of ``other`` into this sketch.

        Raises:
            ValueError: if the two sketches use different accuracies.
        """
        if other.mapping != self.mapping:
            raise ValueError("cannot merge sketches with different relative accuracy")
        if not other.count:
            return
        self._store.merge(other._store)
        self.zero_count += other.zero_count
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)

    def clear(self) -> None:
        """Forget every value."""
        self._store.clear()
        self.zero_count = 0
        self._min = _INF
        self._max = -_INF

    def copy(self) -> DDSketch:
        """Return an independent copy."""
        clone = DDSketch.__new__(DDSketch)
        clone.mapping = self.mapping
        clone._store = self._store.copy()
        clone._multiplier = self._multiplier
        clone.zero_count = self.zero_count
        clone._min = self._min
        clone._max = self._max
        return clone

    def __repr__(self) -> str:
        return (
            f"DDSketch(relative_accuracy={self.relative_accuracy!r}, count={self.count}, "
            f"min={self.min!r}, max={self.max!r})"
        )
