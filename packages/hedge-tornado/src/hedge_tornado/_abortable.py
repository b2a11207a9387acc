"""A ``SimpleAsyncHTTPClient`` whose fetches can be aborted: the tornado seam.

Tornado's ``fetch()`` has no cancel. Cancelling the awaiting future leaves
the request running: its connection stays open, it keeps one of the
client's ``max_clients`` slots until it ends on its own, and requests queued
behind it wait. A losing hedge attempt must end *now*, so the adapter owns
its client and its connections:

* :class:`AbortableHTTPClient` is a ``SimpleAsyncHTTPClient`` that builds
  :class:`AbortableConnection` objects and can drop a request still waiting
  in its ``max_clients`` queue (removing its queue timeout with it).
* :class:`AbortableConnection` is tornado's ``_HTTPConnection`` that reports
  the response headers and the first body byte to its :class:`Exchange`
  (what the race is decided on), holds a streamed chunk until the exchange
  is committed to the caller, and can be aborted. Aborting takes the path
  tornado's own ``request_timeout`` takes: the slot is released at once
  (the next queued request starts), the final callback receives a 599
  response that the exchange ignores, and the stream is closed, so the
  server sees the connection go away. It also fixes one tornado defect
  on the way: a connection reset in the middle of a response body fails
  the fetch at once with the reset (tornado itself logs it and waits for
  ``request_timeout``).

An exchange is found from a request through an attribute on the request
(:data:`EXCHANGE`): tornado copies the request for each redirect hop, so a
hop inherits it and a redirect chain stays one abortable attempt.

This module uses tornado internals that have been stable across tornado 6:
``SimpleAsyncHTTPClient._connection_class``, ``queue`` and
``_remove_timeout``; ``_HTTPConnection`` and its ``final_callback``,
``_remove_timeout``, ``_run_callback``, ``_handle_exception``,
``on_connection_close`` and ``_should_follow_redirect``. The adapter's tests
exercise each of them on every tornado release the project tests.
"""

from __future__ import annotations

from collections.abc import Awaitable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Optional

from tornado import httputil
from tornado.httpclient import HTTPResponse
from tornado.simple_httpclient import SimpleAsyncHTTPClient, _HTTPConnection

if TYPE_CHECKING:
    from ._exchange import Exchange

__all__ = ["ABANDONED", "EXCHANGE", "AbortableConnection", "AbortableHTTPClient", "exchange_of"]

EXCHANGE = "_hedge_tornado_exchange"
"""The request attribute that carries the attempt's :class:`Exchange`."""

ABANDONED = "Abandoned: the hedged request no longer needs this attempt"
"""The reason of the 599 an aborted connection reports; it never reaches a caller."""


def exchange_of(request: Any) -> Exchange | None:
    """The exchange a request (or tornado's proxy of one) belongs to, if any."""
    target = getattr(request, "request", request)
    exchange: Exchange | None = getattr(target, EXCHANGE, None)
    return exchange


class AbortableHTTPClient(SimpleAsyncHTTPClient):
    """``SimpleAsyncHTTPClient`` with abortable connections (see the module docstring).

    Create it with ``force_instance=True``: it must never be tornado's
    per-loop shared instance, which other code would use unhedged.
    """

    def _connection_class(self) -> type:
        return AbortableConnection

    def dequeue(self, exchange: Exchange) -> None:
        """Drop every request of ``exchange`` still waiting for a ``max_clients`` slot.

        Its callback is never called and its queue timeout is removed. Costs a
        scan of the queue, which is empty unless the client is saturated.
        """
        if not self.queue:
            return
        for entry in [entry for entry in self.queue if exchange_of(entry[1]) is exchange]:
            self.queue.remove(entry)
            self._remove_timeout(entry[0])


