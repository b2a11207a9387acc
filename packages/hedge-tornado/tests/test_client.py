"""HedgedTornadoClient: tornado's fetch() semantics, hedged, against a ScriptedServer."""

from __future__ import annotations

import asyncio
import logging

import pytest
import tornado
from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders
from tornado.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError, SimpleAsyncHTTPClient

from hedge import HedgeConfig
from hedge.testing import Reply, ScriptedServer, free_port
from hedge_tornado import HedgedTornadoClient

from .conftest import SLOW, fixed_config, slots


async def fetch_with_bare_tornado(request: HTTPRequest, raise_error: bool = True) -> HTTPResponse:
    """What tornado's own client does with ``request``: the behaviour to match."""
    http = SimpleAsyncHTTPClient(force_instance=True)
    try:
        return await http.fetch(request, raise_error=raise_error)
    finally:
        http.close()


# -- what fetch() returns and raises -------------------------------------------------


async def test_fetch_a_url_returns_tornados_response(server: ScriptedServer) -> None:
    server.script("/hello", *[Reply(body=b"hello", headers={"x-kind": "greeting"})] * 2)
    async with HedgedTornadoClient(fixed_config()) as client:
        response = await client.fetch(server.url_for("/hello?who=me"), headers={"x-mine": "1"})
    assert isinstance(response, HTTPResponse)
    assert (response.code, response.body, response.headers["X-Kind"]) == (200, b"hello", "greeting")
    assert response.request.url == server.url_for("/hello?who=me")
    assert response.effective_url == server.url_for("/hello?who=me")
    received = server.requests_to("/hello")[0]
    assert (received.target, received.headers["x-mine"]) == ("/hello?who=me", "1")


async def test_the_callers_request_is_never_modified(server: ScriptedServer) -> None:
    server.script("/same", Reply(delay=SLOW), Reply(body=b"hedge"))
    headers = HTTPHeaders({"x-mine": "1"})
    request = HTTPRequest(server.url_for("/same"), headers=headers)
    async with HedgedTornadoClient(fixed_config(attempt_header="x-hedge-attempt")) as client:
        response = await client.fetch(request)
    assert response.body == b"hedge"
    assert response.request is request
    assert request.headers is headers
    assert dict(headers) == {"X-Mine": "1"}  # no Host, Connection, attempt header...
    assert [r.headers.get("x-hedge-attempt") for r in server.requests_to("/same")] == [None, "1"]


async def test_non_2xx_raises_http_client_error_like_tornado(server: ScriptedServer) -> None:
    for _ in range(3):
        server.script("/missing", Reply(status=404, body=b"nope"))
    expected = await _raised(fetch_with_bare_tornado(HTTPRequest(server.url_for("/missing"))))
    async with HedgedTornadoClient(fixed_config()) as client:
        error = await _raised(client.fetch(server.url_for("/missing")))
    assert type(error) is type(expected) is HTTPClientError
    assert isinstance(error, HTTPClientError) and isinstance(expected, HTTPClientError)
    assert (error.code, str(error)) == (expected.code, str(expected)) == (404, "HTTP 404: Not Found")
    assert error.response is not None and error.response.body == b"nope"


async def test_raise_error_false_returns_the_response(server: ScriptedServer) -> None:
    server.script("/missing", *[Reply(status=404, body=b"nope")] * 2)
    async with HedgedTornadoClient(fixed_config()) as client:
        response = await client.fetch(server.url_for("/missing"), raise_error=False)
    assert (response.code, response.body) == (404, b"nope")
    assert isinstance(response.error, HTTPClientError)


async def test_every_attempt_failing_raises_the_primarys_error(server: ScriptedServer) -> None:
    server.script("/down", Reply(status=503, body=b"first"), Reply(status=502, body=b"second"))
    async with HedgedTornadoClient(fixed_config()) as client:
        error = await _raised(client.fetch(server.url_for("/down")))
    assert isinstance(error, HTTPClientError)
    assert error.code == 503
    assert error.response is not None and error.response.body == b"first"
    assert len(server.requests_to("/down")) == 2


async def test_refused_connection_raises_like_tornado() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    expected = await _raised(fetch_with_bare_tornado(HTTPRequest(url), raise_error=False))
    async with HedgedTornadoClient(fixed_config()) as client:
        error = await _raised(client.fetch(url, raise_error=False))
    assert type(error) is type(expected) is ConnectionRefusedError


