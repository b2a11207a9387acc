"""The asyncio race engine, on virtual time: every race rule, both drivers.

Attempts are scripted coroutines that sleep on the virtual clock, so "the
hedge went out at exactly the delay" is an exact assertion about the clock,
not a wall-clock measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from hedge import (
    Attempt,
    Classifier,
    HedgeConfig,
    Hedger,
    Judgement,
    RequestInfo,
    RetryAfter,
    Stats,
    Verdict,
    _race_async,
    events,
    hookimpl,
)
from hedge.plugins import HedgePluginManager
from hedge.testing import EventRecorder, FakeClock, run_virtual

DRIVERS = ["tasks"] + (["inline"] if sys.version_info >= (3, 11) else [])
INFO = RequestInfo.from_url("GET", "http://svc.test/items", framework="test")
DELAY = 0.1


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test with the primary inline (3.11+) and as a task."""
    monkeypatch.setattr(_race_async, "_INLINE_PRIMARY", request.param == "inline")
    return str(request.param)


@dataclass
class Res:
    """A result that knows which attempt made it."""

    value: Any
    index: int


@dataclass
class Step:
    delay: float = 0.0
    value: Any = "ok"
    error: BaseException | None = None
    ignore_cancel: bool = False  # return a result even when cancelled
    slow_cancel: float = 0.0  # keep running this long after being cancelled


class ResClassifier(Classifier[Res]):
    def classify_result(self, result: Res) -> Judgement:
        if isinstance(result.value, (Verdict, RetryAfter)):
            return result.value
        return Verdict.ACCEPT


