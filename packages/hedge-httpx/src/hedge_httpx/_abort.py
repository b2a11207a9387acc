"""Stopping a synchronous attempt that lost the race, as far as httpx allows.

A thread blocked in a socket read cannot be interrupted, and neither httpx
nor httpcore has a call that aborts a request in flight. What httpcore does
offer publicly is enough for part of the job:

* the ``trace`` request extension calls back at every step of an exchange
  (``connection.connect_tcp``, ``http11.send_request_headers``,
  ``http11.receive_response_headers``...), on the attempt's own thread, and
  hands over the network stream of a connection the request opens;
* the ``network_stream`` response extension gives the connection's stream
  once the response headers have arrived.

So a losing attempt is stopped like this:

* if it is about to begin another step, the trace callback raises
  :class:`AttemptAbandoned` there, and httpcore closes the connection;
* if it is blocked reading from an HTTP/1.1 connection it opened itself, or
  (``race_on="first_byte"``) waiting for its first body chunk, its socket is
  shut down: the read returns at once, httpcore closes the connection, and
  the server sees the client leave;
* if it is blocked reading the response headers on a pooled keep-alive
  connection it did not open, there is no public handle on that socket: it
  runs to its end (at most the client's read timeout) on its worker thread,
  and its response is closed the moment it arrives.

HTTP/2 connections are never shut down: one carries other requests too.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["AttemptAbandoned", "SyncAbort"]

_CONNECTED = frozenset(
    {
        "connection.connect_tcp.complete",
        "connection.connect_unix_socket.complete",
        "connection.start_tls.complete",
    }
)
# Steps after which an abandoned attempt may be stopped by raising. Never a
# "closed"/"close" step: those are httpcore cleaning up.
_STEPS = frozenset(
    {
        "connection.connect_tcp.started",
        "connection.connect_unix_socket.started",
        "connection.start_tls.started",
        "http11.send_request_headers.started",
        "http11.send_request_body.started",
        "http11.receive_response_headers.started",
        "http11.receive_response_body.started",
    }
)
_HTTP1 = (b"HTTP/1.1", b"HTTP/1.0")


class AttemptAbandoned(Exception):
    """Raised inside a losing synchronous attempt to stop it; never reaches a caller."""


class SyncAbort:
    """The abort handle of one synchronous attempt (see the module docstring).

    Args:
        user_trace: the request's own ``trace`` extension, still called for
            every event, first.

    """

    __slots__ = ("_abandoned", "_armed", "_lock", "_stream", "_user_trace")

    def __init__(self, user_trace: Callable[[str, dict[str, Any]], object] | None) -> None:
        self._user_trace = user_trace
        self._lock = threading.Lock()
        self._stream: Any = None
        self._armed = False  # the stream is an HTTP/1.1 connection this attempt alone uses
        self._abandoned = False

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """Httpcore's ``trace`` callback for the attempt (runs on the attempt's thread)."""
        if self._user_trace is not None:
            self._user_trace(name, info)
        if name in _CONNECTED:
            with self._lock:
                self._stream = info.get("return_value")
            return
        shutdown = None
        with self._lock:
            abandoned = self._abandoned
            if name.startswith("http11.") and not self._armed and self._stream is not None:
                self._armed = True
                shutdown = self._stream if abandoned else None
        if shutdown is not None:
            _shutdown(shutdown)
        if abandoned and name in _STEPS:
            raise AttemptAbandoned(f"the hedged attempt was given up at {name}")

    def attach(self, response: Any) -> None:
        """Use ``response``'s connection as the one to shut down (HTTP/1.x only).

        Raises:
            AttemptAbandoned: if the attempt was given up already.

        """
        extensions = response.extensions
        stream = extensions.get("network_stream") if extensions.get("http_version") in _HTTP1 else None
        with self._lock:
            if stream is not None:
                self._stream = stream
                self._armed = True
            if self._abandoned:
                raise AttemptAbandoned("the hedged attempt was given up")

    def abort(self) -> None:
        """Give the attempt up (the engine's ``on_cancel`` callback; runs on another thread)."""
        with self._lock:
            self._abandoned = True
            stream = self._stream if self._armed else None
        if stream is not None:
            _shutdown(stream)


def _shutdown(stream: Any) -> None:
    """Shut the socket under an httpcore network stream down in both directions."""
    get_extra_info = getattr(stream, "get_extra_info", None)
    sock = get_extra_info("socket") if get_extra_info is not None else None
    if isinstance(sock, socket.socket):
        # socket.socket's own shutdown, not ssl.SSLSocket's, which would also
        # drop the TLS object under the read that is still running.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
