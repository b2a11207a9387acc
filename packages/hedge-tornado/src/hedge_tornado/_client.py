"""HedgedTornadoClient: tornado's ``AsyncHTTPClient.fetch`` with hedged requests.

Each fetch is described to the :class:`hedge.Hedger` and run as a race of
attempts; every attempt is an :class:`~hedge_tornado._exchange.Exchange` on
the client's own abortable ``SimpleAsyncHTTPClient``. The race is decided
on the response headers (or the first body byte with
``race_on="first_byte"``); the winner's body is then read to the end and
the caller receives tornado's ``HTTPResponse``, or tornado's exception,
exactly as ``AsyncHTTPClient.fetch`` would have produced them. Losing
attempts are aborted: their ``max_clients`` slot is free at once and their
connection closed.

Costs per fetch, on top of tornado's: a ``RequestInfo`` (one URL split),
one copy of the request and its headers per attempt, two futures per
attempt, and a deadline on the engine's shared timer.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, Optional, Union

from tornado.httpclient import HTTPRequest, HTTPResponse
from tornado.httputil import HTTPHeaders
from tornado.netutil import Resolver

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats
from hedge.http import hedge_override

from ._abortable import AbortableHTTPClient
from ._classify import ClientClosedError, TornadoClassifier
from ._exchange import Exchange, is_status_error

__all__ = ["HedgedTornadoClient"]

_CLASSIFIER = TornadoClassifier()


def _release(exchange: Exchange) -> None:
    exchange.abort()


def _shallow_copy(request: HTTPRequest) -> HTTPRequest:
    """``copy.copy(request)``, without its generic protocol for the usual case.

    ``copy.copy`` goes through ``__reduce_ex__`` and costs about three
    times as much as copying the attribute dict of a plain ``HTTPRequest``,
    once per attempt. A subclass may define its own copying: it gets
    ``copy.copy``.
    """
    if type(request) is not HTTPRequest:
        return copy.copy(request)
    own: HTTPRequest = HTTPRequest.__new__(HTTPRequest)
    own.__dict__.update(request.__dict__)
    return own


class HedgedTornadoClient:
    """An asyncio HTTP client with tornado's ``fetch()``, whose requests are hedged.

    Use it as an async context manager (or call :meth:`close`)::

        async with HedgedTornadoClient(config=HedgeConfig()) as client:
            response = await client.fetch("https://api.example.com/data")

    The client owns a ``SimpleAsyncHTTPClient`` (never tornado's shared
    per-loop instance) created on first use, and is bound to the event loop
    it is first used on. Its keyword arguments are tornado's.

    Args:
        config: the hedging policy (default ``HedgeConfig()``).
        max_clients: requests in flight at once, hedges included; more wait
            in tornado's queue. Leave room for hedges: a hedge that waits for
            a slot cannot help.
        defaults: default ``HTTPRequest`` attributes, as in tornado.
        hostname_mapping: host name to address overrides, as in tornado.
        resolver: a ``tornado.netutil.Resolver`` (not closed by the client).
        max_buffer_size: bytes read into memory at once (tornado's default).
        max_header_size: largest response header block, or ``None``.
        max_body_size: largest response body, or ``None``.

    Raises:
        TypeError: if ``config`` is not a :class:`hedge.HedgeConfig` or
            ``max_clients`` is not an int.
        ValueError: if ``max_clients`` is below 1.

    """

    def __init__(
        self,
        config: Optional[HedgeConfig] = None,  # noqa: UP045
        *,
        max_clients: int = 10,
        defaults: Optional[dict[str, Any]] = None,  # noqa: UP045
        hostname_mapping: Optional[dict[str, str]] = None,  # noqa: UP045
        resolver: Optional[Resolver] = None,  # noqa: UP045
        max_buffer_size: int = 104_857_600,
        max_header_size: Optional[int] = None,  # noqa: UP045
        max_body_size: Optional[int] = None,  # noqa: UP045
    ) -> None:
        if isinstance(max_clients, bool) or not isinstance(max_clients, int):
            raise TypeError(f"max_clients must be an int >= 1, got {type(max_clients).__name__}")
        if max_clients < 1:
            raise ValueError(f"max_clients must be an int >= 1, got {max_clients!r}")
        self._hedger = Hedger(config)
        config = self._hedger.config
        self._first_byte = config.race_on == "first_byte"
        self._attempt_header = config.attempt_header
        self._options: dict[str, Any] = {
            "max_clients": max_clients,
            "defaults": defaults,
            "hostname_mapping": hostname_mapping,
            "resolver": resolver,
            "max_buffer_size": max_buffer_size,
            "max_header_size": max_header_size,
            "max_body_size": max_body_size,
        }
        self._http: AbortableHTTPClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: set[Exchange] = set()
        self._closed = False

    # -- public surface --------------------------------------------------------------

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self._hedger.config

    @property
    def stats(self) -> Stats:
        """Counters of this client (``config.stats`` if one was given)."""
        return self._hedger.stats

    async def fetch(
        self,
        request: Union[str, HTTPRequest],  # noqa: UP007
        raise_error: bool = True,
        *,
        hedge: Optional[bool] = None,  # noqa: UP045
        **kwargs: Any,
    ) -> HTTPResponse:
        """Fetch ``request``, hedged, with ``AsyncHTTPClient.fetch()``'s semantics.

        ``request`` is a URL (then ``kwargs`` are ``HTTPRequest`` arguments)
        or an ``HTTPRequest``, which is never modified: each attempt sends its
        own copy. GET, HEAD and OPTIONS are hedged by default (see
        ``HedgeConfig.hedge_methods`` and ``idempotency_key_header``); a
        request with a ``body_producer`` is never hedged (its body cannot be
        sent twice). ``header_callback`` and ``streaming_callback`` receive
        the winning attempt's lines and chunks only, each exactly once.

        Args:
            request: the URL or ``HTTPRequest`` to fetch.
            raise_error: as in tornado: raise ``HTTPClientError`` for a
                non-2xx response (``True``) or return it (``False``). Errors
                without a response (refused, reset, timeout) always raise.
            hedge: ``True``/``False`` forces hedging on/off for this request;
                ``None`` (default) lets the policy decide.
            **kwargs: ``HTTPRequest`` arguments when ``request`` is a URL.

        Returns:
            the winning attempt's complete ``HTTPResponse`` (``request`` is
            the caller's).

        Raises:
            tornado.httpclient.HTTPClientError: a non-2xx response with
                ``raise_error``, or a 599 (timeout, stream closed).
            OSError: the connection failed (refused, reset...); if every
                attempt failed, the primary's error.
            RuntimeError: the client is closed or bound to another loop.
            TypeError: ``request`` is neither a str nor an ``HTTPRequest``,
                or ``hedge`` is not a bool.
            ValueError: ``kwargs`` given with an ``HTTPRequest``.
            asyncio.CancelledError: the caller was cancelled; every attempt
                was aborted first.

        """
        if isinstance(request, HTTPRequest):
            if kwargs:
                raise ValueError("kwargs can't be used if request is an HTTPRequest object")
        elif isinstance(request, str):
            request = HTTPRequest(url=request, **kwargs)
        else:
            raise TypeError(
                "request must be a URL (str) or a tornado.httpclient.HTTPRequest, "
                f"got {type(request).__name__}"
            )
        override = hedge_override(hedge)
        http = self._bind()
        headers = HTTPHeaders(request.headers)
        info = RequestInfo.from_url(request.method, request.url, headers=headers, framework="tornado")
        original = request

        def send(attempt: Attempt) -> Awaitable[Exchange]:
            return self._attempt(http, original, headers, attempt)

        exchange = await self._hedger.run(
            info,
            send,
            hedge=override,
            replayable=request.body_producer is None,
            classifier=_CLASSIFIER,
            release=_release,
        )
        response = await exchange.finish()
        # The response is the winner's; to the caller it answers their request.
        response.request = original
        if response.error is not None and (raise_error or not is_status_error(response)):
            raise response.error
        return response

    def close(self) -> None:
        """Close the client: abort every request in flight and free the underlying client.

        A fetch still waiting raises ``HTTPStreamClosedError`` (599). No other
        method may be called afterwards. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        for exchange in list(self._inflight):
            exchange.fail(ClientClosedError())
        http, self._http = self._http, None
        if http is not None:
            http.close()
        self._hedger.close()

    async def __aenter__(self) -> HedgedTornadoClient:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],  # noqa: UP045
        exc: Optional[BaseException],  # noqa: UP045
        tb: Optional[TracebackType],  # noqa: UP045
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"max_clients={self._options['max_clients']}"
        return f"HedgedTornadoClient({state}, config={self._hedger.config!r})"

    # -- internals ---------------------------------------------------------------------

    def _bind(self) -> AbortableHTTPClient:
        if self._closed:
            raise RuntimeError("fetch() called on a closed HedgedTornadoClient")
        loop = asyncio.get_running_loop()
        http = self._http
        if http is None:
            # Created here, inside the running loop: tornado binds a client to
            # the current IOLoop when it is built.
            http = self._http = AbortableHTTPClient(force_instance=True, **self._options)
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                "this HedgedTornadoClient is bound to the event loop it was first used on; "
                "create one client per event loop"
            )
        return http

    async def _attempt(
        self, http: AbortableHTTPClient, request: HTTPRequest, headers: HTTPHeaders, attempt: Attempt
    ) -> Exchange:
        """Send one attempt; return its exchange once the race can judge it."""
        if self._closed:
            raise ClientClosedError()
        own = _shallow_copy(request)
        own.headers = HTTPHeaders(headers)  # tornado adds Host, Connection... to its copy
        if attempt.index and self._attempt_header is not None:
            own.headers[self._attempt_header] = str(attempt.index)
        exchange = Exchange(http, own, self._first_byte, request.header_callback, self._inflight)
        exchange.start()
        attempt.on_cancel(exchange.abort)
        try:
            await exchange.ready
        except BaseException:
            exchange.abort()
            raise
        error = exchange.transport_error()
        if error is not None:
            raise error
        return exchange
