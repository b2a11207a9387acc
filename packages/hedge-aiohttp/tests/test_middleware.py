"""hedge_middleware in a plain aiohttp.ClientSession, against a real aiohttp.web server.

Every scenario runs under the ``run`` fixture (any warning, such as
"Unclosed connection", fails it) and asserts on what the server saw, on
aiohttp's connection trace events and on the engine's counters, never on
elapsed time.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
import pytest

from hedge.events import HedgeSent
from hedge_aiohttp import HedgeMiddleware, hedge_middleware

SLOW = 5.0  # never waited for: the attempt is cancelled long before


class ConnectionTrace:
    """Counts the connections aiohttp creates and reuses (its public tracing API)."""

    def __init__(self) -> None:
        self.created = 0
        self.reused = 0
        self.config = aiohttp.TraceConfig()
        self.config.on_connection_create_end.append(self._on_create)
        self.config.on_connection_reuseconn.append(self._on_reuse)

    async def _on_create(self, *_: Any) -> None:
        self.created += 1

    async def _on_reuse(self, *_: Any) -> None:
        self.reused += 1


def test_losers_free_their_connections_so_a_small_pool_never_runs_dry(
    web_server: Any, run: Any, make_config: Any
) -> None:
    races = 10
    for _ in range(races):
        web_server.script("/race", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})
    config = make_config()
    trace = ConnectionTrace()

    async def scenario() -> int:
        async with web_server:
            # Two connections: a loser that kept its connection would block the next race.
            connector = aiohttp.TCPConnector(limit=2)
            async with aiohttp.ClientSession(
                connector=connector, middlewares=[hedge_middleware(config)], trace_configs=[trace.config]
            ) as session:
                for _ in range(races):
                    async with session.get(web_server.url("/race")) as response:
                        assert await asyncio.wait_for(response.read(), 30) == b"hedge"
                assert await web_server.wait_for(lambda s: s.open_connections == 1)
                return web_server.open_connections

    assert run(scenario) == 1
    primaries = web_server.to("/race")[::2]
    assert all(seen.cancelled for seen in primaries)
    # Each race: the primary reuses the last winner's connection, the hedge opens one.
    assert (trace.created, trace.reused) == (races + 1, races - 1)
    assert config.stats.snapshot().hedge_wins == races


def test_a_loser_with_its_whole_body_returns_its_connection_to_the_pool(
    web_server: Any, run: Any, make_config: Any
) -> None:
    # The primary's 503 arrives whole and does not win: its connection is clean,
    # back in the pool at once, and the hedge it triggers goes out on it.
    web_server.script("/flaky", {"status": 503, "body": b"busy"}, {"body": b"fine"})
    config = make_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    trace = ConnectionTrace()

    async def scenario() -> tuple[int, bytes]:
        async with (
            web_server,
            aiohttp.ClientSession(
                middlewares=[hedge_middleware(config)], trace_configs=[trace.config]
            ) as session,
            session.get(web_server.url("/flaky")) as response,
        ):
            return response.status, await response.read()

    assert run(scenario) == (200, b"fine")
    assert (trace.created, trace.reused) == (1, 1)
    assert len(web_server.client_ports) == 1


def test_a_released_loser_with_an_unread_body_is_closed(web_server: Any, run: Any, make_config: Any) -> None:
    web_server.script(
        "/flaky", {"status": 503, "chunks": [b"a", b"b"], "chunk_delay": SLOW}, {"body": b"fine"}
    )
    config = make_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)

    async def scenario() -> bytes:
        async with web_server, aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            body = await _read(session, web_server.url("/flaky"))
            assert await web_server.wait_for(lambda s: s.to("/flaky")[0].cancelled)
            assert await web_server.wait_for(lambda s: s.open_connections == 1)
            return body

    assert run(scenario) == b"fine"


def test_base_url_keys_come_from_the_absolute_url(web_server: Any, run: Any, make_config: Any) -> None:
    host_config = make_config()
    endpoint_config = make_config(key_level="endpoint")

    async def scenario() -> None:
        async with web_server:
            for config in (host_config, endpoint_config):
                async with aiohttp.ClientSession(
                    base_url=web_server.url("/api/"), middlewares=[hedge_middleware(config)]
                ) as session:
                    for url in ("items?page=1", "items?page=2", "items?page=3", "other?q=x"):
                        await _read(session, url)

    run(scenario)
    origin = web_server.origin
    assert list(host_config.stats.keys()) == [origin]
    assert sorted(endpoint_config.stats.keys()) == [f"{origin}/api/items", f"{origin}/api/other"]
    assert [seen.query for seen in web_server.to("/api/items")][:3] == ["page=1", "page=2", "page=3"]


@pytest.mark.parametrize(
    ("method", "hedged"),
    [
        ("GET", True),
        ("HEAD", True),
        ("OPTIONS", True),
        ("POST", False),
        ("PUT", False),
        ("PATCH", False),
        ("DELETE", False),
    ],
)
def test_every_verb(web_server: Any, run: Any, make_config: Any, method: str, hedged: bool) -> None:
    config = make_config()
    primary = {"delay": SLOW if hedged else 0.3, "headers": {"x-who": "primary"}}
    web_server.script("/verb", primary, {"headers": {"x-who": "hedge"}})

    async def scenario() -> tuple[int, str]:
        async with web_server, aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            data = b"body" if method in ("POST", "PUT", "PATCH") else None
            async with session.request(method, web_server.url("/verb"), data=data) as response:
                await response.read()
                return response.status, response.headers["x-who"]

    assert run(scenario) == (200, "hedge" if hedged else "primary")
    assert [seen.method for seen in web_server.to("/verb")] == [method] * (2 if hedged else 1)


def test_put_and_delete_are_hedged_when_configured(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config(hedge_methods={"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
    for path in ("/put", "/delete"):
        web_server.script(path, {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})

    async def scenario() -> list[bytes]:
        async with web_server, aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            async with session.put(web_server.url("/put"), data=b"document") as put:
                put_body = await put.read()
            async with session.delete(web_server.url("/delete")) as delete:
                return [put_body, await delete.read()]

    assert run(scenario) == [b"hedge", b"hedge"]
    assert [seen.body for seen in web_server.to("/put")] == [b"document", b"document"]
    assert len(web_server.to("/delete")) == 2


def test_await_form_and_context_manager_form(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    for _ in range(2):
        web_server.script("/race", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})

    async def scenario() -> list[bytes]:
        async with web_server, aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            response = await session.get(web_server.url("/race"))
            awaited = await response.read()
            response.release()
            async with session.get(web_server.url("/race")) as managed:
                entered = await managed.read()
            assert managed.closed
            return [awaited, entered]

    assert run(scenario) == [b"hedge", b"hedge"]
    assert config.stats.snapshot().hedge_wins == 2


def test_attempt_header_and_default_headers_reach_every_attempt(
    web_server: Any, run: Any, make_config: Any
) -> None:
    config = make_config(attempt_header="x-hedge-attempt", max_hedges=2)
    web_server.script("/marked", {"delay": SLOW}, {"delay": SLOW}, {})

    async def scenario() -> None:
        async with (
            web_server,
            aiohttp.ClientSession(
                headers={"authorization": "Bearer t"}, middlewares=[hedge_middleware(config)]
            ) as session,
        ):
            await _read(session, web_server.url("/marked"), headers={"x-trace": "abc"})

    run(scenario)
    seen = web_server.to("/marked")
    assert [s.headers.get("x-hedge-attempt") for s in seen] == [None, "1", "2"]
    assert {(s.headers["authorization"], s.headers["x-trace"]) for s in seen} == {("Bearer t", "abc")}


def test_first_byte_race_delivers_every_byte_of_the_winner(
    web_server: Any, run: Any, make_config: Any
) -> None:
    config = make_config(race_on="first_byte")
    # The primary's headers come at once and its body never; the hedge streams three chunks.
    web_server.script(
        "/stream",
        {"chunks": [b"primary"], "body_delay": SLOW},
        {"chunks": [b"one ", b"two ", b"three"], "chunk_delay": 0.05},
    )

    async def scenario() -> bytes:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session,
            session.get(web_server.url("/stream")) as response,
        ):
            return b"".join([chunk async for chunk in response.content.iter_chunked(2)])

    assert run(scenario) == b"one two three"
    primary, hedge = web_server.to("/stream")
    assert primary.cancelled
    assert hedge.completed
    assert config.stats.snapshot().hedge_wins == 1


def test_first_byte_race_on_responses_without_a_body(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config(race_on="first_byte")
    web_server.script("/empty", {"status": 204, "body": b""})

    async def scenario() -> list[int]:
        async with web_server, aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            async with session.head(web_server.url("/head")) as head:
                pass
            async with session.get(web_server.url("/empty")) as empty:
                assert await empty.read() == b""
            return [head.status, empty.status]

    assert run(scenario) == [200, 204]
    assert config.stats.snapshot().primary_wins == 2


@pytest.mark.parametrize(("method", "max_hedges"), [("POST", 1), ("GET", 0)])
def test_first_byte_is_not_awaited_for_requests_that_are_not_raced(
    web_server: Any, run: Any, make_config: Any, method: str, max_hedges: int
) -> None:
    # A request that passes through is handed over at its headers, as without hedging.
    config = make_config(race_on="first_byte", max_hedges=max_hedges)
    web_server.script("/events", {"chunks": [b"late"], "body_delay": 0.5})

    async def scenario() -> tuple[bool, bytes]:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session,
            session.request(method, web_server.url("/events")) as response,
        ):
            body_sent_before = web_server.to("/events")[0].completed
            return body_sent_before, await response.read()

    assert run(scenario) == (False, b"late")
    assert config.stats.snapshot().passthrough_requests == 1


def test_sock_read_timeout_sends_no_hedge_of_its_own(
    web_server: Any, run: Any, make_config: Any, events: Any
) -> None:
    # No hedge delay in reach: the read timeout alone must not turn into a retry,
    # so the caller gets aiohttp's own timeout error after one attempt.
    config = make_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    web_server.script("/sleepy", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})

    async def scenario() -> BaseException | None:
        timeout = aiohttp.ClientTimeout(sock_read=0.5)
        async with (
            web_server,
            aiohttp.ClientSession(timeout=timeout, middlewares=[hedge_middleware(config)]) as session,
        ):
            try:
                await _read(session, web_server.url("/sleepy"))
            except aiohttp.ClientError as exc:
                return exc
            return None

    assert isinstance(run(scenario), aiohttp.SocketTimeoutError)
    assert len(web_server.to("/sleepy")) == 1
    assert events.of(HedgeSent) == []
    assert config.stats.snapshot().errors == 1


async def _total_timeout_outcome(session: aiohttp.ClientSession, url: str) -> type[BaseException]:
    try:
        await _read(session, url)
    except BaseException as exc:  # the type is what is compared
        task = asyncio.current_task()
        if sys.version_info >= (3, 11):
            assert task is not None
            assert task.cancelling() == 0, "a cancellation leaked into the caller's task"
        return type(exc)
    raise AssertionError("the request did not time out")


@pytest.mark.parametrize("race_on", ["headers", "first_byte"])
def test_total_timeout_spans_the_race_and_cancels_every_attempt(
    web_server: Any, run: Any, make_config: Any, race_on: str
) -> None:
    config = make_config(race_on=race_on, max_hedges=3, min_delay=0.1, max_delay=0.1, warmup_delay=0.1)
    hang = {"delay": SLOW} if race_on == "headers" else {"chunks": [b"x"], "body_delay": SLOW}
    for path in ("/bare", "/hedged"):
        web_server.script(path, *[hang] * 4)

    async def scenario() -> tuple[type[BaseException], type[BaseException], int]:
        timeout = aiohttp.ClientTimeout(total=0.6)
        async with web_server:
            async with aiohttp.ClientSession(timeout=timeout) as bare:
                expected = await _total_timeout_outcome(bare, web_server.url("/bare"))
            async with aiohttp.ClientSession(
                timeout=timeout, middlewares=[hedge_middleware(config)]
            ) as session:
                got = await _total_timeout_outcome(session, web_server.url("/hedged"))
            sent = len(web_server.to("/hedged"))
            assert await web_server.wait_for(lambda s: all(seen.cancelled for seen in s.to("/hedged")))
            # Nothing is sent once the deadline has passed.
            await asyncio.sleep(0.3)
            assert len(web_server.to("/hedged")) == sent
            return expected, got, sent

    expected, got, sent = run(scenario)
    assert got is expected
    assert issubclass(got, asyncio.TimeoutError)
    assert 2 <= sent <= 4
    assert config.stats.snapshot().errors + config.stats.snapshot().cancelled_requests == 1


@pytest.mark.parametrize("race_on", ["headers", "first_byte"])
def test_a_race_won_within_the_total_timeout_leaves_no_stray_cancellation(
    web_server: Any, run: Any, make_config: Any, race_on: str
) -> None:
    # The hedge wins while the primary runs in the caller's task inside aiohttp's
    # timeout context; afterwards the caller's task must carry no cancellation
    # and the total timeout must not fire into it later.
    config = make_config(race_on=race_on)
    web_server.script(
        "/race",
        {"delay": SLOW} if race_on == "headers" else {"chunks": [b"primary"], "body_delay": SLOW},
        {"chunks": [b"he", b"dge"], "chunk_delay": 0.2},
    )

    async def scenario() -> bytes:
        timeout = aiohttp.ClientTimeout(total=1.0)
        async with (
            web_server,
            aiohttp.ClientSession(timeout=timeout, middlewares=[hedge_middleware(config)]) as session,
        ):
            body = await _read(session, web_server.url("/race"))
            if sys.version_info >= (3, 11):
                task = asyncio.current_task()
                assert task is not None
                assert task.cancelling() == 0
            await asyncio.sleep(1.2)  # past the request's deadline: nothing fires
            return body

    assert run(scenario) == b"hedge"


@pytest.mark.parametrize("race_on", ["headers", "first_byte"])
def test_caller_cancellation_cancels_every_attempt(
    web_server: Any, run: Any, make_config: Any, race_on: str
) -> None:
    config = make_config(race_on=race_on)
    hang = {"delay": SLOW} if race_on == "headers" else {"chunks": [b"x"], "body_delay": SLOW}
    web_server.script("/stuck", hang, hang)

    async def scenario() -> bool:
        async with web_server, aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            task = asyncio.ensure_future(_read(session, web_server.url("/stuck")))
            assert await web_server.wait_for(lambda s: len(s.to("/stuck")) == 2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await web_server.wait_for(lambda s: all(seen.cancelled for seen in s.to("/stuck")))

    assert run(scenario)
    assert config.stats.snapshot().cancelled_requests == 1


def test_raise_for_status_judges_the_winner_once(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    web_server.script("/recovers", {"status": 503}, {"body": b"fine"})
    web_server.script("/down", {"status": 503}, {"status": 502})

    async def scenario() -> tuple[bytes, int]:
        async with (
            web_server,
            aiohttp.ClientSession(raise_for_status=True, middlewares=[hedge_middleware(config)]) as session,
        ):
            recovered = await _read(session, web_server.url("/recovers"))
            with pytest.raises(aiohttp.ClientResponseError) as failure:
                await _read(session, web_server.url("/down"))
            return recovered, failure.value.status

    # Every attempt failing: the caller gets the primary's outcome, raised as aiohttp raises it.
    assert run(scenario) == (b"fine", 503)


def test_each_redirect_hop_is_its_own_race(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/old", {"status": 302, "headers": {"location": "/new"}, "body": b""})
    web_server.script("/new", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})

    async def scenario() -> tuple[bytes, int]:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session,
            session.get(web_server.url("/old")) as response,
        ):
            return await response.read(), len(response.history)

    assert run(scenario) == (b"hedge", 1)
    assert (len(web_server.to("/old")), len(web_server.to("/new"))) == (1, 2)


def test_winner_cookies_are_stored(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script(
        "/login",
        {"delay": SLOW, "headers": {"set-cookie": "who=primary"}},
        {"headers": {"set-cookie": "who=hedge"}},
    )

    async def scenario() -> list[str]:
        # unsafe=True: aiohttp keeps no cookies of IP-address hosts otherwise.
        jar = aiohttp.CookieJar(unsafe=True)
        async with (
            web_server,
            aiohttp.ClientSession(cookie_jar=jar, middlewares=[hedge_middleware(config)]) as session,
        ):
            await _read(session, web_server.url("/login"))
            return [cookie.value for cookie in session.cookie_jar if cookie.key == "who"]

    assert run(scenario) == ["hedge"]


def test_middlewares_before_it_see_one_request_and_the_winner(
    web_server: Any, run: Any, make_config: Any
) -> None:
    config = make_config()
    web_server.script("/race", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})
    calls: list[str] = []

    async def recorder(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        calls.append(request.method)
        response: aiohttp.ClientResponse = await handler(request)
        calls.append(response.headers.get("content-length", ""))
        return response

    async def scenario() -> bytes:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[recorder, hedge_middleware(config)]) as session,
        ):
            return await _read(session, web_server.url("/race"))

    assert run(scenario) == b"hedge"
    assert calls == ["GET", str(len(b"hedge"))]


def test_websocket_upgrades_are_never_hedged(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/ws", {"delay": 0.3, "websocket": True})

    async def scenario() -> str:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session,
            session.ws_connect(web_server.url("/ws")) as ws,
        ):
            return await ws.receive_str()

    assert run(scenario) == "hello"
    assert len(web_server.to("/ws")) == 1


def test_retry_after_longer_than_max_delay_stops_hedging(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config(min_delay=0.05, max_delay=1.0)
    web_server.script("/busy", {"status": 503, "headers": {"retry-after": "120"}, "body": b"later"})

    async def scenario() -> tuple[int, bytes]:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session,
            session.get(web_server.url("/busy")) as response,
        ):
            return response.status, await response.read()

    assert run(scenario) == (503, b"later")
    assert len(web_server.to("/busy")) == 1


def test_one_middleware_shared_by_two_sessions_shares_its_estimates(
    web_server: Any, run: Any, make_config: Any
) -> None:
    middleware = hedge_middleware(make_config())

    async def scenario() -> None:
        async with web_server:
            for _ in range(2):
                async with aiohttp.ClientSession(middlewares=[middleware]) as session:
                    await _read(session, web_server.url("/shared"))

    run(scenario)
    assert isinstance(middleware, HedgeMiddleware)
    assert middleware.stats.snapshot().total_requests == 2
    assert list(middleware.stats.keys()) == [web_server.origin]


def test_constructor_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="config must be a hedge.HedgeConfig"):
        hedge_middleware({"percentile": 0.9})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="classifier must be a hedge.Classifier"):
        hedge_middleware(classifier=object())  # type: ignore[arg-type]
    assert "HedgeMiddleware(config=HedgeConfig(" in repr(hedge_middleware())


async def _read(session: aiohttp.ClientSession, url: str, **kwargs: Any) -> bytes:
    async with session.get(url, **kwargs) as response:
        return await response.read()
