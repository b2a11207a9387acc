"""The tornado seam: aborting a fetch that tornado itself cannot cancel."""

from __future__ import annotations

import asyncio
import socket

from tornado.httpclient import HTTPRequest
from tornado.netutil import Resolver

from hedge.testing import Reply, ScriptedServer
from hedge_tornado import HedgedTornadoClient
from hedge_tornado._abortable import EXCHANGE, AbortableHTTPClient, exchange_of
from hedge_tornado._exchange import Exchange

from .conftest import fixed_config


async def test_abort_before_the_connection_runs_opens_none(server: ScriptedServer) -> None:
    http = AbortableHTTPClient(force_instance=True, max_clients=1)
    try:
        exchange = Exchange(http, HTTPRequest(server.url_for("/never")), False, None, set())
        exchange.start()
        assert exchange.connection is not None  # the connection exists; its run() is scheduled
        assert len(http.active) == 1
        exchange.abort()
        assert len(http.active) == 0  # the slot is free at once
        await asyncio.sleep(0.2)
        assert server.total_connections == 0
        assert exchange.response is None and not exchange.ready.done()
    finally:
        http.close()


async def test_abort_is_idempotent_and_late_callbacks_are_ignored(server: ScriptedServer) -> None:
    server.script("/slow", Reply(delay=30.0))
    http = AbortableHTTPClient(force_instance=True)
    inflight: set[Exchange] = set()
    try:
        exchange = Exchange(http, HTTPRequest(server.url_for("/slow")), False, None, inflight)
        exchange.start()
        assert inflight == {exchange}
        assert await server.wait_until_async(lambda s: len(s.requests_to("/slow")) == 1)
        exchange.abort()
        exchange.abort()
        assert inflight == set()
        assert server.wait_until(lambda s: s.disconnects == 1)
        await asyncio.sleep(0.05)  # the abandoned 599 has reached the exchange by now
        assert exchange.response is None
        # The request copy no longer points at the exchange: no reference cycle.
        assert getattr(exchange.request, EXCHANGE) is None
        assert exchange_of(exchange.request) is None
    finally:
        http.close()


async def test_abort_after_the_answer_is_a_no_op(server: ScriptedServer) -> None:
    server.script("/done", Reply(body=b"done"))
    http = AbortableHTTPClient(force_instance=True)
    try:
        exchange = Exchange(http, HTTPRequest(server.url_for("/done")), False, None, set())
        exchange.start()
        response = await exchange.finish()
        exchange.abort()
        assert exchange.response is response
        assert response.body == b"done"
    finally:
        http.close()


class GatedResolver(Resolver):
    """Resolves only when told to, and then fails."""

    def initialize(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC) -> list:  # type: ignore[type-arg]
        self.asked.set()
        await self.release.wait()
        raise OSError("name resolution failed after the attempt was abandoned")


async def test_a_failure_after_an_abort_is_silent() -> None:
    # Tornado cannot interrupt a connect in progress; when it fails later, the
    # failure must not surface as an unhandled error (the log guard checks).
    resolver = GatedResolver()
    async with HedgedTornadoClient(fixed_config(), resolver=resolver) as client:
        task = asyncio.ensure_future(client.fetch("http://resolver.invalid/", hedge=False))
        await asyncio.wait_for(resolver.asked.wait(), 10.0)
        http = client._http
        assert http is not None and len(http.active) == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert len(http.active) == 0
        resolver.release.set()
        await asyncio.sleep(0.05)


async def test_a_reset_in_the_middle_of_the_body_fails_the_fetch_at_once(server: ScriptedServer) -> None:
    # Tornado itself logs this reset and leaves the request to its
    # request_timeout (6.0 and 6.1 raise their private _QuietException).
    server.script("/torn", *[Reply(body=b"0123456789" * 100, fault="reset_mid_body")] * 2)
    async with HedgedTornadoClient(fixed_config()) as client:
        try:
            await client.fetch(server.url_for("/torn"), request_timeout=5.0)
        except ConnectionResetError:
            pass
        else:
            raise AssertionError("the reset was not raised")
    assert server.wait_until(lambda s: s.open_connections == 0)
