"""HedgedTornadoClient against a real tornado.web.Application on 127.0.0.1.

The server counts the connections it accepted and has open, and each
handler records whether its client hung up. The client's slots are read
from the state tornado's SimpleAsyncHTTPClient keeps for ``max_clients``:
``active`` (requests holding a slot) and ``queue`` (requests waiting for one).
"""

from __future__ import annotations

import asyncio

from tornado.httpclient import HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from hedge_tornado import HedgedTornadoClient

from .conftest import TornadoApp, fixed_config, slots

ATTEMPT_HEADER = "x-hedge-attempt"


async def test_hedge_wins_and_the_primary_is_aborted_on_the_wire(tornado_app: TornadoApp) -> None:
    config = fixed_config(attempt_header=ATTEMPT_HEADER)
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(tornado_app.url("/primary-slow"))
        assert (response.code, response.body) == (200, b"answer 1")
        # Aborted before fetch() returned: no slot held, nothing queued.
        assert slots(client) == (0, 0)
    assert await tornado_app.wait_until(lambda: "/primary-slow#0" in tornado_app.log.disconnected)
    assert tornado_app.log.arrived == ["/primary-slow#0", "/primary-slow#1"]
    assert tornado_app.log.answered == ["/primary-slow#1"]
    assert await tornado_app.wait_until(lambda: tornado_app.server.open_connections == 0)
    assert tornado_app.server.total_connections == 2
    snapshot = config.stats.snapshot()  # type: ignore[union-attr]
    assert (snapshot.hedges_sent, snapshot.hedge_wins) == (1, 1)


async def test_losers_slot_is_free_at_once(tornado_app: TornadoApp) -> None:
    # Two slots: the primary holds one, the hedge the other. If the loser kept
    # its slot, of the two requests that follow (each answered only when both
    # are in the server) the second would wait in tornado's queue forever.
    config = fixed_config(attempt_header=ATTEMPT_HEADER)
    async with HedgedTornadoClient(config, max_clients=2) as client:
        response = await client.fetch(tornado_app.url("/primary-slow"))
        assert response.body == b"answer 1"
        assert slots(client) == (0, 0)
        first = asyncio.ensure_future(client.fetch(tornado_app.url("/pair"), hedge=False))
        second = asyncio.ensure_future(client.fetch(tornado_app.url("/pair"), hedge=False))
        await asyncio.sleep(0)
        assert slots(client) == (2, 0)  # both started at once: two free slots
        bodies = [r.body for r in await asyncio.gather(first, second)]
        assert bodies == [b"paired", b"paired"]
        assert slots(client) == (0, 0)
    assert await tornado_app.wait_until(lambda: tornado_app.server.open_connections == 0)
    # The primary, the hedge, and the pair: one connection each.
    assert tornado_app.server.total_connections == 4


async def test_bare_tornado_keeps_a_cancelled_fetch_in_its_slot(tornado_app: TornadoApp) -> None:
    # The defect this adapter exists to avoid, shown on tornado itself: a
    # cancelled fetch() keeps running, holding its max_clients slot.
    http = SimpleAsyncHTTPClient(force_instance=True, max_clients=1)
    try:
        fetch = http.fetch(tornado_app.url("/slow"), raise_error=False)
        assert await tornado_app.wait_until(lambda: tornado_app.log.arrived == ["/slow#0"])
        fetch.cancel()
        await asyncio.sleep(0.05)
        assert (len(http.active), len(http.queue)) == (1, 0)
        queued = http.fetch(tornado_app.url("/fast"), raise_error=False)
        await asyncio.sleep(0.05)
        assert (len(http.active), len(http.queue)) == (1, 1)
        assert tornado_app.log.disconnected == []
        # The queued request runs only once the abandoned one has run to its end.
        assert (await queued).code == 200
        assert tornado_app.log.answered == ["/slow#0", "/fast#0"]
    finally:
        http.close()


