"""The benchmark servers, in their own processes: attempt numbering and what they count."""

import asyncio
import time
from urllib.parse import urlsplit

import pytest

from hedge_bench import TwoPointModel, Workload
from hedge_bench._servers import GRPC_METHOD, ServerCounts, ServerProcess, request_path
from hedge_bench._workload import UniformModel

# Fast attempts take 1 ms; slow ones 60 s and are always abandoned by the test, never awaited.
WORKLOAD = Workload(TwoPointModel(1.0, 60_000.0, 0.5), 4)


def _request_slow_then_fast():
    """A request whose primary (attempt 0) is slow and whose first hedge (attempt 1) is fast."""
    return next(
        index
        for index in range(1000)
        if WORKLOAD.latency(0, index, 0) > 1 and WORKLOAD.latency(0, index, 1) < 1
    )


def _fast_request(start=0):
    return next(index for index in range(start, 1000) if WORKLOAD.latency(0, index, 0) < 1)


async def _wait_for(server, predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        counts = server.counts()
        if predicate(counts) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.02)


async def _send(writer, path, close=False):
    extra = "Connection: close\r\n" if close else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode())
    await writer.drain()


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    body = await reader.readexactly(2)
    return head, body


@pytest.fixture(scope="module")
def http_server():
    with ServerProcess("http", WORKLOAD) as server:
        yield server


async def test_http_copies_of_a_request_are_numbered_in_arrival_order(http_server):
    url = urlsplit(http_server.address)
    index = _request_slow_then_fast()
    path = request_path(1, 0, index)
    before = http_server.counts()
    _, primary_writer = await asyncio.open_connection(url.hostname, url.port)
    await _send(primary_writer, path)
    await _wait_for(http_server, lambda c: (c - before).received == 1)
    hedge_reader, hedge_writer = await asyncio.open_connection(url.hostname, url.port)
    await _send(hedge_writer, path)
    head, body = await asyncio.wait_for(_read_response(hedge_reader), 20)
    assert head.startswith(b"HTTP/1.1 200 OK") and body == b"ok"
    primary_writer.close()  # the slow primary is abandoned, as a hedged client's loser would be
    counts = await _wait_for(http_server, lambda c: (c - before).abandoned == 1)
    assert counts - before == ServerCounts(received=2, completed=1, abandoned=1)
    hedge_writer.close()
    for writer in (primary_writer, hedge_writer):
        await writer.wait_closed()


async def test_http_keep_alive_and_connection_close(http_server):
    url = urlsplit(http_server.address)
    first, second = _fast_request(), _fast_request(_fast_request() + 1)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    await _send(writer, request_path(2, 0, first))
    assert (await asyncio.wait_for(_read_response(reader), 20))[1] == b"ok"
    await _send(writer, request_path(2, 0, second), close=True)
    head, body = await asyncio.wait_for(_read_response(reader), 20)
    assert b"connection: close" in head.lower() and body == b"ok"
    assert await asyncio.wait_for(reader.read(), 20) == b""  # the server closed the connection
    writer.close()
    await writer.wait_closed()


async def test_http_other_paths_answer_at_once_and_garbage_is_refused(http_server):
    url = urlsplit(http_server.address)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    await _send(writer, "/zero")
    assert (await asyncio.wait_for(_read_response(reader), 20))[1] == b"ok"
    writer.write(b"NONSENSE\r\n\r\n")
    head = await asyncio.wait_for(reader.read(), 20)
    assert head.startswith(b"HTTP/1.1 400")
    writer.close()
    await writer.wait_closed()


async def test_grpc_copies_are_numbered_and_cancelled_calls_counted():
    import grpc

    index = _request_slow_then_fast()
    payload = request_path(1, 0, index)[3:].encode()
    with ServerProcess("grpc", WORKLOAD) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            get = channel.unary_unary(GRPC_METHOD)
            primary = get(payload)
            await _wait_for(server, lambda c: c.received == 1)
            assert await asyncio.wait_for(get(payload), 20) == b"ok"
            primary.cancel()
            counts = await _wait_for(server, lambda c: c.abandoned == 1)
    assert counts == ServerCounts(received=2, completed=1, abandoned=1)


