"""HedgedAiohttpSession: a ClientSession that hedges, for code written against ClientSession.

The session *wraps* a real :class:`aiohttp.ClientSession` rather than
subclassing it. aiohttp deprecates subclassing ``ClientSession`` (it warns
at class creation) and keeps the request pipeline in private methods; a
wrapper needs neither. The wrapped session is built with the user's
arguments plus a :class:`~hedge_aiohttp.HedgeMiddleware` appended to its
middlewares, so hedging happens inside aiohttp's own pipeline: ``base_url``
is joined before the latency key is taken, timeouts, cookies, redirects,
``raise_for_status`` and trace configs behave as usual, and connections are
pooled by aiohttp's connector.

The wrapper adds a ``hedge=`` keyword to the request methods (the
per-request override, carried to the middleware in a context variable) and
``stats``; everything else is ``ClientSession``'s: ``await session.get(url)``
and ``async with session.get(url) as response`` both work, on every verb and
on ``request()``. :attr:`HedgedAiohttpSession.client_session` is the wrapped
session, for libraries that insist on a real ``ClientSession``; requests sent
through it are hedged too.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator, Iterable
from types import TracebackType
from typing import Any

from aiohttp import (
    BaseConnector,
    ClientMiddlewareType,
    ClientResponse,
    ClientSession,
    ClientTimeout,
    TraceConfig,
)
from aiohttp.abc import AbstractCookieJar
from aiohttp.typedefs import StrOrURL
from multidict import CIMultiDict

from hedge import Classifier, HedgeConfig, Stats
from hedge.http import hedge_override

from ._middleware import HedgeMiddleware
from ._override import HEDGE

__all__ = ["HedgedAiohttpSession"]


class _RequestContextManager(Coroutine[Any, Any, ClientResponse]):
    """What the request methods return: awaitable, or an async context manager releasing the response."""

    __slots__ = ("_coro", "_response")

    def __init__(self, coro: Coroutine[Any, Any, ClientResponse]) -> None:
        self._coro = coro

    def send(self, value: Any) -> Any:
        return self._coro.send(value)

    def throw(self, *args: Any, **kwargs: Any) -> Any:
        return self._coro.throw(*args, **kwargs)

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, ClientResponse]:
        return self._coro.__await__()

    async def __aenter__(self) -> ClientResponse:
        self._response = await self._coro
        return await self._response.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._response.__aexit__(exc_type, exc, traceback)


class HedgedAiohttpSession:
    """A drop-in :class:`aiohttp.ClientSession` whose requests are hedged.

    Create it inside a running event loop, like ``ClientSession``, and close
    it (``async with``, or ``await session.close()``)::

        async with HedgedAiohttpSession(config=HedgeConfig()) as session:
            async with session.get("https://api.example.com/items") as response:
                items = await response.json()

    Args:
        base_url: as for ``ClientSession``: relative request URLs are joined
            to it (latency keys and budgets come from the joined URL).
        config: the hedging policy (default ``HedgeConfig()``).
        classifier: judges attempt outcomes (default
            :class:`~hedge_aiohttp.AiohttpClassifier`).
        middlewares: your client middlewares; the hedging middleware is
            added after them, so each of yours sees one request.
        **kwargs: any other ``ClientSession`` argument (``headers``,
            ``timeout``, ``connector``, ``cookies``, ``raise_for_status``,
            ``trace_configs``...).

    Raises:
        TypeError: for a ``config`` or ``classifier`` of the wrong type.
    """

    __slots__ = ("_middleware", "_session")

    def __init__(
        self,
        base_url: StrOrURL | None = None,
        *,
        config: HedgeConfig | None = None,
        classifier: Classifier[ClientResponse] | None = None,
        middlewares: Iterable[ClientMiddlewareType] | None = (),
        **kwargs: Any,
    ) -> None:
        self._middleware = HedgeMiddleware(config, classifier=classifier)
        self._session = ClientSession(
            base_url, middlewares=(*(middlewares or ()), self._middleware), **kwargs
        )

    # -- hedging ---------------------------------------------------------------

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self._middleware.config

    @property
    def stats(self) -> Stats:
        """The counters of what hedging did (``config.stats`` if one was given)."""
        return self._middleware.stats

    @property
    def middleware(self) -> HedgeMiddleware:
        """The hedging middleware installed in the wrapped session."""
        return self._middleware

    @property
    def client_session(self) -> ClientSession:
        """The wrapped ``ClientSession`` (its requests are hedged too, without the ``hedge=`` keyword)."""
        return self._session

    # -- requests ----------------------------------------------------------------

    def request(
        self, method: str, url: StrOrURL, *, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send an HTTP request, as ``ClientSession.request``, hedged when the policy allows.

        Args:
            hedge: ``True``/``False`` forces hedging on/off for this request
                (redirect hops included); ``None`` (default) leaves it to the
                policy and to any enclosing :func:`hedge_aiohttp.hedging` block.
                A body that cannot be sent twice is never hedged.
            **kwargs: any ``ClientSession.request`` argument. A per-request
                ``middlewares=`` replaces the session's middlewares, as in
                aiohttp, and the hedging middleware is added after them.

        Returns:
            an object to ``await`` for the :class:`aiohttp.ClientResponse`, or
            to use with ``async with``, which releases the response on exit.

        Raises:
            TypeError, ValueError: for a ``hedge`` that is not a bool or ``None``.
        """
        override = hedge_override(hedge)
        middlewares = kwargs.get("middlewares")
        if middlewares is not None:
            kwargs["middlewares"] = (*middlewares, self._middleware)
        return _RequestContextManager(self._send(method, url, override, kwargs))

    async def _send(
        self, method: str, url: StrOrURL, hedge: bool | None, kwargs: dict[str, Any]
    ) -> ClientResponse:
        if hedge is None:
            return await self._session.request(method, url, **kwargs)
        # Set in this coroutine, which runs in the awaiting task: the middleware
        # sees it, and it is gone again when the response is returned.
        token = HEDGE.set(hedge)
        try:
            return await self._session.request(method, url, **kwargs)
        finally:
            HEDGE.reset(token)

    def get(
        self, url: StrOrURL, *, allow_redirects: bool = True, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send a GET request (see :meth:`request`)."""
        return self.request("GET", url, allow_redirects=allow_redirects, hedge=hedge, **kwargs)

    def options(
        self, url: StrOrURL, *, allow_redirects: bool = True, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send an OPTIONS request (see :meth:`request`)."""
        return self.request("OPTIONS", url, allow_redirects=allow_redirects, hedge=hedge, **kwargs)

    def head(
        self, url: StrOrURL, *, allow_redirects: bool = False, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send a HEAD request (see :meth:`request`); like aiohttp, redirects are not followed by default."""
        return self.request("HEAD", url, allow_redirects=allow_redirects, hedge=hedge, **kwargs)

    def post(
        self, url: StrOrURL, *, data: Any = None, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send a POST request (see :meth:`request`); hedged only if opted in or idempotency-keyed."""
        return self.request("POST", url, data=data, hedge=hedge, **kwargs)

    def put(
        self, url: StrOrURL, *, data: Any = None, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send a PUT request (see :meth:`request`); hedged only if ``config.hedge_methods`` lists PUT."""
        return self.request("PUT", url, data=data, hedge=hedge, **kwargs)

    def patch(
        self, url: StrOrURL, *, data: Any = None, hedge: bool | None = None, **kwargs: Any
    ) -> _RequestContextManager:
        """Send a PATCH request (see :meth:`request`)."""
        return self.request("PATCH", url, data=data, hedge=hedge, **kwargs)

    def delete(self, url: StrOrURL, *, hedge: bool | None = None, **kwargs: Any) -> _RequestContextManager:
        """Send a DELETE request (see :meth:`request`); hedged if ``config.hedge_methods`` lists DELETE."""
        return self.request("DELETE", url, hedge=hedge, **kwargs)

    def ws_connect(self, url: StrOrURL, **kwargs: Any) -> Any:
        """Open a WebSocket, as ``ClientSession.ws_connect``; a protocol upgrade is never hedged."""
        return self._session.ws_connect(url, **kwargs)

    # -- the session -----------------------------------------------------------

    async def close(self) -> None:
        """Close the session and, if it owns it, its connector (idempotent)."""
        await self._session.close()

    def detach(self) -> None:
        """Detach the connector from the session without closing it (as ``ClientSession.detach``)."""
        self._session.detach()

    @property
    def closed(self) -> bool:
        """Whether the session is closed."""
        return self._session.closed

    @property
    def connector(self) -> BaseConnector | None:
        """The connector (connection pool) of the session."""
        return self._session.connector

    @property
    def connector_owner(self) -> bool:
        """Whether closing the session closes the connector."""
        return self._session.connector_owner

    @property
    def cookie_jar(self) -> AbstractCookieJar:
        """The session's cookie jar."""
        return self._session.cookie_jar

    @property
    def headers(self) -> CIMultiDict[str]:
        """The default headers of every request."""
        return self._session.headers

    @property
    def timeout(self) -> ClientTimeout:
        """The default timeouts (``total`` spans all attempts; the others apply to each)."""
        return self._session.timeout

    @property
    def version(self) -> tuple[int, int]:
        """The HTTP version used."""
        return self._session.version

    @property
    def skip_auto_headers(self) -> frozenset[Any]:
        """Headers aiohttp does not add automatically."""
        return self._session.skip_auto_headers

    @property
    def auth(self) -> Any:
        """The default ``BasicAuth``, or ``None``."""
        return self._session.auth

    @property
    def json_serialize(self) -> Any:
        """The JSON encoder used for ``json=``."""
        return self._session.json_serialize

    @property
    def raise_for_status(self) -> Any:
        """Whether (or how) error statuses raise, applied once to the winning response."""
        return self._session.raise_for_status

    @property
    def auto_decompress(self) -> bool:
        """Whether response bodies are decompressed."""
        return self._session.auto_decompress

    @property
    def trust_env(self) -> bool:
        """Whether proxy and netrc settings come from the environment."""
        return self._session.trust_env

    @property
    def requote_redirect_url(self) -> bool:
        """Whether redirect URLs are requoted."""
        return self._session.requote_redirect_url

    @property
    def trace_configs(self) -> list[TraceConfig]:
        """The trace configs (their request start/end fire once per call, connection events per attempt)."""
        return self._session.trace_configs

    async def __aenter__(self) -> HedgedAiohttpSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<HedgedAiohttpSession closed={self.closed} config={self.config!r}>"
