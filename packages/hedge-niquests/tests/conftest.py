"""A real aiohttp.web server on 127.0.0.1 for the integration tests.

It runs on its own thread and event loop, so that sync and async clients
alike can use it, and it tells attempts apart by the ``x-hedge-attempt``
header the tests configure (``HedgeConfig(attempt_header=ATTEMPT)``): the
primary carries none. Routes:

* ``/race`` — the primary waits ``?slow=`` seconds (default 5) before its
  headers, every hedge answers at once; the body names the attempt.
* ``/slow-body`` — headers at once, body after ``?delay=`` seconds.
* ``/sse`` — headers at once; the primary's first chunk comes after
  ``?slow=`` seconds, a hedge's at once; then ``?chunks=`` more lines.
* ``/gzip`` — a gzip-encoded body; ``/empty`` — no body.
* ``/cookie`` — sets ``who=<attempt>`` and waits for ``?gate=`` attempts.
* ``/echo`` — returns the request body; ``/status/{code}``; ``/redirect``.

The server records every request (path, attempt, body, headers, whether the
client left before the answer was written) and the connections it holds, as
aiohttp itself counts them.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

ATTEMPT = "x-hedge-attempt"


@dataclass
class Seen:
    path: str
    attempt: str | None
    headers: dict[str, str]
    body: bytes
    peer: object
    answered: bool = False
    left: bool = False


@dataclass
class RealServer:
    """The running server and what it saw."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    runner: web.AppRunner | None = None
    loop: asyncio.AbstractEventLoop | None = None
    arrivals: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + path

    def to(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    @property
    def open_connections(self) -> int:
        """Connections the server holds open right now (aiohttp's own count)."""
        assert self.runner is not None and self.runner.server is not None
        return len(self.runner.server.connections)

    @property
    def peers(self) -> set[object]:
        """Distinct client sockets (address, port) that sent a request."""
        with self.lock:
            return {s.peer for s in self.seen}

    def wait_until(self, predicate: Callable[[RealServer], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


async def _hold(request: web.Request, seen: Seen, seconds: float) -> bool:
    """Wait ``seconds``; return False (and record it) if the client leaves first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            seen.left = True
            return False
        await asyncio.sleep(0.01)
    return True


def _app(server: RealServer) -> web.Application:
    async def record(request: web.Request) -> Seen:
        body = await request.read()
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        seen = Seen(request.path, request.headers.get(ATTEMPT), dict(request.headers), body, peer)
        with server.lock:
            server.seen.append(seen)
            server.arrivals[request.path] = server.arrivals.get(request.path, 0) + 1
        return seen

    def name(seen: Seen) -> str:
        return "primary" if seen.attempt is None else f"hedge-{seen.attempt}"

    async def race(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        if seen.attempt is None and not await _hold(request, seen, float(request.query.get("slow", "5"))):
            raise asyncio.CancelledError
        seen.answered = True
        return web.Response(body=name(seen).encode())

    async def slow_body(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        if not await _hold(request, seen, float(request.query.get("delay", "0.5"))):
            raise asyncio.CancelledError
        await response.write(b"the whole body")
        await response.write_eof()
        seen.answered = True
        return response

    async def sse(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if seen.attempt is None and not await _hold(request, seen, float(request.query.get("slow", "5"))):
            raise asyncio.CancelledError
        await response.write(f"data: {name(seen)}\n\n".encode())
        for index in range(int(request.query.get("chunks", "2"))):
            await asyncio.sleep(0.01)
            await response.write(f"data: {index}\n\n".encode())
        await response.write_eof()
        seen.answered = True
        return response

    async def gzipped(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        payload = gzip.compress(b"line one\nline two\n" * 50)
        response = web.StreamResponse(headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})
        await response.prepare(request)
        if seen.attempt is None and not await _hold(request, seen, float(request.query.get("slow", "0"))):
            raise asyncio.CancelledError
        await response.write(payload[:20])
        await asyncio.sleep(0.01)
        await response.write(payload[20:])
        await response.write_eof()
        seen.answered = True
        return response

    async def empty(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        seen.answered = True
        return web.Response(status=204)

    async def cookie(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        gate = int(request.query.get("gate", "2"))
        while server.arrivals.get(request.path, 0) < gate:
            await asyncio.sleep(0.005)
        seen.answered = True
        response = web.Response(body=name(seen).encode())
        response.set_cookie("who", name(seen))
        return response

    async def echo(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        if seen.attempt is None and not await _hold(request, seen, float(request.query.get("slow", "0"))):
            raise asyncio.CancelledError
        seen.answered = True
        return web.Response(body=seen.body)

    async def status(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        seen.answered = True
        code = int(request.match_info["code"])
        return web.Response(status=code, body=f"{name(seen)} {code}".encode())

    async def redirect(request: web.Request) -> web.StreamResponse:
        seen = await record(request)
        if seen.attempt is None and not await _hold(request, seen, float(request.query.get("slow", "5"))):
            raise asyncio.CancelledError
        seen.answered = True
        raise web.HTTPFound("/race")

    app = web.Application()
    app.router.add_get("/race", race)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/sse", sse)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/empty", empty)
    app.router.add_get("/cookie", cookie)
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/redirect", redirect)
    return app


@pytest.fixture
def real_server() -> Iterator[RealServer]:
    """An aiohttp.web server on 127.0.0.1, on its own thread; stopped after the test."""
    server = RealServer()
    loop = asyncio.new_event_loop()
    server.loop = loop
    started = threading.Event()

    async def start() -> None:
        runner = web.AppRunner(_app(server), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.runner = runner
        server.port = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="aiohttp-test-server", daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield server
    finally:
        assert server.runner is not None
        asyncio.run_coroutine_threadsafe(server.runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
