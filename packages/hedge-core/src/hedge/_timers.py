"""Hedge deadlines of many races behind one event-loop timer.

Every hedge-eligible request arms a hedge deadline, and almost every request
ends before it: a loop timer per request (``loop.call_later`` and a
``cancel()``) is mostly built to be thrown away, and it is the largest single
cost of the no-hedge path. :class:`LoopTimers` keeps the deadlines of one
:class:`~hedge.Hedger`'s races on one event loop in a heap and holds *one*
loop timer, armed for the earliest deadline:

* arming a deadline later than the one the timer already waits for costs a
  heap push and no loop call, which is the common case for back-to-back
  requests (each deadline is later than the previous request's);
* disarming is lazy: the entry is marked dead and skipped when it reaches
  the top of the heap; dead entries are swept out once they are the
  majority, so the heap holds about as many entries as races in flight;
* when the timer fires it wakes every race whose deadline has come, then
  re-arms for the earliest deadline still alive, or not at all.

Guarantees, the same as one ``call_later`` per race:

* a hedge fires no earlier than its deadline, by the loop's own rule (a
  deadline is due when the loop runs a timer due at or after it); it is
  late only by the loop's latency, as any timer;
* each race's wake-up runs in that race's own context (the driver passes a
  snapshot of the caller's context), and an exception in one race's wake-up
  goes to the loop's exception handler without stopping the others;
* races on different loops (or threads) never share a structure: there is
  one :class:`LoopTimers` per Hedger and loop;
* nothing runs when nothing is armed. After the last race ends, the timer
  it left armed fires at most once, finds only dead entries and is not
  re-armed. No task or thread is ever started.

Lifetime: a :class:`LoopTimers` is kept alive by its pending loop timer and
by the races using it, never by the Hedger, which only holds a weak
reference; so a closed event loop and its timers are freed with it.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
from collections.abc import Callable
from typing import Any

__all__ = ["Deadline", "LoopTimers"]

Deadline = list[Any]
"""A heap entry, ``[when, sequence, wake-up or None]``.

A list rather than an object: the heap compares lists in C, and disarming
blanks the wake-up in place. The sequence number keeps equal deadlines in
the order they were armed and keeps wake-ups out of comparisons.
"""

# Sweep dead entries only past this size: below it a sweep saves nothing.
_SWEEP_MIN = 64


class LoopTimers:
    """The hedge deadlines of one Hedger's races on one event loop (see the module docstring).

    Used from the loop's own thread only.

    Args:
        loop: the event loop whose clock and timers it uses.
    """

    __slots__ = ("__weakref__", "_context", "_dead", "_handle", "_heap", "_loop", "_sequence", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[Deadline] = []
        self._dead = 0  # disarmed entries still in the heap
        self._sequence = 0
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0  # the pending handle's deadline
        # The shared timer runs in an empty context of its own rather than in a
        # copy of whichever request happened to arm it.
        self._context = contextvars.Context()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop these deadlines belong to."""
        return self._loop

    def arm(self, delay: float, wake: Callable[[], object]) -> Deadline:
        """Call ``wake()`` once, ``delay`` seconds from now (loop time), unless disarmed first.

        Returns:
            the deadline, to pass to :meth:`disarm`.
        """
        when = self._loop.time() + delay
        self._sequence += 1
        entry: Deadline = [when, self._sequence, wake]
        heapq.heappush(self._heap, entry)
        if self._handle is None or when < self._when:
            self._schedule(when)
        return entry

    def disarm(self, entry: Deadline) -> None:
        """Forget a deadline that has not fired (idempotent)."""
        if entry[2] is None:
            return
        entry[2] = None
        self._dead += 1
        heap = self._heap
        if self._dead > len(heap) // 2 and len(heap) >= _SWEEP_MIN:
            self._heap = [item for item in heap if item[2] is not None]
            heapq.heapify(self._heap)
            self._dead = 0

    def __len__(self) -> int:
        """How many deadlines are armed."""
        return len(self._heap) - self._dead

    # -- the loop timer ---------------------------------------------------------

    def _schedule(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._when = when
        self._handle = self._loop.call_at(when, self._fire, context=self._context)

    def _fire(self) -> None:
        self._handle = None
        # Due: every deadline up to the one this timer was armed for (the loop
        # may run a timer up to its clock resolution early) and up to now.
        limit = max(self._when, self._loop.time())
        heap = self._heap
        due: list[Callable[[], object]] = []
        while heap:
            entry = heap[0]
            wake = entry[2]
            if wake is None:
                heapq.heappop(heap)
                self._dead -= 1
            elif entry[0] <= limit:
                heapq.heappop(heap)
                entry[2] = None
                due.append(wake)
            else:
                self._schedule(entry[0])
                break
        # Re-armed above before any wake-up runs: a wake-up that arms a new
        # deadline then compares it with the timer already pending.
        for wake in due:
            try:
                wake()
            except (SystemExit, KeyboardInterrupt):  # noqa: PERF203 - each wake-up isolated from the others
                raise
            except BaseException as exc:  # noqa: BLE001 - reported like a failing timer callback
                self._loop.call_exception_handler(
                    {"message": "hedge: exception in a hedge timer wake-up", "exception": exc}
                )
