"""An asyncio event loop whose time is a FakeClock that jumps to the next timer.

When nothing is ready to run and no file descriptor is readable, the loop
advances its clock straight to the next scheduled timer instead of sleeping.
A test of timing logic (hedge after the delay, a second hedge after another
delay, pushback) therefore runs in microseconds and gives the same result on
a loaded machine as on an idle one.

Use it for code whose waiting is all timers and futures. Real sockets do not
belong here: the clock would jump past timeouts while bytes are in flight.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._clock import FakeClock

__all__ = ["VirtualTimeLoop", "run_virtual"]

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            return super().select(None)
        events = super().select(0)
        if not events and timeout > 0:
            self._clock.advance(timeout)
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop driven by ``clock`` (a new :class:`FakeClock` by default)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        super().__init__(_JumpingSelector(self.clock))

    def time(self) -> float:
        return self.clock()


def run_virtual(main: Callable[[], Awaitable[T]], clock: FakeClock | None = None) -> T:
    """Run ``main()`` to completion on a fresh :class:`VirtualTimeLoop`.

    Pending tasks are cancelled and the loop closed afterwards, like
    :func:`asyncio.run`.
    """
    loop = VirtualTimeLoop(clock)
    try:
        return loop.run_until_complete(_wrap(main))
    finally:
        _cancel_all(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _wrap(main: Callable[[], Awaitable[T]]) -> T:
    return await main()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks: set[asyncio.Task[Any]] = {task for task in asyncio.all_tasks(loop) if not task.done()}
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
