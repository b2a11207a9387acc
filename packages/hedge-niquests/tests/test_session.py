"""The hedged sessions against a real aiohttp.web server: niquests' behaviour, hedged."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import niquests
import pytest
from niquests.adapters import AsyncHTTPAdapter, HTTPAdapter

from hedge import HedgeConfig, Hedger, Stats
from hedge_niquests import (
    HEDGE_HEADER,
    AsyncHedgedHTTPAdapter,
    HedgedHTTPAdapter,
    HedgedNiquestsSession,
    HedgedNiquestsSyncSession,
)

if TYPE_CHECKING:
    from conftest import RealServer

ATTEMPT = "x-hedge-attempt"  # the header the test server tells attempts apart by
DELAY = 0.05
CALM = 0.5  # the hedge delay of tests in which no hedge may be sent (a busy machine stays under it)


def config(delay: float = DELAY, **changes: Any) -> HedgeConfig:
    """A fixed hedge delay, an ample budget, hedges marked for the server, own stats."""
    settings: dict[str, Any] = {
        "min_delay": delay,
        "max_delay": delay,
        "warmup_delay": delay,
        "budget_percent": 100.0,
        "attempt_header": ATTEMPT,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


def no_leaks(caught: list[warnings.WarningMessage]) -> list[str]:
    gc.collect()
    return [str(w.message) for w in caught]


def open_sockets() -> int:
    """Socket descriptors this process holds (the server's, on its own thread, included)."""
    descriptors = Path("/proc/self/fd")
    if not descriptors.is_dir():
        pytest.skip("counting descriptors needs /proc (Linux)")
    count = 0
    for entry in descriptors.iterdir():
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone by now
            count += os.readlink(entry).startswith("socket:")
    return count


# -- connections: losers closed, pools returned, nothing left open -------------------------


def test_async_races_leave_no_connection_open(real_server: RealServer) -> None:
    races = 15

    async def main() -> tuple[list[bytes], int]:
        async with HedgedNiquestsSession(config=config()) as session:
            bodies = [(await session.get(real_server.url_for("/race"))).content or b"" for _ in range(races)]
            # Losers were cut off on the wire: the server saw every primary leave
            # (waited for on a thread: the loop closes what was cut off).
            left = await asyncio.to_thread(
                real_server.wait_until, lambda s: sum(x.left for x in s.to("/race")) == races
            )
            assert left
            return bodies, real_server.open_connections

    sockets_before = open_sockets()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bodies, open_at_rest = asyncio.run(main())
        assert no_leaks(caught) == []
    assert bodies == [b"hedge-1"] * races
    # At rest only pooled keep-alive connections remain, never one per race.
    assert open_at_rest <= 2
    assert real_server.wait_until(lambda s: s.open_connections == 0)
    assert not any(s.answered for s in real_server.to("/race") if s.attempt is None)
    # The client holds no descriptor of a cut-off loser either (the server's side is closed).
    assert open_sockets() <= sockets_before


def test_sync_races_leave_no_connection_open(real_server: RealServer) -> None:
    races = 15
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with HedgedNiquestsSyncSession(config=config()) as session:
            bodies = [session.get(real_server.url_for("/race")).content for _ in range(races)]
            # The sync losers were aborted (their sockets shut down), not left to run.
            assert real_server.wait_until(lambda s: sum(x.left for x in s.to("/race")) == races)
            open_at_rest = real_server.open_connections
            assert session.stats.snapshot().hedge_wins == races
        assert no_leaks(caught) == []
    assert bodies == [b"hedge-1"] * races
    assert open_at_rest <= 2
    assert real_server.wait_until(lambda s: s.open_connections == 0)


def test_simultaneous_finish_closes_the_loser_and_keeps_only_its_cookie(real_server: RealServer) -> None:
    async def main() -> tuple[bytes, str | None]:
        async with HedgedNiquestsSession(config=config()) as session:
            response = await session.get(real_server.url_for("/cookie?gate=2"))
            return response.content or b"", session.cookies.get("who")

    body, cookie = asyncio.run(main())
    assert len(real_server.to("/cookie")) == 2
    # The cookie jar holds the winner's cookie only, never the loser's.
    assert cookie == body.decode()
    assert real_server.wait_until(lambda s: s.open_connections == 0)


# -- the race signal: headers (or the first chunk), never the whole body ---------------------


@pytest.mark.parametrize("stream", [False, True])
def test_race_is_decided_on_headers_not_on_the_body(real_server: RealServer, stream: bool) -> None:
    # Headers at once, body after three hedge delays: racing on the body would send a hedge.
    async def main() -> bytes:
        async with HedgedNiquestsSession(config=config(CALM)) as session:
            response = await session.get(real_server.url_for("/slow-body?delay=1.5"), stream=stream)
            if stream:
                return b"".join([chunk async for chunk in await response.iter_content(-1)])
            return response.content or b""

    assert asyncio.run(main()) == b"the whole body"
    assert len(real_server.to("/slow-body")) == 1


def test_sync_race_is_decided_on_headers_not_on_the_body(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config(CALM)) as session:
        response = session.get(real_server.url_for("/slow-body?delay=1.5"))
        assert response.content == b"the whole body"
        assert session.stats.snapshot().hedges_sent == 0
    assert len(real_server.to("/slow-body")) == 1


def test_stream_true_hands_back_an_unread_body(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config()) as session:
        response = session.get(real_server.url_for("/race"), stream=True)
        # The hedge won on its headers; its body is still the caller's to read.
        assert response.raw is not None and not response._content_consumed
        assert list(response.iter_content(-1)) == [b"hedge-1"]


@pytest.mark.parametrize("race_on", ["headers", "first_byte"])
def test_first_byte_mode_races_streams_on_their_first_chunk(real_server: RealServer, race_on: str) -> None:
    # The primary's headers come at once, its first chunk after three hedge delays.
    async def main() -> list[bytes]:
        async with HedgedNiquestsSession(config=config(CALM, race_on=race_on)) as session:
            response = await session.get(real_server.url_for("/sse?slow=1.5&chunks=1"), stream=True)
            return [line async for line in response.iter_lines() if line]

    lines = asyncio.run(main())
    if race_on == "first_byte":
        assert lines == [b"data: hedge-1", b"data: 0"]
        assert len(real_server.to("/sse")) == 2
    else:
        assert lines == [b"data: primary", b"data: 0"]
        assert len(real_server.to("/sse")) == 1


# -- eligibility and overrides ---------------------------------------------------------------


def test_override_header_is_consumed_never_sent(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config()) as session:
        off = session.get(real_server.url_for("/race?slow=0.3"), headers={HEDGE_HEADER: "false"})
        on = session.post(real_server.url_for("/echo?slow=5"), data=b"payload", headers={HEDGE_HEADER: "1"})
    assert off.content == b"primary"
    assert len(real_server.to("/race")) == 1
    assert on.content == b"payload"
    assert [s.attempt for s in real_server.to("/echo")] == [None, "1"]
    assert all(HEDGE_HEADER.lower() not in {k.lower() for k in s.headers} for s in real_server.seen)


def test_bad_override_value_is_rejected_before_sending(real_server: RealServer) -> None:
    with (
        HedgedNiquestsSyncSession(config=config()) as session,
        pytest.raises(ValueError, match="X-Hedge request header must be true or false"),
    ):
        session.get(real_server.url_for("/race"), headers={HEDGE_HEADER: "maybe"})
    assert real_server.seen == []


def test_idempotency_key_lets_a_write_be_hedged(real_server: RealServer) -> None:
    cfg = config(idempotency_key_header="Idempotency-Key")
    with HedgedNiquestsSyncSession(config=cfg) as session:
        plain = session.post(real_server.url_for("/echo?slow=0.2"), data=b"once")
        keyed = session.post(
            real_server.url_for("/echo?slow=5"), json={"pay": 1}, headers={"Idempotency-Key": "k-1"}
        )
    assert plain.content == b"once"
    assert keyed.json() == {"pay": 1}
    assert [(s.attempt, s.body) for s in real_server.to("/echo")] == [
        (None, b"once"),
        (None, b'{"pay": 1}'),
        ("1", b'{"pay": 1}'),
    ]


@pytest.mark.parametrize(
    ("kwargs", "sent"),
    [
        ({"data": {"a": "1", "b": "2"}}, b"a=1&b=2"),
        ({"json": [1, 2]}, b"[1, 2]"),
        ({"data": "text body"}, b"text body"),
    ],
)
def test_prepared_bodies_are_replayed(real_server: RealServer, kwargs: dict[str, Any], sent: bytes) -> None:
    with HedgedNiquestsSyncSession(config=config()) as session:
        response = session.put(real_server.url_for("/echo?slow=5"), headers={HEDGE_HEADER: "true"}, **kwargs)
    assert response.content == sent
    assert [s.body for s in real_server.to("/echo")] == [sent, sent]


def test_multipart_files_are_replayed(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config()) as session:
        response = session.post(
            real_server.url_for("/echo?slow=5"),
            files={"upload": ("a.txt", b"file content")},
            headers={HEDGE_HEADER: "true"},
        )
    first, second = real_server.to("/echo")
    assert first.body == second.body == response.content
    assert b"file content" in first.body


def test_generator_and_file_bodies_are_sent_once(real_server: RealServer, tmp_path: Any) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"from a file")
    with HedgedNiquestsSyncSession(config=config()) as session:
        generated = session.put(
            real_server.url_for("/echo?slow=0.2"), data=iter([b"gen", b"erated"]), headers={HEDGE_HEADER: "1"}
        )
        with path.open("rb") as handle:
            from_file = session.put(
                real_server.url_for("/echo?slow=0.2"), data=handle, headers={HEDGE_HEADER: "1"}
            )
        snapshot = session.stats.snapshot()
    assert (generated.content, from_file.content) == (b"generated", b"from a file")
    assert [s.attempt for s in real_server.to("/echo")] == [None, None]
    assert (snapshot.passthrough_requests, snapshot.hedges_sent) == (2, 0)


