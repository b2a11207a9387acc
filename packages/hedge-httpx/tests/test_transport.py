"""The hedged transports' behaviour on the wire, async and sync alike.

Each test runs for every installed framework and, through the ``kit``
fixture, for both transport forms: the sync transport is proven to behave
like the async one by passing the same assertions. Assertions are on what
the server received, on what the caller got and on the counters, never on
elapsed time. The conformance kit (test_contract.py) covers the race rules
common to every adapter; these tests cover what is specific to httpx.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

from hedge import HedgeConfig, Stats
from hedge.testing import Reply, ScriptedServer

NEVER = 60.0  # a hedge delay longer than any test: a hedge can only come from a failure


# -- construction ---------------------------------------------------------------------------


def test_defaults_wrap_the_framework_transport(framework: Any) -> None:
    module = framework.module
    config = HedgeConfig(stats=Stats())
    transport = framework.async_transport(config=config)
    sync = framework.sync_transport()
    assert type(transport.inner) is module.AsyncHTTPTransport
    assert type(sync.inner) is module.HTTPTransport
    assert isinstance(transport, module.AsyncBaseTransport)
    assert isinstance(sync, module.BaseTransport)
    assert transport.hedger.config is config
    assert transport.stats is config.stats
    assert isinstance(sync.stats, Stats)
    assert repr(transport).startswith(f"{type(transport).__name__}(inner=")
    sync.close()


def test_inner_must_be_a_transport_of_the_same_kind(framework: Any) -> None:
    module = framework.module
    with pytest.raises(
        TypeError, match="inner must be an .*AsyncBaseTransport.*use HedgedHttpx2?SyncTransport"
    ):
        framework.async_transport(inner=module.HTTPTransport())
    with pytest.raises(TypeError, match=r"inner must be an .*\.BaseTransport.*use HedgedHttpx2?Transport"):
        framework.sync_transport(inner=module.AsyncHTTPTransport())
    with pytest.raises(TypeError, match="inner must be"):
        framework.async_transport(inner="http://localhost")


def test_config_must_be_a_hedge_config(framework: Any) -> None:
    with pytest.raises(TypeError, match="config must be a hedge.HedgeConfig"):
        framework.async_transport(config={"percentile": 0.9})


def test_closing_closes_the_inner_transport(kit: Any, server: ScriptedServer) -> None:
    closed: list[str] = []
    module = kit.module
    if kit.mode == "async":

        class Inner(module.AsyncHTTPTransport):
            async def __aexit__(self, *args: Any) -> None:
                closed.append("exit")
                await super().__aexit__(*args)

    else:

        class Inner(module.HTTPTransport):  # type: ignore[no-redef]
            def __exit__(self, *args: Any) -> None:
                closed.append("exit")
                super().__exit__(*args)

    async def main() -> int:
        async with kit.client(kit.config(), inner=Inner()) as client:
            return (await client.request("GET", server.url_for("/"))).status

    assert kit.run(main) == 200
    assert closed == ["exit"]
    assert server.wait_until(lambda s: s.open_connections == 0)


# -- what is hedged -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_hedged(kit: Any, server: ScriptedServer, method: str) -> None:
    server.script("/safe", Reply(delay=kit.slow, body=b"primary"), Reply(body=b"hedge"))

    async def main() -> Any:
        async with kit.client(kit.config()) as client:
            return await client.request(method, server.url_for("/safe"))

    assert kit.run(main).status == 200
    assert [r.method for r in server.requests_to("/safe")] == [method, method]


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_writes_are_sent_once(kit: Any, server: ScriptedServer, method: str) -> None:
    server.script("/write", Reply(delay=0.5, status=201))

    async def main() -> Any:
        async with kit.client(kit.config()) as client:
            response = await client.request(method, server.url_for("/write"), content=b"x")
            return response, client.stats.snapshot()

    response, snapshot = kit.run(main)
    assert response.status == 201
    assert len(server.requests_to("/write")) == 1
    assert (snapshot.passthrough_requests, snapshot.hedges_sent) == (1, 0)


def test_configured_methods_are_hedged(kit: Any, server: ScriptedServer) -> None:
    server.script("/put", Reply(delay=kit.slow, body=b"primary"), Reply(body=b"hedge"))

    async def main() -> Any:
        config = kit.config(hedge_methods={"GET", "PUT"})
        async with kit.client(config) as client:
            return await client.request("PUT", server.url_for("/put"), content=b"same")

    assert kit.run(main).body == b"hedge"
    assert [r.body for r in server.requests_to("/put")] == [b"same", b"same"]


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [("POST", True, 2), ("POST", "true", 2), ("GET", False, 1), ("GET", "off", 1), ("GET", None, 2)],
)
def test_extension_overrides_the_policy(
    kit: Any, server: ScriptedServer, method: str, value: Any, expected: int
) -> None:
    server.script(
        "/o", Reply(delay=kit.slow if expected == 2 else 0.5, body=b"primary"), Reply(body=b"hedge")
    )

    async def main() -> Any:
        async with kit.client(kit.config()) as client:
            return await client.request(
                method, server.url_for("/o"), content=b"b", extensions={"hedge": value}
            )

    assert kit.run(main).body == (b"hedge" if expected == 2 else b"primary")
    assert len(server.requests_to("/o")) == expected


@pytest.mark.parametrize(("value", "error"), [(1, TypeError), ("maybe", ValueError)])
def test_invalid_extension_is_rejected(kit: Any, server: ScriptedServer, value: Any, error: type) -> None:
    async def main() -> None:
        async with kit.client(kit.config()) as client:
            with pytest.raises(error, match=r'extensions\["hedge"\] must be True, False or None'):
                await client.request("GET", server.url_for("/bad"), extensions={"hedge": value})

    kit.run(main)
    assert server.requests_to("/bad") == []


@pytest.mark.parametrize("configured", [True, False])
def test_idempotency_key_allows_a_write_only_when_configured(
    kit: Any, server: ScriptedServer, configured: bool
) -> None:
    server.script("/pay", Reply(delay=kit.slow if configured else 0.5, body=b"primary"), Reply(body=b"hedge"))
    config = kit.config(idempotency_key_header="Idempotency-Key" if configured else None)

    async def main() -> Any:
        async with kit.client(config) as client:
            headers = {"idempotency-key": "k-1"}  # matched case-insensitively
            return await client.request("POST", server.url_for("/pay"), content=b"p", headers=headers)

    assert kit.run(main).body == (b"hedge" if configured else b"primary")
    received = server.requests_to("/pay")
    assert [r.headers["idempotency-key"] for r in received] == ["k-1"] * (2 if configured else 1)


def test_bytes_bodies_replay_exactly(kit: Any, server: ScriptedServer) -> None:
    server.script("/json", Reply(delay=kit.slow, body=b"primary"), Reply(body=b"hedge"))
    config = kit.config(attempt_header="x-hedge-attempt")

    async def main() -> Any:
        async with kit.client(config) as client:
            return await client.request(
                "POST",
                server.url_for("/json?q=1"),
                json={"k": [1, 2]},
                headers={"x-a": "1"},
                extensions={"hedge": True},
            )

    assert kit.run(main).body == b"hedge"
    primary, hedge = server.requests_to("/json")
    assert primary.body == hedge.body
    assert json.loads(hedge.body) == {"k": [1, 2]}
    assert primary.target == hedge.target == "/json?q=1"
    assert hedge.headers.pop("x-hedge-attempt") == "1"
    assert primary.headers == hedge.headers


def test_streamed_bodies_are_sent_once(kit: Any, server: ScriptedServer) -> None:
    server.script("/upload", Reply(delay=0.5))
    parts = [b"one,", b"two"]

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    def sync_body() -> Iterator[bytes]:
        yield from parts

    async def main() -> Any:
        async with kit.client(kit.config()) as client:
            content = body() if kit.mode == "async" else sync_body()
            response = await client.request(
                "GET", server.url_for("/upload"), content=content, extensions={"hedge": True}
            )
            return response, client.stats.snapshot()

    response, snapshot = kit.run(main)
    assert response.status == 200
    assert [r.body for r in server.requests_to("/upload")] == [b"one,two"]
    assert (snapshot.passthrough_requests, snapshot.total_requests) == (1, 0)


def test_file_uploads_are_sent_once(kit: Any, server: ScriptedServer, tmp_path: Any) -> None:
    server.script("/files", Reply(delay=0.5))
    upload = tmp_path / "data.txt"
    upload.write_bytes(b"file contents")

    async def main() -> Any:
        async with kit.client(kit.config()) as client:
            with upload.open("rb") as handle:
                return await client.request(
                    "POST", server.url_for("/files"), files={"f": handle}, extensions={"hedge": True}
                )

    assert kit.run(main).status == 200
    received = server.requests_to("/files")
    assert len(received) == 1
    assert b"file contents" in received[0].body


def test_protocol_upgrades_are_not_hedged_unless_asked(kit: Any, server: ScriptedServer) -> None:
    server.script("/ws", Reply(delay=0.5), Reply(delay=kit.slow), Reply())
    headers = {"connection": "upgrade", "upgrade": "websocket"}

    async def main() -> None:
        async with kit.client(kit.config()) as client:
            await client.request("GET", server.url_for("/ws"), headers=headers)
            assert len(server.requests_to("/ws")) == 1
            await client.request("GET", server.url_for("/ws"), headers=headers, extensions={"hedge": True})

    kit.run(main)
    assert len(server.requests_to("/ws")) == 3


def test_endpoint_keys_leave_out_the_query(kit: Any, server: ScriptedServer) -> None:
    async def main() -> list[str]:
        async with kit.client(kit.config(key_level="endpoint")) as client:
            for target in ("/a?user=1", "/a?user=2", "/b"):
                await client.request("GET", server.url_for(target))
            return sorted(client.stats.keys())

    base = f"http://127.0.0.1:{server.port}"
    assert kit.run(main) == [f"{base}/a", f"{base}/b"]


def test_no_hedges_with_max_hedges_zero(kit: Any, server: ScriptedServer) -> None:
    server.script("/zero", Reply(delay=0.5))

    async def main() -> Any:
        async with kit.client(kit.config(max_hedges=0, race_on="first_byte")) as client:
            return await client.request("GET", server.url_for("/zero"))

    assert kit.run(main).status == 200
    assert len(server.requests_to("/zero")) == 1


# -- how outcomes are judged -------------------------------------------------------------------------


def test_retry_after_within_max_delay_sends_the_hedge_after_it(kit: Any, server: ScriptedServer) -> None:
    server.script("/busy", Reply(status=503, headers={"retry-after": "0"}), Reply(body=b"hedge"))

    async def main() -> Any:
        async with kit.client(kit.config(min_delay=NEVER, max_delay=NEVER, warmup_delay=NEVER)) as client:
            return await client.request("GET", server.url_for("/busy"))

    assert kit.run(main).body == b"hedge"
    assert len(server.requests_to("/busy")) == 2


def test_retry_after_beyond_max_delay_stops_hedging(kit: Any, server: ScriptedServer) -> None:
    server.script("/later", Reply(status=503, body=b"come back", headers={"retry-after": "120"}), Reply())

    async def main() -> Any:
        async with kit.client(kit.config(max_hedges=2)) as client:
            return await client.request("GET", server.url_for("/later"))

    response = kit.run(main)
    assert (response.status, response.body, response.headers["retry-after"]) == (503, b"come back", "120")
    assert len(server.requests_to("/later")) == 1


def test_server_closing_without_an_answer_is_retried(kit: Any, server: ScriptedServer) -> None:
    server.script("/closed", Reply(fault="close"), Reply(body=b"hedge"))

    async def main() -> Any:
        async with kit.client(kit.config(min_delay=NEVER, max_delay=NEVER, warmup_delay=NEVER)) as client:
            return await client.request("GET", server.url_for("/closed"))

    assert kit.run(main).body == b"hedge"


def test_read_timeout_sends_no_new_hedge(kit: Any, server: ScriptedServer) -> None:
    server.script("/hang", Reply(fault="hang"), Reply())
    config = kit.config(min_delay=NEVER, max_delay=NEVER, warmup_delay=NEVER)

    async def main() -> Any:
        timeout = kit.module.Timeout(10.0, read=0.3)
        async with kit.client(config, timeout=timeout) as client:
            with pytest.raises(kit.module.ReadTimeout):
                await client.request("GET", server.url_for("/hang"))
            return client.stats.snapshot()

    snapshot = kit.run(main)
    assert len(server.requests_to("/hang")) == 1
    assert (snapshot.hedges_sent, snapshot.errors) == (0, 1)


def test_pool_timeout_sends_no_new_hedge(kit: Any, server: ScriptedServer) -> None:
    # One connection: the first hedge waits for the pool and times out long
    # before the next hedge is due, while the primary still holds the
    # connection. No further hedge is sent; the primary's answer is returned.
    server.script("/pool", Reply(delay=3.0, body=b"primary"), Reply(body=b"never sent"))
    module = kit.module
    limits = module.Limits(max_connections=1)
    inner = (
        module.AsyncHTTPTransport(limits=limits)
        if kit.mode == "async"
        else module.HTTPTransport(limits=limits)
    )
    config = kit.config(max_hedges=3, min_delay=0.8, max_delay=0.8, warmup_delay=0.8)

    async def main() -> Any:
        async with kit.client(config, inner=inner, timeout=module.Timeout(10.0, pool=0.1)) as client:
            response = await client.request("GET", server.url_for("/pool"))
            return response, client.stats.snapshot()

    response, snapshot = kit.run(main)
    assert response.body == b"primary"
    assert len(server.requests_to("/pool")) == 1
    assert (snapshot.hedges_sent, snapshot.primary_wins) == (1, 1)


def test_local_protocol_error_is_fatal(kit: Any, server: ScriptedServer) -> None:
    config = kit.config(min_delay=NEVER, max_delay=NEVER, warmup_delay=NEVER)

    async def main() -> Any:
        async with kit.client(config) as client:
            with pytest.raises(kit.module.LocalProtocolError):
                await client.request("GET", server.url_for("/bad"), headers={"x-bad": "a\nb"})
            return client.stats.snapshot()

    snapshot = kit.run(main)
    # A retryable error would have sent the hedge at once.
    assert (snapshot.hedges_sent, snapshot.errors) == (0, 1)


def test_unsupported_protocol_is_fatal(kit: Any) -> None:
    config = kit.config(min_delay=NEVER, max_delay=NEVER, warmup_delay=NEVER)

    async def main() -> Any:
        async with kit.client(config) as client:
            with pytest.raises(kit.module.UnsupportedProtocol):
                await client.request("GET", "ftp://127.0.0.1/file")
            return client.stats.snapshot()

    assert kit.run(main).hedges_sent == 0


# -- cancellation and timeouts ------------------------------------------------------------------------


def test_anyio_deadline_cancels_every_attempt(async_kit: Any, server: ScriptedServer) -> None:
    server.script("/stuck", Reply(fault="hang"), Reply(fault="hang"))

    async def main() -> Any:
        async with async_kit.client(async_kit.config()) as client:
            answered = False
            with anyio.move_on_after(1.0) as scope:
                await client.request("GET", server.url_for("/stuck"))
                answered = True
            assert scope.cancel_called and not answered
            return client.stats.snapshot()

    snapshot = async_kit.run(main)
    assert len(server.requests_to("/stuck")) == 2
    assert server.wait_until(lambda s: s.disconnects == 2)
    assert (snapshot.cancelled_requests, snapshot.attempts_cancelled) == (1, 2)


def test_httpx_timeout_ends_every_attempt(kit: Any, server: ScriptedServer) -> None:
    server.script("/late", Reply(fault="hang"), Reply(fault="hang"))

    async def main() -> Any:
        async with kit.client(kit.config(), timeout=kit.module.Timeout(10.0, read=0.5)) as client:
            with pytest.raises(kit.module.ReadTimeout):
                await client.request("GET", server.url_for("/late"))
            return client.stats.snapshot()

    snapshot = kit.run(main)
    assert server.wait_until(lambda s: s.disconnects == 2)
    assert (snapshot.hedges_sent, snapshot.errors) == (1, 1)


def test_cancelling_a_waiting_task_cancels_every_attempt(async_kit: Any, server: ScriptedServer) -> None:
    server.script("/wait", Reply(fault="hang"), Reply(fault="hang"))

    async def main() -> bool:
        async with async_kit.client(async_kit.config()) as client:
            task = asyncio.ensure_future(client.request("GET", server.url_for("/wait")))
            assert await server.wait_until_async(lambda s: len(s.requests_to("/wait")) == 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return task.cancelled()

    assert async_kit.run(main)
    assert server.wait_until(lambda s: s.disconnects == 2)


# -- streaming responses -------------------------------------------------------------------------------


def test_first_byte_winner_replays_its_first_chunk(kit: Any, server: ScriptedServer) -> None:
    server.script(
        "/sse",
        Reply(chunks=[b"data: primary\n\n"], body_delay=kit.slow),
        Reply(chunks=[b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"], chunk_delay=0.05),
    )

    async def main() -> Any:
        async with kit.client(kit.config(race_on="first_byte")) as client:
            return await client.request("GET", server.url_for("/sse"), stream=True)

    response = kit.run(main)
    assert response.chunks[0] == b"data: 1\n\n"
    assert response.body == b"data: 1\n\ndata: 2\n\ndata: 3\n\n"
    # The loser had sent its headers; it was cut off before its body.
    primary = server.requests_to("/sse")[0]
    assert server.wait_until(lambda s: primary.completed or primary.disconnected, timeout=kit.slow + 10)
    assert primary.disconnected


def test_first_byte_replays_encoded_bodies(kit: Any, server: ScriptedServer) -> None:
    payload = b"event stream " * 200
    packed = gzip.compress(payload)
    server.script(
        "/gz",
        Reply(body=packed, body_delay=kit.slow, headers={"content-encoding": "gzip"}),
        Reply(chunks=[packed[:10], packed[10:]], chunk_delay=0.05, headers={"content-encoding": "gzip"}),
    )

    async def main() -> Any:
        async with kit.client(kit.config(race_on="first_byte")) as client:
            return await client.request("GET", server.url_for("/gz"))

    assert kit.run(main).body == payload


def test_first_byte_with_an_empty_body(kit: Any, server: ScriptedServer) -> None:
    server.script("/empty", Reply(status=204, body=b""), Reply(status=204, body=b""))

    async def main() -> Any:
        async with kit.client(kit.config(race_on="first_byte")) as client:
            head = await client.request("HEAD", server.url_for("/empty"))
            return head, await client.request("GET", server.url_for("/empty"))

    head, empty = kit.run(main)
    assert (head.status, head.body, empty.status, empty.body) == (204, b"", 204, b"")


def test_first_byte_does_not_hold_requests_that_do_not_race(async_kit: Any, server: ScriptedServer) -> None:
    # A chat completion stream (POST) is sent once; its headers reach the
    # caller at once, whatever the first token's delay.
    server.script("/chat", Reply(chunks=[b"data: token\n\n"], body_delay=NEVER))

    async def main() -> int:
        async with async_kit.client(async_kit.config(race_on="first_byte")) as client:
            opened = client.client.stream("POST", server.url_for("/chat"), content=b"{}")
            response = await asyncio.wait_for(opened.__aenter__(), 10.0)
            await opened.__aexit__(None, None, None)
            return response.status_code  # type: ignore[no-any-return]

    assert async_kit.run(main) == 200
    assert len(server.requests_to("/chat")) == 1
    assert server.wait_until(lambda s: s.requests_to("/chat")[0].disconnected)


def test_first_byte_losers_are_closed_over_many_races(kit: Any, server: ScriptedServer) -> None:
    races = 10
    for _ in range(races):
        server.script("/stream", Reply(chunks=[b"late"], body_delay=kit.slow), Reply(chunks=[b"early"]))

    async def main() -> int:
        async with kit.client(kit.config(race_on="first_byte")) as client:
            for _ in range(races):
                assert (await client.request("GET", server.url_for("/stream"), stream=True)).body == b"early"
            assert await server.wait_until_async(lambda s: s.disconnects == races)
            return server.open_connections

    assert kit.run(main) <= 1
    assert server.wait_until(lambda s: s.open_connections == 0)


# -- the trace extension --------------------------------------------------------------------------------


def test_the_callers_trace_extension_still_sees_every_attempt(kit: Any, server: ScriptedServer) -> None:
    server.script("/traced", Reply(delay=kit.slow), Reply())
    events: list[str] = []

    def on_event(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async def on_event_async(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    trace = on_event_async if kit.mode == "async" else on_event

    async def main() -> None:
        async with kit.client(kit.config()) as client:
            await client.request("GET", server.url_for("/traced"), extensions={"trace": trace})

    kit.run(main)
    assert events.count("http11.send_request_headers.started") == 2


# -- outside asyncio -----------------------------------------------------------------------------------


def test_a_race_outside_asyncio_fails_clearly(framework: Any) -> None:
    # As under trio: the coroutine is driven by something other than asyncio.
    module = framework.module
    transport = framework.async_transport(inner=module.MockTransport(lambda request: module.Response(204)))
    racing = transport.handle_async_request(module.Request("GET", "http://127.0.0.1/"))
    with pytest.raises(RuntimeError, match="races attempts on asyncio"):
        racing.send(None)
    passing = transport.handle_async_request(module.Request("POST", "http://127.0.0.1/"))
    with pytest.raises(StopIteration) as stopped:
        passing.send(None)
    assert stopped.value.value.status_code == 204
