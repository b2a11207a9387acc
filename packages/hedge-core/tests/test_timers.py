"""The shared hedge timer: the deadlines of many races behind one loop timer.

Everything runs on virtual time, so "the hedge went out at exactly its
delay" is an exact assertion about the loop's clock, and counting the loop
timers hedge arms is exact too.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from hedge import Attempt, Classifier, HedgeConfig, Hedger, Judgement, RequestInfo, RetryAfter, Stats, Verdict
from hedge._timers import _SWEEP_MIN, LoopTimers
from hedge.testing import FakeClock, VirtualTimeLoop

T = TypeVar("T")

INFO = RequestInfo.from_url("GET", "http://svc.test/items", framework="test")
DELAY = 0.1


def fixed(delay: float = DELAY) -> HedgeConfig:
    return HedgeConfig(
        min_delay=delay,
        max_delay=max(delay, 60.0),
        warmup_delay=delay,
        budget_percent=100.0,
        budget_floor=1000.0,
        stats=Stats(),
    )


class CountingLoop(VirtualTimeLoop):
    """A virtual-time loop that counts the loop timers LoopTimers arms, and their runs."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.armed = 0
        self.fired = 0

    def call_at(  # type: ignore[override]  # counts, then defers to asyncio's
        self, when: float, callback: Callable[..., object], *args: Any, **kwargs: Any
    ) -> asyncio.TimerHandle:
        if isinstance(getattr(callback, "__self__", None), LoopTimers):
            self.armed += 1
            inner = callback

            def counted(*inner_args: Any) -> None:
                self.fired += 1
                inner(*inner_args)

            callback = counted
        return super().call_at(when, callback, *args, **kwargs)


def run_on(loop: asyncio.AbstractEventLoop, main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    try:
        return loop.run_until_complete(wrapped())
    finally:
        loop.close()


class Script:
    """Attempts that take scripted virtual times; records when each one started."""

    def __init__(self, primary: float, hedge: float = 0.01, primary_value: Any = "p") -> None:
        self.primary = primary
        self.hedge = hedge
        self.primary_value = primary_value
        self.started: list[tuple[int, float]] = []

    async def send(self, attempt: Attempt) -> Any:
        loop = asyncio.get_running_loop()
        self.started.append((attempt.index, loop.time()))
        await asyncio.sleep(self.primary if attempt.index == 0 else self.hedge)
        return self.primary_value if attempt.index == 0 else "h"


class PushbackClassifier(Classifier[Any]):
    """Judges a RetryAfter result as itself, anything else as accepted."""

    def classify_result(self, result: Any) -> Judgement:
        return result if isinstance(result, RetryAfter) else Verdict.ACCEPT


# -- the engine on a shared timer -------------------------------------------------------------


def test_concurrent_races_each_hedge_exactly_at_their_own_deadline() -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    offsets = [0.0, 0.03, 0.05, 0.05, 0.08, 0.15]
    scripts = [Script(primary=5.0) for _ in offsets]

    async def one(offset: float, script: Script) -> Any:
        await asyncio.sleep(offset)
        return await hedger.run(INFO, script.send)

    async def main() -> list[Any]:
        return await asyncio.gather(*(one(o, s) for o, s in zip(offsets, scripts)))

    assert run_on(CountingLoop(clock), main) == ["h"] * len(offsets)
    for offset, script in zip(offsets, scripts):
        (_, primary_at), (_, hedge_at) = script.started
        assert primary_at == pytest.approx(1000.0 + offset, abs=1e-9)
        assert hedge_at == pytest.approx(primary_at + DELAY, abs=1e-9)


def test_a_deadline_earlier_than_the_pending_timer_still_fires_on_time() -> None:
    # Race A arms a 60 s deadline; race B's pushback then asks for a hedge
    # 0.5 s after its primary fails at 0.01 s, long before the timer A armed.
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(delay=60.0), clock=clock, plugins=False)
    slow = Script(primary=100.0)
    pushed = Script(primary=0.01, primary_value=RetryAfter(0.5))

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                hedger.run(INFO, slow.send), hedger.run(INFO, pushed.send, classifier=PushbackClassifier())
            )
        )

    assert run_on(CountingLoop(clock), main) == ["h", "h"]
    assert [round(at - 1000.0, 9) for _, at in pushed.started] == [0.0, 0.51]
    assert [round(at - 1000.0, 9) for _, at in slow.started] == [0.0, 60.0]