async def test_retry_after_beyond_max_delay_stops_hedging(server: ScriptedServer) -> None:
    # The 503 asks for two minutes; more than max_delay, so no hedge is sent
    # (without its Retry-After, a 503 sends the hedge at once).
    server.script("/busy", Reply(status=503, headers={"Retry-After": "120"}, body=b"later"))
    config = fixed_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(server.url_for("/busy"), raise_error=False)
    assert (response.code, response.body) == (503, b"later")
    assert len(server.requests_to("/busy")) == 1
    assert config.stats.snapshot().hedges_sent == 0  # type: ignore[union-attr]


async def test_timeout_sends_no_further_hedge(server: ScriptedServer) -> None:
    # The primary times out long before the hedge delay; a timeout does not
    # send a hedge at once (the caller's request_timeout would double).
    server.script("/late", Reply(fault="hang"))
    config = fixed_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    async with HedgedTornadoClient(config) as client:
        error = await _raised(client.fetch(server.url_for("/late"), request_timeout=0.3))
    assert isinstance(error, HTTPTimeoutError)
    assert len(server.requests_to("/late")) == 1
    assert config.stats.snapshot().hedges_sent == 0  # type: ignore[union-attr]
    assert server.wait_until(lambda s: s.disconnects == 1)


async def test_timed_out_primary_waits_for_the_hedge_in_flight(server: ScriptedServer) -> None:
    # Every attempt has its own request_timeout: the hedge, sent half a second
    # after the primary, is still within its own when the primary times out.
    server.script("/late", Reply(fault="hang"), Reply(delay=0.75, body=b"hedge"))
    config = fixed_config(min_delay=0.5, max_delay=0.5, warmup_delay=0.5)
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(server.url_for("/late"), request_timeout=1.0)
    assert response.body == b"hedge"
    assert len(server.requests_to("/late")) == 2
    assert config.stats.snapshot().hedge_wins == 1  # type: ignore[union-attr]


async def test_redirects_are_followed_and_a_losing_hop_is_aborted(server: ScriptedServer) -> None:
    # Each attempt is redirected; the primary's second hop never answers.
    server.script(
        "/old",
        Reply(status=302, headers={"Location": "/new"}),
        Reply(status=302, headers={"Location": "/new"}),
    )
    server.script("/new", Reply(fault="hang"), Reply(body=b"moved"))
    async with HedgedTornadoClient(fixed_config(attempt_header="x-hedge-attempt")) as client:
        response = await client.fetch(server.url_for("/old"))
    assert (response.code, response.body) == (200, b"moved")
    assert response.effective_url == server.url_for("/new")
    assert [r.headers.get("x-hedge-attempt") for r in server.requests_to("/new")] == [None, "1"]
    assert server.wait_until(lambda s: s.requests_to("/new")[0].disconnected)
    assert server.wait_until(lambda s: s.open_connections == 0)


async def test_a_queued_hedge_leaves_the_queue_when_the_primary_wins(server: ScriptedServer) -> None:
    # One slot, held by the primary; the hedge waits for it. The primary's
    # headers win the race while its body stalls: the hedge must leave the
    # queue now, not when the primary's slot is released.
    server.script("/q", Reply(delay=1.0, chunks=[b"late"], body_delay=SLOW))
    config = fixed_config()
    async with HedgedTornadoClient(config, max_clients=1) as client:
        task = asyncio.ensure_future(client.fetch(server.url_for("/q")))
        # The hedge is sent after the hedge delay and waits for the primary's slot...
        assert await server.wait_until_async(
            lambda s: client._http is not None and len(client._http.queue) == 1
        )
        http = client._http
        assert http is not None
        # ...until the primary's headers win the race.
        assert await server.wait_until_async(lambda s: (len(http.queue), len(http.waiting)) == (0, 0))
        assert slots(client) == (1, 0)  # the primary, reading its stalled body
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert slots(client) == (0, 0)
    assert len(server.requests_to("/q")) == 1
    assert server.wait_until(lambda s: s.open_connections == 0)


# -- callbacks see the winner only -----------------------------------------------------


