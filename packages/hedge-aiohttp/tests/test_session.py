"""HedgedAiohttpSession: what aiohttp users write keeps working, hedged.

Against a real aiohttp.web server on 127.0.0.1; every scenario fails on any
warning (unclosed session, connection or response).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

import hedge.transport
from hedge_aiohttp import HedgedAiohttpSession, HedgeMiddleware, hedging

SLOW = 5.0


def _race(web_server: Any, path: str, count: int = 1) -> None:
    for _ in range(count):
        web_server.script(path, {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})


def test_both_request_forms_and_tasks(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    _race(web_server, "/race", 3)

    async def scenario() -> list[bytes]:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            response = await session.get(web_server.url("/race"))
            awaited = await response.read()
            response.release()
            async with session.get(web_server.url("/race")) as managed:
                entered = await managed.read()
            assert managed.closed
            # Like aiohttp's, the returned object is a coroutine: tasks can be made of it.
            task = asyncio.create_task(session.get(web_server.url("/race")))
            in_task = await task
            async with in_task:
                from_task = await in_task.read()
            return [awaited, entered, from_task]

    assert run(scenario) == [b"hedge"] * 3
    assert config.stats.snapshot().hedge_wins == 3


@pytest.mark.parametrize(
    ("method", "hedged"),
    [
        ("get", True),
        ("head", True),
        ("options", True),
        ("post", False),
        ("put", False),
        ("patch", False),
        ("delete", False),
    ],
)
def test_every_verb_method(web_server: Any, run: Any, make_config: Any, method: str, hedged: bool) -> None:
    config = make_config()
    web_server.script(
        "/verb",
        {"delay": SLOW if hedged else 0.3, "headers": {"x-who": "primary"}},
        {"headers": {"x-who": "hedge"}},
    )

    async def scenario() -> str:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            send = getattr(session, method)
            async with send(web_server.url("/verb")) as response:
                await response.read()
                return str(response.headers["x-who"])

    assert run(scenario) == ("hedge" if hedged else "primary")
    assert [seen.method for seen in web_server.to("/verb")] == [method.upper()] * (2 if hedged else 1)


def test_request_with_any_method(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    _race(web_server, "/any")

    async def scenario() -> bytes:
        async with (
            web_server,
            HedgedAiohttpSession(config=config) as session,
            session.request("get", web_server.url("/any")) as response,
        ):
            return await response.read()

    assert run(scenario) == b"hedge"
    assert len(web_server.to("/any")) == 2


def test_head_does_not_follow_redirects_by_default_get_does(
    web_server: Any, run: Any, make_config: Any
) -> None:
    config = make_config()
    for _ in range(2):
        web_server.script("/moved", {"status": 302, "headers": {"location": "/target"}, "body": b""})

    async def scenario() -> list[int]:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            async with session.head(web_server.url("/moved")) as head:
                pass
            async with session.get(web_server.url("/moved")) as get:
                await get.read()
            return [head.status, get.status]

    assert run(scenario) == [302, 200]


def test_base_url_headers_and_query_keys(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()

    async def scenario() -> None:
        async with (
            web_server,
            HedgedAiohttpSession(
                web_server.url("/v1/"), config=config, headers={"x-client": "tests"}
            ) as session,
        ):
            for page in range(5):
                async with session.get(
                    "users", params={"page": page}, headers={"x-page": str(page)}
                ) as response:
                    await response.read()

    run(scenario)
    # One key for the host, not one per path and query (hedge-python keyed "users?page=N").
    assert list(config.stats.keys()) == [web_server.origin]
    seen = web_server.to("/v1/users")
    assert [s.query for s in seen] == [f"page={page}" for page in range(5)]
    assert [(s.headers["x-client"], s.headers["x-page"]) for s in seen] == [
        ("tests", str(p)) for p in range(5)
    ]


def test_hedge_keyword_opts_out_and_in(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/out", {"delay": 0.3, "body": b"primary"})
    _race(web_server, "/in")

    async def scenario() -> list[bytes]:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            async with session.get(web_server.url("/out"), hedge=False) as out:
                first = await out.read()
            async with session.post(web_server.url("/in"), data=b"dedup", hedge=True) as opted_in:
                second = await opted_in.read()
            return [first, second]

    assert run(scenario) == [b"primary", b"hedge"]
    assert len(web_server.to("/out")) == 1
    assert [seen.body for seen in web_server.to("/in")] == [b"dedup", b"dedup"]


def test_hedge_keyword_wins_over_an_enclosing_block(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    _race(web_server, "/race")

    async def scenario() -> bytes:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            with hedging(False):
                async with session.get(web_server.url("/race"), hedge=True) as response:
                    return await response.read()

    assert run(scenario) == b"hedge"


def test_an_enclosing_block_applies_without_the_keyword(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/out", {"delay": 0.3, "body": b"primary"})

    async def scenario() -> bytes:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            with hedging(False):
                async with session.get(web_server.url("/out")) as response:
                    return await response.read()

    assert run(scenario) == b"primary"
    assert len(web_server.to("/out")) == 1


@pytest.mark.parametrize(("value", "error"), [(1, TypeError), ("maybe", ValueError)])
def test_a_bad_hedge_keyword_raises_at_the_call(run: Any, make_config: Any, value: Any, error: type) -> None:
    async def scenario() -> None:
        async with HedgedAiohttpSession(config=make_config()) as session:
            with pytest.raises(error, match="hedge override"):
                session.get("http://127.0.0.1:1/", hedge=value)

    run(scenario)


def test_per_request_middlewares_keep_hedging_last(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    _race(web_server, "/race")
    calls: list[str] = []

    async def recorder(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        calls.append(str(request.url.path))
        response: aiohttp.ClientResponse = await handler(request)
        return response

    async def scenario() -> bytes:
        async with (
            web_server,
            HedgedAiohttpSession(config=config) as session,
            session.get(web_server.url("/race"), middlewares=(recorder,)) as response,
        ):
            return await response.read()

    assert run(scenario) == b"hedge"
    assert calls == ["/race"]
    assert len(web_server.to("/race")) == 2


def test_session_middlewares_run_once_per_request(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    _race(web_server, "/race")
    calls: list[str] = []

    async def recorder(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        calls.append(request.method)
        response: aiohttp.ClientResponse = await handler(request)
        return response

    async def scenario() -> bytes:
        async with (
            web_server,
            HedgedAiohttpSession(config=config, middlewares=[recorder]) as session,
            session.get(web_server.url("/race")) as response,
        ):
            return await response.read()

    assert run(scenario) == b"hedge"
    assert calls == ["GET"]


def test_session_timeout_spans_every_attempt(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/late", {"delay": SLOW}, {"delay": SLOW})

    async def scenario() -> type[BaseException]:
        timeout = aiohttp.ClientTimeout(total=0.5)
        async with web_server, HedgedAiohttpSession(config=config, timeout=timeout) as session:
            assert session.timeout.total == 0.5
            try:
                async with session.get(web_server.url("/late")) as response:
                    await response.read()
            except asyncio.TimeoutError as exc:
                assert await web_server.wait_for(lambda s: all(seen.cancelled for seen in s.to("/late")))
                return type(exc)
            raise AssertionError("no timeout")

    assert issubclass(run(scenario), asyncio.TimeoutError)
    assert len(web_server.to("/late")) == 2


def test_per_request_timeout(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/late", {"delay": SLOW}, {"delay": SLOW})

    async def scenario() -> None:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            with pytest.raises(asyncio.TimeoutError):
                await session.get(web_server.url("/late"), timeout=aiohttp.ClientTimeout(total=0.5))

    run(scenario)
    assert len(web_server.to("/late")) == 2


def test_raise_for_status_and_cookies(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    web_server.script(
        "/login",
        {"status": 503, "headers": {"set-cookie": "who=primary"}},
        {"headers": {"set-cookie": "who=hedge"}},
    )
    web_server.script("/missing", {"status": 404})

    async def scenario() -> list[str]:
        async with (
            web_server,
            HedgedAiohttpSession(
                config=config, raise_for_status=True, cookie_jar=aiohttp.CookieJar(unsafe=True)
            ) as session,
        ):
            async with session.get(web_server.url("/login")) as response:
                await response.read()
            with pytest.raises(aiohttp.ClientResponseError) as missing:
                await session.get(web_server.url("/missing"))
            assert missing.value.status == 404
            return [cookie.value for cookie in session.cookie_jar if cookie.key == "who"]

    # The losing 503 was never the response: its cookie was not stored.
    assert run(scenario) == ["hedge"]


def test_websocket_connections_pass_through(web_server: Any, run: Any, make_config: Any) -> None:
    config = make_config()
    web_server.script("/ws", {"delay": 0.3, "websocket": True})

    async def scenario() -> str:
        async with (
            web_server,
            HedgedAiohttpSession(config=config) as session,
            session.ws_connect(web_server.url("/ws")) as ws,
        ):
            return await ws.receive_str()

    assert run(scenario) == "hello"
    assert len(web_server.to("/ws")) == 1


def test_session_attributes_and_lifecycle(run: Any, make_config: Any) -> None:
    config = make_config()

    async def scenario() -> None:
        connector = aiohttp.TCPConnector(limit=3)
        session = HedgedAiohttpSession(
            config=config,
            connector=connector,
            connector_owner=True,
            headers={"x-a": "1"},
            auto_decompress=False,
        )
        assert session.config is config
        assert session.stats is config.stats
        assert isinstance(session.middleware, HedgeMiddleware)
        assert isinstance(session.client_session, aiohttp.ClientSession)
        assert session.connector is connector
        assert session.connector_owner
        assert session.headers["x-a"] == "1"
        assert session.auto_decompress is False
        assert session.version == aiohttp.HttpVersion11
        assert session.trust_env is False
        assert session.raise_for_status is False
        assert session.auth is None
        assert session.trace_configs == []
        assert session.skip_auto_headers == frozenset()
        assert session.requote_redirect_url is True
        assert callable(session.json_serialize)
        assert session.cookie_jar is session.client_session.cookie_jar
        assert "closed=False" in repr(session)
        assert not session.closed
        await session.close()
        await session.close()
        assert session.closed
        assert session.client_session.closed

    run(scenario)


def test_detach_leaves_the_connector_open(run: Any, make_config: Any) -> None:
    async def scenario() -> None:
        connector = aiohttp.TCPConnector()
        session = HedgedAiohttpSession(config=make_config(), connector=connector)
        session.detach()
        await session.close()
        assert not connector.closed
        await connector.close()

    run(scenario)


def test_the_seed_import_path_resolves_to_this_class() -> None:
    assert hedge.transport.HedgedAiohttpSession is HedgedAiohttpSession


def test_bad_config_raises_before_any_session_exists(run: Any) -> None:
    async def scenario() -> None:
        with pytest.raises(TypeError, match="config must be a hedge.HedgeConfig"):
            HedgedAiohttpSession(config=0.9)  # type: ignore[arg-type]

    run(scenario)
