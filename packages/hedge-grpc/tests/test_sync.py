"""The sync interceptors against a real thread-pool grpc.server on 127.0.0.1.

Same discipline as the asyncio tests: fixed hedge delays, slow attempts
that are always cancelled long before they would answer, assertions on
what the server saw and what the caller received.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from hedge import HedgeConfig
from hedge_grpc import (
    HedgedResponseStream,
    HedgedUnaryFuture,
    SyncHedgedServerStreamInterceptor,
    SyncHedgedUnaryInterceptor,
)
from hedge_grpc_support import MARKER, SLOW, Plan, metadata_value


def config(delay: float = 0.1, **changes: Any) -> HedgeConfig:
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


class SyncClient:
    def __init__(self, target: str, stub_class: Any, *interceptors: Any) -> None:
        self.raw = grpc.insecure_channel(target)
        self.interceptors = interceptors
        self.channel = grpc.intercept_channel(self.raw, *interceptors)
        self.stub = stub_class(self.channel)

    def close(self) -> None:
        self.channel.close()
        for interceptor in self.interceptors:
            if isinstance(interceptor, (SyncHedgedUnaryInterceptor, SyncHedgedServerStreamInterceptor)):
                interceptor.close()


@pytest.fixture
def client(sync_server: Any, stub_class: Any) -> Iterator[SyncClient]:
    client = SyncClient(
        sync_server.target,
        stub_class,
        SyncHedgedUnaryInterceptor(config()),
        SyncHedgedServerStreamInterceptor(config()),
    )
    try:
        yield client
    finally:
        client.close()


def attempts(script: Any, request_id: str) -> list[int]:
    return [seen.attempt for seen in script.of(request_id)]


# ---------------------------------------------------------------------------
# Unary, blocking forms
# ---------------------------------------------------------------------------


def test_slow_primary_is_hedged_and_cancelled_on_the_server(
    sync_server: Any, client: SyncClient, pb2: Any
) -> None:
    script = sync_server.script
    script.script("slow", Plan(delay=SLOW), Plan())

    reply = client.stub.GetItem(pb2.GetItemRequest(id="slow"))

    assert reply.attempt == 1
    script.wait(lambda: script.of("slow")[0].cancelled)
    assert not script.of("slow")[0].completed


def test_with_call_returns_the_winners_call(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("meta", Plan(delay=SLOW), Plan())

    reply, call = client.stub.GetItem.with_call(pb2.GetItemRequest(id="meta"))

    assert reply.attempt == 1
    assert metadata_value(call.initial_metadata(), "served-attempt") == "1"
    assert metadata_value(call.trailing_metadata(), "served-attempt") == "1"
    assert call.code() is grpc.StatusCode.OK


def test_fast_primary_sends_no_hedge(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("fast", Plan())

    assert client.stub.GetItem(pb2.GetItemRequest(id="fast")).attempt == 0
    assert attempts(sync_server.script, "fast") == [0]


def test_non_fatal_status_hedges_at_once_and_the_hedge_wins(
    sync_server: Any, stub_class: Any, pb2: Any
) -> None:
    client = SyncClient(sync_server.target, stub_class, SyncHedgedUnaryInterceptor(config(SLOW)))
    sync_server.script.script("retry", Plan(code=grpc.StatusCode.UNAVAILABLE), Plan())
    try:
        reply = client.stub.GetItem(pb2.GetItemRequest(id="retry"))
    finally:
        client.close()

    assert reply.attempt == 1


def test_fatal_status_of_the_winner_is_raised_with_its_details(
    sync_server: Any, client: SyncClient, pb2: Any
) -> None:
    script = sync_server.script
    script.script("fatal", Plan(delay=SLOW), Plan(code=grpc.StatusCode.NOT_FOUND, details="gone"))

    with pytest.raises(grpc.RpcError) as raised:
        client.stub.GetItem(pb2.GetItemRequest(id="fatal"))

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    assert raised.value.details() == "gone"  # type: ignore[attr-defined]
    script.wait(lambda: script.of("fatal")[0].cancelled)


def test_every_attempt_failing_raises_the_primarys_status(
    sync_server: Any, client: SyncClient, pb2: Any
) -> None:
    sync_server.script.script(
        "all-fail",
        Plan(code=grpc.StatusCode.UNAVAILABLE, details="primary down"),
        Plan(code=grpc.StatusCode.UNAVAILABLE, details="hedge down"),
    )

    with pytest.raises(grpc.RpcError) as raised:
        client.stub.GetItem(pb2.GetItemRequest(id="all-fail"))

    assert raised.value.details() == "primary down"  # type: ignore[attr-defined]
    assert attempts(sync_server.script, "all-fail") == [0, 1]


def test_negative_pushback_stops_hedging(sync_server: Any, stub_class: Any, pb2: Any) -> None:
    client = SyncClient(sync_server.target, stub_class, SyncHedgedUnaryInterceptor(config(SLOW)))
    sync_server.script.script("stop", Plan(code=grpc.StatusCode.UNAVAILABLE, pushback="-1"), Plan())
    try:
        with pytest.raises(grpc.RpcError):
            client.stub.GetItem(pb2.GetItemRequest(id="stop"))
    finally:
        client.close()

    assert attempts(sync_server.script, "stop") == [0]


def test_positive_pushback_delays_the_next_hedge(sync_server: Any, stub_class: Any, pb2: Any) -> None:
    client = SyncClient(sync_server.target, stub_class, SyncHedgedUnaryInterceptor(config(SLOW)))
    sync_server.script.script("later", Plan(code=grpc.StatusCode.UNAVAILABLE, pushback="300"), Plan())
    try:
        reply = client.stub.GetItem(pb2.GetItemRequest(id="later"))
    finally:
        client.close()

    primary, hedge = sync_server.script.of("later")
    assert reply.attempt == 1
    assert hedge.arrived - primary.arrived >= 0.29


def test_non_idempotent_method_is_called_exactly_once(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("write", Plan(delay=1.0))

    assert client.stub.CreateItem(pb2.Item(id="write")).attempt == 0
    assert attempts(sync_server.script, "write") == [0]


def test_override_and_attempt_metadata(sync_server: Any, stub_class: Any, pb2: Any) -> None:
    client = SyncClient(sync_server.target, stub_class, SyncHedgedUnaryInterceptor(config()))
    script = sync_server.script
    script.script("forced", Plan(delay=SLOW), Plan())
    try:
        reply = client.stub.CreateItem(pb2.Item(id="forced"), metadata=(("x-hedge", "yes"),))
    finally:
        client.close()

    primary, hedge = script.of("forced")
    assert reply.attempt == 1
    assert "x-hedge-attempt" not in primary.metadata
    assert hedge.metadata["x-hedge-attempt"] == "1"
    assert "x-hedge" not in primary.metadata and "x-hedge" not in hedge.metadata


def test_hedges_get_the_remaining_time(sync_server: Any, stub_class: Any, pb2: Any) -> None:
    client = SyncClient(sync_server.target, stub_class, SyncHedgedUnaryInterceptor(config(2.0)))
    sync_server.script.script("deadline", Plan(delay=SLOW), Plan())
    try:
        client.stub.GetItem(pb2.GetItemRequest(id="deadline"), timeout=20.0)
    finally:
        client.close()

    primary, hedge = sync_server.script.of("deadline")
    assert primary.time_remaining is not None and primary.time_remaining <= 20.5
    # At least 2 s had passed when the hedge left (gRPC rounds timeouts up to 100 ms).
    assert hedge.time_remaining is not None and hedge.time_remaining <= 18.5


def test_keys_name_the_channels_target_and_method(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("key", Plan())

    client.stub.GetItem(pb2.GetItemRequest(id="key"))

    assert set(client.interceptors[0].stats.keys()) == {
        f"grpc://127.0.0.1:{sync_server.port}/catalog.v1.Catalog/GetItem"
    }


def test_deadline_exceeded(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("expire", Plan(delay=SLOW), Plan(delay=SLOW))

    with pytest.raises(grpc.RpcError) as raised:
        client.stub.GetItem(pb2.GetItemRequest(id="expire"), timeout=0.5)

    assert raised.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Unary, future form
# ---------------------------------------------------------------------------


def test_future_returns_at_once_and_resolves_to_the_winner(
    sync_server: Any, client: SyncClient, pb2: Any
) -> None:
    script = sync_server.script
    script.script("future", Plan(delay=SLOW), Plan(delay=0.3))

    future = client.stub.GetItem.future(pb2.GetItemRequest(id="future"))
    assert isinstance(future, HedgedUnaryFuture)
    done = threading.Event()
    received: list[Any] = []
    future.add_done_callback(lambda f: (received.append(f), done.set()))

    assert future.result(timeout=20).attempt == 1
    assert done.wait(20) and received == [future]
    assert future.done() and not future.cancelled() and future.exception() is None
    assert future.code() is grpc.StatusCode.OK
    assert metadata_value(future.initial_metadata(), "served-attempt") == "1"
    assert future.cancel() is False
    script.wait(lambda: script.of("future")[0].cancelled)


def test_future_cancel_cancels_every_attempt(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    script = sync_server.script
    script.script("cancel", Plan(delay=SLOW), Plan(delay=SLOW))

    future = client.stub.GetItem.future(pb2.GetItemRequest(id="cancel"))
    script.wait(lambda: len(script.of("cancel")) == 2)
    assert future.cancel()

    assert future.cancelled() and future.done()
    with pytest.raises(grpc.FutureCancelledError):
        future.result()
    assert future.code() is grpc.StatusCode.CANCELLED
    script.wait(lambda: all(seen.cancelled for seen in script.of("cancel")))


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class ContextRecorder(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """An inner interceptor that records the context variable each attempt runs with."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        self.seen.append(REQUEST_ID.get())
        return continuation(client_call_details, request)