@dataclass
class Script:
    steps: list[Step]
    clock: FakeClock
    started: list[tuple[int, float]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    on_cancel_called: list[int] = field(default_factory=list)

    async def send(self, attempt: Attempt) -> Res:
        step = self.steps[attempt.index]
        self.started.append((attempt.index, self.clock()))
        attempt.on_cancel(lambda: self.on_cancel_called.append(attempt.index))
        try:
            await asyncio.sleep(step.delay)
        except asyncio.CancelledError:
            self.cancelled.append(attempt.index)
            if step.slow_cancel:
                await asyncio.sleep(step.slow_cancel)
            if step.ignore_cancel:
                return Res(step.value, attempt.index)
            raise
        if step.error is not None:
            raise step.error
        return Res(step.value, attempt.index)

    def release(self, result: Res) -> None:
        self.released.append(result.index)

    @property
    def start_times(self) -> list[float]:
        return [round(t - 1000.0, 6) for _, t in self.started]


def fixed(**changes: Any) -> HedgeConfig:
    settings: dict[str, Any] = {
        "min_delay": DELAY,
        "max_delay": DELAY,
        "warmup_delay": DELAY,
        "budget_percent": 100.0,
        "budget_floor": 1000.0,  # an ample budget unless a test says otherwise
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


def race(config: HedgeConfig, *steps: Step, plugins: Any = False, **run: Any) -> tuple[Any, Script, Hedger]:
    """Run one request on virtual time; return (outcome or exception, script, hedger)."""
    clock = FakeClock(1000.0)
    hedger = Hedger(config, clock=clock, plugins=plugins)
    script = Script(list(steps), clock)

    async def main() -> Any:
        try:
            return await hedger.run(
                INFO, script.send, classifier=ResClassifier(), release=script.release, **run
            )
        except BaseException as exc:
            return exc

    return run_virtual(main, clock), script, hedger


def stats(hedger: Hedger) -> Any:
    return hedger.stats.snapshot()


# -- who wins -------------------------------------------------------------------------


def test_fast_primary_sends_no_hedge(driver: str) -> None:
    outcome, script, hedger = race(fixed(), Step(delay=0.05, value="p"))
    assert outcome == Res("p", 0)
    assert script.start_times == [0.0]
    assert (stats(hedger).primary_wins, stats(hedger).hedges_sent) == (1, 0)


def test_slow_primary_is_hedged_at_the_delay_and_loses(driver: str) -> None:
    outcome, script, hedger = race(fixed(), Step(delay=5.0, value="p"), Step(delay=0.02, value="h"))
    assert outcome == Res("h", 1)
    assert script.start_times == [0.0, DELAY]
    assert script.cancelled == [0]
    assert script.on_cancel_called == [0]
    snap = stats(hedger)
    assert (snap.hedge_wins, snap.hedges_sent, snap.attempts_cancelled) == (1, 1, 1)


def test_primary_finishing_first_after_the_hedge_went_out_wins(driver: str) -> None:
    outcome, script, hedger = race(fixed(), Step(delay=0.15, value="p"), Step(delay=1.0, value="h"))
    assert outcome == Res("p", 0)
    assert script.cancelled == [1]
    assert stats(hedger).primary_wins == 1


def test_max_hedges_staggers_each_hedge_by_another_delay(driver: str) -> None:
    outcome, script, hedger = race(
        fixed(max_hedges=2), Step(delay=5.0), Step(delay=5.0), Step(delay=0.01, value="third")
    )
    assert outcome == Res("third", 2)
    assert script.start_times == [0.0, 0.1, 0.2]
    assert sorted(script.cancelled) == [0, 1]
    assert stats(hedger).hedges_sent == 2


def test_max_hedges_is_a_cap(driver: str) -> None:
    outcome, script, _ = race(fixed(max_hedges=3), *[Step(delay=1.0 + i) for i in range(4)])
    assert outcome == Res("ok", 0)  # the primary at 1.0 s beats every hedge
    assert script.start_times == [0.0, 0.1, 0.2, 0.3]


def test_every_hedge_is_paid_for_from_the_budget(driver: str) -> None:
    # 100% earns one hedge per request and the floor adds one: the third is refused.
    outcome, script, hedger = race(
        fixed(max_hedges=3, budget_percent=100, budget_floor=1.0), *[Step(delay=1.0 + i) for i in range(4)]
    )
    assert outcome == Res("ok", 0)
    assert len(script.started) == 3
    assert stats(hedger).budget_exhausted == 1


# -- retryable and fatal outcomes -----------------------------------------------------------------


def test_a_retryable_failure_sends_the_next_hedge_at_once(driver: str) -> None:
    recorder = EventRecorder()
    manager = HedgePluginManager()
    manager.register(recorder)
    outcome, script, _ = race(
        fixed(min_delay=60, max_delay=60, warmup_delay=60),
        Step(delay=0.01, error=ConnectionRefusedError("refused")),
        Step(delay=0.02, value="h"),
        plugins=manager,
    )
    assert outcome == Res("h", 1)
    assert script.start_times == [0.0, 0.01]
    assert [(e.attempt, e.reason) for e in recorder.of(events.HedgeSent)] == [(1, "retry")]
    assert [e.verdict for e in recorder.of(events.AttemptFailed)] == [Verdict.RETRY]


def test_when_every_attempt_fails_the_primary_error_is_raised_unchanged(driver: str) -> None:
    first = ConnectionResetError("primary")
    outcome, _, hedger = race(
        fixed(), Step(delay=0.01, error=first), Step(delay=0.01, error=ConnectionResetError("hedge"))
    )
    assert outcome is first
    assert stats(hedger).errors == 1


def test_when_every_attempt_fails_the_primary_result_is_returned_and_others_released(driver: str) -> None:
    outcome, script, hedger = race(
        fixed(max_hedges=2),
        Step(delay=0.01, value=Verdict.RETRY),
        Step(delay=0.01, value=Verdict.RETRY),
        Step(delay=0.01, value=Verdict.RETRY),
    )
    assert outcome == Res(Verdict.RETRY, 0)
    assert sorted(script.released) == [1, 2]
    assert stats(hedger).errors == 1


def test_a_fatal_hedge_outcome_ends_the_race(driver: str) -> None:
    fatal = ValueError("bad request")
    outcome, script, hedger = race(fixed(), Step(delay=5.0), Step(delay=0.01, error=fatal))
    assert outcome is fatal
    assert script.cancelled == [0]
    assert stats(hedger).errors == 1


def test_a_fatal_primary_outcome_is_raised_without_hedging(driver: str) -> None:
    fatal = KeyError("nope")
    outcome, script, _ = race(fixed(), Step(delay=0.01, error=fatal))
    assert outcome is fatal
    assert len(script.started) == 1


def test_a_classifier_that_raises_makes_the_outcome_fatal(driver: str) -> None:
    class Broken(Classifier[Res]):
        def classify_result(self, result: Res) -> Judgement:
            raise RuntimeError("classifier bug")

    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=0.01, value="p")], clock)

    async def main() -> Res:
        return await hedger.run(INFO, script.send, classifier=Broken())

    assert run_virtual(main, clock) == Res("p", 0)
    assert stats(hedger).errors == 1


# -- budget and pushback --------------------------------------------------------------------------


def test_a_budget_refusal_sends_no_hedge(driver: str) -> None:
    outcome, script, hedger = race(fixed(budget_percent=0, budget_floor=0), Step(delay=5.0, value="p"))
    assert outcome == Res("p", 0)
    assert script.start_times == [0.0]
    assert stats(hedger).budget_exhausted == 1


