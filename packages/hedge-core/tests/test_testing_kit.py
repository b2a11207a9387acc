"""hedge.testing itself: the fake clock, the virtual-time loop and the scripted server."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading

import pytest

from hedge.testing import FakeClock, Reply, ScriptedServer, VirtualTimeLoop, free_port, run_virtual


def test_fake_clock_only_moves_forward() -> None:
    clock = FakeClock(5.0)
    assert clock() == 5.0
    assert clock.advance(2.5) == 7.5
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="forward"):
            clock.advance(bad)


def test_virtual_loop_jumps_to_the_next_timer() -> None:
    clock = FakeClock(0.0)

    async def main() -> list[float]:
        marks = []
        for seconds in (10.0, 3600.0, 0.001):
            await asyncio.sleep(seconds)
            marks.append(asyncio.get_running_loop().time())
        return marks

    assert run_virtual(main, clock) == pytest.approx([10.0, 3610.0, 3610.001])
    assert clock() == pytest.approx(3610.001)


def test_virtual_loop_cancels_leftover_tasks() -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(1e9)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def main() -> None:
        left_running = asyncio.ensure_future(forever())
        await asyncio.sleep(0)
        assert not left_running.done()

    run_virtual(main)
    assert cancelled.is_set()
    loop = VirtualTimeLoop()
    assert isinstance(loop.clock, FakeClock)
    loop.close()


def _get(
    server: ScriptedServer, path: str, method: str = "GET", body: bytes | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_scripts_are_served_in_order_then_the_default() -> None:
    with ScriptedServer(default=Reply(body=b"default")) as server:
        server.script(
            "/a", Reply(status=503, body=b"one"), Reply(status=201, body=b"two", headers={"x-k": "v"})
        )
        assert _get(server, "/a") == (503, b"one")
        assert _get(server, "/a?q=1") == (201, b"two")
        assert _get(server, "/a") == (200, b"default")
        assert _get(server, "/b", method="POST", body=b"payload") == (200, b"default")
        requests = server.requests
        assert [r.seq for r in requests] == [1, 2, 3, 4]
        assert requests[1].target == "/a?q=1"
        assert requests[3].body == b"payload"
        assert all(r.completed and not r.disconnected for r in requests)
        assert server.wait_until(lambda s: s.open_connections == 0)
        assert server.total_connections == 4


def test_chunked_replies_and_chunked_request_bodies() -> None:
    with ScriptedServer() as server:
        server.script("/sse", Reply(chunks=[b"data: 1\n\n", b"data: 2\n\n"]))
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("POST", "/sse", body=iter([b"ab", b"cd"]), encode_chunked=True)
        response = connection.getresponse()
        assert response.read() == b"data: 1\n\ndata: 2\n\n"
        connection.close()
        assert server.requests_to("/sse")[0].body == b"abcd"


def test_faults() -> None:
    with ScriptedServer() as server:
        server.script("/reset", Reply(fault="reset"))
        server.script("/close", Reply(fault="close"))
        server.script("/mid", Reply(body=b"0123456789", fault="reset_mid_body"))
        with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
            _get(server, "/reset")
        with pytest.raises(http.client.RemoteDisconnected):
            _get(server, "/close")
        with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
            _get(server, "/mid")


def test_a_client_leaving_a_slow_reply_is_recorded() -> None:
    with ScriptedServer() as server:
        server.script("/slow", Reply(delay=30.0))
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
        assert server.wait_until(lambda s: len(s.requests_to("/slow")) == 1)
        sock.close()
        assert server.wait_until(lambda s: s.disconnects == 1)
        (request,) = server.requests_to("/slow")
        assert request.disconnected
        assert not request.completed


def test_gates_release_waiting_requests_together() -> None:
    with ScriptedServer() as server:
        server.script("/tie", Reply(gate=2, body=b"a"), Reply(gate=2, body=b"b"))
        results: list[tuple[int, bytes]] = []
        threads = [threading.Thread(target=lambda: results.append(_get(server, "/tie"))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(results) == [(200, b"a"), (200, b"b")]


def test_hang_waits_until_the_client_leaves_and_stop_closes_everything() -> None:
    server = ScriptedServer().start()
    server.script("/hang", Reply(fault="hang"))
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"GET /hang HTTP/1.1\r\nhost: x\r\n\r\n")
    assert server.wait_until(lambda s: s.open_connections == 1)
    server.stop()
    server.stop()  # idempotent
    assert sock.recv(1) == b""  # the server closed the connection
    sock.close()


def test_free_port_refuses_connections() -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", free_port()), timeout=5)


def test_reply_validates_its_fault() -> None:
    with pytest.raises(ValueError, match="fault"):
        Reply(fault="explode")


def test_replies_can_be_matched_by_attempt_instead_of_arrival() -> None:
    with ScriptedServer(attempt_header="X-Hedge-Attempt") as server:
        server.script("/a", Reply(body=b"first primary"), Reply(body=b"first hedge"))
        server.script("/a", Reply(body=b"second primary"))

        def get(attempt: int | None) -> bytes:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            headers = {} if attempt is None else {"x-hedge-attempt": str(attempt)}
            connection.request("GET", "/a", headers=headers)
            body = connection.getresponse().read()
            connection.close()
            return body

        # The hedge arrives before its primary: it still gets the hedge's reply.
        assert get(1) == b"first hedge"
        assert get(None) == b"first primary"
        assert get(None) == b"second primary"
        assert get(1) == b"ok"  # nothing scripted for it: the default
