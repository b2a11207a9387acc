"""The hedged transports, written once for every httpx-compatible module.

A hedged transport wraps an inner transport (httpx's own by default) and
sends each request through one :class:`hedge.Hedger`:

1. *Plan.* Describe the request (:class:`~hedge.RequestInfo` from the URL
   httpx already parsed), read the ``extensions["hedge"]`` override, and
   decide whether it may race: its body must be replayable bytes, it must
   not be a protocol upgrade (a WebSocket handshake opens a session, not a
   fetch), and the policy must allow it (``hedge_methods``,
   ``idempotency_key_header``, plugins, the override).
2. *Pass through* anything that may not race: the original request goes to
   the inner transport once, untouched (the engine only counts it).
3. *Race* the rest. The primary sends the original request; every hedge
   sends a copy with its own body stream (and the ``attempt_header`` when
   configured). With ``race_on="first_byte"`` an attempt finishes when its
   body yields its first chunk, which the winner's stream replays.

Whatever the engine does not return is released: losing responses are
closed (which returns or discards their connection), in-flight losers are
cancelled (asyncio) or aborted where httpcore allows it (threads, see
:mod:`hedge_httpx._abort`), and a caller's cancellation cancels every
attempt and propagates unchanged. A request's cost when it does not race
is one description, one policy check and one engine call.

The concrete classes (``_httpx``, ``_httpx2``) only bind these generic
bases to a module's types and its :class:`~hedge_httpx._flavor.Flavor`.
"""

from __future__ import annotations

import asyncio
import functools
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats
from hedge.http import RETRYABLE_STATUSES

from ._abort import AttemptAbandoned, SyncAbort
from ._flavor import Flavor

__all__ = ["HedgedAsyncTransport", "HedgedSyncTransport"]

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
InnerT = TypeVar("InnerT")
SelfT = TypeVar("SelfT")


class _Hedging(Generic[InnerT]):
    """What both forms share: the inner transport, the engine, the per-request plan."""

    _flavor: ClassVar[Flavor]
    _default_inner: ClassVar[str]  # the module's transport class used when inner is None
    _inner_base: ClassVar[str]  # the module's base class an inner transport must derive from
    _twin: ClassVar[str]  # the other form's class name, for error messages

    def __init__(self, inner: InnerT | None = None, config: HedgeConfig | None = None) -> None:
        hedger = Hedger(config)
        module = self._flavor.module
        if inner is None:
            inner = getattr(module, self._default_inner)()
        elif not isinstance(inner, getattr(module, self._inner_base)):
            raise TypeError(self._inner_error(inner))
        self._inner: Any = inner
        self._hedger = hedger
        config = hedger.config
        self._races = config.max_hedges > 0
        self._peek = config.race_on == "first_byte"
        self._marker = config.attempt_header

    def _inner_error(self, inner: object) -> str:
        name = self._flavor.name
        message = (
            f"inner must be an {name}.{self._inner_base} such as {name}.{self._default_inner}(), "
            f"got {type(inner).__module__}.{type(inner).__qualname__}"
        )
        other_base = "BaseTransport" if self._inner_base.startswith("Async") else "AsyncBaseTransport"
        if isinstance(inner, getattr(self._flavor.module, other_base)):
            message += f"; for the other kind of client use {self._twin}"
        return message

    @property
    def inner(self) -> InnerT:
        """The wrapped transport, which sends every attempt."""
        return self._inner  # type: ignore[no-any-return]

    @property
    def hedger(self) -> Hedger:
        """The race engine of this transport (its config, stats and delays)."""
        return self._hedger

    @property
    def stats(self) -> Stats:
        """The hedging counters of this transport (``config.stats`` if one was given)."""
        return self._hedger.stats

    def _plan(self, request: Any) -> tuple[RequestInfo, bytes | None]:
        """Describe ``request`` and return the body to replay, or ``None`` if it may not race."""
        flavor = self._flavor
        info = flavor.describe(request)
        override = flavor.override(request)
        if not self._races:
            return info, None
        body = flavor.replayable_body(request)
        if body is None:
            return info, None
        safe = False if "upgrade" in request.headers else None
        if not self._hedger.is_eligible(info, hedge=override, safe=safe):
            return info, None
        return info, body

    def _copy(self, request: Any, body: bytes, attempt: Attempt, trace: Any = None) -> Any:
        marker = self._marker
        extra = {marker: str(attempt.index)} if marker is not None and attempt.index else None
        return self._flavor.copy(request, body, extra, trace)

    def _should_peek(self, response: Any) -> bool:
        # A 502/503/504 loses anyway, and a 1xx (an upgrade) has no body to wait for.
        status = response.status_code
        return self._peek and status >= 200 and status not in RETRYABLE_STATUSES

    def __repr__(self) -> str:
        return f"{type(self).__name__}(inner={self._inner!r}, config={self._hedger.config!r})"