def test_a_retryable_failure_does_not_hedge_without_budget(driver: str) -> None:
    first = ConnectionRefusedError("primary")
    outcome, script, _ = race(fixed(budget_percent=0, budget_floor=0), Step(delay=0.01, error=first), Step())
    assert outcome is first
    assert len(script.started) == 1


def test_pushback_delays_the_next_hedge(driver: str) -> None:
    outcome, script, _ = race(
        fixed(min_delay=60, max_delay=60, warmup_delay=60),
        Step(delay=0.01, value=RetryAfter(0.5)),
        Step(delay=0.01, value="h"),
    )
    assert outcome == Res("h", 1)
    assert script.start_times == [0.0, 0.51]


@pytest.mark.parametrize("seconds", [-1.0, 120.0])
def test_negative_or_excessive_pushback_stops_hedging(driver: str, seconds: float) -> None:
    outcome, script, _ = race(fixed(max_delay=60), Step(delay=0.01, value=RetryAfter(seconds)), Step())
    assert outcome == Res(RetryAfter(seconds), 0)
    assert len(script.started) == 1


# -- cancellation and release -------------------------------------------------------------------------


def test_caller_cancellation_cancels_every_attempt_and_propagates(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=50.0), Step(delay=50.0)], clock)

    async def main() -> str:
        task = asyncio.ensure_future(
            hedger.run(INFO, script.send, classifier=ResClassifier(), release=script.release)
        )
        await asyncio.sleep(1.0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    assert run_virtual(main, clock) == "cancelled"
    assert sorted(script.cancelled) == [0, 1]
    snap = stats(hedger)
    assert (snap.cancelled_requests, snap.attempts_cancelled) == (1, 2)


def test_wait_for_timeout_cancels_every_attempt(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=50.0), Step(delay=50.0)], clock)

    async def main() -> str:
        try:
            await asyncio.wait_for(hedger.run(INFO, script.send, classifier=ResClassifier()), 1.0)
        except asyncio.TimeoutError:
            return "timed out"
        return "finished"

    assert run_virtual(main, clock) == "timed out"
    assert sorted(script.cancelled) == [0, 1]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is Python 3.11+")
def test_a_hedge_win_leaves_an_enclosing_timeout_intact(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=5.0), Step(delay=0.01, value="h")], clock)

    async def main() -> tuple[Res, int, str]:
        async with asyncio.timeout(10):  # type: ignore[attr-defined]
            result = await hedger.run(INFO, script.send, classifier=ResClassifier())
        task = asyncio.current_task()
        assert task is not None
        # The enclosing timeout still works after the hedge interrupted the primary.
        try:
            async with asyncio.timeout(0.5):  # type: ignore[attr-defined]
                await asyncio.sleep(1.0)
        except TimeoutError:
            fired = "fired"
        else:
            fired = "did not fire"
        return result, task.cancelling(), fired

    result, cancelling, fired = run_virtual(main, clock)
    assert result == Res("h", 1)
    assert cancelling == 0
    assert fired == "fired"


