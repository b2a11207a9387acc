"""The hedge delay of one latency key: a windowed sketch behind a cached quantile.

``delay(now)`` is what every request asks, so it is a few attribute reads
and comparisons. The quantile is recomputed only when enough has changed:
after ``REFRESH_SAMPLES`` new samples, after ``REFRESH_INTERVAL`` seconds, or
on every sample until the first estimate exists. A recomputation walks the
sketch bins once (no merge, no sort, no allocation).

Warm-up rule: until the window holds ``warmup_requests`` samples, the delay
is the last estimate this key had, or ``warmup_delay`` if it never had one.
A key that goes idle therefore keeps its last known delay instead of falling
back to ``warmup_delay`` (hedge-python fell back to 10 ms after 60 s idle and
hedged everything slower until its sketch refilled).

Samples follow the estimator rule of the race engine: one per request, from
the primary attempt only (see :mod:`hedge._engine`).
"""

from __future__ import annotations

import math

from ._config import HedgeConfig
from .sketch import WindowedSketch

__all__ = ["DelayEstimator"]

REFRESH_SAMPLES = 32
REFRESH_INTERVAL = 1.0


class DelayEstimator:
    """The hedge delay for one key, learned from that key's latency samples.

    Not thread-safe on its own; the engine calls it under its state lock.

    Args:
        config: supplies percentile, clamps, warm-up and window settings.
        now: the clock reading at creation.
    """

    __slots__ = (
        "_clamp_high",
        "_clamp_low",
        "_delay",
        "_estimated",
        "_pending",
        "_quantile",
        "_refresh_at",
        "_warmup",
        "window",
    )

    def __init__(self, config: HedgeConfig, now: float) -> None:
        self.window = WindowedSketch(
            config.window_duration, relative_accuracy=config.relative_accuracy, now=now
        )
        self._quantile = config.percentile
        self._clamp_low = config.min_delay
        self._clamp_high = config.max_delay
        self._warmup = max(1, config.warmup_requests)
        self._delay = config.effective_warmup_delay
        self._estimated = False
        self._pending = 0
        self._refresh_at = -math.inf

    @property
    def estimated(self) -> bool:
        """Whether the delay has ever come from the sketch (warm-up is over)."""
        return self._estimated

    def delay(self, now: float) -> float:
        """Return the current hedge delay in seconds."""
        if self._pending >= REFRESH_SAMPLES or now >= self._refresh_at:
            self.refresh(now)
        return self._delay

    def observe(self, latency: float, now: float) -> None:
        """Record one latency sample (seconds, >= 0) taken at ``now``."""
        self.window.add(latency, now)
        self._pending = self._pending + 1 if self._estimated else REFRESH_SAMPLES

    def refresh(self, now: float) -> float:
        """Recompute the delay from the window now, and return it."""
        self._pending = 0
        self._refresh_at = now + REFRESH_INTERVAL
        if self.window.count(now) >= self._warmup:
            estimate = self.window.quantile(self._quantile, now)
            if estimate is not None:
                self._delay = min(max(estimate, self._clamp_low), self._clamp_high)
                self._estimated = True
        return self._delay