@pytest.mark.parametrize("form", ["blocking", "future"])
def test_attempts_run_in_the_callers_context(sync_server: Any, stub_class: Any, pb2: Any, form: str) -> None:
    recorder = ContextRecorder()
    client = SyncClient(sync_server.target, stub_class, SyncHedgedUnaryInterceptor(config()), recorder)
    sync_server.script.script("ctx", Plan(delay=SLOW), Plan())
    token = REQUEST_ID.set("abc")
    try:
        if form == "future":
            reply = client.stub.GetItem.future(pb2.GetItemRequest(id="ctx")).result()
        else:
            reply = client.stub.GetItem(pb2.GetItemRequest(id="ctx"))
    finally:
        REQUEST_ID.reset(token)
        client.close()

    assert reply.attempt == 1
    assert recorder.seen == ["abc", "abc"]


def test_future_failure_is_the_winners_rpc_error(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("future-fatal", Plan(code=grpc.StatusCode.NOT_FOUND, details="missing"))

    future = client.stub.GetItem.future(pb2.GetItemRequest(id="future-fatal"))
    error = future.exception(timeout=20)

    assert isinstance(error, grpc.RpcError)
    assert future.code() is grpc.StatusCode.NOT_FOUND
    assert future.details() == "missing"
    with pytest.raises(grpc.RpcError):
        future.result()


# ---------------------------------------------------------------------------
# Server streaming
# ---------------------------------------------------------------------------


def test_stream_races_on_the_first_message_and_cancels_the_loser(
    sync_server: Any, client: SyncClient, pb2: Any
) -> None:
    script = sync_server.script
    script.script("watch", Plan(delay=SLOW), Plan(messages=3))

    stream = client.stub.WatchItem(pb2.GetItemRequest(id="watch"))
    items = list(stream)

    assert isinstance(stream, HedgedResponseStream)
    assert [(item.attempt, item.seq) for item in items] == [(1, 0), (1, 1), (1, 2)]
    assert stream.code() is grpc.StatusCode.OK
    assert metadata_value(stream.initial_metadata(), "served-attempt") == "1"
    assert metadata_value(stream.trailing_metadata(), "served-attempt") == "1"
    script.wait(lambda: script.of("watch")[0].cancelled)


def test_stream_fast_first_message_is_not_hedged(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("steady", Plan(messages=3, interval=0.3))

    items = list(client.stub.WatchItem(pb2.GetItemRequest(id="steady")))

    assert [item.seq for item in items] == [0, 1, 2]
    assert attempts(sync_server.script, "steady") == [0]


def test_cancelling_the_winning_stream(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    script = sync_server.script
    script.script("stop-watch", Plan(delay=SLOW), Plan(messages=100, interval=0.2))

    stream = client.stub.WatchItem(pb2.GetItemRequest(id="stop-watch"))
    assert next(stream).attempt == 1
    assert stream.cancel()

    with pytest.raises(grpc.RpcError) as raised:
        list(stream)
    assert raised.value.code() is grpc.StatusCode.CANCELLED  # type: ignore[attr-defined]
    script.wait(lambda: all(seen.cancelled for seen in script.of("stop-watch")))


def test_stream_fatal_status_is_raised_on_iteration(sync_server: Any, client: SyncClient, pb2: Any) -> None:
    sync_server.script.script("watch-fatal", Plan(delay=SLOW), Plan(code=grpc.StatusCode.NOT_FOUND))

    stream = client.stub.WatchItem(pb2.GetItemRequest(id="watch-fatal"))
    with pytest.raises(grpc.RpcError) as raised:
        next(stream)

    assert raised.value.code() is grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    assert stream.code() is grpc.StatusCode.NOT_FOUND


def test_non_idempotent_stream_passes_through_untouched(
    sync_server: Any, client: SyncClient, pb2: Any
) -> None:
    sync_server.script.script("export", Plan(delay=0.5, messages=1))

    stream = client.stub.ExportItems(pb2.GetItemRequest(id="export"))
    items = list(stream)

    assert not isinstance(stream, HedgedResponseStream)
    assert [item.attempt for item in items] == [0]
    assert attempts(sync_server.script, "export") == [0]


def test_close_stops_the_worker_threads(sync_server: Any, stub_class: Any, pb2: Any) -> None:
    interceptor = SyncHedgedUnaryInterceptor(config())
    client = SyncClient(sync_server.target, stub_class, interceptor)
    sync_server.script.script("threads", Plan(delay=SLOW), Plan())
    client.stub.GetItem(pb2.GetItemRequest(id="threads"))
    client.close()

    sync_server.script.wait(
        lambda: not [t for t in threading.enumerate() if t.name.startswith(("hedge-worker", "hedge-grpc"))]
    )
