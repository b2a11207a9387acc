"""The threaded driver of a race: attempts on worker threads, the caller waits.

Same policy as the asyncio driver (:mod:`hedge._race_async`), with threads:
each attempt runs on a worker thread (:mod:`hedge._workers`) in a copy of
the caller's context, and reports its outcome on a queue; the caller's
thread waits on that queue with the hedge timer as its timeout.

Threads cannot be interrupted, so a loser still in flight is given up, not
stopped: its :meth:`Attempt.on_cancel` callbacks run (the adapter's way to
abort it, e.g. cancelling a gRPC future or closing a connection), and when
it ends on its own its worker releases its result. The handover is made
under a lock: every result is released exactly once, by the caller's thread
if it arrived before the race ended, by its worker otherwise.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._attempt import Attempt
from ._call import DELAY, RETRY, Call
from ._outcome import Classifier, RetryAfter, Verdict

if TYPE_CHECKING:
    from ._hedger import Hedger

__all__ = ["race_sync"]

T = TypeVar("T")

logger = logging.getLogger("hedge")

_Report = tuple[int, Any, "BaseException | None"]


def race_sync(
    hedger: Hedger,
    call: Call,
    send: Callable[[Attempt], T],
    classifier: Classifier[T],
    release: Callable[[T], object] | None,
) -> T:
    """Run one race on worker threads and return (or raise) its outcome."""
    return _SyncRace(hedger, call, send, classifier, release).run()


class _SyncRace(Generic[T]):
    def __init__(
        self,
        hedger: Hedger,
        call: Call,
        send: Callable[[Attempt], T],
        classifier: Classifier[T],
        release: Callable[[T], object] | None,
    ) -> None:
        self.hedger = hedger
        self.call = call
        self.send = send
        self.classifier = classifier
        self.release = release
        self.clock = hedger.clock
        self.reports: queue.SimpleQueue[_Report] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.over = False
        self.attempts: list[Attempt] = []
        self.outcomes: dict[int, tuple[Any, BaseException | None]] = {}
        self.pending = 0
        self.due: float | None = None  # clock time of the next hedge
        self.context = contextvars.copy_context()

    # -- worker side ------------------------------------------------------------

    def _attempt(self, attempt: Attempt) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = self.context.copy().run(self.send, attempt)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller's thread
            error = exc
        with self.lock:
            if not self.over:
                self.reports.put((attempt.index, result, error))
                return
        # The race ended without this attempt: release what it produced.
        if error is None:
            self._release(result)

    def _release(self, result: Any) -> None:
        if self.release is None:
            return
        try:
            self.release(result)
        except Exception:
            logger.warning("hedge: releasing a losing result raised; ignored", exc_info=True)

    # -- caller side ------------------------------------------------------------

    def _start(self, now: float) -> None:
        attempt = Attempt(len(self.attempts), now)
        self.attempts.append(attempt)
        self.pending += 1
        self.call.started += 1
        try:
            self.hedger._worker_pool().submit(lambda: self._attempt(attempt))
        except BaseException:
            self.pending -= 1
            self.call.started -= 1
            self.attempts.pop()
            raise

    def _hedge(self, reason: str) -> None:
        call = self.call
        now = self.clock()
        if call.try_hedge(now, reason):
            self._start(now)
            self.due = now + call.delay if call.may_hedge() else None
        else:
            self.due = None

    def _settle(self, index: int, result: Any, error: BaseException | None) -> Verdict | None:
        """Judge a report; return the verdict if it ends the race."""
        self.outcomes[index] = (result, error)
        now = self.clock()
        judgement = Call.judge(self.classifier, result, error)
        verdict = judgement if isinstance(judgement, Verdict) else Verdict.RETRY
        self.call.finished_attempt(index, verdict, error, self.attempts[index].started_at, now)
        if verdict is not Verdict.RETRY:
            return verdict
        if isinstance(judgement, RetryAfter):
            wait = self.call.pushback(judgement)
            self.due = None if wait is None or not self.call.may_hedge() else now + wait
        else:
            self._hedge(RETRY)
        return None

    def run(self) -> T:
        call = self.call
        self._start(call.start)
        self.due = call.start + call.delay if call.may_hedge() else None
        kept: int | None = None
        verdict: Verdict | None = None
        won_elapsed = 0.0
        try:
            while kept is None:
                if self.due is None:
                    if not self.pending:
                        kept, verdict = 0, Verdict.RETRY  # every attempt failed retryably
                        break
                    report = self.reports.get()
                else:
                    timeout = self.due - self.clock()
                    try:
                        report = (
                            self.reports.get(timeout=timeout) if timeout > 0 else self.reports.get_nowait()
                        )
                    except queue.Empty:
                        self._hedge(DELAY)
                        continue
                self.pending -= 1
                index, result, error = report
                verdict = self._settle(index, result, error)
                if verdict is not None:
                    kept = index
                    won_elapsed = self.clock() - self.attempts[index].started_at
            result, error = self.outcomes[kept]
            if error is not None:
                raise error
            return result  # type: ignore[no-any-return]
        except BaseException:
            if kept is None:
                verdict = None
            raise
        finally:
            self._cleanup(kept, verdict, won_elapsed)

    def _cleanup(self, kept: int | None, verdict: Verdict | None, won_elapsed: float) -> None:
        with self.lock:
            self.over = True
        now = self.clock()
        # Reports that arrived after the deciding one: finished but never judged.
        late: set[int] = set()
        while True:
            try:
                index, result, error = self.reports.get_nowait()
            except queue.Empty:
                break
            late.add(index)
            self.outcomes[index] = (result, error)
        settled_or_late = set(self.outcomes)
        in_flight = [a.index for a in self.attempts if a.index not in settled_or_late]
        for index in in_flight:
            self.attempts[index].cancel()
        for index, (result, error) in self.outcomes.items():
            if index != kept and error is None:
                self._release(result)
        call = self.call
        for attempt in self.attempts:
            index = attempt.index
            if index == kept or (index in self.outcomes and index not in late):
                continue
            call.abandoned_attempt(index, attempt.started_at, now, completed=index in late)
        call.finish(kept, verdict, won_elapsed, len(in_flight), now)