def test_an_outside_cancel_at_the_moment_a_hedge_wins_still_propagates(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    released: list[int] = []
    caller: list[asyncio.Task[Any]] = []

    async def send(attempt: Attempt) -> Res:
        if attempt.index == 0:
            await asyncio.sleep(5.0)
            return Res("p", 0)
        await asyncio.sleep(0.01)
        caller[0].cancel()  # someone cancels the caller just as the hedge wins
        return Res("h", 1)

    async def request() -> Res:
        return await hedger.run(
            INFO, send, classifier=ResClassifier(), release=lambda r: released.append(r.index)
        )

    async def main() -> str:
        task = asyncio.ensure_future(request())
        caller.append(task)
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    assert run_virtual(main, clock) == "cancelled"
    assert released == [1]  # the winner nobody will receive is released


def test_simultaneous_finish_releases_the_loser_once(driver: str) -> None:
    recorder = EventRecorder()
    manager = HedgePluginManager()
    manager.register(recorder)
    # The hedge starts at 0.1 and takes 0.4; the primary takes 0.5: same instant.
    outcome, script, _ = race(
        fixed(), Step(delay=0.5, value="p"), Step(delay=0.4, value="h"), plugins=manager
    )
    assert isinstance(outcome, Res)
    (lost,) = recorder.of(events.AttemptLost)
    assert lost.attempt == 1 - outcome.index
    if lost.completed:
        # Both results existed before the race was decided: the loser's is closed once.
        assert script.released == [lost.attempt]
    else:
        # The loser was cancelled a moment before its result was delivered.
        assert script.released == []
        assert script.cancelled == [lost.attempt]


def test_a_loser_that_ignores_cancellation_is_released(driver: str) -> None:
    outcome, script, _ = race(
        fixed(), Step(delay=5.0, value="p", ignore_cancel=True), Step(delay=0.01, value="h")
    )
    assert outcome == Res("h", 1)
    assert script.released == [0]


def test_a_second_cancel_during_cleanup_detaches_and_still_releases(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    # Both attempts take 1 s to notice a cancellation and then return a result anyway.
    script = Script([Step(delay=50.0, ignore_cancel=True, slow_cancel=1.0)] * 2, clock)

    async def main() -> str:
        task = asyncio.ensure_future(
            hedger.run(INFO, script.send, classifier=ResClassifier(), release=script.release)
        )
        await asyncio.sleep(1.0)
        task.cancel()
        await asyncio.sleep(0.5)  # cleanup is waiting for the slow losers
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(5.0)  # the detached losers finish and release themselves
        return "done"

    assert run_virtual(main, clock) == "done"
    if driver == "tasks":
        assert sorted(script.released) == [0, 1]
    else:
        # The inline primary runs in the caller's task, so the second cancel
        # interrupts its slow clean-up, exactly as it would without hedging:
        # it never produces a result. The hedge task's result is released.
        assert script.released == [1]


def test_a_release_that_raises_is_logged_and_the_winner_returned(
    driver: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=5.0, ignore_cancel=True), Step(delay=0.01, value="h")], clock)

    def bad_release(result: Res) -> None:
        raise OSError("close failed")

    async def main() -> Res:
        return await hedger.run(INFO, script.send, classifier=ResClassifier(), release=bad_release)

    assert run_virtual(main, clock) == Res("h", 1)
    assert "releasing a losing result raised" in caplog.text


def test_an_async_release_is_awaited_before_run_returns(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=5.0, ignore_cancel=True), Step(delay=0.01, value="h")], clock)
    closed: list[int] = []

    async def release(result: Res) -> None:
        await asyncio.sleep(0.2)
        closed.append(result.index)

    async def main() -> list[int]:
        await hedger.run(INFO, script.send, classifier=ResClassifier(), release=release)
        return list(closed)

    assert run_virtual(main, clock) == [0]


# -- what the estimator sees -------------------------------------------------------------------------


def estimator_count(hedger: Hedger, clock: FakeClock) -> int:
    state = hedger._keys.get(hedger.key_for(INFO))
    assert state is not None
    return state.estimator.window.count(clock())


def test_the_estimator_sees_the_primary_only(driver: str) -> None:
    clock = FakeClock(1000.0)
    config = fixed(min_delay=0.0, max_delay=10.0, warmup_delay=DELAY, warmup_requests=1000)
    hedger = Hedger(config, clock=clock, plugins=False)
    samples: list[tuple[str, float]] = []

    async def main() -> None:
        for steps in (
            [Step(delay=0.05)],  # primary wins: its latency
            [Step(delay=5.0), Step(delay=0.01)],  # primary loses at 0.11: censored sample 0.11
            [Step(delay=0.01, error=ConnectionRefusedError()), Step(delay=0.01)],  # fast failure: nothing
        ):
            script = Script(steps, clock)
            await hedger.run(INFO, script.send, classifier=ResClassifier())
        post = Script([Step(delay=3.0)], clock)
        await hedger.run(RequestInfo.from_url("POST", "http://svc.test/items"), post.send)  # ineligible
        state = hedger._keys.get(hedger.key_for(INFO))
        assert state is not None
        window = state.estimator.window
        samples.append(("count", float(window.count(clock()))))
        samples.append(("max", window.quantile(1.0, clock()) or 0.0))
        samples.append(("min", window.quantile(0.0, clock()) or 0.0))

    run_virtual(main, clock)
    values = dict(samples)
    assert values["count"] == 2
    assert values["min"] == pytest.approx(0.05)
    assert values["max"] == pytest.approx(0.11)  # the censored primary, not the hedge's 0.01


def test_the_delay_learns_the_primary_latency(driver: str) -> None:
    clock = FakeClock(1000.0)
    config = fixed(min_delay=0.001, max_delay=10.0, warmup_requests=20, percentile=0.9)
    hedger = Hedger(config, clock=clock, plugins=False)

    async def main() -> float:
        for i in range(200):
            latency = 0.02 if i % 10 else 0.2  # p90 of the primary's latency: 0.02
            await hedger.run(INFO, Script([Step(delay=latency), Step(delay=0.001)], clock).send)
        return hedger.current_delay(hedger.key_for(INFO))

    # Censored samples land above the delay; the estimate still settles at p90.
    assert run_virtual(main, clock) == pytest.approx(0.02, rel=0.05)