def _require_asyncio(name: str) -> None:
    """Fail clearly, not deep in the engine, when a race is asked for outside asyncio."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{name} races attempts on asyncio, and no asyncio event loop is running "
            "(trio is not supported: use the framework's own transport there)"
        ) from None


def _close_async(response: Any) -> Any:
    return response.aclose()


def _close_sync(response: Any) -> None:
    response.close()


class HedgedAsyncTransport(_Hedging[InnerT], Generic[RequestT, ResponseT, InnerT]):
    """The asyncio transport (``AsyncClient``); bound to a module by a subclass."""

    _default_inner = "AsyncHTTPTransport"
    _inner_base = "AsyncBaseTransport"

    async def handle_async_request(self, request: RequestT) -> ResponseT:
        """Send ``request`` as a race of attempts and return the winning response.

        Called by the client for every request. The returned response's
        stream is open, as from any transport: the client reads or streams
        it and closes it. Every other attempt has ended and its response
        has been closed before this returns or raises.

        Raises:
            httpx.HTTPError: whatever the inner transport raised for the
                deciding attempt (the primary's exception when every attempt
                failed), unchanged.
            asyncio.CancelledError: the caller's own cancellation.
            TypeError: if ``extensions["hedge"]`` is not a bool, ``None`` or a string.
            ValueError: if ``extensions["hedge"]`` is a string other than true/false.
            RuntimeError: if the request may race and no asyncio loop runs (trio).

        """
        info, body = self._plan(request)
        hedger = self._hedger
        if body is None:
            return await hedger.run(info, functools.partial(self._send_once, request), hedge=False)
        _require_asyncio(type(self).__name__)
        return await hedger.run(
            info,
            functools.partial(self._send_attempt, request, body),
            hedge=True,
            classifier=self._flavor.classifier,
            release=_close_async,
        )

    async def _send_once(self, request: Any, attempt: Attempt) -> Any:
        return await self._inner.handle_async_request(request)

    async def _send_attempt(self, request: Any, body: bytes, attempt: Attempt) -> Any:
        if attempt.index:
            request = self._copy(request, body, attempt)
        response = await self._inner.handle_async_request(request)
        if self._peek and self._should_peek(response):
            try:
                await self._flavor.streams.peek_async(response)
            except BaseException:
                await response.aclose()
                raise
        return response

    async def aclose(self) -> None:
        """Close the inner transport (and with it its connection pool)."""
        self._hedger.close()
        await self._inner.aclose()

    async def __aenter__(self: SelfT) -> SelfT:
        await self._inner.__aenter__()  # type: ignore[attr-defined]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._hedger.close()
        await self._inner.__aexit__(exc_type, exc_value, traceback)


class HedgedSyncTransport(_Hedging[InnerT], Generic[RequestT, ResponseT, InnerT]):
    """The threaded transport (``Client``); bound to a module by a subclass."""

    _default_inner = "HTTPTransport"
    _inner_base = "BaseTransport"

    def handle_request(self, request: RequestT) -> ResponseT:
        """Send ``request`` as a race of attempts on worker threads; return the winning response.

        Called by the client for every request, on the caller's thread,
        which blocks until the race is decided. Attempts run on hedge's
        worker threads in a copy of the caller's context. A loser still in
        flight is aborted where httpcore allows it (see
        :mod:`hedge_httpx._abort`); otherwise it runs to its end on its
        worker thread and its response is closed as soon as it arrives.

        Raises:
            httpx.HTTPError: whatever the inner transport raised for the
                deciding attempt (the primary's exception when every attempt
                failed), unchanged.
            TypeError: if ``extensions["hedge"]`` is not a bool, ``None`` or a string.
            ValueError: if ``extensions["hedge"]`` is a string other than true/false.

        """
        info, body = self._plan(request)
        hedger = self._hedger
        if body is None:
            return hedger.run_sync(info, functools.partial(self._send_once, request), hedge=False)  # type: ignore[no-any-return]
        return hedger.run_sync(  # type: ignore[no-any-return]
            info,
            functools.partial(self._send_attempt, request, body),
            hedge=True,
            classifier=self._flavor.classifier,
            release=_close_sync,
        )

    def _send_once(self, request: Any, attempt: Attempt) -> Any:
        return self._inner.handle_request(request)

    def _send_attempt(self, request: Any, body: bytes, attempt: Attempt) -> Any:
        abort = SyncAbort(request.extensions.get("trace"))
        attempt.on_cancel(abort.abort)
        if attempt.cancelled:
            raise AttemptAbandoned("the hedged attempt was given up before it started")
        response = self._inner.handle_request(self._copy(request, body, attempt, abort.trace))
        if self._peek and self._should_peek(response):
            try:
                abort.attach(response)
                self._flavor.streams.peek_sync(response)
            except BaseException:
                response.close()
                raise
        return response

    def close(self) -> None:
        """Close the inner transport, after losing attempts still running have ended.

        Waits up to 5 seconds for worker threads whose losing attempt could
        not be aborted.
        """
        try:
            self._hedger.close()
        finally:
            self._inner.close()

    def __enter__(self: SelfT) -> SelfT:
        self._inner.__enter__()  # type: ignore[attr-defined]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            self._hedger.close()
        finally:
            self._inner.__exit__(exc_type, exc_value, traceback)
