"""The hedged adapters mounted on niquests' own sessions."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import niquests
import pytest
from niquests.adapters import AsyncHTTPAdapter, HTTPAdapter

from hedge import HedgeConfig, Hedger, Judgement, Stats, Verdict
from hedge.testing import Reply, ScriptedServer
from hedge_niquests import (
    AsyncHedgedHTTPAdapter,
    HedgedHTTPAdapter,
    HedgedNiquestsSession,
    NiquestsClassifier,
)
from hedge_niquests._adapter import _recording, _recording_async


def config(**changes: Any) -> HedgeConfig:
    settings: dict[str, Any] = {
        "min_delay": 0.05,
        "max_delay": 0.05,
        "warmup_delay": 0.05,
        "budget_percent": 100.0,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


@pytest.fixture
def server() -> Any:
    with ScriptedServer() as running:
        yield running


def test_mounted_on_a_plain_session(server: ScriptedServer) -> None:
    server.script("/race", Reply(delay=5, body=b"primary"), Reply(body=b"hedge"))
    adapter = HedgedHTTPAdapter(config=config())
    with niquests.Session() as session:
        session.mount("http://", adapter)
        response = session.get(server.url_for("/race"))
        assert response.content == b"hedge"
        assert adapter.stats.snapshot().hedge_wins == 1
    assert server.wait_until(lambda s: s.open_connections == 0)


def test_mounted_on_a_plain_async_session(server: ScriptedServer) -> None:
    server.script("/race", Reply(delay=5, body=b"primary"), Reply(body=b"hedge"))
    stats = Stats()

    async def main() -> bytes:
        # niquests' async adapters are made inside a running loop (Python 3.9 needs one).
        adapter = AsyncHedgedHTTPAdapter(AsyncHTTPAdapter(pool_maxsize=4), config=config(stats=stats))
        async with niquests.AsyncSession() as session:
            session.mount("http://", adapter)
            response = await session.get(server.url_for("/race"))
            return response.content or b""

    assert asyncio.run(main()) == b"hedge"
    assert stats.snapshot().hedge_wins == 1
    assert server.wait_until(lambda s: s.open_connections == 0)


def test_only_some_prefixes_can_be_hedged(server: ScriptedServer) -> None:
    # Hedge one host's path, not the rest: mount the adapter on that prefix only.
    server.script("/api/x", Reply(delay=5), Reply(body=b"hedged"))
    server.script("/other", Reply(delay=0.2, body=b"plain"))
    with niquests.Session() as session:
        session.mount(server.url_for("/api/"), HedgedHTTPAdapter(config=config()))
        assert session.get(server.url_for("/api/x")).content == b"hedged"
        assert session.get(server.url_for("/other")).content == b"plain"
    assert len(server.requests_to("/other")) == 1


class FiveHundredIsRetryable(NiquestsClassifier):
    def classify_result(self, result: niquests.Response) -> Judgement:
        if result.status_code == 500:
            return Verdict.RETRY
        return super().classify_result(result)


def test_a_custom_classifier_changes_what_wins(server: ScriptedServer) -> None:
    server.script("/flaky", Reply(status=500, body=b"oops"), Reply(body=b"fine"))
    cfg = config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    with niquests.Session() as session:
        session.mount("http://", HedgedHTTPAdapter(config=cfg, classifier=FiveHundredIsRetryable()))
        response = session.get(server.url_for("/flaky"))
    assert (response.status_code, response.content) == (200, b"fine")
    # The first 500 was closed, not left holding its connection.
    assert server.wait_until(lambda s: s.open_connections == 0)


def test_closing_closes_the_wrapped_adapter(server: ScriptedServer) -> None:
    inner = HTTPAdapter()
    adapter = HedgedHTTPAdapter(inner, config=config())
    with niquests.Session() as session:
        session.mount("http://", adapter)
        session.get(server.url_for("/a"))
        assert server.open_connections == 1
    assert server.wait_until(lambda s: s.open_connections == 0)
    assert adapter.adapter is inner


def test_defaults_and_properties() -> None:
    adapter = HedgedHTTPAdapter()
    assert isinstance(adapter.adapter, HTTPAdapter)
    assert isinstance(adapter.classifier, NiquestsClassifier)
    assert adapter.config == HedgeConfig()
    assert adapter.stats is adapter.hedger.stats
    assert repr(adapter).startswith("<HedgedHTTPAdapter <")
    adapter.close()

    async def main() -> None:
        # niquests' async adapters are made inside a running loop (Python 3.9 needs one).
        async_adapter = AsyncHedgedHTTPAdapter()
        assert isinstance(async_adapter.adapter, AsyncHTTPAdapter)
        assert repr(async_adapter).startswith("<AsyncHedgedHTTPAdapter <")
        await async_adapter.close()

    asyncio.run(main())


def test_revocation_caches_reach_the_wrapped_adapter() -> None:
    adapter = HedgedHTTPAdapter()
    cache, crl = object(), object()
    adapter._ocsp_cache = cache
    adapter._crl_cache = crl
    assert adapter.adapter._ocsp_cache is cache and adapter._ocsp_cache is cache
    assert adapter.adapter._crl_cache is crl and adapter._crl_cache is crl
    adapter.close()


def test_wrong_arguments_are_rejected() -> None:
    with pytest.raises(TypeError, match=r"niquests.adapters.AsyncBaseAdapter .*HedgedHTTPAdapter"):
        AsyncHedgedHTTPAdapter(HTTPAdapter())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hedger must be a hedge.Hedger"):
        HedgedHTTPAdapter(hedger=HedgeConfig())  # type: ignore[arg-type]
    # Checked before the default adapter (and its pool) is made.
    with pytest.raises(TypeError, match="pass config or hedger, not both"):
        AsyncHedgedHTTPAdapter(config=HedgeConfig(), hedger=Hedger())
    with pytest.raises(TypeError, match="classifier must be a hedge.Classifier"):
        AsyncHedgedHTTPAdapter(classifier=object())  # type: ignore[arg-type]

    async def main() -> None:
        inner = AsyncHTTPAdapter()
        with pytest.raises(TypeError, match=r"niquests.adapters.BaseAdapter .*AsyncHedgedHTTPAdapter"):
            HedgedHTTPAdapter(inner)  # type: ignore[arg-type]
        await inner.close()

    asyncio.run(main())


def test_connection_callbacks_keep_niquests_identity() -> None:
    # urllib3-future recognises niquests' callbacks by module to pick its TLS defaults.
    async def async_callback(conn_info: object) -> None:
        return None

    def callback(conn_info: object) -> None:
        return None

    for original, wrap in ((callback, _recording), (async_callback, _recording_async)):
        original.__module__ = "niquests.sessions"
        wrapped = wrap(niquests.PreparedRequest(), original)
        assert (wrapped.__module__, wrapped.__name__) == ("niquests.sessions", original.__name__)


def test_a_hedge_records_its_connection_on_its_own_request() -> None:
    prepared = niquests.PreparedRequest()
    seen: list[object] = []
    info = object()
    _recording(prepared, seen.append)(info)
    assert prepared.conn_info is info
    assert seen == [info]


def test_a_cancelled_exchange_is_cut_off_and_awaited_on_close(server: ScriptedServer) -> None:
    # A POST is not hedged, but a caller's cancellation takes the same path as a loser's.
    server.script("/hang", Reply(fault="hang"))

    async def main() -> tuple[bool, int, int]:
        async with niquests.AsyncSession() as session:
            adapter = AsyncHedgedHTTPAdapter(config=config())
            session.mount("http://", adapter)
            task = asyncio.ensure_future(session.post(server.url_for("/hang"), data=b"x"))
            assert await server.wait_until_async(lambda s: len(s.requests_to("/hang")) == 1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            # The exchange was cut off on the wire, not cancelled inside niquests.
            assert await server.wait_until_async(lambda s: s.disconnects == 1)
            abandoned = len(adapter._pending)
        # Closing the session waited for it; nothing is left running.
        others = {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}
        return task.cancelled(), abandoned + len(adapter._pending), len(others)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cancelled, pending, others = asyncio.run(main())
        gc.collect()
    assert cancelled
    assert (pending, others) <= (1, 0)
    assert [str(w.message) for w in caught] == []
    assert server.wait_until(lambda s: s.open_connections == 0)


def test_repeated_ties_leave_nothing_open(server: ScriptedServer) -> None:
    # Both attempts answered at once, again and again: each loser is released
    # at the instant its response completes, where a cancellation would leak.
    ties = 25

    async def main() -> list[bytes]:
        async with HedgedNiquestsSession(config=config()) as session:
            bodies = []
            for _ in range(ties):
                server.reset()  # the gate counts arrivals since the last reset
                server.script("/tie", Reply(gate=2, body=b"tie"), Reply(gate=2, body=b"tie"))
                bodies.append((await session.get(server.url_for("/tie"))).content or b"")
            return bodies

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(main()) == [b"tie"] * ties
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert server.wait_until(lambda s: s.open_connections == 0)
