"""The threaded race engine: the same rules as asyncio, with worker threads.

Slow attempts block on events the test controls (or that an attempt's
cancel callback sets), so outcomes never depend on how fast the machine is.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from typing import Any

import pytest

from hedge import Attempt, Classifier, HedgeConfig, Hedger, Judgement, RequestInfo, RetryAfter, Stats, Verdict
from hedge._workers import WorkerPool

INFO = RequestInfo.from_url("GET", "http://svc.test/items", framework="test")
DELAY = 0.05


def fixed(**changes: Any) -> HedgeConfig:
    settings: dict[str, Any] = {
        "min_delay": DELAY,
        "max_delay": DELAY,
        "warmup_delay": DELAY,
        "budget_percent": 100.0,
        "budget_floor": 1000.0,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


class Verdicts(Classifier[Any]):
    def classify_result(self, result: Any) -> Judgement:
        if isinstance(result, (Verdict, RetryAfter)):
            return result
        return Verdict.ACCEPT


class Blocking:
    """Attempt i blocks until released, unless it is in ``fast``; a cancel callback releases it."""

    def __init__(self, fast: dict[int, Any], errors: dict[int, BaseException] | None = None) -> None:
        self.fast = fast
        self.errors = errors or {}
        self.gates: dict[int, threading.Event] = {}
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.released: list[Any] = []
        self.lock = threading.Lock()
        self.done = threading.Event()

    def send(self, attempt: Attempt) -> Any:
        index = attempt.index
        gate = threading.Event()
        with self.lock:
            self.started.append(index)
            self.gates[index] = gate

        def abort() -> None:
            with self.lock:
                self.cancelled.append(index)
            gate.set()

        attempt.on_cancel(abort)
        if index in self.errors:
            raise self.errors[index]
        if index in self.fast:
            return self.fast[index]
        gate.wait(30)
        return f"late-{index}"  # a loser that finishes anyway (it must be released)

    def release(self, result: Any) -> None:
        with self.lock:
            self.released.append(result)
        self.done.set()


def test_fast_primary_sends_no_hedge() -> None:
    hedger = Hedger(fixed(min_delay=5, max_delay=5, warmup_delay=5), plugins=False)
    script = Blocking(fast={0: "p"})
    try:
        assert hedger.run_sync(INFO, script.send, classifier=Verdicts(), release=script.release) == "p"
    finally:
        hedger.close()
    assert script.started == [0]
    assert hedger.stats.snapshot().primary_wins == 1


def test_slow_primary_loses_and_its_late_result_is_released() -> None:
    hedger = Hedger(fixed(), plugins=False)
    script = Blocking(fast={1: "h"})
    try:
        assert hedger.run_sync(INFO, script.send, classifier=Verdicts(), release=script.release) == "h"
        assert script.done.wait(10)
    finally:
        hedger.close()
    assert script.cancelled == [0]  # its on_cancel callback ran
    assert script.released == ["late-0"]  # and its result, when it came, was closed
    snap = hedger.stats.snapshot()
    assert (snap.hedge_wins, snap.attempts_cancelled) == (1, 1)


def test_retryable_failure_hedges_at_once_and_all_failing_raises_the_primary_error() -> None:
    first = ConnectionRefusedError("primary")
    hedger = Hedger(fixed(min_delay=60, max_delay=60, warmup_delay=60), plugins=False)
    script = Blocking(fast={}, errors={0: first, 1: ConnectionRefusedError("hedge")})
    try:
        with pytest.raises(ConnectionRefusedError) as info:
            hedger.run_sync(INFO, script.send, classifier=Verdicts(), release=script.release)
    finally:
        hedger.close()
    assert info.value is first
    assert script.started == [0, 1]


def test_retryable_results_lose_to_a_good_hedge_and_are_released() -> None:
    hedger = Hedger(fixed(min_delay=60, max_delay=60, warmup_delay=60), plugins=False)
    script = Blocking(fast={0: Verdict.RETRY, 1: "h"})
    try:
        assert hedger.run_sync(INFO, script.send, classifier=Verdicts(), release=script.release) == "h"
    finally:
        hedger.close()
    assert script.released == [Verdict.RETRY]


def test_a_fatal_hedge_outcome_is_raised() -> None:
    fatal = ValueError("bad")
    hedger = Hedger(fixed(), plugins=False)
    script = Blocking(fast={}, errors={1: fatal})
    try:
        with pytest.raises(ValueError, match="bad") as info:
            hedger.run_sync(INFO, script.send, classifier=Verdicts(), release=script.release)
        assert script.done.wait(10)
    finally:
        hedger.close()
    assert info.value is fatal
    assert script.released == ["late-0"]


def test_budget_refusal_and_max_hedges() -> None:
    hedger = Hedger(fixed(budget_percent=0, budget_floor=0), plugins=False)
    script = Blocking(fast={})
    gate_opened = threading.Timer(0.3, lambda: script.gates[0].set())
    gate_opened.start()
    try:
        assert hedger.run_sync(INFO, script.send, classifier=Verdicts()) == "late-0"
    finally:
        gate_opened.cancel()
        hedger.close()
    assert script.started == [0]
    assert hedger.stats.snapshot().budget_exhausted == 1


def test_two_hedges_when_allowed() -> None:
    hedger = Hedger(fixed(max_hedges=2), plugins=False)
    script = Blocking(fast={2: "third"})
    try:
        assert hedger.run_sync(INFO, script.send, classifier=Verdicts(), release=script.release) == "third"
    finally:
        hedger.close()
    assert script.started == [0, 1, 2]
    assert sorted(script.cancelled) == [0, 1]


def test_ineligible_requests_run_on_the_callers_thread() -> None:
    hedger = Hedger(fixed(), plugins=False)
    threads: list[str] = []

    def send(attempt: Attempt) -> str:
        threads.append(threading.current_thread().name)
        return "posted"

    post = RequestInfo.from_url("POST", "http://svc.test/items")
    assert hedger.run_sync(post, send) == "posted"
    assert threads == [threading.current_thread().name]
    hedger.close()


def test_context_variables_are_copied_into_each_attempt() -> None:
    tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant")
    tenant.set("acme")
    seen: list[str] = []
    hedger = Hedger(fixed(), plugins=False)

    def send(attempt: Attempt) -> str:
        seen.append(tenant.get())
        if attempt.index == 0:
            time.sleep(0.5)
        return "ok"

    try:
        hedger.run_sync(INFO, send)
    finally:
        hedger.close()
    assert seen == ["acme", "acme"]


def test_many_threads_share_one_hedger_and_the_counts_add_up() -> None:
    hedger = Hedger(fixed(min_delay=0.005, max_delay=0.005, warmup_delay=0.005), plugins=False)
    errors: list[BaseException] = []
    released: list[int] = []
    lock = threading.Lock()

    def send(attempt: Attempt) -> int:
        time.sleep(random.choice([0.0, 0.0, 0.02]))
        return attempt.index

    def release(result: int) -> None:
        with lock:
            released.append(result)

    def caller() -> None:
        try:
            for _ in range(30):
                hedger.run_sync(INFO, send, release=release)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hedger.close()
    assert errors == []
    snap = hedger.stats.snapshot()
    assert snap.total_requests == 240
    assert snap.primary_wins + snap.hedge_wins == 240
    # Every losing attempt that produced a result was released exactly once.
    assert len(released) <= snap.hedges_sent


def test_worker_pool_grows_on_demand_and_shrinks_when_idle() -> None:
    pool = WorkerPool(idle_timeout=0.2)
    gate = threading.Event()
    ran: list[int] = []
    for i in range(5):
        pool.submit(lambda i=i: (gate.wait(5), ran.append(i)))
    assert pool.threads == 5  # no queueing: five jobs, five threads
    gate.set()
    deadline = time.monotonic() + 10
    while pool.threads and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pool.threads == 0
    assert sorted(ran) == [0, 1, 2, 3, 4]
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(lambda: None)


def test_worker_pool_reuses_idle_threads() -> None:
    pool = WorkerPool(idle_timeout=5.0)
    names: list[str] = []
    for _ in range(20):
        done = threading.Event()
        pool.submit(lambda done=done: (names.append(threading.current_thread().name), done.set()))
        assert done.wait(5)
    assert len(set(names)) == 1
    pool.close()
    assert pool.threads == 0
