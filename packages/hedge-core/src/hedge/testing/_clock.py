"""FakeClock: a clock that moves only when a test moves it."""

from __future__ import annotations

import math

__all__ = ["FakeClock"]


class FakeClock:
    """A manual monotonic clock for deterministic timing tests.

    Pass it wherever hedge takes a ``clock`` (``Hedger(clock=...)``), and to
    :func:`hedge.testing.run_virtual` so that the event loop's timers follow
    it too.

    Args:
        start: the first reading, in seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (finite, >= 0) and return the new time.

        Raises:
            ValueError: for a negative or non-finite step (clocks never go back).
        """
        if not (0.0 <= seconds < math.inf):
            raise ValueError(f"a clock only moves forward by a finite step, got {seconds!r}")
        self.now += seconds
        return self.now

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now!r})"