# -- failures: retryable ones do not win; the primary's outcome when all fail ----------------


def test_every_attempt_failing_returns_the_primary_response(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config()) as session:
        response = session.get(real_server.url_for("/status/503"))
        assert session.stats.snapshot().errors == 1
    # The caller gets niquests' own 503 response; raising is the caller's choice.
    assert (response.status_code, response.content) == (503, b"primary 503")
    with pytest.raises(niquests.exceptions.HTTPError, match="503 Server Error"):
        response.raise_for_status()
    assert [s.attempt for s in real_server.to("/status/503")] == [None, "1"]


def test_a_client_error_wins_at_once(real_server: RealServer) -> None:
    async def main() -> niquests.Response:
        async with HedgedNiquestsSession(config=config(CALM)) as session:
            return await session.get(real_server.url_for("/status/404"))

    response = asyncio.run(main())
    assert response.status_code == 404
    assert len(real_server.to("/status/404")) == 1


# -- niquests features kept: base_url, hooks, redirects, conn_info, cookies ------------------


def test_base_url_requests_are_keyed_by_target(real_server: RealServer) -> None:
    async def main() -> list[str]:
        async with HedgedNiquestsSession(config=config(), base_url=real_server.url) as session:
            for user in range(3):
                response = await session.get(f"/status/200?user={user}")
                assert response.status_code == 200
            return list(session.stats.keys())

    assert asyncio.run(main()) == [real_server.url]