def test_ineligible_requests_go_straight_through(driver: str) -> None:
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    script = Script([Step(delay=5.0, value="p")], clock)
    post = RequestInfo.from_url("POST", "http://svc.test/items")

    async def main() -> Res:
        return await hedger.run(post, script.send)

    assert run_virtual(main, clock) == Res("p", 0)
    snap = stats(hedger)
    assert (snap.passthrough_requests, snap.total_requests) == (1, 0)
    assert hedger._keys.get(hedger.key_for(post)) is None  # no state for requests never hedged


def test_max_hedges_zero_turns_hedging_off(driver: str) -> None:
    outcome, script, hedger = race(fixed(max_hedges=0), Step(delay=5.0, value="p"))
    assert outcome == Res("p", 0)
    assert len(script.started) == 1
    assert stats(hedger).passthrough_requests == 1


# -- events and plugins ---------------------------------------------------------------------------------


def test_events_describe_the_race(driver: str) -> None:
    recorder = EventRecorder()
    manager = HedgePluginManager()
    manager.register(recorder)
    race(fixed(), Step(delay=5.0), Step(delay=0.02, value="h"), plugins=manager)
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds == ["HedgeSent", "AttemptLost", "AttemptWon", "RequestFinished"]
    finished = recorder.of(events.RequestFinished)[0]
    assert (finished.attempts, finished.winner, finished.outcome) == (2, 1, "hedge")
    assert finished.key == finished.target == "http://svc.test:80"
    assert finished.framework == "test"
    assert finished.duration == pytest.approx(DELAY + 0.02)
    won = recorder.of(events.AttemptWon)[0]
    assert won.elapsed == pytest.approx(0.02)


def test_no_event_is_built_when_nobody_listens(driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("an event was built with no listener")

    for name in (
        "HedgeSent",
        "AttemptWon",
        "AttemptLost",
        "RequestFinished",
        "AttemptFailed",
        "BudgetDenied",
    ):
        monkeypatch.setattr(f"hedge._call.{name}", forbidden)
    manager = HedgePluginManager()  # plugins, but none listening to hedge_event
    outcome, _, _ = race(
        fixed(), Step(delay=5.0), Step(delay=0.01, error=ConnectionResetError()), plugins=manager
    )
    assert outcome == Res("ok", 0)


def test_a_raising_observer_never_breaks_a_request(driver: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hedge")  # later reports of the same plugin log at DEBUG

    class Broken:
        @hookimpl
        def hedge_event(self, event: events.HedgeEvent) -> None:
            raise RuntimeError("observer bug")

    manager = HedgePluginManager()
    manager.register(Broken(), name="broken-observer")
    outcome, _, _ = race(fixed(), Step(delay=5.0), Step(delay=0.02, value="h"), plugins=manager)
    assert outcome == Res("h", 1)
    assert "broken-observer" in caplog.text


def test_context_variables_reach_every_attempt(driver: str) -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    clock = FakeClock(1000.0)
    hedger = Hedger(fixed(), clock=clock, plugins=False)
    seen: list[str] = []

    async def send(attempt: Attempt) -> Res:
        seen.append(request_id.get())
        await asyncio.sleep(5.0 if attempt.index == 0 else 0.01)
        return Res("ok", attempt.index)

    async def main() -> None:
        request_id.set("req-42")
        await hedger.run(INFO, send)

    run_virtual(main, clock)
    assert seen == ["req-42", "req-42"]


# -- sharing one Hedger -------------------------------------------------------------------------------


def test_one_hedger_serves_several_event_loops_and_threads() -> None:
    hedger = Hedger(fixed(min_delay=0.01, max_delay=0.01, warmup_delay=0.01), plugins=False)
    errors: list[BaseException] = []

    async def many() -> None:
        async def send(attempt: Attempt) -> int:
            await asyncio.sleep(0.03 if attempt.index == 0 else 0.0)
            return attempt.index

        results = await asyncio.gather(*(hedger.run(INFO, send) for _ in range(50)))
        assert all(r in (0, 1) for r in results)

    def in_thread() -> None:
        try:
            asyncio.run(many())
        except BaseException as exc:
            errors.append(exc)

    asyncio.run(many())  # a first loop, then four at once on threads
    threads = [threading.Thread(target=in_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    snap = hedger.stats.snapshot()
    assert snap.total_requests == 250
    assert snap.primary_wins + snap.hedge_wins == 250
