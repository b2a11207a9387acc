"""Counters of what hedging did, global and per latency key.

A :class:`Stats` may be shared by any number of clients, threads and event
loops: every update takes one short lock, once per request (the engine
gathers a request's counts and records them together when it ends). Per-key
counters live in a bounded LRU, so they cost bounded memory however many
keys pass through.

Counting rules:

* ``total_requests`` counts hedge-eligible requests, the ones the race engine
  ran. Requests that may not be hedged (a POST, a non-replayable body) are
  counted in ``passthrough_requests`` only, so ``hedge_rate()`` is the share
  of eligible requests that were hedged. (hedge-python counted both in
  ``total_requests``.)
* ``hedge_wins`` / ``primary_wins`` count requests whose accepted answer came
  from a hedge / the primary. A request that ended in failure counts in
  ``errors`` and in neither win counter.
* ``budget_exhausted`` counts hedges the budget refused.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ._lru import BoundedLRU

__all__ = ["KeyStatsSnapshot", "Stats", "StatsSnapshot"]

# Outcome codes passed to Stats.record by the engine.
PRIMARY_WIN = 0
HEDGE_WIN = 1
FAILED = 2
ABANDONED = 3  # the caller cancelled or timed out


@dataclass(frozen=True)
class StatsSnapshot:
    """Counters at one instant. All fields are totals since creation (or reset)."""

    total_requests: int = 0
    hedged_requests: int = 0
    hedges_sent: int = 0
    hedge_wins: int = 0
    primary_wins: int = 0
    budget_exhausted: int = 0
    errors: int = 0
    cancelled_requests: int = 0
    attempts_cancelled: int = 0
    passthrough_requests: int = 0

    def hedge_rate(self) -> float:
        """Share of eligible requests that sent at least one hedge (0.0 when none)."""
        return self.hedged_requests / self.total_requests if self.total_requests else 0.0

    def extra_load(self) -> float:
        """Hedges sent per eligible request: the extra load hedging put on servers."""
        return self.hedges_sent / self.total_requests if self.total_requests else 0.0


@dataclass(frozen=True)
class KeyStatsSnapshot(StatsSnapshot):
    """Counters of one latency key, plus its hedge delay when last computed.

    Attributes:
        key: the latency key.
        delay: the hedge delay in seconds the key last used, or ``None``
            before its first eligible request.
    """

    key: str = ""
    delay: float | None = None


class _Counters:
    __slots__ = (
        "attempts_cancelled",
        "budget_exhausted",
        "cancelled_requests",
        "delay",
        "errors",
        "hedge_wins",
        "hedged_requests",
        "hedges_sent",
        "passthrough_requests",
        "primary_wins",
        "total_requests",
    )

    def __init__(self) -> None:
        self.total_requests = 0
        self.hedged_requests = 0
        self.hedges_sent = 0
        self.hedge_wins = 0
        self.primary_wins = 0
        self.budget_exhausted = 0
        self.errors = 0
        self.cancelled_requests = 0
        self.attempts_cancelled = 0
        self.passthrough_requests = 0
        self.delay: float | None = None

    def values(self) -> dict[str, int]:
        return {
            "total_requests": self.total_requests,
            "hedged_requests": self.hedged_requests,
            "hedges_sent": self.hedges_sent,
            "hedge_wins": self.hedge_wins,
            "primary_wins": self.primary_wins,
            "budget_exhausted": self.budget_exhausted,
            "errors": self.errors,
            "cancelled_requests": self.cancelled_requests,
            "attempts_cancelled": self.attempts_cancelled,
            "passthrough_requests": self.passthrough_requests,
        }


class Stats:
    """Thread-safe hedging counters, global and per latency key.

    Args:
        max_keys: the most keys with their own counters (>= 1); the least
            recently used key's counters are dropped first. Global counters
            are never dropped.
    """

    def __init__(self, max_keys: int = 10_000) -> None:
        if isinstance(max_keys, bool) or not isinstance(max_keys, int):
            raise TypeError(f"Stats.max_keys must be an int >= 1, got {type(max_keys).__name__}")
        if max_keys < 1:
            raise ValueError(f"Stats.max_keys must be >= 1, got {max_keys!r}")
        self._lock = threading.Lock()
        self._total = _Counters()
        self._keys: BoundedLRU[str, _Counters] = BoundedLRU(max_keys)

    # -- recording (called by the engine) ---------------------------------

    def record(self, key: str, outcome: int, hedges: int = 0, denied: int = 0, cancelled: int = 0) -> None:
        """Count one finished eligible request. Called by the engine."""
        with self._lock:
            # The global counters and the key's, updated alike (a loop, not a
            # method call per set: this runs once per request).
            for counters in (self._total, self._keys.get_or_create(key, _Counters)):
                counters.total_requests += 1
                if hedges:
                    counters.hedged_requests += 1
                    counters.hedges_sent += hedges
                if outcome == PRIMARY_WIN:
                    counters.primary_wins += 1
                elif outcome == HEDGE_WIN:
                    counters.hedge_wins += 1
                elif outcome == FAILED:
                    counters.errors += 1
                else:
                    counters.cancelled_requests += 1
                if denied:
                    counters.budget_exhausted += denied
                if cancelled:
                    counters.attempts_cancelled += cancelled

    def record_passthrough(self, key: str) -> None:
        """Count one request that was sent once because it may not be hedged."""
        with self._lock:
            self._total.passthrough_requests += 1
            self._keys.get_or_create(key, _Counters).passthrough_requests += 1

    def record_delay(self, key: str, delay: float) -> None:
        """Remember the hedge delay ``key`` now uses."""
        with self._lock:
            self._keys.get_or_create(key, _Counters).delay = delay

    # -- reading -----------------------------------------------------------

    def snapshot(self) -> StatsSnapshot:
        """Return the global counters."""
        with self._lock:
            return StatsSnapshot(**self._total.values())

    def key_snapshot(self, key: str) -> KeyStatsSnapshot | None:
        """Return the counters of ``key``, or ``None`` if it has none (yet, or any more)."""
        with self._lock:
            counters = self._keys.get(key)
            if counters is None:
                return None
            return KeyStatsSnapshot(key=key, delay=counters.delay, **counters.values())

    def keys(self) -> dict[str, KeyStatsSnapshot]:
        """Return the counters of every tracked key."""
        with self._lock:
            return {
                key: KeyStatsSnapshot(key=key, delay=counters.delay, **counters.values())
                for key, counters in self._keys.items()
            }

    def hedge_rate(self) -> float:
        """Share of eligible requests that sent at least one hedge."""
        return self.snapshot().hedge_rate()

    def reset(self) -> None:
        """Zero every counter and forget every key."""
        with self._lock:
            self._total = _Counters()
            self._keys.clear()

    def __repr__(self) -> str:
        snap = self.snapshot()
        return (
            f"Stats(total_requests={snap.total_requests}, hedged_requests={snap.hedged_requests}, "
            f"hedge_wins={snap.hedge_wins}, primary_wins={snap.primary_wins}, "
            f"budget_exhausted={snap.budget_exhausted}, errors={snap.errors})"
        )
