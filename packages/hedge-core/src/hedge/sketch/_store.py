"""Bounded dense bin store: a run of counters indexed by bin key.

The store keeps one counter per bin between the lowest and the highest key
seen, in a Python list with an offset. It never holds more than ``bin_limit``
counters: when a new key would stretch the run past the limit, the lowest
bins are folded into the lowest bin that is kept ("collapsing lowest").
Folding only moves counts towards higher keys, so quantiles whose rank falls
above the folded counts keep the mapping's accuracy; low quantiles of a
collapsed store are overestimated. Latency estimates use high quantiles, which
is why the low end is the one given up.

Cost: ``add`` is one index check and one increment when the key is inside the
run; widening the run copies the list (amortised over the keys it covers).
The total count is not kept up to date on every ``add`` (that would cost the
hot path an attribute write); :attr:`BinStore.count` sums the bins, which is
cheap next to the quantile walk that needs it.
Memory: 8 bytes per bin in the run, so about 2 kB for a latency range of
1 ms to 100 ms at 1% accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

__all__ = ["BinStore"]

DEFAULT_BIN_LIMIT = 2048


class BinStore:
    """Counters for a contiguous run of bin keys, at most ``bin_limit`` long.

    Args:
        bin_limit: the largest number of bins kept (at least 1).

    Raises:
        TypeError: if ``bin_limit`` is not an int.
        ValueError: if ``bin_limit`` is below 1.
    """

    __slots__ = ("bin_limit", "bins", "collapsed", "offset")

    def __init__(self, bin_limit: int = DEFAULT_BIN_LIMIT) -> None:
        if isinstance(bin_limit, bool) or not isinstance(bin_limit, int):
            raise TypeError(f"bin_limit must be an int >= 1, got {type(bin_limit).__name__}")
        if bin_limit < 1:
            raise ValueError(f"bin_limit must be >= 1, got {bin_limit!r}")
        self.bin_limit = bin_limit
        self.bins: list[int] = []
        self.offset = 0
        self.collapsed = False

    @property
    def count(self) -> int:
        """The total of all counters."""
        return sum(self.bins)

    def add(self, key: int, weight: int = 1) -> None:
        """Add ``weight`` to the counter of bin ``key``."""
        index = key - self.offset
        bins = self.bins
        if 0 <= index < len(bins):
            bins[index] += weight
        else:
            self._add_outside(key, weight)

    def _add_outside(self, key: int, weight: int) -> None:
        bins = self.bins
        if not bins:
            self.bins = [weight]
            self.offset = key
            return
        if key < self.offset:
            lowest_allowed = self.offset + len(bins) - self.bin_limit
            if key < lowest_allowed:
                # The run may not grow that far down: the value joins the lowest bin kept.
                key = lowest_allowed
                self.collapsed = True
            bins[:0] = [0] * (self.offset - key)
            self.offset = key
            bins[0] += weight
            return
        # key above the run
        bins.extend([0] * (key - self.offset - len(bins) + 1))
        bins[-1] += weight
        excess = len(bins) - self.bin_limit
        if excess > 0:
            folded = sum(bins[: excess + 1])
            del bins[:excess]
            bins[0] = folded
            self.offset += excess
            self.collapsed = True

    def merge(self, other: BinStore) -> None:
        """Add every counter of ``other`` into this store."""
        for key, count in other.items():
            if count:
                self.add(key, count)

    def key_at_rank(self, rank: float) -> int:
        """Return the key of the bin holding the element of 0-based rank ``floor(rank)``.

        Walks from whichever end is nearer, so high quantiles (the ones hedging
        asks for) touch only the top bins.

        Raises:
            IndexError: if the store is empty.
        """
        bins = self.bins
        if not bins:
            raise IndexError("key_at_rank on an empty store")
        total = sum(bins)
        cumulative = 0
        if rank < total / 2:
            for index, value in enumerate(bins):
                cumulative += value
                if cumulative > rank:
                    return self.offset + index
            return self.offset + len(bins) - 1
        above = total - 1 - math.floor(rank)  # elements ranked above the wanted one
        for index in range(len(bins) - 1, -1, -1):
            cumulative += bins[index]
            if cumulative > above:
                return self.offset + index
        return self.offset

    def items(self) -> Iterator[tuple[int, int]]:
        """Yield ``(key, count)`` for every bin in the run, lowest first."""
        offset = self.offset
        for index, value in enumerate(self.bins):
            yield offset + index, value

    def clear(self) -> None:
        """Drop every counter."""
        self.bins = []
        self.offset = 0
        self.collapsed = False

    def copy(self) -> BinStore:
        """Return an independent copy of this store."""
        clone = BinStore(self.bin_limit)
        clone.bins = list(self.bins)
        clone.offset = self.offset
        clone.collapsed = self.collapsed
        return clone

    def __len__(self) -> int:
        return len(self.bins)