class AbortableConnection(_HTTPConnection):
    """One HTTP/1.1 request on its own stream, reporting to its exchange and abortable."""

    def __init__(self, client: Optional[SimpleAsyncHTTPClient], request: Any, *args: Any) -> None:  # noqa: UP045
        self._hedge_exchange = exchange_of(request)
        self._hedge_aborted = False
        # Whether the response headers received last are a redirect tornado
        # follows: decided once per response rather than on every body chunk
        # (tornado's check reads the request's settings through its proxy).
        self._hedge_redirect = False
        # Schedules run() for the next loop iteration: registering below comes first.
        super().__init__(client, request, *args)
        exchange = self._hedge_exchange
        if exchange is not None:
            exchange.attach(self)

    # -- aborting ----------------------------------------------------------------

    def abort(self) -> None:
        """End the request now: release its slot, close its stream (idempotent).

        Does nothing once the request has ended on its own. The steps are
        tornado's own for a failed request (``_handle_exception``), except
        that the final callback receives a plain 599 *status*, not an error:
        for a redirect hop that callback belongs to tornado's inner fetch,
        which hands a status on as a result but an error as an exception
        that tornado before 6.6 leaves unhandled. A TCP connect still in
        progress cannot be interrupted: tornado closes its stream once it
        completes.
        """
        if self._answered:
            return
        self._hedge_aborted = True
        self._remove_timeout()
        self._run_callback(
            HTTPResponse(
                self.request,
                599,
                reason=ABANDONED,
                request_time=self.io_loop.time() - self.start_time,
                start_time=self.start_wall_time,
            )
        )
        stream = getattr(self, "stream", None)
        if stream is not None:
            stream.close()

    @property
    def _answered(self) -> bool:
        # Tornado sets final_callback to None once the request has its answer
        # (its annotation does not say so).
        callback: object = self.final_callback
        return callback is None

    async def run(self) -> None:
        if self._hedge_aborted:
            return  # aborted before it started: open no connection at all
        await super().run()

    def _handle_exception(
        self,
        typ: Optional[type[BaseException]],  # noqa: UP045
        value: Optional[BaseException],  # noqa: UP045
        tb: Optional[TracebackType],  # noqa: UP045
    ) -> bool:
        if self._hedge_aborted and self._answered:
            # Whatever fails after an abort (the closed stream, a late connect
            # error) is its echo: the request already has its answer.
            return True
        return bool(super()._handle_exception(typ, value, tb))

    def on_connection_close(self) -> None:
        stream = getattr(self, "stream", None)
        error = None if stream is None else stream.error
        if error is not None and not self._answered:
            # Tornado raises the stream's error from here, where nothing
            # catches it: tornado 6.2 and later log it and leave the request
            # to its request_timeout (a 599 much later), 6.0 and 6.1 raise
            # their private _QuietException. A connection reset in the middle
            # of a body fails the fetch now, with the reset, as it does before
            # the headers.
            self._handle_exception(type(error), error, None)
            return
        super().on_connection_close()

    # -- reporting to the exchange ------------------------------------------------

    async def headers_received(
        self,
        first_line: httputil.ResponseStartLine | httputil.RequestStartLine,
        headers: httputil.HTTPHeaders,
    ) -> None:
        await super().headers_received(first_line, headers)
        self._hedge_redirect = self._should_follow_redirect()
        exchange = self._hedge_exchange
        if (
            exchange is not None
            and isinstance(first_line, httputil.ResponseStartLine)
            and first_line.code >= 200  # an interim 1xx is not the answer
            and not self._hedge_redirect  # nor is a hop tornado follows
        ):
            exchange.headers_received(first_line.code, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        exchange = self._hedge_exchange
        if exchange is None or self._hedge_redirect:
            return super().data_received(chunk)
        exchange.body_started()
        if exchange.committed or self.request.streaming_callback is None:
            return super().data_received(chunk)
        # The caller's streaming_callback must see the winner's chunks only:
        # hold this one until the race is decided. Tornado waits for the
        # returned awaitable before reading on, so at most one chunk is held.
        return self._deliver_when_committed(exchange, chunk)

    async def _deliver_when_committed(self, exchange: Exchange, chunk: bytes) -> None:
        if await exchange.wait_committed():
            pending = super().data_received(chunk)
            if pending is not None:
                await pending

    def finish(self) -> None:
        exchange = self._hedge_exchange
        if exchange is not None and not self._hedge_redirect:
            exchange.body_started()  # an empty body ends at once: that is its first byte
        super().finish()
