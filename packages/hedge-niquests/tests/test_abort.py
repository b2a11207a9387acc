"""Aborting losing sync attempts by shutting down their HTTP/1.1 socket."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hedge import Attempt, HedgeConfig, Stats
from hedge.testing import Reply, ScriptedServer
from hedge_niquests import HedgedNiquestsSyncSession
from hedge_niquests._abort import ConnectionWatch, watch_connection


class Info:
    """Stands for urllib3-future's ConnectionInfo: only ``http_version`` is read."""

    def __init__(self, http_version: str) -> None:
        self.http_version = http_version


class Conn:
    """Stands for a pool connection: the watch reads ``conn_info`` and ``sock``."""

    def __init__(self, sock: socket.socket, info: Info) -> None:
        self.sock = sock
        self.conn_info = info


def make_request(callback: Callable[[Any], Any], conn: Conn) -> Any:
    # The shape of urllib3-future's pool: the callback is called from a frame holding ``conn``.
    return callback(conn.conn_info)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, peer = socket.socketpair()
    peer.settimeout(5)
    yield ours, peer
    ours.close()
    peer.close()


def shut_down(peer: socket.socket) -> bool:
    """Whether the other end was shut down (a read sees EOF)."""
    return peer.recv(1) == b""


def test_abort_shuts_the_watched_http1_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    calls: list[Any] = []
    watch = ConnectionWatch()
    info = Info("HTTP/1.1")
    make_request(watch.wrap(calls.append), Conn(ours, info))
    assert calls == [info]
    watch.abort()
    assert shut_down(peer)


def test_abort_before_the_connection_is_chosen_shuts_it_at_once(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    watch = ConnectionWatch()
    watch.abort()
    make_request(watch.wrap(None), Conn(ours, Info("HTTP/1.1")))
    assert shut_down(peer)


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/3.0"])
def test_multiplexed_connections_are_never_shut(
    pair: tuple[socket.socket, socket.socket], version: str
) -> None:
    ours, peer = pair
    watch = ConnectionWatch()
    make_request(watch.wrap(None), Conn(ours, Info(version)))
    watch.abort()
    ours.sendall(b"x")
    assert peer.recv(1) == b"x"


def test_a_connection_that_is_not_provably_ours_is_left_alone(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    watch = ConnectionWatch()
    callback = watch.wrap(None)
    # The callback was given another ConnectionInfo than the connection's own.
    conn = Conn(ours, Info("HTTP/1.1"))
    callback(Info("HTTP/1.1"))
    make_request(lambda _info: None, conn)
    watch.abort()
    ours.sendall(b"x")
    assert peer.recv(1) == b"x"


def test_after_send_returned_the_socket_is_no_longer_touched(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, peer = pair
    attempt = Attempt(1, 0.0)
    with watch_connection(attempt) as watch:
        make_request(watch.wrap(None), Conn(ours, Info("HTTP/1.1")))
    attempt.cancel()  # given up after its send returned: its response is closed instead
    ours.sendall(b"x")
    assert peer.recv(1) == b"x"


def test_a_cancelled_attempt_aborts_its_watch(pair: tuple[socket.socket, socket.socket]) -> None:
    ours, peer = pair
    attempt = Attempt(1, 0.0)
    with watch_connection(attempt) as watch:
        make_request(watch.wrap(None), Conn(ours, Info("HTTP/1.1")))
        attempt.cancel()
        assert shut_down(peer)


def test_the_wrapper_keeps_the_callbacks_identity() -> None:
    def on_post_connection(conn_info: Any) -> None:
        """Niquests' callbacks are recognised by their module."""

    on_post_connection.__module__ = "niquests.sessions"
    wrapped = ConnectionWatch().wrap(on_post_connection)
    assert (wrapped.__module__, wrapped.__name__, wrapped.__doc__) == (
        "niquests.sessions",
        "on_post_connection",
        on_post_connection.__doc__,
    )


def test_a_hung_sync_loser_is_cut_off_on_the_wire() -> None:
    config = HedgeConfig(
        min_delay=0.05, max_delay=0.05, warmup_delay=0.05, budget_percent=100.0, stats=Stats()
    )
    with ScriptedServer() as server:
        server.script("/hang", Reply(fault="hang"), Reply(body=b"hedge"))
        with HedgedNiquestsSyncSession(config=config) as session:
            response = session.get(server.url_for("/hang"), timeout=60)
            assert response.content == b"hedge"
            # The primary would hang for the 60 s read timeout; it was cut off instead.
            assert server.wait_until(lambda s: s.requests_to("/hang")[0].disconnected)
            snapshot = session.stats.snapshot()
        assert (snapshot.hedge_wins, snapshot.attempts_cancelled) == (1, 1)
        assert server.wait_until(lambda s: s.open_connections == 0)
