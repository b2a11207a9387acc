"""A failing observer never breaks a request: the plugin made to fail, end to end through httpx.

hedge's hook dispatch catches what an observer raises and logs it on the
``hedge`` logger. Here the real ``otel`` plugin fails in the two places an
OpenTelemetry setup can make it fail: a global MeterProvider that raises
when the plugin asks it for a meter, or whose histogram raises on every
measurement (each in a fresh interpreter: the global provider is set once
per process), and a recording span whose ``add_event`` raises.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from hedge import RequestInfo
from hedge.plugins import DISABLE_ENV
from hedge.testing import Reply, ScriptedServer
from hedge_httpx import HedgedHttpxTransport
from hedge_otel_support import SLOW, Telemetry, fixed_config

RAISING_METER = """
import asyncio, json, logging, sys

import httpx
from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider, NoOpHistogram, NoOpMeter

from hedge import HedgeConfig
from hedge.testing import Reply, ScriptedServer
from hedge_httpx import HedgedHttpxTransport


class Broken(RuntimeError):
    pass


class RaisingHistogram(NoOpHistogram):
    def record(self, amount, attributes=None, *args, **kwargs):
        raise Broken("histogram")


class RaisingMeter(NoOpMeter):
    def create_histogram(self, name, unit="", description="", *args, **kwargs):
        return RaisingHistogram(name)


class RaisingMeterProvider(MeterProvider):
    def get_meter(self, name, version=None, schema_url=None, *args, **kwargs):
        if sys.argv[1] == "get_meter":
            raise Broken("get_meter")
        return RaisingMeter(name)


metrics.set_meter_provider(RaisingMeterProvider())
records = []
handler = logging.Handler(logging.DEBUG)
handler.emit = records.append
logging.getLogger("hedge").addHandler(handler)
logging.getLogger("hedge").setLevel(logging.DEBUG)

config = HedgeConfig(min_delay=0.05, max_delay=0.05, warmup_delay=0.05, budget_percent=100.0,
                     budget_floor=100.0)


async def main():
    with ScriptedServer() as server:
        server.script("/item", Reply(delay=5.0, body=b"primary"), Reply(body=b"hedge"), Reply(body=b"fast"))
        transport = HedgedHttpxTransport(config=config)
        async with httpx.AsyncClient(transport=transport) as client:
            bodies = [(await client.get(server.url_for("/item"))).content for _ in range(2)]
        return bodies, len(server.requests_to("/item")), transport.stats.snapshot()


bodies, received, stats = asyncio.run(main())
print(json.dumps({
    "bodies": [body.decode() for body in bodies],
    "received": received,
    "hedge_wins": stats.hedge_wins,
    "primary_wins": stats.primary_wins,
    "logged": sorted({(r.levelname, r.getMessage()) for r in records}),
    "errors": sorted({repr(r.exc_info[1]) for r in records if r.exc_info}),
}))
"""


@pytest.mark.parametrize(
    ("fails_in", "error"), [("record", "Broken('histogram')"), ("get_meter", "Broken('get_meter')")]
)
def test_a_meter_that_raises_breaks_no_request(fails_in: str, error: str) -> None:
    environment = {key: value for key, value in os.environ.items() if key != DISABLE_ENV}
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(RAISING_METER), fails_in],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout.strip().splitlines()[-1])
    # Both requests got their answers: the first from its hedge, the second from its primary.
    assert document["bodies"] == ["hedge", "fast"]
    assert document["received"] == 3
    assert (document["hedge_wins"], document["primary_wins"]) == (1, 1)
    # The failure was reported, once as a warning, on hedge's logger.
    assert ["WARNING", "hedge plugin 'otel' raised in hedge_event; ignored"] in document["logged"]
    assert document["errors"] == [error]


class RaisingSpan(NonRecordingSpan):
    """A span that claims to record and fails on every event."""

    def is_recording(self) -> bool:
        return True

    def add_event(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("span exporter on fire")


async def test_a_span_that_raises_breaks_no_request_and_metrics_still_count(
    server: ScriptedServer, otel: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    server.script("/item", Reply(delay=SLOW, body=b"primary"), Reply(body=b"hedge"))
    transport = HedgedHttpxTransport(config=fixed_config())
    span = RaisingSpan(SpanContext(trace_id=1, span_id=1, is_remote=False, trace_flags=TraceFlags(1)))
    caplog.set_level(logging.DEBUG, logger="hedge")
    async with httpx.AsyncClient(transport=transport) as client:
        with trace.use_span(span, end_on_exit=False):
            response = await client.get(server.url_for("/item"))
    assert response.content == b"hedge"
    assert len(server.requests_to("/item")) == 2

    raised = [
        record
        for record in caplog.records
        if record.name == "hedge" and "'otel' raised in hedge_event" in record.getMessage()
    ]
    assert raised and all(isinstance(r.exc_info[1], RuntimeError) for r in raised if r.exc_info)
    # Each handler records its metric before it tells the span, so metrics are whole.
    target = RequestInfo.from_url("GET", server.url).target
    assert otel.count("hedge.client.hedges", target) == 1
    assert otel.count("hedge.client.requests", target, {"hedge.outcome": "hedge"}) == 1
    assert otel.count("hedge.client.attempt.wasted", target) == 1