def test_server_process_arguments_and_lifecycle():
    with pytest.raises(ValueError, match="'http' or 'grpc'"):
        ServerProcess("ftp", None)
    server = ServerProcess("http", None)
    with pytest.raises(RuntimeError, match="not running"):
        server.counts()
    server.stop()  # never started: nothing to do
    with server:
        assert server.address.startswith("http://127.0.0.1:")
        assert server.counts() == ServerCounts(0, 0, 0)
    with pytest.raises(RuntimeError, match="not running"):
        server.counts()


async def test_http_connections_epochs_and_an_outage(http_server):
    url = urlsplit(http_server.address)
    assert http_server.connections() == 0
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    other_reader, other_writer = await asyncio.open_connection(url.hostname, url.port)
    await _wait_for(http_server, lambda c: http_server.connections() == 2)
    assert http_server.connections() == 2
    fast = _fast_request()
    # Epoch 7: one request sent twice (a primary and its hedge), another once.
    await _send(writer, request_path(7, 0, fast))
    await asyncio.wait_for(_read_response(reader), 20)
    await _send(other_writer, request_path(7, 0, fast))
    await asyncio.wait_for(_read_response(other_reader), 20)
    second = _fast_request(fast + 1)
    await _send(writer, request_path(7, 0, second))
    await asyncio.wait_for(_read_response(reader), 20)
    assert http_server.epoch(7) == (2, 3)
    assert http_server.epoch(8) == (0, 0)
    # An outage: every attempt now takes 60 s, whatever the workload says; then it ends.
    http_server.set_model(TwoPointModel(60_000.0, 60_000.0, 0.0))
    before = http_server.counts()
    await _send(writer, request_path(8, 0, fast))
    counts = await _wait_for(http_server, lambda c: (c - before).received == 1)
    await asyncio.sleep(0.2)
    assert (http_server.counts() - before).completed == 0  # still waiting: the slow model applies
    http_server.set_model(None)
    await _send(other_writer, request_path(8, 0, second))
    head, _ = await asyncio.wait_for(_read_response(other_reader), 20)
    assert head.startswith(b"HTTP/1.1 200") and counts.received >= 1
    for each in (writer, other_writer):
        each.close()
        await each.wait_closed()
    await _wait_for(http_server, lambda c: http_server.connections() == 0)
    assert http_server.connections() == 0
    assert (http_server.counts() - before).abandoned == 1  # the slow one, given up when its connection closed


def test_a_server_without_a_workload_has_no_model_to_replace():
    with ServerProcess("http", None) as server, pytest.raises(RuntimeError, match="answers at once"):
        server.set_model(UniformModel(200.0, 500.0))


async def test_grpc_connections_are_counted_from_the_server_process():
    import grpc

    with ServerProcess("grpc", WORKLOAD) as server:
        assert server.connections() == 0
        async with grpc.aio.insecure_channel(server.address) as channel:
            get = channel.unary_unary(GRPC_METHOD)
            assert await asyncio.wait_for(get(request_path(1, 0, _fast_request())[3:].encode()), 20) == b"ok"
            assert server.connections() == 1
            assert server.epoch(1) == (1, 1)
        await _wait_for(server, lambda c: server.connections() == 0)
        assert server.connections() == 0


def test_uniform_model_draws_within_its_range():
    model = UniformModel(200.0, 500.0)
    workload = Workload(model, 3)
    draws = [workload.latency(0, index, 0) for index in range(2000)]
    assert 0.2 <= min(draws) < 0.21 and 0.49 < max(draws) <= 0.5
    assert model.describe() == {"model": "uniform", "low_ms": 200.0, "high_ms": 500.0}
    with pytest.raises(ValueError, match="0 < low_ms <= high_ms"):
        UniformModel(500.0, 200.0)