async def test_caller_timeout_aborts_both_attempts_and_frees_their_slots(tornado_app: TornadoApp) -> None:
    config = fixed_config(attempt_header=ATTEMPT_HEADER)
    async with HedgedTornadoClient(config, max_clients=2) as client:
        task = asyncio.ensure_future(client.fetch(tornado_app.url("/hang")))
        assert await tornado_app.wait_until(lambda: len(tornado_app.log.arrived) == 2)
        assert slots(client) == (2, 0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert slots(client) == (0, 0)
    assert await tornado_app.wait_until(lambda: len(tornado_app.log.disconnected) == 2)
    assert await tornado_app.wait_until(lambda: tornado_app.server.open_connections == 0)
    assert config.stats.snapshot().cancelled_requests == 1  # type: ignore[union-attr]


async def test_a_hedge_waiting_for_a_slot_is_dropped_with_its_race(tornado_app: TornadoApp) -> None:
    # One slot: the primary holds it, the hedge waits in tornado's queue.
    # Cancelling the fetch removes the queued hedge, which is never sent.
    config = fixed_config(attempt_header=ATTEMPT_HEADER)
    async with HedgedTornadoClient(config, max_clients=1) as client:
        task = asyncio.ensure_future(client.fetch(tornado_app.url("/hang")))
        assert await tornado_app.wait_until(lambda: client._http is not None and len(client._http.queue) == 1)
        http = client._http
        assert http is not None
        assert len(http.waiting) == 1  # the queued hedge's queue timeout
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert (len(http.active), len(http.queue), len(http.waiting)) == (0, 0, 0)
    assert await tornado_app.wait_until(lambda: tornado_app.log.disconnected == ["/hang#0"])
    assert tornado_app.log.arrived == ["/hang#0"]
    assert tornado_app.server.total_connections == 1


async def test_streaming_first_byte_race_delivers_the_winner_only(tornado_app: TornadoApp) -> None:
    # Both attempts send their headers at once; only the hedge sends a body.
    config = fixed_config(attempt_header=ATTEMPT_HEADER, race_on="first_byte")
    chunks: list[bytes] = []
    lines: list[str] = []
    request = HTTPRequest(
        tornado_app.url("/primary-stalls-body"),
        streaming_callback=chunks.append,
        header_callback=lines.append,
    )
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(request)
    assert response.code == 200
    assert response.request is request
    assert b"".join(chunks) == b"data: 1.0\n\ndata: 1.1\n\ndata: 1.2\n\n"
    assert lines[0].startswith("HTTP/1.1 200")
    assert lines[-1] == "\r\n"
    assert sum(1 for line in lines if line.startswith("HTTP/")) == 1  # the loser's lines never arrive
    assert await tornado_app.wait_until(lambda: "/primary-stalls-body#0" in tornado_app.log.disconnected)


async def test_headers_race_does_not_hedge_a_stream_whose_headers_came_first(tornado_app: TornadoApp) -> None:
    # race_on="headers" (default): the primary's headers arrive at once, so it
    # wins and no hedge is sent, even though its body then stalls.
    config = fixed_config(attempt_header=ATTEMPT_HEADER, min_delay=1.0, max_delay=1.0, warmup_delay=1.0)
    async with HedgedTornadoClient(config) as client:
        task = asyncio.ensure_future(
            client.fetch(tornado_app.url("/primary-stalls-body"), request_timeout=60)
        )
        await asyncio.sleep(1.5)  # past the hedge delay
        assert not task.done()  # the primary won on its headers and its body is stalled
        assert tornado_app.log.arrived == ["/primary-stalls-body#0"]  # so no hedge was sent
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert await tornado_app.wait_until(lambda: tornado_app.log.disconnected == ["/primary-stalls-body#0"])


async def test_an_interim_100_continue_does_not_decide_the_race(tornado_app: TornadoApp) -> None:
    # Both attempts get "100 Continue" at once; only the final response counts,
    # and the primary's never comes.
    config = fixed_config(attempt_header=ATTEMPT_HEADER)
    async with HedgedTornadoClient(config) as client:
        response = await client.fetch(
            tornado_app.url("/primary-slow"), method="POST", body=b"x", expect_100_continue=True, hedge=True
        )
    assert response.body == b"answer 1"
    assert tornado_app.log.arrived == ["/primary-slow#0", "/primary-slow#1"]
