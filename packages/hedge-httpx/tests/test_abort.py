"""How far a losing synchronous attempt can be stopped (hedge_httpx._abort).

A thread blocked in a socket read cannot be interrupted, and httpx has no
call that aborts a request in flight. These tests pin down exactly what the
sync transport achieves through httpcore's public ``trace`` and
``network_stream`` extensions, and what it cannot do (a loser blocked on a
pooled connection it did not open runs to its end), so the documentation
stays honest.
"""

from __future__ import annotations

from typing import Any

from hedge.testing import Reply, ScriptedServer

# Longer than any scripted delay, so that only an abort can end a loser early
# (httpx's default 5 s read timeout would end it too).
LONG = 30.0


async def _ended(server: ScriptedServer, path: str, index: int, timeout: float) -> Any:
    """The ``index``-th request to ``path`` once it has ended either way.

    Awaited while the client is still open: closing the client would end
    the loser too, whether or not it had been aborted.
    """
    assert await server.wait_until_async(
        lambda s: (
            len(s.requests_to(path)) > index
            and (s.requests_to(path)[index].completed or s.requests_to(path)[index].disconnected)
        ),
        timeout=timeout,
    )
    return server.requests_to(path)[index]


def test_loser_on_a_connection_it_opened_is_cut_off(sync_kit: Any, server: ScriptedServer) -> None:
    server.script("/new", Reply(delay=sync_kit.slow, body=b"primary"), Reply(body=b"hedge"))

    async def main() -> Any:
        async with sync_kit.client(sync_kit.config(), timeout=LONG) as client:
            response = await client.request("GET", server.url_for("/new"))
            return response, await _ended(server, "/new", 0, sync_kit.slow + 10)

    response, primary = sync_kit.run(main)
    assert response.body == b"hedge"
    assert primary.disconnected and not primary.completed


def test_first_byte_loser_is_cut_off_on_a_pooled_connection(sync_kit: Any, server: ScriptedServer) -> None:
    server.script(
        "/tokens",
        Reply(),  # warms the pool: the primary below reuses this connection
        Reply(chunks=[b"data: late\n\n"], body_delay=sync_kit.slow),
        Reply(chunks=[b"data: early\n\n"]),
    )

    async def main() -> Any:
        async with sync_kit.client(sync_kit.config(race_on="first_byte"), timeout=LONG) as client:
            await client.request("GET", server.url_for("/tokens"), extensions={"hedge": False})
            response = await client.request("GET", server.url_for("/tokens"), stream=True)
            return response, await _ended(server, "/tokens", 1, sync_kit.slow + 10)

    response, primary = sync_kit.run(main)
    assert response.body == b"data: early\n\n"
    assert primary.connection == server.requests_to("/tokens")[0].connection
    assert primary.disconnected and not primary.completed


def test_loser_blocked_on_a_pooled_connection_runs_to_its_end(sync_kit: Any, server: ScriptedServer) -> None:
    # The documented limit: no public handle reaches this socket. The loser
    # completes on its worker thread; its response is then closed, and the
    # connection with it (its body was never read).
    server.script("/pooled", Reply(), Reply(delay=1.0, body=b"primary"), Reply(body=b"hedge"))

    async def main() -> Any:
        async with sync_kit.client(sync_kit.config()) as client:
            await client.request("GET", server.url_for("/pooled"), extensions={"hedge": False})
            response = await client.request("GET", server.url_for("/pooled"))
            primary = await _ended(server, "/pooled", 1, 15.0)
            assert await server.wait_until_async(lambda s: s.open_connections == 1)
            return response, primary

    response, primary = sync_kit.run(main)
    assert response.body == b"hedge"
    assert primary.completed


def test_a_hedge_still_waiting_for_the_pool_is_never_sent(kit: Any, server: ScriptedServer) -> None:
    # One connection, held by the primary until it wins: the hedge queued for
    # the pool gets the connection only after the race ended, and must stop
    # there instead of sending a request nobody will read.
    server.script("/queued", Reply(delay=0.5, body=b"primary"), Reply(body=b"hedge"))
    module = kit.module
    limits = module.Limits(max_connections=1)
    inner = (
        module.AsyncHTTPTransport(limits=limits)
        if kit.mode == "async"
        else module.HTTPTransport(limits=limits)
    )

    async def main() -> Any:
        async with kit.client(kit.config(), inner=inner) as client:
            response = await client.request("GET", server.url_for("/queued"))
            second = await client.request("GET", server.url_for("/other"), extensions={"hedge": False})
            return response, second, client.stats.snapshot()

    response, second, snapshot = kit.run(main)
    assert (response.body, second.status) == (b"primary", 200)
    assert (snapshot.hedges_sent, snapshot.primary_wins) == (1, 1)
    assert len(server.requests_to("/queued")) == 1
