"""Observation events: what the race engine tells observer plugins.

An event is built only when at least one plugin implements
:func:`hedge.hookspecs.hedge_event`; with no listener the engine skips the
construction entirely. Events are frozen values, delivered synchronously on
the thread (or event loop) running the request, after the engine has
decided what to do, so an observer can never change a race. Observers must
be quick and must not block; an observer that raises is logged and skipped.

Every event names the latency ``key``, the budget ``target`` (scheme, host
and port: bounded cardinality, safe as a metric attribute) and the adapter's
``framework``. Attempts are numbered from 0 (the primary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ._outcome import Verdict

__all__ = [
    "AttemptFailed",
    "AttemptLost",
    "AttemptWon",
    "BudgetDenied",
    "DelayChanged",
    "HedgeEvent",
    "HedgeSent",
    "RequestFinished",
]


@dataclass(frozen=True)
class HedgeEvent:
    """Base of every event.

    Attributes:
        key: the request's latency key.
        target: the request's budget target, ``scheme://host:port``.
        framework: the adapter that ran the request, e.g. ``"httpx"``.
    """

    key: str
    target: str
    framework: str


@dataclass(frozen=True)
class HedgeSent(HedgeEvent):
    """A hedge attempt was started.

    Attributes:
        attempt: its number (1 for the first hedge).
        delay: the hedge delay in force for this request, in seconds.
        reason: ``"delay"`` (the previous attempt was too slow) or ``"retry"``
            (an attempt failed with a retryable outcome).
    """

    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True)
class BudgetDenied(HedgeEvent):
    """A hedge was due but the target's budget had no token for it.

    Attributes:
        attempt: the number the hedge would have had.
    """

    attempt: int


@dataclass(frozen=True)
class AttemptFailed(HedgeEvent):
    """An attempt finished with a ``RETRY`` or ``FATAL`` verdict.

    Attributes:
        attempt: its number.
        verdict: :attr:`Verdict.RETRY` or :attr:`Verdict.FATAL`.
        error: the exception it raised, or ``None`` if it returned a result
            judged a failure (such as an HTTP 503).
        elapsed: seconds from its start to its end.
    """

    attempt: int
    verdict: Verdict
    error: Optional[BaseException]  # noqa: UP045 - evaluated on Python 3.9
    elapsed: float


@dataclass(frozen=True)
class AttemptWon(HedgeEvent):
    """An attempt's accepted outcome was returned to the caller.

    Attributes:
        attempt: its number (0: the primary won).
        elapsed: seconds from its own start to its end.
    """

    attempt: int
    elapsed: float


@dataclass(frozen=True)
class AttemptLost(HedgeEvent):
    """An attempt lost the race and was cancelled or released.

    Attributes:
        attempt: its number.
        elapsed: seconds from its start to when it was given up.
        completed: ``True`` if it had already produced a result, which was
            released (closed); ``False`` if it was cancelled in flight.
    """

    attempt: int
    elapsed: float
    completed: bool


@dataclass(frozen=True)
class DelayChanged(HedgeEvent):
    """A key's hedge delay was recomputed to a new value.

    Attributes:
        previous: the delay before, in seconds.
        delay: the delay now, in seconds.
    """

    previous: float
    delay: float


@dataclass(frozen=True)
class RequestFinished(HedgeEvent):
    """A hedge-eligible request ended.

    Attributes:
        attempts: attempts started, primary included (gRFC A96's shape).
        winner: the number of the attempt whose outcome the caller received,
            or ``None`` if the caller cancelled.
        outcome: ``"primary"``, ``"hedge"`` (an accepted answer from that
            attempt), ``"failed"`` or ``"cancelled"``.
        duration: seconds from the request's start to its end.
        delay: the hedge delay used for this request, in seconds.
    """

    attempts: int
    winner: Optional[int]  # noqa: UP045
    outcome: str
    duration: float
    delay: float
