"""A scriptable HTTP/1.1 server on 127.0.0.1 for adapter tests (stdlib only).

The server runs its own asyncio loop on a background thread, so sync and
async clients alike can use it. A test queues :class:`Reply` scripts per
path: each request to that path takes the next reply in order (the default
reply once the queue is empty). Arrival order is not always attempt order
on a loaded machine, so a server built with ``attempt_header`` (the header
the client marks hedges with) matches by attempt instead: each
:meth:`ScriptedServer.script` call scripts one request, its replies taken by
attempt number (the primary, which carries no header, is attempt 0). A reply can wait before its headers, wait
between headers and body, stream its body in chunks, wait until a number of
requests have arrived (to finish several attempts in the same instant), or
fail: reset the connection before the headers or in the middle of the body,
close it without answering, or never answer.

Everything the server sees is recorded: each request (method, path, headers,
body, connection, whether it was answered completely or the client went away
first) and the connections open now and ever. A client going away while the
server waits is noticed at once, which is how tests see that a losing
attempt was cancelled on the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["Received", "Reply", "ScriptedServer", "free_port"]

FAULTS = ("reset", "reset_mid_body", "close", "hang")


@dataclass(frozen=True)
class Reply:
    """How the server answers one request.

    Attributes:
        status: the HTTP status code.
        body: the response body (also the chunks' total when ``chunks`` is unset).
        headers: extra response headers.
        delay: seconds to wait before sending the status line.
        body_delay: seconds to wait between the headers and the body.
        chunks: send the body as these chunks with chunked encoding.
        chunk_delay: seconds to wait between chunks.
        fault: ``"reset"`` (RST before any byte), ``"reset_mid_body"`` (RST
            after the headers and half the body), ``"close"`` (close cleanly
            without answering) or ``"hang"`` (never answer).
        gate: answer only once this many requests to the same path have
            arrived, so that the attempts waiting on it finish together.
    """

    status: int = 200
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body_delay: float = 0.0
    chunks: Optional[Sequence[bytes]] = None  # noqa: UP045 - evaluated on Python 3.9
    chunk_delay: float = 0.0
    fault: Optional[str] = None  # noqa: UP045
    gate: int = 0

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"Reply.fault must be one of {FAULTS} or None, got {self.fault!r}")


@dataclass
class Received:
    """One request as the server saw it.

    Attributes:
        seq: arrival order, from 1, over the server's life.
        method: the request method.
        path: the path without the query.
        target: the raw request target (path and query).
        headers: header names in lower case.
        body: the request body.
        connection: the number of the connection it came on.
        arrived: :func:`time.monotonic` at arrival.
        completed: the response was written completely.
        disconnected: the client went away before the response was complete.
    """

    seq: int
    method: str
    path: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int
    arrived: float
    completed: bool = False
    disconnected: bool = False


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` with nothing listening (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _Closed(Exception):
    """The client went away."""


class ScriptedServer:
    """The scriptable HTTP/1.1 test server (see the module docstring).

    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        host: the address to listen on.
        default: the reply for requests with no script queued.
        attempt_header: the request header carrying the attempt number
            (``HedgeConfig.attempt_header``); when given, scripted replies are
            matched by attempt rather than by arrival order.
    """

    def __init__(
        self, host: str = "127.0.0.1", default: Reply | None = None, attempt_header: str | None = None
    ) -> None:
        self.host = host
        self.port = 0
        self._default = default or Reply()
        self._attempt_header = attempt_header.lower() if attempt_header else None
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
        # With attempt_header: per path, scripted requests as {attempt: reply} not yet served.
        self._by_attempt: dict[str, list[dict[int, Reply]]] = defaultdict(list)
        self._requests: list[Received] = []
        self._arrivals: dict[str, int] = defaultdict(int)
        self._open = 0
        self._total = 0
        self._seq = itertools.count(1)
        self._connection_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._gate_changed: asyncio.Condition | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> ScriptedServer:
        """Start listening on a free port; return ``self``."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(loop, ready), name="hedge-test-server", daemon=True
        )
        self._thread.start()
        ready.wait()
        future = asyncio.run_coroutine_threadsafe(self._listen(), loop)
        future.result(timeout=10)
        return self

    def _run(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    async def _listen(self) -> None:
        self._gate_changed = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Close every connection and stop the server thread (idempotent)."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        return f"http://{self.host}:{self.port}"

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.url + (path if path.startswith("/") else "/" + path)

    def script(self, path: str, *replies: Reply) -> None:
        """Queue ``replies`` for the next requests to ``path``, in order.

        With ``attempt_header``, the call scripts one request: its primary
        gets ``replies[0]``, its first hedge ``replies[1]``, and so on.
        """
        with self._lock:
            if self._attempt_header is None:
                self._scripts[path].extend(replies)
            else:
                self._by_attempt[path].append(dict(enumerate(replies)))

    def set_default(self, reply: Reply) -> None:
        """Answer unscripted requests with ``reply`` from now on."""
        with self._lock:
            self._default = reply

    def reset(self) -> None:
        """Forget scripts and recorded requests (connection counts are kept)."""
        with self._lock:
            self._scripts.clear()
            self._by_attempt.clear()
            self._requests.clear()
            self._arrivals.clear()

    # -- observations -----------------------------------------------------------------

    @property
    def requests(self) -> list[Received]:
        """Every request recorded so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[Received]:
        """The recorded requests to ``path``."""
        with self._lock:
            return [request for request in self._requests if request.path == path]

    @property
    def open_connections(self) -> int:
        """Connections open right now."""
        with self._lock:
            return self._open

    @property
    def total_connections(self) -> int:
        """Connections accepted since the server started."""
        with self._lock:
            return self._total

    @property
    def disconnects(self) -> int:
        """Requests whose client went away before the response was complete."""
        with self._lock:
            return sum(1 for request in self._requests if request.disconnected)

    def wait_until(self, predicate: Callable[[ScriptedServer], bool], timeout: float = 10.0) -> bool:
        """Poll ``predicate(self)`` until it is true or ``timeout`` seconds pass; return its last value."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    async def wait_until_async(
        self, predicate: Callable[[ScriptedServer], bool], timeout: float = 10.0
    ) -> bool:
        """Like :meth:`wait_until`, for use inside a running event loop."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)

    # -- serving ------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        connection = next(self._connection_ids)
        with self._lock:
            self._open += 1
            self._total += 1
        aborted = False
        try:
            while True:
                request = await self._read_request(reader, connection)
                if request is None:
                    break
                reply = self._next_reply(request)
                keep_alive, aborted = await self._respond(reader, writer, request, reply)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, _Closed, ValueError):
            pass
        except asyncio.CancelledError:
            aborted = True
        finally:
            with self._lock:
                self._open -= 1
            self._handlers.discard(task)
            if aborted:
                writer.transport.abort()
            else:
                writer.close()

    def _next_reply(self, request: Received) -> Reply:
        with self._lock:
            if self._attempt_header is not None:
                try:
                    attempt = int(request.headers.get(self._attempt_header, "0"))
                except ValueError:
                    attempt = 0
                # The oldest scripted request whose reply for this attempt is still unserved.
                for script in self._by_attempt.get(request.path, ()):
                    if attempt in script:
                        return script.pop(attempt)
                return self._default
            queue = self._scripts.get(request.path)
            if queue:
                return queue.popleft()
            return self._default

    async def _read_request(self, reader: asyncio.StreamReader, connection: int) -> Received | None:
        line = await reader.readline()
        if not line:
            return None
        try:
            method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        except ValueError:
            raise _Closed from None
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        path = target.split("?", 1)[0]
        request = Received(next(self._seq), method, path, target, headers, body, connection, time.monotonic())
        with self._lock:
            self._requests.append(request)
            self._arrivals[path] += 1
        assert self._gate_changed is not None
        async with self._gate_changed:
            self._gate_changed.notify_all()
        return request

    async def _pause(self, reader: asyncio.StreamReader, seconds: float | None) -> None:
        """Wait ``seconds`` (forever if ``None``); raise :class:`_Closed` if the client leaves."""
        if seconds is not None and seconds <= 0:
            return
        try:
            data = await asyncio.wait_for(reader.read(1), seconds)
        except asyncio.TimeoutError:
            return
        if not data:
            raise _Closed
        # A pipelined request arrived early; this server does not pipeline.
        raise _Closed

    async def _wait_for_gate(self, reader: asyncio.StreamReader, path: str, gate: int) -> None:
        assert self._gate_changed is not None
        watcher = asyncio.ensure_future(self._pause(reader, None))
        try:
            async with self._gate_changed:
                while self._arrivals[path] < gate:
                    waiter = asyncio.ensure_future(self._gate_changed.wait())
                    done, _ = await asyncio.wait({waiter, watcher}, return_when=asyncio.FIRST_COMPLETED)
                    if watcher in done:
                        waiter.cancel()
                        await asyncio.gather(waiter, return_exceptions=True)
                        watcher.result()
                    else:
                        waiter.result()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _respond(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Received, reply: Reply
    ) -> tuple[bool, bool]:
        """Answer one request; return ``(keep the connection, connection aborted)``."""
        try:
            if reply.gate:
                await self._wait_for_gate(reader, request.path, reply.gate)
            await self._pause(reader, reply.delay)
            if reply.fault == "hang":
                await self._pause(reader, None)
            if reply.fault == "reset":
                _reset(writer)
                return False, True
            if reply.fault == "close":
                return False, False
            keep_alive = request.headers.get("connection", "").lower() != "close"
            head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
            head.append(f"x-request-seq: {request.seq}")
            for name, value in reply.headers.items():
                head.append(f"{name}: {value}")
            chunked = reply.chunks is not None
            head.append("transfer-encoding: chunked" if chunked else f"content-length: {len(reply.body)}")
            head.append("connection: keep-alive" if keep_alive else "connection: close")
            head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
            if request.method == "HEAD":
                self._mark(request, completed=True)
                writer.write(head_bytes)
                await writer.drain()
                return keep_alive, False
            writer.write(head_bytes)
            await writer.drain()
            await self._pause(reader, reply.body_delay)
            if reply.fault == "reset_mid_body":
                writer.write(reply.body[: max(1, len(reply.body) // 2)])
                await writer.drain()
                _reset(writer)
                return False, True
            if chunked:
                assert reply.chunks is not None
                for number, chunk in enumerate(reply.chunks):
                    if number:
                        await self._pause(reader, reply.chunk_delay)
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()
                last = b"0\r\n\r\n"
            else:
                last = reply.body
            # Marked before the last bytes leave: a client holding the whole
            # response must always find its request marked completed.
            self._mark(request, completed=True)
            writer.write(last)
            await writer.drain()
        except (_Closed, ConnectionError):
            if not request.completed:  # a client closing after the last byte did not leave early
                self._mark(request, disconnected=True)
            return False, False
        return keep_alive, False

    def _mark(self, request: Received, *, completed: bool = False, disconnected: bool = False) -> None:
        with self._lock:
            request.completed = completed
            request.disconnected = disconnected


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
