"""Hedge budgets: how many extra attempts a target may receive.

Two budgets, one interface (``deposit`` per eligible request,
``try_withdraw`` per hedge):

:class:`ProportionalBudget` (the default) ties hedges to the traffic actually
sent. Each request deposits ``ratio`` of a token, each hedge withdraws one, so
over any stretch of time ``hedges <= ratio * requests + reserve + floor *
seconds``.

The reserve caps the unspent balance at ``ratio`` times the requests of the
last ``RESERVE_SECONDS`` to ``2 * RESERVE_SECONDS`` (at least one token): what
the recent traffic earned, as Finagle's retry budget keeps deposits for ten
seconds. A bound on the balance is what stops a quiet, healthy period from
banking a burst for the next outage; a bound that grows with traffic is what
keeps a budget matched to the hedging percentile (p90 hedging and a 10%
budget ask for and earn the same) from refusing hedges at random whenever
its balance happens to touch zero, which would refuse exactly the stragglers
hedging is for.

The floor, a small token bucket of ``floor`` tokens per second (capacity
``max(1, floor)``), lets low-traffic targets hedge at all: at one request per
minute a 10% deposit alone would allow one hedge per ten minutes.

:class:`TokenBucketBudget` is hedge-python's budget: a fixed refill of
``rate`` tokens per second (``estimated_rps * budget_percent / 100``) with a
burst of twice that, whatever the traffic. It is kept for users who set
``estimated_rps``; its share of the traffic is only right when the estimate
is.

Both are plain state machines driven by the caller's clock; the engine
serialises access under its lock. Neither blocks: a hedge that would have to
wait for a token is simply not sent, because a hedge that waits has already
lost.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Budget", "ProportionalBudget", "TokenBucketBudget"]


class Budget(Protocol):
    """What the engine needs from a budget."""

    def deposit(self, now: float) -> None:
        """Credit one hedge-eligible request made at time ``now``."""

    def try_withdraw(self, now: float) -> bool:
        """Take one hedge's worth of budget at time ``now``; ``False`` if there is none."""

    def available(self, now: float) -> float:
        """Tokens that could be withdrawn at time ``now`` (for stats and tests)."""


_UNIT = 1_000_000

#: The proportional budget's reserve holds what the last 10-20 s of requests earned.
RESERVE_SECONDS = 10.0


class _Floor:
    """A token bucket refilled at ``rate`` per second, capacity ``max(1, rate)``."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate) if rate > 0 else 0.0
        self.tokens = self.capacity
        self.updated = now

    def refill(self, now: float) -> float:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        return self.tokens

    def take(self, now: float) -> bool:
        if self.rate <= 0.0:
            return False
        if self.refill(now) >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class ProportionalBudget:
    """Hedges proportional to requests, with a traffic-sized reserve and a per-second floor.

    The balance is kept in integer millionths of a token, so that ten 10%
    deposits make exactly one hedge (floating point would leave 0.9999...).

    Args:
        ratio: tokens deposited per request (``budget_percent / 100``), >= 0.
        floor: hedges per second allowed regardless of traffic, >= 0.
        now: the clock reading at creation.
    """

    __slots__ = ("_balance", "_current", "_deposit", "_floor", "_previous", "_rotate_at", "ratio")

    def __init__(self, ratio: float, floor: float, now: float) -> None:
        self.ratio = ratio
        self._deposit = round(ratio * _UNIT)
        self._balance = 0
        self._floor = _Floor(floor, now)
        # Requests counted in the current and the previous reserve period.
        self._current = 0
        self._previous = 0
        self._rotate_at = now + RESERVE_SECONDS

    @property
    def reserve(self) -> float:
        """The most tokens the balance can hold now."""
        return self._cap() / _UNIT

    def _cap(self) -> int:
        if not self._deposit:
            return 0
        return max(_UNIT, self._deposit * (self._current + self._previous))

    def deposit(self, now: float) -> None:
        if now >= self._rotate_at:
            idle = now >= self._rotate_at + RESERVE_SECONDS
            self._previous = 0 if idle else self._current
            self._current = 0
            self._rotate_at = now + RESERVE_SECONDS
        self._current += 1
        deposit = self._deposit
        balance = self._balance + deposit
        # The reserve cap of _cap(), inlined: this runs once per eligible request.
        cap = max(_UNIT, deposit * (self._current + self._previous)) if deposit else 0
        self._balance = balance if balance < cap else cap

    def try_withdraw(self, now: float) -> bool:
        if self._balance >= _UNIT:
            self._balance -= _UNIT
            return True
        return self._floor.take(now)

    def available(self, now: float) -> float:
        return self._balance / _UNIT + self._floor.refill(now)


class TokenBucketBudget:
    """hedge-python's fixed-rate token bucket: ``rate`` tokens per second, burst ``2 * rate``.

    Args:
        rate: tokens per second, >= 0.
        now: the clock reading at creation; the bucket starts full.
    """

    __slots__ = ("_bucket",)

    def __init__(self, rate: float, now: float) -> None:
        self._bucket = _Floor(rate, now)
        self._bucket.capacity = max(1.0, 2.0 * rate) if rate > 0 else 0.0
        self._bucket.tokens = self._bucket.capacity

    def deposit(self, now: float) -> None:
        """Traffic does not change a fixed-rate bucket."""

    def try_withdraw(self, now: float) -> bool:
        return self._bucket.take(now)

    def available(self, now: float) -> float:
        return self._bucket.refill(now)
