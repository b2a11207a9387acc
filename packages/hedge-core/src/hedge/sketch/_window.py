"""A sliding view of recent values: two DDSketches that rotate lazily.

Values go into the *current* sketch. Every ``window`` seconds the current
sketch becomes the *previous* one and a fresh current sketch starts; queries
read both, so an estimate always covers between one and two windows of
history and never drops to nothing right after a rotation.

Rotation is lazy: ``add`` and ``quantile`` compare the time they are given
with the next rotation time. There is no timer, task or thread, so a window
works the same from any thread or event loop, and an idle window costs
nothing. After two idle windows both sketches are empty.

Queries walk the bins of both sketches side by side; nothing is merged or
sorted, and nothing is allocated.
"""

from __future__ import annotations

import math

from ._ddsketch import DDSketch
from ._store import DEFAULT_BIN_LIMIT, BinStore

__all__ = ["WindowedSketch"]


class WindowedSketch:
    """Quantiles of the values added during the last one to two windows.

    Not thread-safe on its own: callers serialise access (the hedge engine
    holds its state lock).

    Args:
        window: the rotation interval in seconds, finite and > 0.
        relative_accuracy: passed to each :class:`DDSketch`.
        bin_limit: passed to each :class:`DDSketch`.
        now: the time the first window starts.
    """

    __slots__ = ("_current", "_previous", "_rotate_at", "window")

    def __init__(
        self,
        window: float,
        *,
        relative_accuracy: float = 0.01,
        bin_limit: int = DEFAULT_BIN_LIMIT,
        now: float = 0.0,
    ) -> None:
        if isinstance(window, bool) or not isinstance(window, (int, float)):
            raise TypeError(f"window must be a float > 0 (seconds), got {type(window).__name__}")
        if not (0.0 < window < math.inf):
            raise ValueError(f"window must be finite and > 0 (seconds), got {window!r}")
        self.window = float(window)
        self._current = DDSketch(relative_accuracy, bin_limit)
        self._previous = DDSketch(relative_accuracy, bin_limit)
        self._rotate_at = now + self.window

    def _rotate(self, now: float) -> None:
        stale = self._previous
        if now >= self._rotate_at + self.window:
            # Idle for more than a whole window: everything has aged out.
            self._current.clear()
            stale.clear()
            self._previous = stale
        else:
            stale.clear()
            self._previous = self._current
            self._current = stale
        # Keep rotations on the original grid so windows do not drift.
        elapsed = math.floor((now - self._rotate_at) / self.window) + 1
        self._rotate_at += elapsed * self.window

    def add(self, value: float, now: float) -> None:
        """Add ``value`` observed at time ``now``.

        Raises:
            ValueError: as :meth:`DDSketch.add`.
        """
        if now >= self._rotate_at:
            self._rotate(now)
        self._current.add(value)

    def count(self, now: float) -> int:
        """How many values the window holds at time ``now``."""
        if now >= self._rotate_at:
            self._rotate(now)
        return self._current.count + self._previous.count

    def quantile(self, q: float, now: float) -> float | None:
        """Return the estimate of quantile ``q`` over both windows, or ``None``.

        Raises:
            ValueError: if ``q`` is not in ``[0, 1]``.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile q must be in [0, 1], got {q!r}")
        if now >= self._rotate_at:
            self._rotate(now)
        current, previous = self._current, self._previous
        previous_count = previous.count
        if not previous_count:
            return current.quantile(q)
        current_count = current.count
        if not current_count:
            return previous.quantile(q)
        low = min(current._min, previous._min)
        high = max(current._max, previous._max)
        if q == 1.0:
            return high
        count = current_count + previous_count
        zeros = current.zero_count + previous.zero_count
        rank = q * (count - 1)
        if rank < zeros:
            return 0.0
        if q == 0.0:
            return low
        key = _key_at_rank(current.store, previous.store, rank - zeros)
        return min(max(current.mapping.value(key), low), high)


def _key_at_rank(a: BinStore, b: BinStore, rank: float) -> int:
    """Key of the bin holding the element of rank ``floor(rank)`` over ``a`` and ``b`` together.

    Walks down from the top for ranks in the upper half (hedge delays are
    high quantiles), up from the bottom otherwise.
    """
    if not a.bins:
        return b.key_at_rank(rank)
    if not b.bins:
        return a.key_at_rank(rank)
    bins_a, offset_a = a.bins, a.offset
    bins_b, offset_b = b.bins, b.offset
    end_a, end_b = offset_a + len(bins_a), offset_b + len(bins_b)
    lowest, highest = min(offset_a, offset_b), max(end_a, end_b) - 1
    total = sum(bins_a) + sum(bins_b)
    cumulative = 0
    if rank < total / 2:
        target = rank
        keys = range(lowest, highest + 1)
    else:
        target = total - 1 - math.floor(rank)
        keys = range(highest, lowest - 1, -1)
    for key in keys:
        if offset_a <= key < end_a:
            cumulative += bins_a[key - offset_a]
        if offset_b <= key < end_b:
            cumulative += bins_b[key - offset_b]
        if cumulative > target:
            return key
    return keys[-1]
