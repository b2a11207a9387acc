"""The benchmark's servers: HTTP/1.1 and gRPC on 127.0.0.1, each in a process of its own.

A server runs in a child process (a fresh interpreter, ``python -m
hedge_bench._servers``, never a fork of a parent that may already hold event
loops and gRPC threads), so the client being measured does not share an
interpreter, a GIL or an event loop with it. The parent talks to it over
its stdin and stdout: the workload goes in, the address and the counters
come out, and closing stdin stops it, so a server never outlives its parent.

What a request asks for. HTTP requests ``GET /r/<epoch>/<stream>/<request>``
and gRPC calls to ``/hedgebench.Bench/Get`` whose payload is the same
``<epoch>/<stream>/<request>`` text wait for the workload's latency of that
attempt, then answer ``ok``; any other path is answered at once (the ``cost``
mode's zero-latency requests). The attempt number is the order in which
copies of one request arrive: the first copy is attempt 0 (the primary), the
next attempt 1 (the first hedge), and so on, so no adapter feature (such as
an attempt header) is needed. A new ``epoch`` (one per measured
configuration) forgets the previous one's requests, keeping memory bounded.

What it counts. Requests received, answered, and abandoned by the client
while waiting (a cancelled hedge or primary); the parent asks for them. The
"extra requests the server saw" of the results table come from here, not
from the client's own counters. It also reports the connections it has open
(:meth:`ServerProcess.connections`), which is how ``hedge-bench soak`` sees
a client that leaks connections from the other end.

Outages. :meth:`ServerProcess.set_model` replaces the workload's latency
model while the server runs (``hedge-bench outage`` makes every request slow
for a while, then restores it); attempts keep their numbering and their
seeded draws, so the replacement is as reproducible as the workload.

Why these servers. HTTP: a few dozen lines of :class:`asyncio.Protocol`
with one timer per waiting request, no task and no framework. It answers
every client under test alike (keep-alive for those that use it,
``Connection: close`` for tornado's), costs a few microseconds of CPU per
request, and adds no dependency, so ``hedge-bench`` does not have to install
aiohttp or uvicorn to benchmark httpx. gRPC: ``grpc.aio`` with a generic
method handler on raw bytes. No ``.proto`` file, no protoc step and no
protobuf dependency; the client names the method ``idempotent_methods`` in
the hedged interceptor, the documented opt-in for a method whose ``.proto``
does not declare it.

Timer precision: asyncio on Linux waits in whole milliseconds (epoll), so a
latency of 5.2 ms is served in 5.2 to 6.2 ms. Every configuration gets the
same rounding; the simulator, which has no sockets, does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ._resources import socket_count
from ._workload import LatencyModel, Workload, uniforms

__all__ = ["GRPC_METHOD", "ServerCounts", "ServerProcess", "request_path"]

GRPC_SERVICE = "hedgebench.Bench"
GRPC_METHOD = f"/{GRPC_SERVICE}/Get"

_RECEIVED, _COMPLETED, _ABANDONED, _OPEN = range(4)
_START_TIMEOUT = 60.0


def request_path(epoch: int, stream: int, request: int) -> str:
    """The HTTP path (and, without the ``/r/`` prefix, the gRPC payload) of one request."""
    return f"/r/{epoch}/{stream}/{request}"


@dataclass(frozen=True)
class ServerCounts:
    """What a server saw since it started (subtract two readings for an interval)."""

    received: int
    completed: int
    abandoned: int

    def __sub__(self, other: ServerCounts) -> ServerCounts:
        return ServerCounts(
            self.received - other.received,
            self.completed - other.completed,
            self.abandoned - other.abandoned,
        )


class _Attempts:
    """Numbers the copies of each request in arrival order, per epoch.

    Only the current and the previous epoch are kept, so that a straggling
    copy from the previous epoch cannot erase the current one's numbering.
    """

    __slots__ = ("epochs", "latest", "override", "totals", "workload")

    def __init__(self, workload: Workload | None) -> None:
        self.workload = workload
        self.latest = -1
        self.epochs: dict[int, dict[tuple[int, int], int]] = {}
        # Per epoch, ever: [first copies (requests), copies in all]. Two ints an epoch.
        self.totals: dict[int, list[int]] = {}
        # A model that replaces the workload's (an outage); set from the command thread.
        self.override: LatencyModel | None = None

    def delay(self, spec: str) -> float:
        """The latency for a request given as ``<epoch>/<stream>/<request>`` (0 for anything else)."""
        workload = self.workload
        if workload is None:
            return 0.0
        try:
            epoch_text, stream_text, request_text = spec.split("/")
            epoch, stream, request = int(epoch_text), int(stream_text), int(request_text)
        except ValueError:
            return 0.0
        if epoch > self.latest:
            self.latest = epoch
            self.epochs = {old: seen for old, seen in self.epochs.items() if old == epoch - 1}
        seen = self.epochs.setdefault(epoch, {})
        key = (stream, request)
        attempt = seen.get(key, 0)
        seen[key] = attempt + 1
        totals = self.totals.get(epoch)
        if totals is None:
            totals = self.totals[epoch] = [0, 0]
        totals[1] += 1
        if not attempt:
            totals[0] += 1
        override = self.override
        if override is not None:
            return override.sample(*uniforms(workload.seed, stream, request, attempt), request, attempt)
        return workload.latency(stream, request, attempt)


# -- HTTP ------------------------------------------------------------------------------

_BODY = b"ok"
_KEEP_ALIVE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n" + _BODY
_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" + _BODY
)
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: requests answered in order, one timer per waiting request."""

    def __init__(self, attempts: _Attempts, counters: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.attempts = attempts
        self.counters = counters
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.timer: asyncio.TimerHandle | None = None
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.counters[_OPEN] += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.timer is None:
            self._next()

    def _next(self) -> None:
        while self.timer is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            marker = head.find(b"\r\ncontent-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker + 2)
                try:
                    length = int(head[marker + 17 : line_end if line_end >= 0 else len(head)])
                except ValueError:
                    self._fail()
                    return
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            if len(parts) != 3:
                self._fail()
                return
            path = parts[1].split(b"?", 1)[0].decode("latin-1")
            self.keep_alive = parts[2] == b"http/1.1" and b"\r\nconnection: close" not in head
            self.counters[_RECEIVED] += 1
            delay = self.attempts.delay(path[3:]) if path.startswith("/r/") else 0.0
            if delay > 0:
                self.timer = self.loop.call_later(delay, self._on_timer)
                return
            if not self._respond():
                return

    def _on_timer(self) -> None:
        self.timer = None
        if self._respond() and self.buffer:
            self._next()

    def _respond(self) -> bool:
        """Answer the current request; ``True`` if the connection stays open for the next."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        self.counters[_COMPLETED] += 1
        if self.keep_alive:
            transport.write(_KEEP_ALIVE)
            return True
        transport.write(_CLOSE)
        transport.close()
        return False

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.write(_BAD)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
            self.counters[_ABANDONED] += 1
        self.transport = None
        self.counters[_OPEN] -= 1


async def _serve_http(
    attempts: _Attempts, counters: Any, ready: Callable[[str], None], stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _HttpProtocol(attempts, counters, loop), "127.0.0.1", 0, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    ready(f"http://127.0.0.1:{port}")
    async with server:
        await stop.wait()


# -- gRPC ------------------------------------------------------------------------------


async def _serve_grpc(
    attempts: _Attempts, counters: Any, ready: Callable[[str], None], stop: asyncio.Event
) -> None:
    import grpc

    async def get(request: bytes, context: Any) -> bytes:
        counters[_RECEIVED] += 1
        delay = attempts.delay(request.decode("ascii", "replace"))
        if delay > 0:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                counters[_ABANDONED] += 1
                raise
        counters[_COMPLETED] += 1
        return _BODY

    handler = grpc.method_handlers_generic_handler(
        GRPC_SERVICE, {"Get": grpc.unary_unary_rpc_method_handler(get)}
    )
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    ready(f"127.0.0.1:{port}")
    try:
        await stop.wait()
    finally:
        await server.stop(grace=None)


# -- the child process -----------------------------------------------------------------


class _Counters:
    """The child's counters (plain ints: one event loop thread updates them)."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values = [0, 0, 0, 0]

    def __getitem__(self, index: int) -> int:
        return self.values[index]

    def __setitem__(self, index: int, value: int) -> None:
        self.values[index] = value


def serve(protocol: str) -> None:
    """Entry point of the server process (``python -m hedge_bench._servers``).

    Reads the pickled workload (hex) from the first line of stdin, prints
    ``ready <address>``, then answers one line per command on stdin:
    ``counts`` (received, completed and abandoned requests), ``connections``
    (connections open now), ``epoch <n>`` (requests of epoch ``n`` and the
    copies of them received, hedges included) and ``model <hex>`` (a pickled
    :class:`~hedge_bench.LatencyModel`, or ``None``, replacing the
    workload's model; answered ``ok``). It stops at ``stop``, at anything
    else, or when stdin closes (the parent exited).
    """
    workload = pickle.loads(bytes.fromhex(sys.stdin.readline().strip()))
    counters = _Counters()
    attempts = _Attempts(workload)
    baseline_sockets = [0]

    def connections() -> int:
        if protocol == "http":
            return counters[_OPEN]
        # grpc.aio does not report its connections; count this process's
        # sockets beyond those it had once listening (its listener and the like).
        return max(0, (socket_count() or 0) - baseline_sockets[0])

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def ready(address: str) -> None:
            baseline_sockets[0] = socket_count() or 0
            print(f"ready {address}", flush=True)
            threading.Thread(target=commands, name="hedge-bench-commands", daemon=True).start()

        def commands() -> None:
            for line in sys.stdin:
                command, _, argument = line.strip().partition(" ")
                if command == "counts":
                    # A copy of three ints under the GIL: a consistent enough reading.
                    print(" ".join(map(str, counters.values[:3])), flush=True)
                elif command == "connections":
                    print(connections(), flush=True)
                elif command == "epoch":
                    totals = attempts.totals.get(int(argument), [0, 0])
                    print(f"{totals[0]} {totals[1]}", flush=True)
                elif command == "model":
                    # One attribute store: the next request parsed sees the new model.
                    attempts.override = pickle.loads(bytes.fromhex(argument))
                    print("ok", flush=True)
                else:
                    break
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)

        run = _serve_grpc if protocol == "grpc" else _serve_http
        await run(attempts, counters, ready, stop)

    asyncio.run(main())


class ServerProcess:
    """A benchmark server in a child process; use as a context manager.

    Args:
        protocol: ``"http"`` or ``"grpc"``.
        workload: the latencies to serve, or ``None`` to answer at once.

    Attributes:
        address: ``http://127.0.0.1:PORT`` (HTTP) or ``127.0.0.1:PORT`` (gRPC),
            set once started.

    """

    def __init__(self, protocol: str, workload: Workload | None) -> None:
        if protocol not in ("http", "grpc"):
            raise ValueError(f"protocol must be 'http' or 'grpc', got {protocol!r}")
        self.protocol = protocol
        self.workload = workload
        self.address = ""
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> ServerProcess:
        """Start the process and wait until it listens.

        Raises:
            RuntimeError: if the server did not come up.

        """
        process = self._process = subprocess.Popen(
            [sys.executable, "-m", "hedge_bench._servers", self.protocol],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(pickle.dumps(self.workload).hex() + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError(
                f"the {self.protocol} benchmark server did not start (exit code {process.returncode})"
            )
        self.address = line.split(" ", 1)[1].strip()
        return self

    def _ask(self, command: str) -> str:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the server is not running")
        with self._lock:
            try:
                process.stdin.write(command + "\n")
                process.stdin.flush()
            except (OSError, ValueError):
                raise RuntimeError(f"the {self.protocol} benchmark server stopped answering") from None
            return process.stdout.readline()

    def counts(self) -> ServerCounts:
        """What the server has seen so far."""
        line = self._ask("counts")
        try:
            received, completed, abandoned = (int(part) for part in line.split())
        except ValueError:
            raise RuntimeError(f"the {self.protocol} benchmark server stopped answering") from None
        return ServerCounts(received, completed, abandoned)

    def connections(self) -> int:
        """Connections the server has open now.

        HTTP: exactly, from its own bookkeeping. gRPC: the server process's
        sockets beyond those it had when it started listening (grpc.aio
        does not report connections), Linux only (0 elsewhere).
        """
        line = self._ask("connections")
        try:
            return int(line)
        except ValueError:
            raise RuntimeError(f"the {self.protocol} benchmark server stopped answering") from None

    def epoch(self, epoch: int) -> tuple[int, int]:
        """``(requests, copies)`` the server received for ``epoch``: copies beyond the first are hedges.

        Counted by the epoch a request names, whenever its copies arrive, so
        a phase's figures are exact however long its requests take.
        """
        line = self._ask(f"epoch {int(epoch)}")
        try:
            requests, copies = (int(part) for part in line.split())
        except ValueError:
            raise RuntimeError(f"the {self.protocol} benchmark server stopped answering") from None
        return requests, copies

    def set_model(self, model: LatencyModel | None) -> None:
        """Serve ``model``'s latencies from the next request on; ``None`` restores the workload's.

        Raises:
            RuntimeError: if the server was started without a workload (it
                answers at once) or stopped answering.

        """
        if self.workload is None:
            raise RuntimeError("a server started without a workload answers at once; it has no model")
        if self._ask("model " + pickle.dumps(model).hex()).strip() != "ok":
            raise RuntimeError(f"the {self.protocol} benchmark server stopped answering")

    def stop(self) -> None:
        """Stop the server and wait for its process to end (idempotent)."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            assert process.stdin is not None
            process.stdin.write("stop\n")
            process.stdin.close()
        try:
            process.wait(10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":
    serve(sys.argv[1])
