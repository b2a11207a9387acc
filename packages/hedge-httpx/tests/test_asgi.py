"""Against a real ASGI server: uvicorn on 127.0.0.1, started by each test.

The app is scripted per path like hedge's ScriptedServer, and records what
it saw: each request, and whether the client went away before the answer
(an ``http.disconnect`` while the app waited). Open connections are counted
by uvicorn itself, so leak checks count sockets at the server.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import uvicorn


@dataclass(frozen=True)
class Answer:
    """How the app answers one request."""

    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    chunks: Sequence[bytes] = ()
    first_chunk_delay: float = 0.0
    gate: int = 0  # answer once this many requests to the path have arrived


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    answered: bool = False
    disconnected: bool = False


@dataclass
class ScriptedApp:
    """A minimal ASGI app whose answers are scripted per path."""

    scripts: dict[str, deque[Answer]] = field(default_factory=lambda: defaultdict(deque))
    seen: list[Seen] = field(default_factory=list)
    arrivals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, *answers: Answer) -> None:
        with self.lock:
            self.scripts[path].extend(answers)

    def requests_to(self, path: str) -> list[Seen]:
        with self.lock:
            return [seen for seen in self.seen if seen.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        seen = Seen(scope["method"], scope["path"], body, headers)
        with self.lock:
            self.seen.append(seen)
            self.arrivals[seen.path] += 1
            queue = self.scripts.get(seen.path)
            answer = queue.popleft() if queue else Answer()
        # A client that goes away shows up as http.disconnect on receive().
        gone = asyncio.ensure_future(receive())
        try:
            if not await self._wait(gone, answer.delay, seen.path, answer.gate):
                seen.disconnected = True
                return
            await send({"type": "http.response.start", "status": answer.status, "headers": []})
            if not answer.chunks:
                await send({"type": "http.response.body", "body": answer.body})
            else:
                if not await self._wait(gone, answer.first_chunk_delay, seen.path, 0):
                    seen.disconnected = True
                    return
                for chunk in answer.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            seen.answered = True
        finally:
            gone.cancel()

    async def _wait(self, gone: asyncio.Future[Any], delay: float, path: str, gate: int) -> bool:
        """Wait ``delay`` seconds (and for the gate); ``False`` if the client left first."""

        async def ready() -> None:
            await asyncio.sleep(delay)
            while self.arrivals[path] < gate:
                await asyncio.sleep(0.005)

        waiting = asyncio.ensure_future(ready())
        done, _ = await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        return gone not in done


class Uvicorn:
    """uvicorn serving a :class:`ScriptedApp` on a free 127.0.0.1 port, on a thread."""

    def __init__(self) -> None:
        self.app = ScriptedApp()
        config = uvicorn.Config(self.app, http="h11", lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Uvicorn:
        self.thread.start()
        assert self.wait_until(lambda: self.server.started)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def open_connections(self) -> int:
        return len(self.server.server_state.connections)

    @staticmethod
    def wait_until(predicate: Any, timeout: float = 15.0) -> bool:
        deadline = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if predicate():
                return True
            deadline.wait(0.01)
        return bool(predicate())


@pytest.fixture
def asgi() -> Iterator[Uvicorn]:
    with Uvicorn() as running:
        yield running


def test_slow_primary_loses_to_the_hedge(kit: Any, asgi: Uvicorn) -> None:
    asgi.app.script("/race", Answer(delay=kit.slow, body=b"primary"), Answer(body=b"hedge"))

    async def main() -> Any:
        async with kit.client(kit.config(), timeout=30.0) as client:
            response = await client.request("GET", asgi.url("/race"))
            # The loser is cut off (async) or, on this fresh connection, aborted (sync).
            assert await anyio.to_thread.run_sync(
                lambda: asgi.wait_until(lambda: asgi.app.seen[0].disconnected)
            )
            return response

    assert kit.run(main).body == b"hedge"
    primary, hedge = asgi.app.requests_to("/race")
    assert (primary.answered, hedge.answered) == (False, True)


def test_no_socket_is_left_open_after_many_races(kit: Any, asgi: Uvicorn) -> None:
    races = 20
    slow = kit.slow if kit.mode == "async" else 1.0  # sync losers on pooled connections run to their end
    for _ in range(races):
        asgi.app.script("/many", Answer(delay=slow, body=b"primary"), Answer(body=b"hedge"))
    before = asgi.open_connections

    async def main() -> int:
        async with kit.client(kit.config()) as client:
            for _ in range(races):
                assert (await client.request("GET", asgi.url("/many"))).body == b"hedge"
            assert await anyio.to_thread.run_sync(
                lambda: asgi.wait_until(lambda: all(s.answered or s.disconnected for s in asgi.app.seen))
            )
            assert await anyio.to_thread.run_sync(lambda: asgi.wait_until(lambda: asgi.open_connections <= 1))
            return asgi.open_connections

    at_rest = kit.run(main)
    assert before == 0
    assert at_rest <= 1  # the winner's keep-alive connection, back in the pool
    assert asgi.wait_until(lambda: asgi.open_connections == 0)
    assert len(asgi.app.requests_to("/many")) == 2 * races


def test_simultaneous_finish_closes_the_loser(kit: Any, asgi: Uvicorn) -> None:
    asgi.app.script("/tie", Answer(gate=2, body=b"tie"), Answer(gate=2, body=b"tie"))

    async def main() -> Any:
        async with kit.client(kit.config()) as client:
            response = await client.request("GET", asgi.url("/tie"))
            assert await anyio.to_thread.run_sync(lambda: asgi.wait_until(lambda: asgi.open_connections <= 1))
            return response, client.stats.snapshot()

    response, snapshot = kit.run(main)
    assert response.body == b"tie"
    # Both were released together; the loser's answer was closed on arrival or
    # cut off just before, and either way its connection is gone.
    assert len(asgi.app.requests_to("/tie")) == 2
    assert (snapshot.hedges_sent, snapshot.hedge_wins + snapshot.primary_wins) == (1, 1)
    assert asgi.wait_until(lambda: asgi.open_connections == 0)


def test_caller_deadline_cancels_both_attempts(async_kit: Any, asgi: Uvicorn) -> None:
    asgi.app.script("/stuck", Answer(delay=60.0), Answer(delay=60.0))

    async def main() -> bool:
        async with async_kit.client(async_kit.config()) as client:
            answered = False
            with anyio.move_on_after(1.0) as scope:
                await client.request("GET", asgi.url("/stuck"))
                answered = True
            return scope.cancel_called and not answered

    assert async_kit.run(main)
    assert asgi.wait_until(lambda: [s.disconnected for s in asgi.app.requests_to("/stuck")] == [True, True])


def test_streaming_race_on_first_byte(kit: Any, asgi: Uvicorn) -> None:
    asgi.app.script(
        "/sse",
        Answer(chunks=[b"data: primary\n\n"], first_chunk_delay=kit.slow),
        Answer(chunks=[b"data: 1\n\n", b"data: 2\n\n"]),
    )

    async def main() -> Any:
        async with kit.client(kit.config(race_on="first_byte"), timeout=30.0) as client:
            response = await client.request("GET", asgi.url("/sse"), stream=True)
            assert await anyio.to_thread.run_sync(
                lambda: asgi.wait_until(lambda: asgi.app.seen[0].disconnected)
            )
            return response

    assert kit.run(main).body == b"data: 1\n\ndata: 2\n\n"


def test_post_and_streamed_bodies_are_sent_once(kit: Any, asgi: Uvicorn) -> None:
    asgi.app.script("/once", Answer(delay=0.5, status=201), Answer(delay=0.5))

    def sync_chunks() -> Iterator[bytes]:
        yield b"streamed"

    async def async_chunks() -> Any:
        yield b"streamed"

    async def main() -> None:
        async with kit.client(kit.config()) as client:
            assert (await client.request("POST", asgi.url("/once"), content=b"posted")).status == 201
            chunks = async_chunks() if kit.mode == "async" else sync_chunks()
            await client.request("GET", asgi.url("/once"), content=chunks, extensions={"hedge": True})

    kit.run(main)
    assert [(s.method, s.body) for s in asgi.app.requests_to("/once")] == [
        ("POST", b"posted"),
        ("GET", b"streamed"),
    ]