def test_endpoint_keys_ignore_the_query(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config(key_level="endpoint"), base_url=real_server.url) as session:
        session.get("/status/200?a=1")
        session.get("/status/200?a=2")
        session.get("/status/201")
        keys = sorted(session.stats.keys())
    assert keys == [real_server.url + "/status/200", real_server.url + "/status/201"]


def test_each_redirect_hop_is_raced_and_hooks_see_one_response(real_server: RealServer) -> None:
    seen: list[int] = []

    def hook(response: niquests.Response, **_: Any) -> niquests.Response:
        seen.append(response.status_code or 0)
        return response

    with HedgedNiquestsSyncSession(config=config()) as session:
        session.hooks["response"].append(hook)
        response = session.get(real_server.url_for("/redirect"))
        snapshot = session.stats.snapshot()
    assert response.content == b"hedge-1"
    assert [r.status_code for r in response.history] == [302]
    # One race per hop, each won by its hedge; the hook ran once per hop.
    assert (snapshot.total_requests, snapshot.hedge_wins) == (2, 2)
    assert seen == [302, 200]


def test_a_hedge_winner_carries_its_connection_info(real_server: RealServer) -> None:
    async def main() -> niquests.Response:
        async with HedgedNiquestsSession(config=config()) as session:
            return await session.get(real_server.url_for("/race"))

    response = asyncio.run(main())
    assert response.content == b"hedge-1"
    assert response.conn_info is not None
    assert response.conn_info.destination_address == ("127.0.0.1", real_server.port)


