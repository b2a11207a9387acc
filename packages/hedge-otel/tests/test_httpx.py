"""End to end through hedge-httpx: real hedged requests against a local server, checked against it.

What the SDK exported must match what the server saw: hedges sent = the
extra requests it received, cancelled losers = the requests whose client
went away, wins = the answers the caller got, delays within the clamps.
"""

from __future__ import annotations

import httpx
import pytest
from opentelemetry import trace

from hedge import RequestInfo
from hedge.testing import Reply, ScriptedServer
from hedge_httpx import HedgedHttpxSyncTransport, HedgedHttpxTransport
from hedge_otel_support import SLOW, Telemetry, fixed_config, span_name

REQUESTS = "hedge.client.requests"
HEDGES = "hedge.client.hedges"
WASTED = "hedge.client.attempt.wasted"
ATTEMPTS = "hedge.client.call.attempts"
GAUGE = "hedge.client.hedge_delay"


def target_of(server: ScriptedServer) -> str:
    return RequestInfo.from_url("GET", server.url).target


async def test_a_hedged_httpx_request_matches_what_the_server_saw(
    server: ScriptedServer, otel: Telemetry, tracer: trace.Tracer
) -> None:
    server.script("/slow", Reply(delay=SLOW, body=b"primary"), Reply(body=b"hedge"))
    transport = HedgedHttpxTransport(config=fixed_config(attempt_header="x-hedge-attempt"))
    name = span_name("httpx-async")
    async with httpx.AsyncClient(transport=transport) as client:
        with tracer.start_as_current_span(name):
            response = await client.get(server.url_for("/slow"))
    assert response.content == b"hedge"

    received = server.requests_to("/slow")
    assert len(received) == 2
    assert received[1].headers["x-hedge-attempt"] == "1"
    assert await server.wait_until_async(lambda s: s.requests_to("/slow")[0].disconnected)

    target = target_of(server)
    httpx_attrs = {"hedge.framework": "httpx"}
    assert otel.count(HEDGES, target, {**httpx_attrs, "hedge.reason": "delay"}) == len(received) - 1
    assert otel.count(REQUESTS, target, {**httpx_attrs, "hedge.outcome": "hedge"}) == 1
    disconnected = sum(1 for request in received if request.disconnected)
    assert otel.count(WASTED, target, {"hedge.attempt.state": "cancelled"}) == disconnected == 1
    attempts = otel.histogram(ATTEMPTS, target)
    assert attempts is not None and attempts.sum == len(received)

    events = otel.span_events(name)
    assert [event for event, _ in events] == ["hedge.sent", "hedge.loser_cancelled", "hedge.winner"]
    assert events[0][1]["hedge.attempt"] == int(received[1].headers["x-hedge-attempt"])
    assert events[2][1]["hedge.attempt"] == 1


async def test_a_run_of_httpx_requests_adds_up_and_keeps_the_delay_in_its_clamps(
    server: ScriptedServer, otel: Telemetry, tracer: trace.Tracer
) -> None:
    plan = ["slow", "fast", "slow", "fast", "fast", "slow"]
    replies = []
    for kind in plan:
        # A slow primary is answered by its hedge; a fast primary answers at once.
        replies += [Reply(delay=SLOW, body=b"primary"), Reply(body=b"hedge")] if kind == "slow" else [Reply()]
    server.script("/mix", *replies)
    config = fixed_config(min_delay=0.1, max_delay=0.5, warmup_delay=0.3, warmup_requests=2)
    transport = HedgedHttpxTransport(config=config)
    bodies = []
    names = [span_name("httpx-mix") for _ in plan]
    async with httpx.AsyncClient(transport=transport) as client:
        for name in names:
            with tracer.start_as_current_span(name):
                bodies.append((await client.get(server.url_for("/mix"))).content)

    received = server.requests_to("/mix")
    assert await server.wait_until_async(
        lambda s: sum(r.disconnected for r in s.requests_to("/mix")) == plan.count("slow")
    )
    target = target_of(server)
    stats = transport.stats.snapshot()
    hedge_answers = bodies.count(b"hedge")
    assert hedge_answers == plan.count("slow")
    assert otel.count(REQUESTS, target) == len(plan) == stats.total_requests
    assert otel.count(HEDGES, target) == len(received) - len(plan) == stats.hedges_sent
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge"}) == hedge_answers == stats.hedge_wins
    assert otel.count(REQUESTS, target, {"hedge.outcome": "primary"}) == len(plan) - hedge_answers
    assert otel.count(WASTED, target) == sum(r.disconnected for r in server.requests_to("/mix"))
    attempts = otel.histogram(ATTEMPTS, target)
    assert attempts is not None and (attempts.count, attempts.sum) == (len(plan), len(received))

    # Every hedge was sent after a delay within the clamps; the first one in warm-up.
    sent = [
        attributes for name in names for event, attributes in otel.span_events(name) if event == "hedge.sent"
    ]
    assert len(sent) == otel.count(HEDGES, target)
    assert all(config.min_delay <= event["hedge.delay"] <= config.max_delay for event in sent)
    assert sent[0]["hedge.delay"] == pytest.approx(config.warmup_delay)
    (current,) = otel.gauge(GAUGE, target)
    assert config.min_delay <= current <= config.max_delay


def test_the_sync_httpx_transport_tells_the_callers_span(
    server: ScriptedServer, otel: Telemetry, tracer: trace.Tracer
) -> None:
    server.script("/sync", Reply(delay=SLOW, body=b"primary"), Reply(body=b"hedge"))
    transport = HedgedHttpxSyncTransport(config=fixed_config())
    name = span_name("httpx-sync")
    with httpx.Client(transport=transport) as client, tracer.start_as_current_span(name):
        response = client.get(server.url_for("/sync"))
    assert response.content == b"hedge"

    received = server.requests_to("/sync")
    assert len(received) == 2
    target = target_of(server)
    assert otel.count(HEDGES, target, {"hedge.framework": "httpx"}) == len(received) - 1
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge"}) == 1
    assert otel.count(WASTED, target, {"hedge.attempt.kind": "primary"}) == 1
    assert [event for event, _ in otel.span_events(name)] == [
        "hedge.sent",
        "hedge.loser_cancelled",
        "hedge.winner",
    ]