async def test_streaming_callback_gets_the_winners_chunks_once_in_order(server: ScriptedServer) -> None:
    server.script(
        "/sse",
        Reply(chunks=[b"p1", b"p2"], body_delay=SLOW),
        Reply(chunks=[b"h1", b"h2", b"h3"], chunk_delay=0.02),
    )
    chunks: list[bytes] = []
    lines: list[str] = []
    request = HTTPRequest(
        server.url_for("/sse"), streaming_callback=chunks.append, header_callback=lines.append
    )
    async with HedgedTornadoClient(fixed_config(race_on="first_byte")) as client:
        response = await client.fetch(request)
    assert chunks == [b"h1", b"h2", b"h3"]
    assert response.body == b""  # as in tornado: a streamed body is not buffered
    winner = server.requests_to("/sse")[1].seq
    assert f"X-Request-Seq: {winner}\r\n" in lines
    assert sum(1 for line in lines if line.startswith("HTTP/")) == 1
    assert server.wait_until(lambda s: s.requests_to("/sse")[0].disconnected)


async def test_a_retryable_losers_chunks_never_reach_the_streaming_callback(server: ScriptedServer) -> None:
    # The primary's 503 arrives first, body and all; it does not win, and the
    # caller's streaming_callback must not see a byte of it.
    server.script("/flaky", Reply(status=503, chunks=[b"busy"]), Reply(chunks=[b"fine"]))
    chunks: list[bytes] = []
    async with HedgedTornadoClient(fixed_config()) as client:
        response = await client.fetch(server.url_for("/flaky"), streaming_callback=chunks.append)
    assert (response.code, chunks) == (200, [b"fine"])


async def test_attempts_finishing_together_stream_one_body(server: ScriptedServer) -> None:
    # Both attempts get their headers and first chunk in the same instant.
    server.script("/tie", Reply(gate=2, chunks=[b"a1", b"a2"]), Reply(gate=2, chunks=[b"b1", b"b2"]))
    chunks: list[bytes] = []
    async with HedgedTornadoClient(fixed_config(race_on="first_byte")) as client:
        await client.fetch(server.url_for("/tie"), streaming_callback=chunks.append)
    # (tornado may hand several chunks to the callback at once)
    assert b"".join(chunks) in (b"a1a2", b"b1b2")
    assert server.wait_until(lambda s: s.open_connections == 0)


async def test_an_awaitable_from_the_streaming_callback_is_awaited(server: ScriptedServer) -> None:
    # tornado 6.6 waits for an awaitable a streaming_callback returns before it
    # reads on (back-pressure); the chunk held during the race keeps that.
    server.script("/slowly", *[Reply(chunks=[b"1", b"2", b"3"], chunk_delay=0.02)] * 2)
    loop = asyncio.get_running_loop()
    events: list[str] = []

    def consume(chunk: bytes) -> asyncio.Future[None]:
        events.append(f"got {chunk.decode()}")
        done: asyncio.Future[None] = loop.create_future()

        def finish() -> None:
            events.append(f"done {chunk.decode()}")
            done.set_result(None)

        loop.call_later(0.2, finish)
        return done

    async with HedgedTornadoClient(fixed_config(race_on="first_byte")) as client:
        await client.fetch(server.url_for("/slowly"), streaming_callback=consume)
        await asyncio.sleep(0.3)  # let the last callback's future finish
    # (tornado may hand several chunks to the callback at once)
    assert "".join(e[4:] for e in events if e.startswith("got ")) == "123"
    if tornado.version_info >= (6, 6):
        # every chunk waited for the previous chunk's future
        kinds = [e.split()[0] for e in events]
        assert kinds == ["got", "done"] * (len(kinds) // 2)


async def test_header_callback_that_raises_fails_the_fetch_like_tornado(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(line: str) -> None:
        raise RuntimeError("callback bug")

    for _ in range(2):
        server.script("/lines", Reply(body=b"ok"))
    expected = await _raised(
        fetch_with_bare_tornado(HTTPRequest(server.url_for("/lines"), header_callback=broken))
    )
    caplog.clear()  # tornado logged the callback's exception (older releases twice)
    async with HedgedTornadoClient(fixed_config()) as client:
        error = await _raised(client.fetch(server.url_for("/lines"), header_callback=broken))
    assert type(error) is type(expected) is HTTPStreamClosedError
    logged = [r for r in caplog.records if r.name == "tornado.application" and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in logged] == ["Uncaught exception"]
    caplog.clear()


# -- eligibility ---------------------------------------------------------------------------


async def test_body_producer_is_never_sent_twice(server: ScriptedServer) -> None:
    server.script("/upload", Reply(delay=0.5, status=201))
    calls = 0

    async def producer(write: object) -> None:
        nonlocal calls
        calls += 1
        await write(b"data")  # type: ignore[operator]

    request = HTTPRequest(
        server.url_for("/upload"), method="PUT", body_producer=producer, headers={"Content-Length": "4"}
    )
    async with HedgedTornadoClient(fixed_config()) as client:
        response = await client.fetch(request, hedge=True)
    assert response.code == 201
    assert calls == 1
    assert [r.body for r in server.requests_to("/upload")] == [b"data"]


async def test_str_body_replays_on_a_hedged_write(server: ScriptedServer) -> None:
    server.script("/put", Reply(delay=SLOW), Reply(body=b"hedge"))
    config = fixed_config(hedge_methods={"GET", "PUT"})
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(server.url_for("/put"), method="PUT", body="caf\u00e9")
    assert response.body == b"hedge"
    assert [r.body for r in server.requests_to("/put")] == ["caf\u00e9".encode()] * 2


async def test_idempotency_key_header_is_found_in_any_case(server: ScriptedServer) -> None:
    server.script("/pay", Reply(delay=SLOW), Reply(body=b"hedge"))
    config = fixed_config(idempotency_key_header="Idempotency-Key")
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(
            server.url_for("/pay"), method="POST", body=b"p", headers={"idempotency-key": "k-1"}
        )
    assert response.body == b"hedge"
    assert len(server.requests_to("/pay")) == 2


# -- the boundary ---------------------------------------------------------------------------


async def test_bad_arguments_are_rejected_at_the_boundary(server: ScriptedServer) -> None:
    async with HedgedTornadoClient(fixed_config()) as client:
        with pytest.raises(ValueError, match="kwargs can't be used"):
            await client.fetch(HTTPRequest(server.url), method="POST")
        with pytest.raises(TypeError, match="request must be a URL"):
            await client.fetch(b"http://127.0.0.1/")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="hedge override"):
            await client.fetch(server.url, hedge="maybe")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="hedge override"):
            await client.fetch(server.url, hedge=1)  # type: ignore[arg-type]
    assert server.requests == []


