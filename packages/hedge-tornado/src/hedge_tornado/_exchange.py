"""Exchange: one attempt of a hedged fetch, from submission to its final response.

An exchange submits its own copy of the request to the
:class:`~hedge_tornado._abortable.AbortableHTTPClient` and follows it:

* ``ready`` resolves when the attempt has something the race can judge: the
  final response's headers (``race_on="headers"``), its first body byte or
  its end (``race_on="first_byte"``), or the final response itself (an
  error before any of those, such as a refused connection).
* :meth:`commit` hands the attempt to the caller: header lines buffered for
  the caller's ``header_callback`` are delivered, and a streamed chunk held
  by the connection is released to the caller's ``streaming_callback``.
  Before that, nothing of the attempt reaches the caller's callbacks, so
  they see the winner only, every chunk exactly once.
* :meth:`abort` ends a losing or abandoned attempt at once: a request still
  queued for a ``max_clients`` slot is dropped, a running one is aborted
  (slot released, stream closed). Idempotent; a finished attempt has
  nothing left to release.

Everything here runs on the event loop that owns the client; nothing blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

from tornado.httpclient import HTTPClientError, HTTPRequest, HTTPResponse, _RequestProxy
from tornado.httputil import HTTPHeaders
from tornado.log import app_log
from tornado.simple_httpclient import HTTPStreamClosedError

from ._abortable import EXCHANGE

if TYPE_CHECKING:
    from ._abortable import AbortableConnection, AbortableHTTPClient

__all__ = ["Exchange", "is_status_error"]


def is_status_error(response: HTTPResponse) -> bool:
    """Whether ``response.error`` only reports a non-2xx status (what ``raise_error=False`` returns)."""
    error = response.error
    return isinstance(error, HTTPClientError) and error.response is response


def _resolve(future: asyncio.Future[bool], value: bool = True) -> None:
    # The awaiting task may have been cancelled, which cancels the future too.
    if not future.done():
        future.set_result(value)


class Exchange:
    """One attempt's request on the wire (see the module docstring).

    Args:
        http: the client that runs it.
        request: the attempt's own copy of the request (tornado mutates it).
        first_byte: decide the race on the first body byte, not the headers.
        header_callback: the caller's ``header_callback``, or ``None``.
        inflight: the set of unfinished exchanges of the owning client.

    """

    __slots__ = (
        "backlog",
        "code",
        "committed",
        "connection",
        "done",
        "ended",
        "first_byte",
        "gate",
        "header_callback",
        "headers",
        "http",
        "inflight",
        "ready",
        "request",
        "response",
    )

    def __init__(
        self,
        http: AbortableHTTPClient,
        request: HTTPRequest,
        first_byte: bool,
        header_callback: Optional[Callable[[str], None]],  # noqa: UP045
        inflight: set[Exchange],
    ) -> None:
        loop = asyncio.get_running_loop()
        self.http = http
        self.request = request
        self.first_byte = first_byte
        self.header_callback = header_callback
        self.inflight = inflight
        self.ready: asyncio.Future[bool] = loop.create_future()
        self.done: asyncio.Future[bool] = loop.create_future()
        self.gate: asyncio.Future[bool] | None = None
        self.connection: AbortableConnection | None = None
        self.response: HTTPResponse | None = None
        self.code: int | None = None
        self.headers: HTTPHeaders | None = None
        self.backlog: list[str] | None = [] if header_callback is not None else None
        self.committed = False
        self.ended = False  # aborted, or given its final response

    def start(self) -> None:
        """Submit the request: it runs now, or waits in the client's ``max_clients`` queue."""
        request = self.request
        setattr(request, EXCHANGE, self)
        if self.header_callback is not None:
            request.header_callback = self._header_line
        self.inflight.add(self)
        self.http.fetch_impl(_RequestProxy(request, self.http.defaults), self._on_response)  # type: ignore[arg-type]

    # -- what the connection reports -------------------------------------------------

    def attach(self, connection: AbortableConnection) -> None:
        """The connection now running this exchange's request (or its redirect hop)."""
        if self.ended:
            connection.abort()
        else:
            self.connection = connection

    def headers_received(self, code: int, headers: HTTPHeaders) -> None:
        """The final response's status and headers arrived."""
        self.code = code
        self.headers = headers
        if not self.first_byte:
            _resolve(self.ready)

    def body_started(self) -> None:
        """The final response's first body byte arrived (or its body ended empty)."""
        if self.first_byte:
            _resolve(self.ready)

    def _header_line(self, line: str) -> None:
        if self.committed:
            assert self.header_callback is not None
            self.header_callback(line)
        elif self.backlog is not None:
            self.backlog.append(line)

    def _on_response(self, response: HTTPResponse) -> None:
        self.connection = None
        if self.ended:
            return  # the echo of an abort
        self._end()
        self.response = response
        if self.gate is not None:
            # A chunk was held and the request ended anyway (a timeout):
            # let the connection's reader finish.
            _resolve(self.gate, self.committed)
        _resolve(self.ready)
        _resolve(self.done)

    def _end(self) -> None:
        self.ended = True
        self.inflight.discard(self)
        # Unlink the request copy from this exchange (no reference cycle is
        # left for the garbage collector); its connection keeps its own link.
        request = self.request
        setattr(request, EXCHANGE, None)
        if self.header_callback is not None:
            request.header_callback = None

    # -- what the adapter does ---------------------------------------------------------

    @property
    def status(self) -> int:
        """The status the race judges: the final headers' code, else the response's."""
        if self.code is not None:
            return self.code
        assert self.response is not None
        return self.response.code

    def retry_after(self) -> str | None:
        """The ``Retry-After`` header of the response judged, if any."""
        headers = self.headers if self.headers is not None else getattr(self.response, "headers", None)
        return None if headers is None else headers.get("Retry-After")

    def transport_error(self) -> BaseException | None:
        """The error if the attempt ended without an HTTP response (refused, reset, timeout)."""
        response = self.response
        if response is None or response.error is None or is_status_error(response):
            return None
        return response.error

    async def wait_committed(self) -> bool:
        """Wait until the exchange is committed (``True``) or ended without it (``False``)."""
        if self.committed or self.ended:
            return self.committed
        if self.gate is None:
            self.gate = asyncio.get_running_loop().create_future()
        return await self.gate

    def commit(self) -> None:
        """Give this attempt to the caller: deliver what its callbacks were held from."""
        if self.committed:
            return
        self.committed = True
        lines, self.backlog = self.backlog, None
        if lines:
            assert self.header_callback is not None
            try:
                for line in lines:
                    self.header_callback(line)
            except Exception:  # noqa: BLE001 - the caller's callback, handled as tornado does
                # What tornado does when a header_callback raises: log it and
                # fail the request as if its stream had closed.
                app_log.error("Uncaught exception", exc_info=True)
                self.fail(HTTPStreamClosedError("Connection closed"))
                return
        if self.gate is not None:
            _resolve(self.gate, True)

    async def finish(self) -> HTTPResponse:
        """Commit, wait for the complete response and return it; abort if cancelled."""
        self.commit()
        if self.response is None:
            try:
                await self.done
            except BaseException:
                self.abort()
                raise
        assert self.response is not None
        return self.response

    def fail(self, error: BaseException) -> None:
        """End the exchange now with a 599 response carrying ``error``, as tornado would."""
        if self.response is not None and self.response.error is not None:
            return
        response = HTTPResponse(self.request, 599, error=error)
        self.abort()
        self.response = response
        _resolve(self.ready)
        _resolve(self.done)

    def abort(self) -> None:
        """Drop or abort the request if it is still queued or running (idempotent)."""
        if self.ended:
            return
        self.http.dequeue(self)
        self._end()
        self.backlog = None
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.abort()
        if self.gate is not None:
            _resolve(self.gate, False)
