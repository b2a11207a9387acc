"""Hedged attempts over HTTP/2 (cleartext, prior knowledge) against a real hypercorn server.

niquests sends a request that is not multiplexed on a connection of its own,
so a hedge goes out on a second connection rather than behind the slow
primary. An async loser is cancelled (the server sees its stream end); a
sync loser on HTTP/2 is not aborted — its connection may carry other
streams — and runs to its end, its response closed by its worker.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from hedge import HedgeConfig, Stats
from hedge.testing import free_port
from hedge_niquests import HedgedNiquestsSession, HedgedNiquestsSyncSession

SLOW = 1.5


@dataclass
class H2Server:
    url: str
    seen: list[tuple[str | None, str, str]] = field(default_factory=list)  # (attempt, version, outcome)

    def wait_for(self, count: int) -> bool:
        deadline = time.monotonic() + 10
        while len(self.seen) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


@pytest.fixture
def h2_server() -> Iterator[H2Server]:
    port = free_port()
    server = H2Server(f"http://127.0.0.1:{port}")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        attempt = dict(scope["headers"]).get(b"x-hedge-attempt")
        name = None if attempt is None else attempt.decode()
        if name is None:
            await receive()  # the (empty) request body
            try:
                disconnect = await asyncio.wait_for(receive(), SLOW)
            except asyncio.TimeoutError:
                pass
            else:
                assert disconnect["type"] == "http.disconnect"
                server.seen.append((name, scope["http_version"], "left"))
                return
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"primary" if name is None else b"hedge"})
        server.seen.append((name, scope["http_version"], "answered"))

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stopping: list[asyncio.Event] = []

    async def main() -> None:
        stop = asyncio.Event()  # made in its loop (Python 3.9 binds it at creation)
        stopping.append(stop)
        await serve(app, config, shutdown_trigger=stop.wait)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while True:  # until hypercorn listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "hypercorn did not start"
            time.sleep(0.01)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stopping[0].set)
        thread.join(10)
        loop.close()


def config() -> HedgeConfig:
    return HedgeConfig(
        min_delay=0.05,
        max_delay=0.05,
        warmup_delay=0.05,
        budget_percent=100.0,
        attempt_header="x-hedge-attempt",
        stats=Stats(),
    )


def test_async_hedge_over_http2(h2_server: H2Server) -> None:
    async def main() -> list[Any]:
        async with HedgedNiquestsSession(config=config(), disable_http1=True) as session:
            responses = await asyncio.gather(*(session.get(h2_server.url + "/race") for _ in range(3)))
            return [(r.content, r.conn_info.http_version.value) for r in responses]

    assert asyncio.run(main()) == [(b"hedge", "HTTP/2.0")] * 3
    assert h2_server.wait_for(6)
    # Every primary was cancelled on the wire: the server saw its stream go away.
    assert sorted(h2_server.seen, key=str) == sorted(
        [("1", "2", "answered"), (None, "2", "left")] * 3, key=str
    )


def test_sync_hedge_over_http2_lets_the_loser_finish(h2_server: H2Server) -> None:
    with HedgedNiquestsSyncSession(config=config(), disable_http1=True) as session:
        response = session.get(h2_server.url + "/race")
        assert (response.content, response.conn_info.http_version.value) == (b"hedge", "HTTP/2.0")
        assert session.stats.snapshot().hedge_wins == 1
    # The loser was not cut off: it was answered (then closed by its worker).
    assert h2_server.wait_for(2)
    assert sorted(h2_server.seen, key=str) == sorted(
        [("1", "2", "answered"), (None, "2", "answered")], key=str
    )