def test_multiplexed_sessions_pass_requests_through(real_server: RealServer) -> None:
    with HedgedNiquestsSyncSession(config=config(), multiplexed=True) as session:
        responses = [session.get(real_server.url_for("/race?slow=0.2")) for _ in range(2)]
        session.gather()
        snapshot = session.stats.snapshot()
    assert [r.content for r in responses] == [b"primary", b"primary"]
    assert (snapshot.passthrough_requests, snapshot.total_requests) == (2, 0)


# -- mounting ---------------------------------------------------------------------------------


def test_sessions_wrap_every_http_adapter_they_mount() -> None:
    session = HedgedNiquestsSyncSession()
    try:
        custom = HTTPAdapter(pool_maxsize=3)
        session.mount("https://api.example.com/", custom)
        wrapped = session.adapters["https://api.example.com/"]
        assert isinstance(wrapped, HedgedHTTPAdapter)
        assert wrapped.adapter is custom
        assert wrapped.hedger is session.hedger
        assert isinstance(session.adapters["http://"], HedgedHTTPAdapter)
        # Other schemes (http+unix://, mounted apps) are left alone.
        session.mount("wsgi://default", HTTPAdapter())
        assert type(session.adapters["wsgi://default"]) is HTTPAdapter
    finally:
        session.close()


def test_async_session_shares_one_engine() -> None:
    async def main() -> None:
        engine = Hedger(config())
        async with HedgedNiquestsSession(hedger=engine) as session:
            https = session.adapters["https://"]
            http = session.adapters["http://"]
            assert isinstance(https, AsyncHedgedHTTPAdapter) and isinstance(http, AsyncHedgedHTTPAdapter)
            assert https.hedger is http.hedger is session.hedger is engine
            assert isinstance(https.adapter, AsyncHTTPAdapter)
            assert session.stats is engine.stats
            assert session.config is engine.config

    asyncio.run(main())


def test_seed_import_path_resolves() -> None:
    from hedge.transport import HedgedNiquestsSession as Seed

    assert Seed is HedgedNiquestsSession


@pytest.mark.parametrize("cls", [HedgedNiquestsSession, HedgedNiquestsSyncSession])
def test_bad_arguments_fail_at_the_boundary(cls: Any) -> None:
    with pytest.raises(TypeError, match="config must be a hedge.HedgeConfig"):
        cls(config={"percentile": 0.9})
    with pytest.raises(TypeError, match="pass config or hedger, not both"):
        cls(config=HedgeConfig(), hedger=Hedger())
    with pytest.raises(TypeError, match="classifier must be a hedge.Classifier"):
        cls(classifier=object())