def test_constructor_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="max_clients must be an int >= 1, got 0"):
        HedgedTornadoClient(max_clients=0)
    with pytest.raises(TypeError, match="max_clients must be an int >= 1, got str"):
        HedgedTornadoClient(max_clients="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="config must be a hedge.HedgeConfig"):
        HedgedTornadoClient({"percentile": 0.9})  # type: ignore[arg-type]


def test_constructed_outside_a_loop_and_used_inside_one(server: ScriptedServer) -> None:
    client = HedgedTornadoClient(HedgeConfig())

    async def main() -> int:
        async with client:
            return (await client.fetch(server.url_for("/"))).code

    assert asyncio.run(main()) == 200
    assert "closed" in repr(client)


def test_a_client_is_bound_to_one_event_loop(server: ScriptedServer) -> None:
    client = HedgedTornadoClient(HedgeConfig())

    async def use() -> int:
        return (await client.fetch(server.url_for("/"))).code

    assert asyncio.run(use()) == 200
    with pytest.raises(RuntimeError, match="bound to the event loop it was first used on"):
        asyncio.run(use())
    client.close()


async def test_closed_client_refuses_to_fetch(server: ScriptedServer) -> None:
    client = HedgedTornadoClient(fixed_config())
    client.close()
    client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed HedgedTornadoClient"):
        await client.fetch(server.url)


async def test_close_fails_fetches_in_flight_and_closes_their_connections(server: ScriptedServer) -> None:
    server.script("/stuck", Reply(fault="hang"), Reply(fault="hang"))
    client = HedgedTornadoClient(fixed_config())
    task = asyncio.ensure_future(client.fetch(server.url_for("/stuck")))
    assert await server.wait_until_async(lambda s: len(s.requests_to("/stuck")) == 2)
    client.close()
    error = await _raised(task)
    assert isinstance(error, HTTPStreamClosedError)
    assert error.code == 599
    assert server.wait_until(lambda s: s.disconnects == 2)


async def test_stats_and_config_are_exposed(server: ScriptedServer) -> None:
    config = fixed_config()
    async with HedgedTornadoClient(config) as client:
        await client.fetch(server.url_for("/"))
        await client.fetch(server.url_for("/"), method="POST", body=b"")
        assert client.config is config
        assert client.stats is config.stats
    snapshot = config.stats.snapshot()  # type: ignore[union-attr]
    assert (snapshot.total_requests, snapshot.passthrough_requests) == (1, 1)


async def _raised(awaitable: object) -> BaseException:
    try:
        await awaitable  # type: ignore[misc]
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")
