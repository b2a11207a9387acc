"""The asyncio interceptors against a real grpc.aio server on 127.0.0.1.

Hedge delays are fixed (min_delay = max_delay = warmup_delay) and slow
attempts are scripted to take far longer than any test waits, so outcomes
never depend on the machine's speed: the tests assert on what the server
saw, what the caller received, and the engine's events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc._cython import cygrpc

from hedge import HedgeConfig, Hedger
from hedge.events import HedgeSent
from hedge.plugins import HedgePluginManager
from hedge.testing import EventRecorder
from hedge_grpc import HedgedServerStreamInterceptor, HedgedUnaryInterceptor, HedgedUnaryStreamCall
from hedge_grpc_support import MARKER, SLOW, Plan, metadata_value, start_aio_server

pytestmark = pytest.mark.usefixtures("loop_errors")

HAS_AIO_TARGET = hasattr(cygrpc.AioChannel, "target")


def config(delay: float = 0.1, **changes: Any) -> HedgeConfig:
    """A config whose hedge delay is exactly ``delay`` and whose budget never refuses."""
    settings: dict[str, Any] = {
        "min_delay": delay,
        "max_delay": max(delay, SLOW),
        "warmup_delay": delay,
        "budget_percent": 100.0,
        "budget_floor": 1000.0,
        "attempt_header": MARKER,
    }
    settings.update(changes)
    return HedgeConfig(**settings)


@pytest.fixture
def recorder() -> EventRecorder:
    return EventRecorder()


def hedger(recorder: EventRecorder, **changes: Any) -> Hedger:
    manager = HedgePluginManager()
    manager.register(recorder)
    return Hedger(config(**{"key_level": "endpoint", **changes}), plugins=manager)


class Client:
    """A channel with both hedging interceptors, and its stub."""

    def __init__(self, target: str, stub_class: Any, interceptors: list[Any]) -> None:
        self.channel = grpc.aio.insecure_channel(target, interceptors=interceptors)
        self.stub = stub_class(self.channel)
        self.unary = next((i for i in interceptors if isinstance(i, HedgedUnaryInterceptor)), None)

    async def close(self) -> None:
        await self.channel.close()


@pytest.fixture
async def client(aio_server: Any, stub_class: Any) -> AsyncIterator[Client]:
    client = Client(
        aio_server.target,
        stub_class,
        [HedgedUnaryInterceptor(config()), HedgedServerStreamInterceptor(config())],
    )
    try:
        yield client
    finally:
        await client.close()


def seen_ids(script: Any, request_id: str) -> list[int]:
    return [seen.attempt for seen in script.of(request_id)]


# ---------------------------------------------------------------------------
# Racing, winning, and the call the application gets
# ---------------------------------------------------------------------------


async def test_fast_primary_sends_no_hedge(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("fast", Plan(delay=0.0))

    reply = await client.stub.GetItem(pb2.GetItemRequest(id="fast"))

    assert reply.attempt == 0
    assert seen_ids(aio_server.script, "fast") == [0]


async def test_slow_primary_is_hedged_and_cancelled_on_the_server(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    aio_server.script.script("slow", Plan(delay=SLOW), Plan(delay=0.0))

    reply = await client.stub.GetItem(pb2.GetItemRequest(id="slow"))

    assert reply.attempt == 1
    script = aio_server.script
    await script.until(lambda: script.of("slow")[0].cancelled)
    primary, hedge = script.of("slow")
    assert primary.cancelled and not primary.completed
    assert hedge.completed and not hedge.cancelled


async def test_returned_call_is_the_winners(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("meta", Plan(delay=SLOW), Plan(delay=0.0))

    call = client.stub.GetItem(pb2.GetItemRequest(id="meta"))
    reply = await call

    assert reply.attempt == 1
    assert metadata_value(await call.initial_metadata(), "served-attempt") == "1"
    assert metadata_value(await call.trailing_metadata(), "served-attempt") == "1"
    assert await call.code() is grpc.StatusCode.OK
    assert await call.details() in ("", None)
    assert call.done()
    assert call.cancel() is False  # the winner has finished: nothing left to cancel
    seen: list[Any] = []
    call.add_done_callback(seen.append)
    assert seen == [call]


async def test_winners_failure_status_is_visible_on_the_call(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    aio_server.script.script(
        "fatal", Plan(delay=SLOW), Plan(code=grpc.StatusCode.NOT_FOUND, details="no such item (hedge)")
    )

    call = client.stub.GetItem(pb2.GetItemRequest(id="fatal"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "no such item (hedge)"
    assert await call.code() is grpc.StatusCode.NOT_FOUND
    assert await call.details() == "no such item (hedge)"
    assert metadata_value(await call.trailing_metadata(), "served-attempt") == "1"
    script = aio_server.script
    await script.until(lambda: script.of("fatal")[0].cancelled)


# ---------------------------------------------------------------------------
# Status codes (gRFC A6)
# ---------------------------------------------------------------------------


async def test_non_fatal_status_sends_the_next_hedge_at_once_and_the_hedge_wins(
    aio_server: Any, stub_class: Any, pb2: Any, recorder: EventRecorder
) -> None:
    interceptor = HedgedUnaryInterceptor(hedger=hedger(recorder, min_delay=SLOW, warmup_delay=SLOW))
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("retry", Plan(code=grpc.StatusCode.UNAVAILABLE), Plan())
    try:
        reply = await client.stub.GetItem(pb2.GetItemRequest(id="retry"))
    finally:
        await client.close()

    assert reply.attempt == 1
    assert [event.reason for event in recorder.of(HedgeSent)] == ["retry"]
    assert seen_ids(aio_server.script, "retry") == [0, 1]


async def test_fatal_status_ends_the_race_without_another_hedge(
    aio_server: Any, stub_class: Any, pb2: Any
) -> None:
    client = Client(aio_server.target, stub_class, [HedgedUnaryInterceptor(config(0.1, max_hedges=2))])
    aio_server.script.script(
        "fatal-hedge",
        Plan(delay=SLOW),
        Plan(code=grpc.StatusCode.INVALID_ARGUMENT, details="bad"),
        Plan(),
    )
    try:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.stub.GetItem(pb2.GetItemRequest(id="fatal-hedge"))
    finally:
        await client.close()

    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    script = aio_server.script
    await script.until(lambda: script.of("fatal-hedge")[0].cancelled)
    assert seen_ids(script, "fatal-hedge") == [0, 1]


async def test_fatal_status_of_the_primary_is_not_hedged(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("fatal-primary", Plan(code=grpc.StatusCode.PERMISSION_DENIED))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.GetItem(pb2.GetItemRequest(id="fatal-primary"))

    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert seen_ids(aio_server.script, "fatal-primary") == [0]


async def test_when_every_attempt_fails_the_caller_sees_the_primarys_status(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    aio_server.script.script(
        "all-fail",
        Plan(code=grpc.StatusCode.UNAVAILABLE, details="primary down"),
        Plan(code=grpc.StatusCode.UNAVAILABLE, details="hedge down"),
    )

    call = client.stub.GetItem(pb2.GetItemRequest(id="all-fail"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call

    assert raised.value.details() == "primary down"
    assert await call.details() == "primary down"
    assert metadata_value(await call.trailing_metadata(), "served-attempt") == "0"
    assert seen_ids(aio_server.script, "all-fail") == [0, 1]


async def test_configured_non_fatal_codes(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = HedgedUnaryInterceptor(config(SLOW), non_fatal_status_codes=["RESOURCE_EXHAUSTED"])
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("exhausted", Plan(code=grpc.StatusCode.RESOURCE_EXHAUSTED), Plan())
    aio_server.script.script("unavailable", Plan(code=grpc.StatusCode.UNAVAILABLE), Plan())
    try:
        reply = await client.stub.GetItem(pb2.GetItemRequest(id="exhausted"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.stub.GetItem(pb2.GetItemRequest(id="unavailable"))
    finally:
        await client.close()

    assert reply.attempt == 1
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE  # now fatal
    assert seen_ids(aio_server.script, "unavailable") == [0]


# ---------------------------------------------------------------------------
# Server pushback (grpc-retry-pushback-ms)
# ---------------------------------------------------------------------------


async def test_positive_pushback_delays_the_next_hedge(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    client = Client(aio_server.target, stub_class, [HedgedUnaryInterceptor(config(SLOW))])
    aio_server.script.script("pushback", Plan(code=grpc.StatusCode.UNAVAILABLE, pushback="400"), Plan())
    try:
        reply = await client.stub.GetItem(pb2.GetItemRequest(id="pushback"))
    finally:
        await client.close()

    assert reply.attempt == 1
    primary, hedge = aio_server.script.of("pushback")
    # Without pushback the hedge would follow the failure at once.
    assert hedge.arrived - primary.arrived >= 0.39


@pytest.mark.parametrize("value", ["-1", "abc", "2147483648"])
async def test_negative_or_invalid_pushback_stops_hedging(
    aio_server: Any, stub_class: Any, pb2: Any, value: str
) -> None:
    client = Client(aio_server.target, stub_class, [HedgedUnaryInterceptor(config(SLOW))])
    aio_server.script.script("stop", Plan(code=grpc.StatusCode.UNAVAILABLE, pushback=value), Plan())
    try:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.stub.GetItem(pb2.GetItemRequest(id="stop"))
    finally:
        await client.close()

    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE
    assert seen_ids(aio_server.script, "stop") == [0]


# ---------------------------------------------------------------------------
# Which methods are hedged
# ---------------------------------------------------------------------------


async def test_non_idempotent_method_is_called_exactly_once_even_when_slow(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    aio_server.script.script("write", Plan(delay=1.0))

    reply = await client.stub.CreateItem(pb2.Item(id="write"))

    assert reply.attempt == 0
    assert seen_ids(aio_server.script, "write") == [0]
    assert client.unary is not None
    assert client.unary.stats.snapshot().passthrough_requests == 1


async def test_idempotent_level_is_hedged(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("put", Plan(delay=SLOW), Plan())

    reply = await client.stub.PutItem(pb2.Item(id="put"))

    assert reply.attempt == 1


async def test_allowlisted_method_is_hedged(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = HedgedUnaryInterceptor(config(), idempotent_methods=["/catalog.v1.Catalog/CreateItem"])
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("allowed", Plan(delay=SLOW), Plan())
    try:
        reply = await client.stub.CreateItem(pb2.Item(id="allowed"))
    finally:
        await client.close()

    assert reply.attempt == 1


async def test_hedge_all_methods_is_an_explicit_opt_in(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    client = Client(aio_server.target, stub_class, [HedgedUnaryInterceptor(config(), hedge_all_methods=True)])
    aio_server.script.script("all", Plan(delay=SLOW), Plan())
    try:
        reply = await client.stub.CreateItem(pb2.Item(id="all"))
    finally:
        await client.close()

    assert reply.attempt == 1


async def test_per_call_override_forces_hedging_off_and_on_and_is_not_sent(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    script = aio_server.script
    script.script("off", Plan(delay=0.5))
    script.script("on", Plan(delay=SLOW), Plan())

    await client.stub.GetItem(pb2.GetItemRequest(id="off"), metadata=(("x-hedge", "false"),))
    reply = await client.stub.CreateItem(pb2.Item(id="on"), metadata=(("x-hedge", "true"),))

    assert seen_ids(script, "off") == [0]
    assert reply.attempt == 1
    assert all("x-hedge" not in seen.metadata for seen in script.seen)


# grpcio < 1.63 re-raises any non-RPC error of an interceptor from its call's __del__
# (an "exception ignored" report); the caller still gets the ValueError.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_bad_override_value_fails_the_call_with_a_clear_error(client: Client, pb2: Any) -> None:
    with pytest.raises(ValueError, match="x-hedge"):
        await client.stub.GetItem(pb2.GetItemRequest(id="bad"), metadata=(("x-hedge", "maybe"),))


# ---------------------------------------------------------------------------
# Metadata, deadlines, cancellation
# ---------------------------------------------------------------------------


async def test_attempt_metadata_marks_hedges_only(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = HedgedUnaryInterceptor(
        config(attempt_header="X-Hedge-Attempt", max_hedges=2)
    )  # lower-cased
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("marked", Plan(delay=SLOW), Plan(delay=SLOW), Plan())
    try:
        await client.stub.GetItem(pb2.GetItemRequest(id="marked"), metadata=(("tenant", "a"),))
    finally:
        await client.close()

    primary, first, second = aio_server.script.of("marked")
    assert "x-hedge-attempt" not in primary.metadata
    assert (first.metadata["x-hedge-attempt"], second.metadata["x-hedge-attempt"]) == ("1", "2")
    assert primary.metadata["tenant"] == first.metadata["tenant"] == second.metadata["tenant"] == "a"


async def test_a6_attempt_key_is_accepted(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    # grpcio's C-core treats grpc-previous-rpc-attempts as a reserved key that grpcio
    # servers do not show to handlers (documented); the hedged call must still work.
    interceptor = HedgedUnaryInterceptor(config(attempt_header="grpc-previous-rpc-attempts"))
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("a6", Plan(delay=SLOW), Plan())
    try:
        reply = await client.stub.GetItem(pb2.GetItemRequest(id="a6"))
    finally:
        await client.close()

    assert reply.attempt == 1


async def test_attempt_metadata_is_off_by_default(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = HedgedUnaryInterceptor(HedgeConfig(min_delay=0.1, warmup_delay=0.1, budget_floor=1000.0))
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("unmarked", Plan(delay=SLOW), Plan())
    try:
        await client.stub.GetItem(pb2.GetItemRequest(id="unmarked"))
    finally:
        await client.close()

    assert interceptor.config.attempt_header is None
    assert len(aio_server.script.of("unmarked")) == 2
    assert not any("attempt" in key for seen in aio_server.script.of("unmarked") for key in seen.metadata)


async def test_hedges_get_the_callers_remaining_time_not_a_fresh_deadline(
    aio_server: Any, stub_class: Any, pb2: Any
) -> None:
    client = Client(aio_server.target, stub_class, [HedgedUnaryInterceptor(config(2.0))])
    aio_server.script.script("deadline", Plan(delay=SLOW), Plan())
    try:
        await client.stub.GetItem(pb2.GetItemRequest(id="deadline"), timeout=20.0)
    finally:
        await client.close()

    primary, hedge = aio_server.script.of("deadline")
    assert primary.time_remaining is not None and primary.time_remaining <= 20.5
    # The hedge left at least 2 s after the call began, so at most 18 s were left
    # (gRPC rounds a timeout up to 100 ms on the wire); a fresh deadline would give 20.
    assert hedge.time_remaining is not None and hedge.time_remaining <= 18.5


async def test_caller_cancellation_cancels_every_attempt(aio_server: Any, client: Client, pb2: Any) -> None:
    script = aio_server.script
    script.script("cancel", Plan(delay=SLOW), Plan(delay=SLOW))

    call = client.stub.GetItem(pb2.GetItemRequest(id="cancel"))
    await script.until(lambda: len(script.of("cancel")) == 2)
    assert call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call
    await script.until(lambda: all(seen.cancelled for seen in script.of("cancel")))
    assert call.cancelled()


async def test_cancelling_the_awaiting_task_cancels_every_attempt(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    script = aio_server.script
    script.script("timeout", Plan(delay=SLOW), Plan(delay=SLOW))

    async def caller() -> Any:
        return await client.stub.GetItem(pb2.GetItemRequest(id="timeout"))

    task = asyncio.ensure_future(caller())
    await script.until(lambda: len(script.of("timeout")) == 2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    await script.until(lambda: all(seen.cancelled for seen in script.of("timeout")))


async def test_deadline_exceeded_is_the_callers_status(aio_server: Any, client: Client, pb2: Any) -> None:
    script = aio_server.script
    script.script("expire", Plan(delay=SLOW), Plan(delay=SLOW))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.GetItem(pb2.GetItemRequest(id="expire"), timeout=0.5)

    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert seen_ids(script, "expire") == [0, 1]


# ---------------------------------------------------------------------------
# Keys and budgets
# ---------------------------------------------------------------------------


async def test_latency_is_keyed_per_method_and_budget_per_target(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    aio_server.script.script("k1", Plan())
    aio_server.script.script("k2", Plan())

    await client.stub.GetItem(pb2.GetItemRequest(id="k1"))
    await client.stub.PutItem(pb2.Item(id="k2"))

    assert client.unary is not None
    # grpcio >= 1.81 tells the channel's target; older ones need target= (see the next test).
    host = f"127.0.0.1:{aio_server.port}" if HAS_AIO_TARGET else "unknown-target"
    assert set(client.unary.stats.keys()) == {
        f"grpc://{host}/catalog.v1.Catalog/GetItem",
        f"grpc://{host}/catalog.v1.Catalog/PutItem",
    }
    assert client.unary.config.key_level == "endpoint"


async def test_explicit_target_names_the_budget(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = HedgedUnaryInterceptor(config(), target="dns:///Catalog.Example:8443")
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("named", Plan())
    try:
        await client.stub.GetItem(pb2.GetItemRequest(id="named"))
    finally:
        await client.close()

    assert set(interceptor.stats.keys()) == {"grpc://catalog.example:8443/catalog.v1.Catalog/GetItem"}


async def test_budget_exhaustion_stops_hedging(aio_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = HedgedUnaryInterceptor(config(budget_percent=0.0, budget_floor=0.0))
    client = Client(aio_server.target, stub_class, [interceptor])
    aio_server.script.script("broke", Plan(delay=0.5), Plan())
    try:
        reply = await client.stub.GetItem(pb2.GetItemRequest(id="broke"))
    finally:
        await client.close()

    assert reply.attempt == 0
    assert seen_ids(aio_server.script, "broke") == [0]
    assert interceptor.stats.snapshot().budget_exhausted == 1


# ---------------------------------------------------------------------------
# Server streaming: the race on the first message
# ---------------------------------------------------------------------------


async def test_stream_race_on_first_message_winner_keeps_streaming(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    script = aio_server.script
    script.script("watch", Plan(delay=SLOW), Plan(messages=4))

    call = client.stub.WatchItem(pb2.GetItemRequest(id="watch"))
    items = [item async for item in call]

    assert [(item.attempt, item.seq) for item in items] == [(1, 0), (1, 1), (1, 2), (1, 3)]
    assert await call.code() is grpc.StatusCode.OK
    assert metadata_value(await call.initial_metadata(), "served-attempt") == "1"
    assert metadata_value(await call.trailing_metadata(), "served-attempt") == "1"
    await script.until(lambda: script.of("watch")[0].cancelled)


async def test_stream_with_a_fast_first_message_is_not_hedged_however_slow_the_rest(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    script = aio_server.script
    script.script("steady", Plan(messages=3, interval=0.4))

    items = [item async for item in client.stub.WatchItem(pb2.GetItemRequest(id="steady"))]

    assert [item.seq for item in items] == [0, 1, 2]
    assert seen_ids(script, "steady") == [0]


async def test_stream_read_api_works(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("read", Plan(delay=SLOW), Plan(messages=2))

    call = client.stub.WatchItem(pb2.GetItemRequest(id="read"))
    first = await call.read()
    second = await call.read()

    assert (first.attempt, first.seq, second.seq) == (1, 0, 1)
    assert await call.code() is grpc.StatusCode.OK


async def test_cancelling_the_winning_stream_cancels_it_on_the_server(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    script = aio_server.script
    script.script("stop-watch", Plan(delay=SLOW), Plan(messages=100, interval=0.2))

    call = client.stub.WatchItem(pb2.GetItemRequest(id="stop-watch"))
    first = await call.read()
    assert first.attempt == 1
    assert call.cancel()

    await script.until(lambda: all(seen.cancelled for seen in script.of("stop-watch")))
    assert call.cancelled()


async def test_stream_non_fatal_status_before_the_first_message_hedges_at_once(
    aio_server: Any, stub_class: Any, pb2: Any
) -> None:
    client = Client(aio_server.target, stub_class, [HedgedServerStreamInterceptor(config(SLOW))])
    aio_server.script.script("watch-retry", Plan(code=grpc.StatusCode.UNAVAILABLE), Plan(messages=1))
    try:
        items = [item async for item in client.stub.WatchItem(pb2.GetItemRequest(id="watch-retry"))]
    finally:
        await client.close()

    assert [item.attempt for item in items] == [1]


async def test_stream_fatal_status_reaches_the_caller(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("watch-fatal", Plan(delay=SLOW), Plan(code=grpc.StatusCode.NOT_FOUND))

    call = client.stub.WatchItem(pb2.GetItemRequest(id="watch-fatal"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for _ in call:
            pass

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND
    assert await call.code() is grpc.StatusCode.NOT_FOUND
    assert await call.details() == "attempt 1"


async def test_empty_stream_is_an_answer(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("empty", Plan(messages=0))

    items = [item async for item in client.stub.WatchItem(pb2.GetItemRequest(id="empty"))]

    assert items == []
    assert seen_ids(aio_server.script, "empty") == [0]


async def test_non_idempotent_stream_is_never_hedged(aio_server: Any, client: Client, pb2: Any) -> None:
    aio_server.script.script("export", Plan(delay=0.5, messages=1))

    call = client.stub.ExportItems(pb2.GetItemRequest(id="export"))
    items = [item async for item in call]

    assert [item.attempt for item in items] == [0]
    assert seen_ids(aio_server.script, "export") == [0]


async def test_stream_caller_cancellation_before_the_first_message(
    aio_server: Any, client: Client, pb2: Any
) -> None:
    script = aio_server.script
    script.script("watch-cancel", Plan(delay=SLOW), Plan(delay=SLOW))

    call = client.stub.WatchItem(pb2.GetItemRequest(id="watch-cancel"))
    await script.until(lambda: len(script.of("watch-cancel")) == 2)
    call.cancel()

    with pytest.raises(asyncio.CancelledError):
        await call.read()
    await script.until(lambda: all(seen.cancelled for seen in script.of("watch-cancel")))


def test_stream_call_implements_the_grpc_aio_interface() -> None:
    assert issubclass(HedgedUnaryStreamCall, grpc.aio.UnaryStreamCall)
    assert not HedgedUnaryStreamCall.__abstractmethods__


# ---------------------------------------------------------------------------
# Nothing left behind
# ---------------------------------------------------------------------------


async def test_no_task_is_left_running_after_the_channel_closes(
    script: Any, catalog: Any, stub_class: Any, pb2: Any
) -> None:
    server, port = await start_aio_server(script, *catalog)
    client = Client(
        f"127.0.0.1:{port}",
        stub_class,
        [HedgedUnaryInterceptor(config()), HedgedServerStreamInterceptor(config())],
    )
    for index in range(3):
        script.script(f"u{index}", Plan(delay=SLOW), Plan())
        script.script(f"s{index}", Plan(delay=SLOW), Plan(messages=2))
        await client.stub.GetItem(pb2.GetItemRequest(id=f"u{index}"))
        await client.stub.CreateItem(pb2.Item(id=f"c{index}"))
        assert len([item async for item in client.stub.WatchItem(pb2.GetItemRequest(id=f"s{index}"))]) == 2
    await client.close()
    await script.until(lambda: all(seen.cancelled or seen.completed for seen in script.seen))
    await server.stop(None)

    for _ in range(5):
        await asyncio.sleep(0)
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []
