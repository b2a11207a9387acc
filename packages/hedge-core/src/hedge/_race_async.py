"""The asyncio driver of a race.

Shape of a race:

1. The primary attempt starts and the hedge deadline is armed.
2. At the deadline a hedge is sent (as a task, if the budget pays) and the
   next deadline armed. An attempt ending ``RETRY`` sends the next hedge at
   once (or after its pushback). The first ``ACCEPT`` or ``FATAL`` outcome
   ends the race; with nothing in flight and no hedge to come, the
   primary's outcome ends it. Attempts finishing in the same loop iteration
   are judged in the order they finished.
3. Cleanup always runs: the deadline is disarmed, attempts still in flight
   are cancelled and awaited, and every result but the returned one is
   released. If the caller is cancelled the same happens and the
   cancellation propagates unchanged. If the caller is cancelled again
   *during* cleanup, the race detaches: the remaining attempts release their
   own results from their done-callbacks, in the background, and nothing is
   lost.

Where the primary runs. On Python 3.11+ the primary runs *inline*, in the
caller's own task, so a request that needs no hedge starts no task at all.
Hedges run as tasks; when one of them wins while the primary is still
running, the caller's task is cancelled the way :func:`asyncio.timeout`
does it (``cancel()`` now, ``uncancel()`` when the cancellation arrives),
which aborts the primary exactly as a caller cancellation would, and a
cancellation from outside is told apart by the task's ``cancelling()``
count and re-raised. Python 3.9 and 3.10 have no such count, so there the
primary runs as a task too (one more task and two more loop iterations per
request).

Costs of a request that needs no hedge: the race object, one attempt
record, a snapshot of the caller's context (hedges sent from the timer run
in it), and a deadline armed on the Hedger's shared timer for this loop
(:mod:`hedge._timers`), which for back-to-back requests is a heap push and
no loop call. Lists, queues and futures are only made when a hedge is
actually sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._attempt import Attempt
from ._call import DELAY, RETRY, Call
from ._outcome import Classifier, RetryAfter, Verdict

if TYPE_CHECKING:
    from ._hedger import Hedger
    from ._timers import Deadline, LoopTimers

__all__ = ["race"]

T = TypeVar("T")

logger = logging.getLogger("hedge")

_INLINE_PRIMARY = sys.version_info >= (3, 11)


class _CallerTask(Protocol):
    """The part of :class:`asyncio.Task` (3.11+) the inline driver uses."""

    def cancel(self, msg: Any = None) -> bool: ...
    def cancelling(self) -> int: ...
    def uncancel(self) -> int: ...


def race(
    hedger: Hedger,
    call: Call,
    send: Callable[[Attempt], Awaitable[T]],
    classifier: Classifier[T],
    release: Callable[[T], Awaitable[None] | None] | None,
) -> Awaitable[T]:
    """Return the awaitable that runs one race (see the module docstring)."""
    driver = _AsyncRace(hedger, call, send, classifier, release)
    if _INLINE_PRIMARY:
        task: Any = asyncio.current_task()  # a _CallerTask on 3.11+
        if task is not None:
            return driver.run_inline(task)
    return driver.run_tasks()


class _Tracked(Attempt):
    """An attempt, with what the driver records about it.

    The adapter's ``send`` receives this object as its :class:`Attempt`; the
    extra fields are the driver's own. ``task`` is ``None`` for an inline
    primary, whose outcome is kept in ``result`` and ``error`` instead.
    """

    __slots__ = ("error", "released", "result", "settled", "task")

    def __init__(self, index: int, started_at: float, task: asyncio.Future[Any] | None) -> None:
        # Not super(): its lookup is a measurable share of a request that needs no hedge.
        Attempt.__init__(self, index, started_at)
        self.task = task
        self.result: Any = None
        self.error: BaseException | None = None
        self.settled = False
        self.released = False

    def outcome(self) -> tuple[Any, BaseException | None]:
        """``(result, error)`` of an attempt that has ended."""
        task = self.task
        if task is None:
            return self.result, self.error
        if task.cancelled():
            return None, asyncio.CancelledError()
        error = task.exception()
        return (task.result() if error is None else None), error


class _AsyncRace(Generic[T]):
    __slots__ = (
        "attempts",
        "base_cancelling",
        "call",
        "caller",
        "classifier",
        "context",
        "deadline",
        "detached",
        "finished",
        "hedger",
        "inline",
        "interrupted",
        "kept",
        "loop",
        "over",
        "pending",
        "release",
        "send",
        "timer_due",
        "timers",
        "verdict",
        "waiter",
        "won_elapsed",
    )

    def __init__(
        self,
        hedger: Hedger,
        call: Call,
        send: Callable[[Attempt], Awaitable[T]],
        classifier: Classifier[T],
        release: Callable[[T], Awaitable[None] | None] | None,
    ) -> None:
        self.hedger = hedger
        self.call = call
        self.send = send
        self.classifier = classifier
        self.release = release
        self.loop = loop = asyncio.get_running_loop()
        self.timers: LoopTimers = hedger._loop_timers(loop)
        self.deadline: Deadline | None = None
        self.attempts: list[_Tracked] = []
        # Indices of hedges that finished while the caller's task was waiting;
        # made when the first one does.
        self.finished: deque[int] | None = None
        self.pending = 0  # attempt tasks not finished
        self.waiter: asyncio.Future[None] | None = None
        self.timer_due = False
        self.over = False
        self.detached = False
        self.inline = False
        self.interrupted = False
        self.caller: _CallerTask | None = None
        self.context: contextvars.Context | None = None
        self.base_cancelling = 0
        self.kept: int | None = None
        self.verdict: Verdict | None = None
        self.won_elapsed = 0.0

    # -- starting attempts and arming deadlines -----------------------------------

    def _start_task(self, now: float) -> None:
        attempt = _Tracked(len(self.attempts), now, None)
        task = asyncio.ensure_future(self.send(attempt), loop=self.loop)
        attempt.task = task
        self.attempts.append(attempt)
        self.call.started += 1
        self.pending += 1
        task.add_done_callback(self._on_done)

    def _arm(self, delay: float | None) -> None:
        """Arm the next hedge ``delay`` seconds from now, or disarm with ``None``."""
        if self.deadline is not None:
            self.timers.disarm(self.deadline)
            self.deadline = None
        if delay is not None:
            self.deadline = self.timers.arm(delay, self._on_timer)

    def _hedge(self, reason: str) -> None:
        call = self.call
        now = self.hedger._clock()
        if call.try_hedge(now, reason):
            self._start_task(now)
            self._arm(call.delay if call.may_hedge() else None)
        else:
            self._arm(None)

    # -- callbacks ---------------------------------------------------------------

    def _on_timer(self) -> None:
        self.deadline = None
        if self.over:
            return
        if self.inline:
            # The caller's task is busy with the primary: send the hedge from
            # here, in the caller's context as it was when the race began (a
            # loop timer per race would have carried that context too).
            assert self.context is not None
            self.context.run(self._hedge, DELAY)
            return
        self.timer_due = True
        self._wake()

    def _on_done(self, task: asyncio.Future[T]) -> None:
        attempt = next(attempt for attempt in self.attempts if attempt.task is task)
        if self.detached:
            self._release_in_background(attempt)
            return
        if self.over:
            return
        self.pending -= 1
        if self.inline:
            # The caller's task is busy with the primary: judge here. Once a
            # hedge has decided the race, later finishers are only released.
            if not self.interrupted and self._settle(attempt, *attempt.outcome()):
                self._interrupt_primary(attempt.index)
            return
        if self.finished is None:
            self.finished = deque()
        self.finished.append(attempt.index)
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _interrupt_primary(self, winner: int) -> None:
        """A hedge decided the race while the primary runs inline: cancel the caller's task."""
        self.kept = winner
        self.interrupted = True
        self._arm(None)
        self.attempts[0].cancel()
        assert self.caller is not None
        self.caller.cancel()

    # -- judging -----------------------------------------------------------------

    def _settle(self, attempt: _Tracked, result: Any, error: BaseException | None) -> bool:
        """Judge a finished attempt's outcome; ``True`` if it ends the race."""
        attempt.settled = True
        now = self.hedger._clock()
        judgement = Call.judge(self.classifier, result, error)
        verdict = judgement if isinstance(judgement, Verdict) else Verdict.RETRY
        started_at = attempt.started_at
        self.call.finished_attempt(attempt.index, verdict, error, started_at, now)
        if verdict is not Verdict.RETRY:
            self.kept = attempt.index
            self.verdict = verdict
            self.won_elapsed = now - started_at
            return True
        if isinstance(judgement, RetryAfter):
            wait = self.call.pushback(judgement)
            if wait is None:
                self._arm(None)
            elif self.call.may_hedge():
                self._arm(wait)
        else:
            self._hedge(RETRY)
        return False

    def _deliver(self, index: int) -> T:
        result, error = self.attempts[index].outcome()
        if error is not None:
            raise error
        return result  # type: ignore[no-any-return]

    # -- the two ways to run ----------------------------------------------------------

    async def run_tasks(self) -> T:
        """Every attempt, the primary included, as a task (Python 3.9 and 3.10)."""
        call = self.call
        self._start_task(call.start)
        if call.may_hedge():
            self._arm(call.delay)
        try:
            return await self._wait_for_winner()
        finally:
            if not self._ended_alone():
                await self._cleanup()

    async def run_inline(self, caller: _CallerTask) -> T:
        """The primary in the caller's task, hedges as tasks (Python 3.11+)."""
        call = self.call
        self.caller = caller
        self.base_cancelling = caller.cancelling()
        self.context = contextvars.copy_context()
        primary = _Tracked(0, call.start, None)
        self.attempts.append(primary)
        call.started = 1
        if call.may_hedge():
            self.deadline = self.timers.arm(call.delay, self._on_timer)
        try:
            self.inline = True
            try:
                primary.result = await self.send(primary)
            except BaseException as exc:  # noqa: BLE001 - judged or re-raised below
                primary.error = exc
            finally:
                self.inline = False
            if self.interrupted:
                # A hedge won and cancelled us to stop the primary. Take our
                # cancellation back; one from anyone else still propagates.
                if caller.uncancel() > self.base_cancelling:
                    self.kept = self.verdict = None
                    raise asyncio.CancelledError()
                assert self.kept is not None
                return self._deliver(self.kept)
            result, error = primary.result, primary.error
            if isinstance(error, asyncio.CancelledError) and caller.cancelling() > self.base_cancelling:
                raise error
            if self._settle(primary, result, error):
                if error is not None:
                    raise error
                return result  # type: ignore[no-any-return]
            return await self._wait_for_winner()
        finally:
            if not self._ended_alone():
                await self._cleanup()

    async def _wait_for_winner(self) -> T:
        while True:
            if not self.finished and not self.timer_due:
                if not self.pending and self.deadline is None:
                    # Every attempt failed in a retryable way and no hedge is to come.
                    self.kept = 0
                    self.verdict = Verdict.RETRY
                    return self._deliver(0)
                waiter = self.waiter = self.loop.create_future()
                try:
                    await waiter
                finally:
                    self.waiter = None
            if self.timer_due:
                self.timer_due = False
                self._hedge(DELAY)
            finished = self.finished
            while finished:
                attempt = self.attempts[finished.popleft()]
                if self._settle(attempt, *attempt.outcome()):
                    return self._deliver(attempt.index)

    # -- cleanup -----------------------------------------------------------------------

    def _ended_alone(self) -> bool:
        """End a race the primary decided with no hedge sent: nothing to cancel or release.

        The common case, done without awaiting; ``False`` sends the race to
        :meth:`_cleanup`.
        """
        if len(self.attempts) != 1 or self.kept != 0:
            return False
        self.over = True
        if self.deadline is not None:
            self.timers.disarm(self.deadline)
            self.deadline = None
        self.call.finish(0, self.verdict, self.won_elapsed, 0)
        return True

    async def _cleanup(self) -> None:
        self.over = True
        self._arm(None)
        now = self.hedger._clock()
        attempts = self.attempts
        in_flight = [a for a in attempts if a.task is not None and not a.task.done()]
        if attempts and attempts[0].task is None and not attempts[0].settled:
            in_flight.insert(0, attempts[0])  # the inline primary was cut short
        for attempt in in_flight:
            if attempt.task is not None:
                attempt.task.cancel()
            attempt.cancel()
        try:
            waiting = [a.task for a in attempts if a.task is not None and not a.task.done()]
            if waiting:
                await asyncio.wait(waiting)
            for attempt in attempts:
                if attempt.index != self.kept:
                    await self._release_now(attempt)
        except BaseException:
            # Cancelled again while cleaning up: nothing reaches the caller now,
            # so every result, the kept one included, is released in the background.
            self.detached = True
            self.kept = None
            for attempt in attempts:
                if attempt.task is None or attempt.task.done():
                    self._release_in_background(attempt)
            raise
        finally:
            self._book(in_flight, now)

    def _book(self, in_flight: list[_Tracked], now: float) -> None:
        call = self.call
        winner = self.kept
        for attempt in self.attempts:
            if attempt.index == winner or attempt.settled:
                continue
            call.abandoned_attempt(attempt.index, attempt.started_at, now, completed=attempt not in in_flight)
        call.finish(
            winner, self.verdict if winner is not None else None, self.won_elapsed, len(in_flight), now
        )

    # -- releasing losers ----------------------------------------------------------------

    def _loser_result(self, attempt: _Tracked) -> tuple[bool, Any]:
        if attempt.released:
            return False, None
        task = attempt.task
        if task is None:
            # The inline primary: its send has always ended by the time it is released.
            has_result = attempt.error is None
            result = attempt.result
        else:
            has_result = not task.cancelled() and task.exception() is None
            result = task.result() if has_result else None
        if not has_result:
            attempt.released = True
        return has_result, result

    async def _release_now(self, attempt: _Tracked) -> None:
        has_result, result = self._loser_result(attempt)
        if not has_result:
            return
        if self.release is not None:
            try:
                pending = self.release(result)
                if pending is not None and inspect.isawaitable(pending):
                    await pending
            except Exception:
                logger.warning("hedge: releasing a losing result raised; ignored", exc_info=True)
        attempt.released = True

    def _release_in_background(self, attempt: _Tracked) -> None:
        has_result, result = self._loser_result(attempt)
        attempt.released = True
        if not has_result or self.release is None:
            return
        try:
            pending = self.release(result)
        except Exception:
            logger.warning("hedge: releasing a losing result raised; ignored", exc_info=True)
            return
        if pending is not None and inspect.isawaitable(pending):
            background = self.hedger._background
            task = self.loop.create_task(_quietly(pending))
            background.add(task)
            task.add_done_callback(background.discard)


async def _quietly(awaitable: Awaitable[None]) -> None:
    try:
        await awaitable
    except Exception:
        logger.warning("hedge: releasing a losing result raised; ignored", exc_info=True)
