"""The metrics and span events of each race shape, driven through hedge's engine directly.

Each test runs real races on :class:`hedge.Hedger` with a small scripted
``send`` (no network) and the installed ``otel`` plugin found through the
``hedge`` entry-point group, then reads what the OpenTelemetry SDK exported.
The engine's own :class:`hedge.Stats` is the independent witness.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import hedge_otel
from hedge import Attempt, Hedger, RequestInfo
from hedge.events import AttemptWon, DelayChanged, HedgeEvent, RequestFinished
from hedge_otel_support import FIXED_DELAY, SLOW, Telemetry, fixed_config, span_name, unique_url

REQUESTS = "hedge.client.requests"
HEDGES = "hedge.client.hedges"
DENIALS = "hedge.client.budget_denials"
WASTED = "hedge.client.attempt.wasted"
ATTEMPTS = "hedge.client.call.attempts"
GAUGE = "hedge.client.hedge_delay"


def request(url: str, method: str = "GET") -> RequestInfo:
    return RequestInfo.from_url(method, url, framework="scripted")


async def test_a_hedge_that_wins_is_counted_and_told_on_the_callers_span(
    otel: Telemetry, tracer: trace.Tracer
) -> None:
    url = unique_url()
    info = request(url)
    hedger = Hedger(fixed_config())

    async def send(attempt: Attempt) -> str:
        if attempt.index == 0:
            await asyncio.sleep(SLOW)
        return f"attempt {attempt.index}"

    name = span_name("hedge-wins")
    with tracer.start_as_current_span(name):
        assert await hedger.run(info, send) == "attempt 1"

    target = info.target
    stats = hedger.stats.snapshot()
    assert (stats.hedges_sent, stats.hedge_wins, stats.attempts_cancelled) == (1, 1, 1)
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge", "hedge.framework": "scripted"}) == 1
    assert otel.count(REQUESTS, target) == stats.total_requests == 1
    assert otel.count(HEDGES, target, {"hedge.reason": "delay"}) == stats.hedges_sent
    assert (
        otel.count(WASTED, target, {"hedge.attempt.kind": "primary", "hedge.attempt.state": "cancelled"}) == 1
    )
    assert otel.count(WASTED, target) == 1
    assert otel.count(DENIALS, target) == 0
    attempts = otel.histogram(ATTEMPTS, target)
    assert attempts is not None and (attempts.count, attempts.sum) == (1, 2)
    assert otel.gauge(GAUGE, target) == [pytest.approx(FIXED_DELAY)]

    events = otel.span_events(name)
    assert [event for event, _ in events] == ["hedge.sent", "hedge.loser_cancelled", "hedge.winner"]
    sent, cancelled, winner = (attributes for _, attributes in events)
    assert sent == {"hedge.attempt": 1, "hedge.delay": pytest.approx(FIXED_DELAY), "hedge.reason": "delay"}
    assert cancelled["hedge.attempt"] == 0 and cancelled["hedge.elapsed"] >= FIXED_DELAY
    assert winner["hedge.attempt"] == 1 and 0 <= winner["hedge.elapsed"] < cancelled["hedge.elapsed"]


async def test_a_primary_that_answers_first_sends_no_hedge(otel: Telemetry, tracer: trace.Tracer) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())

    async def send(attempt: Attempt) -> str:
        return f"attempt {attempt.index}"

    name = span_name("primary-wins")
    with tracer.start_as_current_span(name):
        for _ in range(3):
            assert await hedger.run(info, send) == "attempt 0"

    target = info.target
    assert otel.count(REQUESTS, target, {"hedge.outcome": "primary"}) == 3
    assert otel.count(REQUESTS, target) == 3
    assert otel.points(HEDGES, target) == []
    assert otel.points(WASTED, target) == []
    attempts = otel.histogram(ATTEMPTS, target)
    assert attempts is not None and (attempts.count, attempts.sum) == (3, 3)
    assert [event for event, _ in otel.span_events(name)] == ["hedge.winner"] * 3


async def test_a_primary_that_beats_its_hedge_wastes_the_hedge(otel: Telemetry, tracer: trace.Tracer) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())

    async def send(attempt: Attempt) -> str:
        await asyncio.sleep(FIXED_DELAY * 3 if attempt.index == 0 else SLOW)
        return f"attempt {attempt.index}"

    name = span_name("primary-beats-hedge")
    with tracer.start_as_current_span(name):
        assert await hedger.run(info, send) == "attempt 0"

    target = info.target
    assert otel.count(REQUESTS, target, {"hedge.outcome": "primary"}) == 1
    assert otel.count(HEDGES, target) == 1
    assert (
        otel.count(WASTED, target, {"hedge.attempt.kind": "hedge", "hedge.attempt.state": "cancelled"}) == 1
    )
    assert [event for event, _ in otel.span_events(name)] == [
        "hedge.sent",
        "hedge.loser_cancelled",
        "hedge.winner",
    ]


async def test_a_loser_that_finished_too_is_released_and_counted_as_wasted(
    otel: Telemetry, tracer: trace.Tracer
) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())
    both = asyncio.Event()

    async def send(attempt: Attempt) -> str:
        if attempt.index == 0:
            await both.wait()  # released by the hedge: both end in the same loop iteration
        else:
            both.set()
        return f"attempt {attempt.index}"

    name = span_name("released")
    with tracer.start_as_current_span(name):
        result = await hedger.run(info, send)

    winner = int(result.split()[1])
    loser_kind = "hedge" if winner == 0 else "primary"
    target = info.target
    assert (
        otel.count(WASTED, target, {"hedge.attempt.state": "released", "hedge.attempt.kind": loser_kind}) == 1
    )
    assert otel.count(WASTED, target, {"hedge.attempt.state": "cancelled"}) == 0
    events = otel.span_events(name)
    assert [event for event, _ in events] == ["hedge.sent", "hedge.loser_released", "hedge.winner"]
    assert events[1][1]["hedge.attempt"] == 1 - winner
    assert events[2][1]["hedge.attempt"] == winner


async def test_a_retryable_failure_sends_the_hedge_at_once_and_is_told(
    otel: Telemetry, tracer: trace.Tracer
) -> None:
    info = request(unique_url())
    # A delay far longer than the test: the hedge can only come from the failure.
    hedger = Hedger(fixed_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0))

    async def send(attempt: Attempt) -> str:
        if attempt.index == 0:
            raise ConnectionResetError("reset by peer")
        return "attempt 1"

    name = span_name("retry")
    with tracer.start_as_current_span(name):
        assert await hedger.run(info, send) == "attempt 1"

    target = info.target
    assert otel.count(HEDGES, target, {"hedge.reason": "retry"}) == 1
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge"}) == 1
    assert otel.points(WASTED, target) == []  # a failed attempt lost nothing: it was over
    events = otel.span_events(name)
    assert [event for event, _ in events] == ["hedge.attempt_failed", "hedge.sent", "hedge.winner"]
    failed = events[0][1]
    assert failed["hedge.attempt"] == 0 and failed["hedge.verdict"] == "retry"
    assert failed["error.type"] == "ConnectionResetError"
    assert events[1][1]["hedge.reason"] == "retry"


async def test_every_attempt_failing_is_a_failed_request(otel: Telemetry) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())

    async def send(attempt: Attempt) -> str:
        raise ConnectionRefusedError(f"attempt {attempt.index}")

    with pytest.raises(ConnectionRefusedError, match="attempt 0"):
        await hedger.run(info, send)

    target = info.target
    assert otel.count(REQUESTS, target, {"hedge.outcome": "failed"}) == 1
    assert otel.count(HEDGES, target, {"hedge.reason": "retry"}) == 1
    attempts = otel.histogram(ATTEMPTS, target)
    assert attempts is not None and attempts.sum == 2


async def test_a_budget_denial_is_counted_and_told(otel: Telemetry, tracer: trace.Tracer) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config(budget_percent=0.0, budget_floor=0.0))

    async def send(attempt: Attempt) -> str:
        await asyncio.sleep(FIXED_DELAY * 3)
        return f"attempt {attempt.index}"

    name = span_name("denied")
    with tracer.start_as_current_span(name):
        assert await hedger.run(info, send) == "attempt 0"

    target = info.target
    assert hedger.stats.snapshot().budget_exhausted == 1
    assert otel.count(DENIALS, target) == 1
    assert otel.points(HEDGES, target) == []
    assert otel.count(REQUESTS, target, {"hedge.outcome": "primary"}) == 1
    denied, winner = otel.span_events(name)
    assert denied == ("hedge.budget_denied", {"hedge.attempt": 1})
    assert winner[0] == "hedge.winner" and winner[1]["hedge.attempt"] == 0
    assert winner[1]["hedge.elapsed"] >= FIXED_DELAY * 3


async def test_a_caller_cancelled_request_is_counted_as_cancelled(otel: Telemetry) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())
    started = asyncio.Event()

    async def send(attempt: Attempt) -> str:
        if attempt.index == 1:
            started.set()
        await asyncio.sleep(SLOW)
        return "never"

    task = asyncio.ensure_future(hedger.run(info, send))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    target = info.target
    assert otel.count(REQUESTS, target, {"hedge.outcome": "cancelled"}) == 1
    assert otel.count(WASTED, target, {"hedge.attempt.state": "cancelled"}) == 2


async def test_events_land_on_the_callers_span_not_on_a_span_started_in_the_attempt(
    otel: Telemetry, tracer: trace.Tracer
) -> None:
    # An instrumented client starts its own span inside each attempt; hedge's
    # events belong to the caller's span, which spans the whole race.
    info = request(unique_url())
    hedger = Hedger(fixed_config())

    async def send(attempt: Attempt) -> str:
        with tracer.start_as_current_span(f"attempt-{attempt.index}-{info.host}"):
            if attempt.index == 0:
                await asyncio.sleep(SLOW)
            return f"attempt {attempt.index}"

    name = span_name("caller")
    with tracer.start_as_current_span(name) as caller:
        assert await hedger.run(info, send) == "attempt 1"

    assert [event for event, _ in otel.span_events(name)] == [
        "hedge.sent",
        "hedge.loser_cancelled",
        "hedge.winner",
    ]
    for index in (0, 1):
        attempt_span = otel.span(f"attempt-{index}-{info.host}")
        assert [event.name for event in attempt_span.events] == []
        assert attempt_span.parent is not None
        assert attempt_span.parent.span_id == caller.get_span_context().span_id


def test_the_thread_form_tells_the_callers_span_too(otel: Telemetry, tracer: trace.Tracer) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())
    cancelled = threading.Event()

    def send(attempt: Attempt) -> str:
        if attempt.index == 0:
            attempt.on_cancel(cancelled.set)
            cancelled.wait(SLOW)
        return f"attempt {attempt.index}"

    name = span_name("threads")
    try:
        with tracer.start_as_current_span(name):
            assert hedger.run_sync(info, send) == "attempt 1"
    finally:
        hedger.close()

    target = info.target
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge"}) == 1
    assert (
        otel.count(WASTED, target, {"hedge.attempt.kind": "primary", "hedge.attempt.state": "cancelled"}) == 1
    )
    assert [event for event, _ in otel.span_events(name)] == [
        "hedge.sent",
        "hedge.loser_cancelled",
        "hedge.winner",
    ]


async def test_requests_that_may_not_be_hedged_are_not_observed(otel: Telemetry) -> None:
    info = request(unique_url(), method="POST")
    hedger = Hedger(fixed_config())

    async def send(attempt: Attempt) -> str:
        return "posted"

    assert await hedger.run(info, send) == "posted"
    assert hedger.stats.snapshot().passthrough_requests == 1
    assert otel.points(REQUESTS, info.target) == []


async def test_without_a_recording_span_only_metrics_are_recorded(otel: Telemetry) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())
    before = len(otel.exporter.get_finished_spans())

    async def send(attempt: Attempt) -> str:
        if attempt.index == 0:
            await asyncio.sleep(SLOW)
        return "ok"

    assert not trace.get_current_span().is_recording()
    assert await hedger.run(info, send) == "ok"
    assert otel.count(REQUESTS, info.target, {"hedge.outcome": "hedge"}) == 1
    assert len(otel.exporter.get_finished_spans()) == before


async def test_the_delay_gauge_follows_the_estimate_within_the_configured_clamps(otel: Telemetry) -> None:
    info = request(unique_url())
    config = fixed_config(min_delay=0.02, max_delay=0.4, warmup_delay=0.3, warmup_requests=3)
    hedger = Hedger(config)

    async def send(attempt: Attempt) -> str:
        return "fast"

    target = info.target
    assert otel.gauge(GAUGE, target) == []
    await hedger.run(info, send)
    assert otel.gauge(GAUGE, target) == [pytest.approx(config.warmup_delay)]  # warm-up
    for _ in range(11):
        await hedger.run(info, send)
    # Sub-millisecond answers: the estimate is clamped up to min_delay.
    (delay,) = otel.gauge(GAUGE, target)
    assert config.min_delay <= delay <= config.max_delay
    assert delay == pytest.approx(config.min_delay)
    assert delay == pytest.approx(hedger.current_delay(hedger.key_for(info)))
    assert otel.unit(GAUGE) == "s"


def test_the_attempts_histogram_carries_the_advised_buckets_where_the_api_can(otel: Telemetry) -> None:
    info = request(unique_url())
    hedger = Hedger(fixed_config())
    hedger.run_sync(info, lambda attempt: "ok")
    hedger.close()

    attempts = otel.histogram(ATTEMPTS, info.target)
    assert attempts is not None and (attempts.count, attempts.sum) == (1, 1)
    advisable = "explicit_bucket_boundaries_advisory" in inspect.signature(Meter.create_histogram).parameters
    if advisable:
        assert tuple(attempts.bounds) == hedge_otel.ATTEMPT_BUCKETS
        assert list(attempts.buckets) == [1, 0, 0, 0, 0, 0]
    else:
        # Older APIs cannot carry the advice: the SDK's defaults apply (a View can set ours).
        assert tuple(attempts.bounds) != hedge_otel.ATTEMPT_BUCKETS
    assert otel.unit(ATTEMPTS) == "{attempt}"
    assert otel.unit(REQUESTS) == "{request}"


# -- HedgeTelemetry on its own provider ----------------------------------------------


def _private() -> tuple[hedge_otel.HedgeTelemetry, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return hedge_otel.HedgeTelemetry(MeterProvider(metric_readers=[reader])), reader


def _values(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], Any]]:
    data = reader.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += [
                        (dict(p.attributes), getattr(p, "value", None)) for p in metric.data.data_points
                    ]
    return found


def _finished(target: str, delay: float) -> RequestFinished:
    return RequestFinished(target, target, "scripted", 1, 0, "primary", 0.001, delay)


def test_an_explicit_provider_receives_the_metrics_and_the_global_one_does_not(otel: Telemetry) -> None:
    telemetry, reader = _private()
    target = "http://private.otel.test:80"
    telemetry.observe(_finished(target, 0.25))
    assert _values(reader, REQUESTS) == [
        ({"hedge.framework": "scripted", "hedge.target": target, "hedge.outcome": "primary"}, 1)
    ]
    assert otel.points(REQUESTS, target) == []


def test_the_state_per_target_is_bounded_least_recently_used_first() -> None:
    telemetry, reader = _private()
    limit = hedge_otel.MAX_TARGETS
    for index in range(limit + 50):
        telemetry.observe(_finished(f"http://h{index}.otel.test:80", 0.1))
    targets = {attributes["hedge.target"] for attributes, _ in _values(reader, GAUGE)}
    assert len(targets) == limit
    assert "http://h0.otel.test:80" not in targets  # the oldest went first
    assert f"http://h{limit + 49}.otel.test:80" in targets
    assert {attributes["hedge.target"] for attributes, _ in _values(reader, REQUESTS)} == targets
    # A target in use moves to the recent end and survives the next eviction.
    telemetry.observe(_finished("http://h50.otel.test:80", 0.2))
    telemetry.observe(_finished("http://fresh.otel.test:80", 0.1))
    gauge = {attributes["hedge.target"]: value for attributes, value in _values(reader, GAUGE)}
    assert len(gauge) == limit
    assert gauge["http://h50.otel.test:80"] == pytest.approx(0.2)
    assert "http://h51.otel.test:80" not in gauge
    requests = {attributes["hedge.target"]: value for attributes, value in _values(reader, REQUESTS)}
    assert requests["http://h50.otel.test:80"] == 2
    assert requests["http://fresh.otel.test:80"] == 1


def test_counts_are_exact_when_threads_race() -> None:
    telemetry, reader = _private()
    event = _finished("http://threads.otel.test:80", 0.1)
    workers, each = 8, 2000
    barrier = threading.Barrier(workers)

    def work() -> None:
        barrier.wait()
        for _ in range(each):
            telemetry.observe(event)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [value for _, value in _values(reader, REQUESTS)] == [workers * each]


def test_events_it_does_not_know_are_ignored() -> None:
    telemetry, reader = _private()

    class Custom(HedgeEvent):
        pass

    telemetry.observe(Custom("k", "http://x:1", "scripted"))
    telemetry.observe(DelayChanged("k", "http://x:1", "scripted", 0.1, 0.2))
    assert _values(reader, REQUESTS) == []


def test_span_events_can_be_turned_off(otel: Telemetry, tracer: trace.Tracer) -> None:
    telemetry, _ = _private()
    quiet = hedge_otel.HedgeTelemetry(
        MeterProvider(metric_readers=[InMemoryMetricReader()]), span_events=False
    )
    won = AttemptWon("k", "http://quiet.otel.test:80", "scripted", 0, 0.5)
    name = span_name("quiet")
    with tracer.start_as_current_span(name):
        quiet.observe(won)
        telemetry.observe(won)
    assert otel.span_events(name) == [("hedge.winner", {"hedge.attempt": 0, "hedge.elapsed": 0.5})]
    assert repr(quiet) == "HedgeTelemetry(span_events=False)"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"meter_provider": "global"}, "meter_provider must be an opentelemetry.metrics.MeterProvider"),
        ({"span_events": 1}, "span_events must be True or False"),
    ],
)
def test_bad_arguments_are_refused_by_name(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        hedge_otel.HedgeTelemetry(**arguments)
