"""Shared test support: a scriptable aiohttp.web server and a leak-checking runner.

``WebServer`` is a real ``aiohttp.web`` application on 127.0.0.1, started by
the test inside its own event loop (``async with web:``). Each request to a
path takes the next scripted :class:`Step` and is recorded: method, path,
query, headers, body, the client port of its connection, and whether the
client went away before the answer was complete (the server cancels its
handler then). ``open_connections`` counts the server's live sockets.

``run`` runs one scenario under :func:`asyncio.run`, like the conformance
kit: any warning at all (``Unclosed client session``, ``Unclosed
connection``, ``ResourceWarning``...) or an unhandled event-loop error fails
the test.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar

import pytest
from aiohttp import web

from hedge import HedgeConfig, Stats
from hedge.plugins import get_plugin_manager
from hedge.testing import EventRecorder

T = TypeVar("T")

HEDGE_DELAY = 0.05
SLOW = 5.0  # an attempt this slow is always cancelled long before it would answer


@dataclass(frozen=True)
class Step:
    """How the server answers one request."""

    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the headers
    chunks: Optional[Sequence[bytes]] = None  # noqa: UP045 - evaluated on Python 3.9
    body_delay: float = 0.0  # between the headers and the first chunk
    chunk_delay: float = 0.0
    gate: int = 0  # answer once this many requests to the path have arrived
    websocket: bool = False


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client_port: int
    completed: bool = False
    cancelled: bool = False


class WebServer:
    """A scriptable aiohttp.web server (see the module docstring)."""

    def __init__(self) -> None:
        self._scripts: dict[str, deque[Step]] = defaultdict(deque)
        self._defaults: dict[str, Step] = {}
        self.seen: list[Seen] = []
        self._arrived: dict[str, int] = defaultdict(int)
        self._gate: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def script(self, path: str, *steps: Step | Mapping[str, Any]) -> None:
        """Queue answers for the next requests to ``path`` (a Step, or a dict of its fields)."""
        self._scripts[path].extend(step if isinstance(step, Step) else Step(**step) for step in steps)

    def set_default(self, path: str, step: Step | Mapping[str, Any]) -> None:
        """Answer requests to ``path`` with ``step`` once its queue is empty."""
        self._defaults[path] = step if isinstance(step, Step) else Step(**step)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    @property
    def open_connections(self) -> int:
        assert self._runner is not None and self._runner.server is not None
        return len(self._runner.server.connections)

    @property
    def client_ports(self) -> set[int]:
        """Every connection a request came on."""
        return {seen.client_port for seen in self.seen}

    async def wait_for(self, predicate: Callable[[WebServer], bool], timeout: float = 10.0) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def __aenter__(self) -> WebServer:
        self._gate = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that goes away cancels its handler,
        # which is how a test sees a losing attempt abandoned on the wire.
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        seen = Seen(
            request.method,
            request.path,
            request.query_string,
            {name.lower(): value for name, value in request.headers.items()},
            await request.read(),
            peer[1] if peer else 0,
        )
        self.seen.append(seen)
        queue = self._scripts.get(request.path)
        step = queue.popleft() if queue else self._defaults.get(request.path, Step())
        assert self._gate is not None
        async with self._gate:
            self._arrived[request.path] += 1
            self._gate.notify_all()
        try:
            response = await self._answer(request, step)
        except asyncio.CancelledError:
            seen.cancelled = True
            raise
        seen.completed = True
        return response

    async def _answer(self, request: web.Request, step: Step) -> web.StreamResponse:
        if step.gate:
            assert self._gate is not None
            async with self._gate:
                await self._gate.wait_for(lambda: self._arrived[request.path] >= step.gate)
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.websocket:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_str("hello")
            await ws.close()
            return ws
        if step.chunks is None and not step.body_delay:
            return web.Response(status=step.status, body=step.body, headers=step.headers)
        response = web.StreamResponse(status=step.status, headers=step.headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        if step.body_delay:
            await asyncio.sleep(step.body_delay)
        for number, chunk in enumerate(step.chunks if step.chunks is not None else [step.body]):
            if number and step.chunk_delay:
                await asyncio.sleep(step.chunk_delay)
            await response.write(chunk)
        await response.write_eof()
        return response


def run_checked(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` under asyncio.run; fail on any warning or unhandled loop error."""
    loop_errors: list[str] = []

    async def wrapper() -> T:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(str(context.get("message"))))
        return await main()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = asyncio.run(wrapper())
        gc.collect()
    assert not [str(w.message) for w in caught], "warnings were issued"
    assert not loop_errors, f"unhandled event-loop errors: {loop_errors}"
    return result


def fixed_config(**changes: Any) -> HedgeConfig:
    """A config whose hedge delay is fixed, with an ample budget and its own Stats."""
    settings: dict[str, Any] = {
        "min_delay": HEDGE_DELAY,
        "max_delay": HEDGE_DELAY,
        "warmup_delay": HEDGE_DELAY,
        "budget_percent": 100.0,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


@pytest.fixture
def web_server() -> WebServer:
    """A WebServer, not yet started: the scenario starts it with ``async with``."""
    return WebServer()


@pytest.fixture
def run() -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    return run_checked


@pytest.fixture
def make_config() -> Callable[..., HedgeConfig]:
    return fixed_config


@pytest.fixture
def events() -> Iterator[EventRecorder]:
    recorder = EventRecorder()
    manager = get_plugin_manager()
    name = f"hedge-aiohttp-test-recorder-{id(recorder)}"
    manager.register(recorder, name=name)
    try:
        yield recorder
    finally:
        manager.unregister(name=name)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """An async-generator body (never replayable)."""
    for part in parts:
        yield part


@pytest.fixture
def stream_body() -> Callable[..., AsyncIterator[bytes]]:
    return chunks
