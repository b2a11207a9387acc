"""The policy of one hedge-eligible request, shared by the async and sync drivers.

A :class:`Call` holds everything one request decides, independent of how
attempts run: when the next hedge is due, whether the budget pays for it,
what an outcome's verdict means, which sample the estimator gets, and what
is counted and announced when the request ends. The drivers
(:mod:`hedge._race_async`, :mod:`hedge._race_sync`) only start attempts,
wait, cancel and release; every decision is here, once.

Estimator rule (DESIGN rule 5): the latency sketch sees the *primary*
attempt of each request, timed from its own start:

* its latency, when it ends with an accepted outcome (won or not);
* its elapsed time when it is given up in flight, if that is at least the
  hedge delay in force: a censored sample known to lie above the tracked
  quantile, which is all a quantile needs;
* nothing for fast failures (``RETRY``/``FATAL``: refused, reset, 503),
  nothing from hedges (selected samples: they exist because the primary was
  slow), nothing from requests that may not be hedged.

Samples go into the key's estimator under the engine's state lock, the one
that guards every key's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _stats
from ._outcome import Classifier, Judgement, RetryAfter, Verdict
from .events import (
    AttemptFailed,
    AttemptLost,
    AttemptWon,
    BudgetDenied,
    HedgeEvent,
    HedgeSent,
    RequestFinished,
)

if TYPE_CHECKING:
    from ._budget import Budget
    from ._hedger import Hedger, _KeyState

__all__ = ["Call"]

DELAY = "delay"
RETRY = "retry"


class Call:
    """Decisions and bookkeeping for one request (see the module docstring)."""

    __slots__ = (
        "budget",
        "delay",
        "denied",
        "emit",
        "framework",
        "hedger",
        "hedging",
        "key",
        "max_delay",
        "max_hedges",
        "start",
        "started",
        "state",
        "target",
    )

    def __init__(
        self,
        hedger: Hedger,
        key: str,
        target: str,
        framework: str,
        state: _KeyState,
        budget: Budget,
        delay: float,
        start: float,
        emit: Callable[[HedgeEvent], None] | None,
    ) -> None:
        self.hedger = hedger
        self.key = key
        self.target = target
        self.framework = framework
        self.state = state
        self.budget = budget
        self.delay = delay
        self.start = start
        self.emit = emit
        config = hedger.config
        self.max_hedges = config.max_hedges
        self.max_delay = config.max_delay
        self.started = 0  # attempts started, primary included
        self.hedging = True
        self.denied = 0

    # -- sending -------------------------------------------------------------

    def may_hedge(self) -> bool:
        """Whether another hedge could still be sent."""
        return self.hedging and self.started <= self.max_hedges

    def try_hedge(self, now: float, reason: str) -> bool:
        """Ask the budget for one more hedge; on ``True`` the driver starts it.

        A refusal stops hedging for the rest of this request.
        """
        if not self.may_hedge():
            return False
        if self.hedger._withdraw(self.budget, now):
            if self.emit is not None:
                self.emit(HedgeSent(self.key, self.target, self.framework, self.started, self.delay, reason))
            return True
        self.denied += 1
        self.hedging = False
        if self.emit is not None:
            self.emit(BudgetDenied(self.key, self.target, self.framework, self.started))
        return False

    def stop_hedging(self) -> None:
        """Send no further hedge for this request (negative or excessive pushback)."""
        self.hedging = False

    def pushback(self, judgement: RetryAfter) -> float | None:
        """Return the wait before the next hedge, or ``None`` if hedging must stop."""
        seconds = judgement.seconds
        if seconds < 0 or seconds > self.max_delay:
            self.hedging = False
            return None
        return float(seconds)

    # -- judging ------------------------------------------------------------

    @staticmethod
    def judge(classifier: Classifier[Any], result: Any, error: BaseException | None) -> Judgement:
        """The classifier's verdict; a classifier that raises makes the outcome FATAL."""
        try:
            if error is not None:
                return classifier.classify_error(error)
            return classifier.classify_result(result)
        except Exception:  # noqa: BLE001 - never let a classifier bug hang the race
            return Verdict.FATAL

    def finished_attempt(
        self, index: int, verdict: Verdict, error: BaseException | None, started_at: float, now: float
    ) -> None:
        """Book an attempt that ended on its own with ``verdict``."""
        if index == 0 and verdict is Verdict.ACCEPT:
            with self.hedger._lock:
                self.state.estimator.observe(now - started_at, now)
        if verdict is not Verdict.ACCEPT and self.emit is not None:
            self.emit(
                AttemptFailed(self.key, self.target, self.framework, index, verdict, error, now - started_at)
            )

    def abandoned_attempt(self, index: int, started_at: float, now: float, completed: bool) -> None:
        """Book a loser: cancelled in flight, or finished and released."""
        elapsed = now - started_at
        if index == 0 and not completed and elapsed >= self.delay:
            with self.hedger._lock:
                self.state.estimator.observe(elapsed, now)
        if self.emit is not None:
            self.emit(AttemptLost(self.key, self.target, self.framework, index, elapsed, completed))

    # -- ending -------------------------------------------------------------

    def finish(
        self,
        winner: int | None,
        verdict: Verdict | None,
        won_elapsed: float,
        cancelled: int,
        now: float | None = None,
    ) -> None:
        """Count the request and announce its end.

        ``winner`` is the attempt whose outcome the caller gets (``None`` if
        the caller left), ``verdict`` that outcome's verdict. ``now`` is the
        clock reading the end is announced with, read here if omitted (and
        only if someone listens).
        """
        hedges = self.started - 1
        if winner is None:
            outcome, label = _stats.ABANDONED, "cancelled"
        elif verdict is Verdict.ACCEPT:
            outcome, label = (_stats.PRIMARY_WIN, "primary") if winner == 0 else (_stats.HEDGE_WIN, "hedge")
        else:
            outcome, label = _stats.FAILED, "failed"
        self.hedger.stats.record(self.key, outcome, hedges, self.denied, cancelled)
        emit = self.emit
        if emit is not None:
            if now is None:
                now = self.hedger._clock()
            if winner is not None and verdict is Verdict.ACCEPT:
                emit(AttemptWon(self.key, self.target, self.framework, winner, won_elapsed))
            emit(
                RequestFinished(
                    self.key,
                    self.target,
                    self.framework,
                    self.started,
                    winner,
                    label,
                    now - self.start,
                    self.delay,
                )
            )
