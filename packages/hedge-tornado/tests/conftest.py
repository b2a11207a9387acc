"""Shared fixtures: a log guard, a ScriptedServer, and a real tornado server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import tornado
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream
from tornado.netutil import bind_sockets

from hedge import HedgeConfig, Stats
from hedge.testing import ScriptedServer
from hedge_tornado import HedgedTornadoClient

HEDGE_DELAY = 0.2  # long enough that a prompt primary is not hedged on a busy machine
SLOW = 30.0  # an attempt this slow is always cancelled, never waited for
WATCHED_LOGGERS = ("tornado", "asyncio", "hedge")


def pytest_report_header() -> str:
    return f"tornado {tornado.version}"


@pytest.fixture(scope="session", autouse=True)
def main_thread_event_loop() -> Iterator[None]:
    """Give the main thread an event loop for the whole session, closed at its end.

    Between async tests pytest-asyncio asks for the main thread's event loop;
    on Python 3.9 that creates one when none is set, which nobody closes. The
    kit's scenarios (``asyncio.run``) later unset it, it is collected, and its
    "unclosed event loop" ResourceWarning lands in whichever scenario is
    checking for leaks. With a loop set from the start, none is created.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test if tornado, asyncio or hedge logged a warning or an error during it.

    Tornado reports swallowed problems (an exception in a callback, an error
    after a future was cancelled) only through its loggers. A test that
    expects such a record asserts on it and calls ``caplog.clear()``.
    """
    caplog.set_level(logging.WARNING)
    yield
    records = [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.get_records("call")
        if record.levelno >= logging.WARNING and record.name.split(".")[0] in WATCHED_LOGGERS
    ]
    assert not records, f"unexpected log records: {records}"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def fixed_config(**changes: Any) -> HedgeConfig:
    """A config with a fixed hedge delay, an ample budget and its own Stats."""
    settings: dict[str, Any] = {
        "min_delay": HEDGE_DELAY,
        "max_delay": HEDGE_DELAY,
        "warmup_delay": HEDGE_DELAY,
        "budget_percent": 100.0,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


def slots(client: HedgedTornadoClient) -> tuple[int, int]:
    """(requests holding one of the client's max_clients slots, requests queued for one).

    Read from the state tornado's SimpleAsyncHTTPClient keeps for
    ``max_clients``: ``active`` and ``queue``.
    """
    http = client._http
    assert http is not None
    return len(http.active), len(http.queue)


# ---------------------------------------------------------------------------
# A real tornado server, run on the test's own event loop
# ---------------------------------------------------------------------------


class CountingHTTPServer(HTTPServer):
    """tornado's HTTPServer, counting the connections it accepted and has open."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self.total_connections = 0
        self.open_connections = 0

    def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        self.total_connections += 1
        self.open_connections += 1
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self.open_connections -= 1
        super().on_close(server_conn)


class Log:
    """What the application saw: each request by attempt, and who hung up."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.disconnected: list[str] = []
        self.answered: list[str] = []
        self.present = 0
        self.pair_ready = asyncio.Event()


def attempt_of(handler: tornado.web.RequestHandler) -> str:
    return handler.request.headers.get("x-hedge-attempt", "0")


class _Base(tornado.web.RequestHandler):
    def initialize(self, log: Log) -> None:
        self.log = log
        self.gone = asyncio.Event()
        self.label = f"{self.request.path}#{attempt_of(self)}"

    def prepare(self) -> None:
        self.log.arrived.append(self.label)

    def on_connection_close(self) -> None:
        self.log.disconnected.append(self.label)
        self.gone.set()

    def answer(self, text: str) -> None:
        self.write(text)
        self.log.answered.append(self.label)

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; ``False`` if the client hung up first."""
        try:
            await asyncio.wait_for(self.gone.wait(), seconds)
        except asyncio.TimeoutError:
            return True
        return False


class FastHandler(_Base):
    def get(self) -> None:
        self.answer(f"fast {attempt_of(self)}")


class SlowHandler(_Base):
    """Answers after half a second."""

    async def get(self) -> None:
        if await self.pause(0.5):
            self.answer("slow")


class PrimarySlowHandler(_Base):
    """The primary (no attempt header) takes forever; a hedge answers at once."""

    async def get(self) -> None:
        if attempt_of(self) == "0" and not await self.pause(SLOW):
            return
        self.answer(f"answer {attempt_of(self)}")

    post = get


class PrimaryStallsBodyHandler(_Base):
    """Headers at once for everyone; the primary's body stalls, a hedge streams three chunks."""

    async def get(self) -> None:
        self.set_header("content-type", "text/event-stream")
        await self.flush()
        if attempt_of(self) == "0" and not await self.pause(SLOW):
            return
        for number in range(3):
            self.write(f"data: {attempt_of(self)}.{number}\n\n")
            await self.flush()


class PairHandler(_Base):
    """Answers only once two requests are in the application at the same time."""

    async def get(self) -> None:
        self.log.present += 1
        if self.log.present >= 2:
            self.log.pair_ready.set()
        try:
            await asyncio.wait_for(self.log.pair_ready.wait(), 10.0)
        finally:
            self.log.present -= 1
        self.answer("paired")


class HangHandler(_Base):
    async def get(self) -> None:
        await self.pause(SLOW)


class TornadoApp:
    """A tornado.web.Application served on 127.0.0.1 by a CountingHTTPServer."""

    def __init__(self) -> None:
        self.log = Log()
        routes: list[Any] = [
            (r"/fast", FastHandler, {"log": self.log}),
            (r"/slow", SlowHandler, {"log": self.log}),
            (r"/primary-slow", PrimarySlowHandler, {"log": self.log}),
            (r"/primary-stalls-body", PrimaryStallsBodyHandler, {"log": self.log}),
            (r"/pair", PairHandler, {"log": self.log}),
            (r"/hang", HangHandler, {"log": self.log}),
        ]
        self.server = CountingHTTPServer(tornado.web.Application(routes))
        sockets = bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self.server.add_sockets(sockets)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()


@pytest.fixture
async def tornado_app() -> AsyncIterator[TornadoApp]:
    app = TornadoApp()
    try:
        yield app
    finally:
        await app.stop()