def test_back_to_back_requests_share_a_few_loop_timers() -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    loop = CountingLoop(clock)

    async def main() -> int:
        for _ in range(200):  # 1 ms each: 0.2 s of traffic, two hedge delays' worth
            await hedger.run(INFO, Script(primary=0.001).send)
        return hedger.stats.snapshot().hedges_sent

    assert run_on(loop, main) == 0
    # A timer per request would be 200; the shared one is re-armed about once per delay.
    assert 1 <= loop.armed <= 4


def test_nothing_is_left_armed_once_the_races_are_over() -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    loop = CountingLoop(clock)

    async def main() -> None:
        for _ in range(20):
            await hedger.run(INFO, Script(primary=0.001).send)
        assert len(hedger._loop_timers(asyncio.get_running_loop())) == 0  # no deadline armed
        await asyncio.sleep(10 * DELAY)  # idle: the timer left armed fires once, finds nothing

    run_on(loop, main)
    assert loop.armed == loop.fired  # no loop timer pending, none re-armed
    gc.collect()
    assert hedger._timers == {}  # and the per-loop structure is gone with its last user


def test_races_on_two_loops_keep_their_own_timers() -> None:
    hedger = Hedger(fixed(), plugins=False)
    seen: dict[str, tuple[LoopTimers, list[tuple[int, float]]]] = {}
    errors: list[BaseException] = []

    def in_thread(name: str, offset: float) -> None:
        clock = FakeClock(0.0)
        loop = CountingLoop(clock)
        script = Script(primary=5.0)

        async def main() -> None:
            await asyncio.sleep(offset)
            timers = hedger._loop_timers(asyncio.get_running_loop())
            assert await hedger.run(INFO, script.send) == "h"
            seen[name] = (timers, script.started)

        try:
            run_on(loop, main)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=in_thread, args=args) for args in (("a", 0.0), ("b", 0.07))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (timers_a, started_a), (timers_b, started_b) = seen["a"], seen["b"]
    assert timers_a is not timers_b
    assert timers_a.loop is not timers_b.loop
    assert [round(at, 9) for _, at in started_a] == [0.0, 0.1]
    assert [round(at, 9) for _, at in started_b] == [0.07, 0.17]


def test_a_closed_loop_takes_its_timers_with_it() -> None:
    hedger = Hedger(fixed(delay=1.0), plugins=False)

    async def main() -> Any:
        async def send(attempt: Attempt) -> int:
            return attempt.index

        return await hedger.run(INFO, send)

    assert asyncio.run(main()) == 0  # the loop closes with the shared timer still pending
    gc.collect()
    assert hedger._timers == {}


# -- LoopTimers on its own ---------------------------------------------------------------------


def test_wake_ups_run_in_deadline_order_and_a_disarmed_one_never_runs() -> None:
    clock = FakeClock(0.0)
    woken: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        timers = LoopTimers(loop)

        def waker(name: str) -> Callable[[], None]:
            return lambda: woken.append((name, loop.time()))

        for name, delay in (("c", 0.3), ("a", 0.1), ("x", 0.2), ("b", 0.1)):
            entry = timers.arm(delay, waker(name))
            if name == "x":
                timers.disarm(entry)
                timers.disarm(entry)  # idempotent
        assert len(timers) == 3
        await asyncio.sleep(1.0)
        assert len(timers) == 0

    run_on(CountingLoop(clock), main)
    assert woken == [("a", 0.1), ("b", 0.1), ("c", 0.3)]


def test_a_failing_wake_up_is_reported_and_the_others_still_run() -> None:
    clock = FakeClock(0.0)
    loop = CountingLoop(clock)
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    woken: list[str] = []

    def broken() -> None:
        raise RuntimeError("wake-up bug")

    async def main() -> None:
        timers = LoopTimers(asyncio.get_running_loop())
        timers.arm(0.1, lambda: woken.append("first"))
        timers.arm(0.1, broken)
        timers.arm(0.1, lambda: woken.append("third"))
        await asyncio.sleep(1.0)

    run_on(loop, main)
    assert woken == ["first", "third"]
    assert [type(context["exception"]) for context in reported] == [RuntimeError]


def test_disarmed_deadlines_do_not_pile_up() -> None:
    clock = FakeClock(0.0)

    async def main() -> int:
        timers = LoopTimers(asyncio.get_running_loop())
        for _ in range(10_000):
            timers.disarm(timers.arm(1.0, lambda: None))
        return len(timers._heap)

    assert run_on(CountingLoop(clock), main) <= _SWEEP_MIN
