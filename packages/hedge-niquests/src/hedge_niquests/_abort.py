"""Aborting a losing attempt by shutting down its HTTP/1.1 socket.

Two problems share this answer.

* **Sync**: an attempt runs on a worker thread blocked in a socket read, and
  a thread cannot be interrupted.
* **Async**: an attempt can be cancelled, but a ``CancelledError`` that
  lands while urllib3-future (niquests' HTTP core, 2.x) is handing the
  connection back to its pool — the instant a response completes — leaves
  that socket unclosed (the same happens to a plain ``niquests.AsyncSession``
  request cancelled at that instant). Losers that finish together with the
  winner hit exactly that instant.

Shutting the attempt's socket down from outside solves both: the blocked or
pending read returns at once, urllib3-future takes its ordinary error path
(it discards and closes the connection), and the server sees the client
leave. That needs the attempt's connection, which niquests does not hand
out: the only per-request hook that runs once the connection is chosen is
the ``on_post_connection`` callback, and it receives a ``ConnectionInfo``,
not the connection.

:class:`ConnectionWatch` wraps that callback. urllib3-future calls (or
awaits) it from its pool's ``_make_request(conn, ...)``, in the attempt's
own thread or task, just before the request is written; the watch looks
one frame up for ``conn`` and accepts it only if that object's
``conn_info`` *is* the ``ConnectionInfo`` it was given. Any other shape of
the library leaves the watch empty: the sync attempt then runs to its end
(its response closed by its worker) and the async one is cancelled, as
without the watch.

Only HTTP/1.x connections are shut down: an HTTP/2 or HTTP/3 connection may
carry other requests' streams, which must not die with a loser. The watch
ends when the attempt's ``send`` returns: from then on a losing response is
released by closing it, never by touching a socket that may be back in the
pool.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from hedge import Attempt

__all__ = ["ConnectionWatch", "watch_connection"]

_SINGLE_REQUEST_PROTOCOLS = frozenset({"HTTP/1.1", "HTTP/1.0", "HTTP/0.9"})


def _shutdown(sock: Any) -> None:
    """Cut ``sock`` off: a socket both ways, urllib3-future's async socket for reading only.

    Reading alone is enough to end an async exchange: its pending read sees
    the end of the stream, and urllib3-future closes the connection, which
    the server sees at once. Shutting down writing too would leak the
    descriptor: urllib3-future's async close shuts the socket down again,
    which fails on a connection shut both ways, and its handler for that
    failure detaches the descriptor instead of closing it.
    """
    with contextlib.suppress(OSError, ValueError):
        if isinstance(sock, socket.socket):
            # socket.socket's own shutdown: SSLSocket.shutdown would also drop
            # the TLS object under the thread still reading from it.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
            return
        fd = sock.fileno()  # -1 once closed: then there is nothing to do
        if fd >= 0:
            # A shutdown acts on the connection, so a duplicate descriptor
            # reaches it without touching the owner's object.
            with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as duplicate:
                duplicate.shutdown(socket.SHUT_RD)  # not SHUT_RDWR: see above


class ConnectionWatch:
    """Remembers the socket one attempt is using, to shut it down if the attempt loses."""

    __slots__ = ("_lock", "_over", "_socket")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: Any = None
        self._over = False

    def wrap(self, callback: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
        """Return a sync ``on_post_connection`` callback that watches, then calls ``callback``.

        The wrapper carries ``callback``'s name and module, so that
        urllib3-future still recognises niquests' own callbacks.
        """

        def on_post_connection(conn_info: Any) -> Any:
            self._capture(conn_info, sys._getframe(1))
            return callback(conn_info) if callback is not None else None

        if callback is not None:
            functools.update_wrapper(on_post_connection, callback)
        return on_post_connection

    def wrap_async(
        self, callback: Callable[[Any], Awaitable[None]] | None
    ) -> Callable[[Any], Awaitable[None]]:
        """The :meth:`wrap` of an async session's (awaited) callback."""

        async def on_post_connection(conn_info: Any) -> None:
            # A running coroutine's caller frame is the one awaiting it.
            self._capture(conn_info, sys._getframe(1))
            if callback is not None:
                await callback(conn_info)

        if callback is not None:
            functools.update_wrapper(on_post_connection, callback)
        return on_post_connection

    def _capture(self, conn_info: Any, frame: Any) -> None:
        version = getattr(conn_info, "http_version", None)
        if getattr(version, "value", version) not in _SINGLE_REQUEST_PROTOCOLS:
            return  # decided before the caller's frame is looked at (see the module docstring)
        conn = frame.f_locals.get("conn") if frame is not None else None
        if conn is None or getattr(conn, "conn_info", None) is not conn_info:
            return
        sock = getattr(conn, "sock", None)
        if not callable(getattr(sock, "fileno", None)):
            return
        with self._lock:
            if not self._over:
                self._socket = sock
                return
        # Given up while it was connecting: stop before the request is written.
        _shutdown(sock)

    def abort(self) -> bool:
        """Shut down the watched socket, now or as soon as it is chosen. Idempotent.

        Returns:
            whether a socket was shut down now (``False``: none chosen yet,
            or not an HTTP/1.x connection).

        """
        with self._lock:
            self._over = True
            sock, self._socket = self._socket, None
        if sock is None:
            return False
        _shutdown(sock)
        return True

    def end(self) -> None:
        """Stop watching: the attempt's ``send`` has returned."""
        with self._lock:
            self._over = True
            self._socket = None


@contextlib.contextmanager
def watch_connection(attempt: Attempt) -> Iterator[ConnectionWatch]:
    """Watch the connection of a sync ``attempt`` while the block runs; abort it if it is given up."""
    watch = ConnectionWatch()
    attempt.on_cancel(watch.abort)
    try:
        yield watch
    finally:
        watch.end()
