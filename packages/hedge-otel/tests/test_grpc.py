"""End to end through hedge-grpc: real hedged calls against a local grpcio server, checked against it.

The service is a generic handler on raw bytes (no generated code): each call
meets the next scripted delay, and the server records whether the call
completed or was cancelled by the client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import pytest
from opentelemetry import trace

from hedge import RequestInfo
from hedge_grpc import HedgedUnaryInterceptor, SyncHedgedUnaryInterceptor
from hedge_otel_support import SLOW, Telemetry, fixed_config, span_name

SERVICE = "hedge.otel.test.Catalog"
METHOD = f"/{SERVICE}/Get"

REQUESTS = "hedge.client.requests"
HEDGES = "hedge.client.hedges"
WASTED = "hedge.client.attempt.wasted"
ATTEMPTS = "hedge.client.call.attempts"
GAUGE = "hedge.client.hedge_delay"


@dataclass
class Call:
    attempt: str | None
    completed: bool = False
    cancelled: bool = False


class Catalog:
    """Scripted delays per arriving call, and the record of every call (thread-safe)."""

    def __init__(self) -> None:
        self.delays: deque[float] = deque()
        self.calls: list[Call] = []
        self.lock = threading.Lock()

    def arrive(self, context: Any) -> tuple[Call, float]:
        metadata = dict(context.invocation_metadata())
        with self.lock:
            call = Call(metadata.get("x-hedge-attempt"))
            self.calls.append(call)
            delay = self.delays.popleft() if self.delays else 0.0
        return call, delay

    async def get_async(self, request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        call, delay = self.arrive(context)
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            call.cancelled = True
            raise
        call.completed = True
        return b"answer to attempt " + (call.attempt or "0").encode()

    def get_sync(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        call, delay = self.arrive(context)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if not context.is_active():
                call.cancelled = True
                return b""
            time.sleep(0.005)
        call.completed = True
        return b"answer to attempt " + (call.attempt or "0").encode()


def _handlers(unary: Any) -> tuple[grpc.GenericRpcHandler, ...]:
    return (
        grpc.method_handlers_generic_handler(SERVICE, {"Get": grpc.unary_unary_rpc_method_handler(unary)}),
    )


@pytest.fixture
async def aio_catalog() -> AsyncIterator[tuple[Catalog, int]]:
    catalog = Catalog()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(_handlers(catalog.get_async))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield catalog, port
    finally:
        await server.stop(None)


@pytest.fixture
def sync_catalog() -> Iterator[tuple[Catalog, int]]:
    catalog = Catalog()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(_handlers(catalog.get_sync))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield catalog, port
    finally:
        server.stop(None).wait()


def grpc_target(port: int) -> str:
    return RequestInfo(METHOD, "grpc", "127.0.0.1", port, METHOD, {}, "grpc").target


async def _wait(predicate: Any) -> bool:
    for _ in range(500):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_hedged_grpc_calls_match_what_the_server_saw(
    aio_catalog: tuple[Catalog, int], otel: Telemetry, tracer: trace.Tracer
) -> None:
    catalog, port = aio_catalog
    # Call 1: slow primary, answered by its hedge. Call 2: a fast primary.
    catalog.delays.extend([SLOW, 0.0, 0.0])
    config = fixed_config(attempt_header="x-hedge-attempt")
    interceptor = HedgedUnaryInterceptor(config, target=f"127.0.0.1:{port}", idempotent_methods=[METHOD])
    name = span_name("grpc-aio")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=[interceptor]) as channel:
        get = channel.unary_unary(METHOD)
        with tracer.start_as_current_span(name):
            first = await get(b"one")
        second = await get(b"two")
    assert (first, second) == (b"answer to attempt 1", b"answer to attempt 0")

    calls = catalog.calls
    assert [call.attempt for call in calls] == [None, "1", None]
    assert await _wait(lambda: calls[0].cancelled)

    target = grpc_target(port)
    grpc_attrs = {"hedge.framework": "grpc"}
    stats = interceptor.stats.snapshot()
    assert otel.count(REQUESTS, target, grpc_attrs) == 2 == stats.total_requests
    assert otel.count(HEDGES, target, {**grpc_attrs, "hedge.reason": "delay"}) == len(calls) - 2
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge"}) == 1 == stats.hedge_wins
    assert otel.count(REQUESTS, target, {"hedge.outcome": "primary"}) == 1 == stats.primary_wins
    cancelled_on_server = sum(call.cancelled for call in calls)
    assert otel.count(WASTED, target, {"hedge.attempt.state": "cancelled"}) == cancelled_on_server == 1
    attempts = otel.histogram(ATTEMPTS, target)
    assert attempts is not None and (attempts.count, attempts.sum) == (2, len(calls))
    (delay,) = otel.gauge(GAUGE, target)
    assert config.min_delay <= delay <= config.max_delay

    events = otel.span_events(name)
    assert [event for event, _ in events] == ["hedge.sent", "hedge.loser_cancelled", "hedge.winner"]
    assert events[0][1]["hedge.delay"] == pytest.approx(delay)
    assert events[2][1]["hedge.attempt"] == 1


def test_the_sync_grpc_interceptor_tells_the_callers_span(
    sync_catalog: tuple[Catalog, int], otel: Telemetry, tracer: trace.Tracer
) -> None:
    catalog, port = sync_catalog
    catalog.delays.extend([SLOW, 0.0, SLOW, 0.0])
    interceptor = SyncHedgedUnaryInterceptor(
        fixed_config(attempt_header="x-hedge-attempt"),
        target=f"127.0.0.1:{port}",
        idempotent_methods=[METHOD],
    )
    blocking, future = span_name("grpc-sync"), span_name("grpc-future")
    channel = grpc.intercept_channel(grpc.insecure_channel(f"127.0.0.1:{port}"), interceptor)
    try:
        get = channel.unary_unary(METHOD)
        with tracer.start_as_current_span(blocking):
            answers = [get(b"one")]
        # The future form races on a thread of its own, in a copy of the caller's context.
        with tracer.start_as_current_span(future):
            answers.append(get.future(b"two").result(timeout=30))
    finally:
        channel.close()
        interceptor.close()
    assert answers == [b"answer to attempt 1", b"answer to attempt 1"]

    calls = catalog.calls
    assert len(calls) == 4
    target = grpc_target(port)
    assert otel.count(HEDGES, target, {"hedge.framework": "grpc"}) == len(calls) - 2
    assert otel.count(REQUESTS, target, {"hedge.outcome": "hedge"}) == 2
    assert otel.count(WASTED, target, {"hedge.attempt.kind": "primary"}) == 2
    for name in (blocking, future):
        assert [event for event, _ in otel.span_events(name)] == [
            "hedge.sent",
            "hedge.loser_cancelled",
            "hedge.winner",
        ]
