"""The asyncio driver of a race.

Shape of a race:

1. The primary attempt starts and a timer is armed for the hedge delay.
2. The timer sends a hedge (as a task, if the budget pays) and re-arms for
   the next. An attempt ending ``RETRY`` sends the next hedge at once (or
   after its pushback). The first ``ACCEPT`` or ``FATAL`` outcome ends the
   race; with nothing in flight and no hedge to come, the primary's outcome
   ends it. Attempts finishing in the same loop iteration are judged in the
   order they finished.
3. Cleanup always runs: the timer is cancelled, attempts still in flight are
   cancelled and awaited, and every result but the returned one is released.
   If the caller is cancelled the same happens and the cancellation
   propagates unchanged. If the caller is cancelled again *during* cleanup,
   the race detaches: the remaining attempts release their own results from
   their done-callbacks, in the background, and nothing is lost.

Where the primary runs. On Python 3.11+ the primary runs *inline*, in the
caller's own task, so a request that needs no hedge pays for one timer and
no task at all. Hedges run as tasks; when one of them wins while the
primary is still running, the caller's task is cancelled the way
:func:`asyncio.timeout` does it (``cancel()`` now, ``uncancel()`` when the
cancellation arrives), which aborts the primary exactly as a caller
cancellation would, and a cancellation from outside is told apart by the
task's ``cancelling()`` count and re-raised. Python 3.9 and 3.10 have no
such count, so there the primary runs as a task too (one more task and two
more loop iterations per request).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from ._attempt import Attempt
from ._call import DELAY, RETRY, Call
from ._outcome import Classifier, RetryAfter, Verdict

if TYPE_CHECKING:
    from ._hedger import Hedger

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
        task = asyncio.current_task()
        if task is not None:
            return driver.run_inline(cast("_CallerTask", task))
    return driver.run_tasks()


class _AsyncRace(Generic[T]):
    __slots__ = (
        "attempts",
        "base_cancelling",
        "call",
        "caller",
        "classifier",
        "clock",
        "detached",
        "finished",
        "hedger",
        "inline",
        "interrupted",
        "kept",
        "loop",
        "outcomes",
        "over",
        "pending",
        "release",
        "released",
        "send",
        "settled",
        "tasks",
        "timer",
        "timer_due",
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
        self.clock = hedger.clock
        self.loop = asyncio.get_running_loop()
        self.attempts: list[Attempt] = []
        # tasks[i] is None for an inline primary; outcomes[i] holds its outcome.
        self.tasks: list[asyncio.Future[T] | None] = []
        self.outcomes: dict[int, tuple[Any, BaseException | None]] = {}
        self.settled: list[bool] = []
        self.released: list[bool] = []
        self.finished: deque[int] = deque()
        self.pending = 0
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.timer_due = False
        self.over = False
        self.detached = False
        self.inline = False
        self.interrupted = False
        self.caller: _CallerTask | None = None
        self.base_cancelling = 0
        self.kept: int | None = None
        self.verdict: Verdict | None = None
        self.won_elapsed = 0.0

    # -- starting attempts and timers -------------------------------------------

    def _new_attempt(self, now: float, task: asyncio.Future[T] | None) -> Attempt:
        attempt = Attempt(len(self.attempts), now)
        self.attempts.append(attempt)
        self.tasks.append(task)
        self.settled.append(False)
        self.released.append(False)
        self.call.started += 1
        return attempt

    def _start_task(self, now: float) -> None:
        index = len(self.attempts)
        attempt = Attempt(index, now)
        task = asyncio.ensure_future(self.send(attempt), loop=self.loop)
        self.attempts.append(attempt)
        self.tasks.append(task)
        self.settled.append(False)
        self.released.append(False)
        self.call.started += 1
        self.pending += 1
        task.add_done_callback(self._on_done)

    def _arm(self, delay: float | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if delay is not None:
            self.timer = self.loop.call_later(delay, self._on_timer)

    def _hedge(self, reason: str) -> None:
        call = self.call
        now = self.clock()
        if call.try_hedge(now, reason):
            self._start_task(now)
            self._arm(call.delay if call.may_hedge() else None)
        else:
            self._arm(None)

    # -- callbacks ---------------------------------------------------------------

    def _on_timer(self) -> None:
        self.timer = None
        if self.over:
            return
        if self.inline:
            # The caller's task is busy with the primary: send the hedge from here.
            self._hedge(DELAY)
            return
        self.timer_due = True
        self._wake()

    def _on_done(self, task: asyncio.Future[T]) -> None:
        index = self.tasks.index(task)
        if self.detached:
            self._release_in_background(index)
            return
        if self.over:
            return
        self.pending -= 1
        if self.inline:
            # The caller's task is busy with the primary: judge here. Once a
            # hedge has decided the race, later finishers are only released.
            if not self.interrupted and self._settle(index):
                self._interrupt_primary(index)
            return
        self.finished.append(index)
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

    def _outcome_of(self, index: int) -> tuple[Any, BaseException | None]:
        task = self.tasks[index]
        if task is None:
            return self.outcomes[index]
        if task.cancelled():
            return None, asyncio.CancelledError()
        error = task.exception()
        return (task.result() if error is None else None), error

    def _settle(self, index: int) -> bool:
        """Judge a finished attempt; ``True`` if its outcome ends the race."""
        self.settled[index] = True
        result, error = self._outcome_of(index)
        now = self.clock()
        judgement = Call.judge(self.classifier, result, error)
        verdict = judgement if isinstance(judgement, Verdict) else Verdict.RETRY
        started_at = self.attempts[index].started_at
        self.call.finished_attempt(index, verdict, error, started_at, now)
        if verdict is not Verdict.RETRY:
            self.kept = index
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
        result, error = self._outcome_of(index)
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
            await self._cleanup()

    async def run_inline(self, caller: _CallerTask) -> T:
        """The primary in the caller's task, hedges as tasks (Python 3.11+)."""
        call = self.call
        self.caller = caller
        self.base_cancelling = caller.cancelling()
        primary = self._new_attempt(call.start, None)
        if call.may_hedge():
            self._arm(call.delay)
        try:
            result: Any = None
            error: BaseException | None = None
            self.inline = True
            try:
                result = await self.send(primary)
            except BaseException as exc:  # noqa: BLE001 - judged or re-raised below
                error = exc
            finally:
                self.inline = False
            self.outcomes[0] = (result, error)
            if self.interrupted:
                # A hedge won and cancelled us to stop the primary. Take our
                # cancellation back; one from anyone else still propagates.
                if caller.uncancel() > self.base_cancelling:
                    self.kept = self.verdict = None
                    raise asyncio.CancelledError()
                assert self.kept is not None
                return self._deliver(self.kept)
            if isinstance(error, asyncio.CancelledError) and caller.cancelling() > self.base_cancelling:
                raise error
            if self._settle(0):
                return self._deliver(0)
            return await self._wait_for_winner()
        finally:
            await self._cleanup()

    async def _wait_for_winner(self) -> T:
        while True:
            if not self.finished and not self.timer_due:
                if not self.pending and self.timer is None:
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
            while self.finished:
                index = self.finished.popleft()
                if self._settle(index):
                    return self._deliver(index)

    # -- cleanup -----------------------------------------------------------------------

    async def _cleanup(self) -> None:
        self.over = True
        self._arm(None)
        now = self.clock()
        if len(self.attempts) == 1 and self.kept == 0:
            # The common case: the primary decided the race alone; nothing to cancel or release.
            self.call.finish(0, self.verdict, self.won_elapsed, 0, now)
            return
        in_flight = [index for index, task in enumerate(self.tasks) if task is not None and not task.done()]
        if self.tasks and self.tasks[0] is None and not self.settled[0]:
            in_flight.insert(0, 0)  # the inline primary was cut short
        for index in in_flight:
            task = self.tasks[index]
            if task is not None:
                task.cancel()
            self.attempts[index].cancel()
        try:
            waiting = [task for task in self.tasks if task is not None and not task.done()]
            if waiting:
                await asyncio.wait(waiting)
            for index in range(len(self.attempts)):
                if index != self.kept:
                    await self._release_now(index)
        except BaseException:
            # Cancelled again while cleaning up: nothing reaches the caller now,
            # so every result, the kept one included, is released in the background.
            self.detached = True
            self.kept = None
            for index, task in enumerate(self.tasks):
                if task is None or task.done():
                    self._release_in_background(index)
            raise
        finally:
            self._book(in_flight, now)

    def _book(self, in_flight: list[int], now: float) -> None:
        call = self.call
        winner = self.kept
        for index, attempt in enumerate(self.attempts):
            if index == winner or self.settled[index]:
                continue
            call.abandoned_attempt(index, attempt.started_at, now, completed=index not in in_flight)
        call.finish(
            winner, self.verdict if winner is not None else None, self.won_elapsed, len(in_flight), now
        )

    # -- releasing losers ----------------------------------------------------------------

    def _loser_result(self, index: int) -> tuple[bool, Any]:
        if self.released[index]:
            return False, None
        task = self.tasks[index]
        if task is None:
            result, error = self.outcomes.get(index, (None, None))
            has_result = index in self.outcomes and error is None
        else:
            has_result = not task.cancelled() and task.exception() is None
            result = task.result() if has_result else None
        if not has_result:
            self.released[index] = True
        return has_result, result

    async def _release_now(self, index: int) -> None:
        has_result, result = self._loser_result(index)
        if not has_result:
            return
        if self.release is not None:
            try:
                pending = self.release(result)
                if pending is not None and inspect.isawaitable(pending):
                    await pending
            except Exception:
                logger.warning("hedge: releasing a losing result raised; ignored", exc_info=True)
        self.released[index] = True

    def _release_in_background(self, index: int) -> None:
        has_result, result = self._loser_result(index)
        self.released[index] = True
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
