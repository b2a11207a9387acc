"""Hedged niquests transport adapters: the seam where hedge races attempts.

A niquests session hands each hop of a request to the adapter mounted for
its URL prefix (``Session.mount``), as a ``PreparedRequest``, and the
adapter returns a ``Response`` as soon as the headers have arrived; the
session then runs the response hooks, keeps cookies, follows redirects and,
unless the caller asked for ``stream=True``, reads the body. Hedging at this
seam therefore races on exactly the signal the other hedge adapters race
on — the response headers, or with ``race_on="first_byte"`` and
``stream=True`` the first body chunk — and leaves everything after the race
to niquests itself: the caller gets niquests' own response, read the way
niquests reads it. Cookies are taken from the winner only, hooks see one
response, and each redirect hop is raced on its own.

:class:`HedgedHTTPAdapter` (for ``niquests.Session``) and
:class:`AsyncHedgedHTTPAdapter` (for ``niquests.AsyncSession``) wrap the
adapter niquests would have used, which keeps its connection pool, TLS,
HTTP/2-3 and proxy settings. Per request they:

* pass through at once, unhedged, a request that may not be hedged (method,
  override, body) and a multiplexed one (``multiplexed=True`` returns a lazy
  response before anything arrived: there is nothing to race on);
* otherwise run :meth:`hedge.Hedger.run` (async) or
  :meth:`hedge.Hedger.run_sync` (threads): the primary sends the caller's
  request, each hedge a copy, judged by :class:`NiquestsClassifier`; losing
  responses are closed (``Response.close()``), which returns their pool slot.

Losers still in flight are cut off through :mod:`hedge_niquests._abort`
(their HTTP/1.1 socket shut down). On asyncio each attempt's exchange runs
as a shielded task of its own, so that a cancellation — the engine's, or
the caller's — never lands inside urllib3-future, which leaks the socket of
an exchange cancelled at the instant its response completes; the exchange
is cut off (or, with no socket to cut, cancelled) and awaited in the
background, and :meth:`AsyncHedgedHTTPAdapter.close` waits for it.

Costs: a request that is not hedge-eligible pays a header lookup, a key
lookup (and on asyncio the exchange's task). An eligible one pays the
engine's race (one timer; on the sync form the attempt runs on a worker
thread), and a request copy per hedge.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from niquests import AsyncResponse, PreparedRequest, Response
from niquests.adapters import AsyncBaseAdapter, AsyncHTTPAdapter, BaseAdapter, HTTPAdapter

from hedge import Attempt, Classifier, HedgeConfig, Hedger, Stats

from ._abort import ConnectionWatch, watch_connection
from ._classify import NiquestsClassifier
from ._override import read_override
from ._request import AttemptRequests, describe, is_replayable
from ._stream import read_first_chunk, read_first_chunk_async

__all__ = ["AsyncHedgedHTTPAdapter", "HedgedHTTPAdapter"]

_Callback = Callable[..., Any]

logger = logging.getLogger("hedge")

_DEFAULT_CLASSIFIER = NiquestsClassifier()


def _engine(config: HedgeConfig | None, hedger: Hedger | None) -> Hedger:
    if hedger is not None:
        if config is not None:
            raise TypeError("pass config or hedger, not both (a Hedger carries its own config)")
        if not isinstance(hedger, Hedger):
            raise TypeError(f"hedger must be a hedge.Hedger, got {type(hedger).__name__}")
        return hedger
    return Hedger(config)


def _check_classifier(classifier: Classifier[Any] | None) -> Classifier[Any]:
    if classifier is None:
        return _DEFAULT_CLASSIFIER
    if not isinstance(classifier, Classifier):
        raise TypeError(f"classifier must be a hedge.Classifier, got {type(classifier).__name__}")
    return classifier


def _recording(prepared: PreparedRequest, callback: _Callback | None) -> _Callback:
    """A post-connection callback that also records the connection on the attempt's own copy.

    It carries ``callback``'s name and module: urllib3-future recognises
    niquests' own callbacks by their module and adjusts its TLS defaults.
    """

    def on_post_connection(conn_info: Any) -> Any:
        prepared.conn_info = conn_info
        return callback(conn_info) if callback is not None else None

    if callback is not None:
        functools.update_wrapper(on_post_connection, callback)
    return on_post_connection


def _recording_async(prepared: PreparedRequest, callback: _Callback | None) -> _Callback:
    async def on_post_connection(conn_info: Any) -> None:
        prepared.conn_info = conn_info
        if callback is not None:
            await callback(conn_info)

    if callback is not None:
        functools.update_wrapper(on_post_connection, callback)
    return on_post_connection


class _CacheForwarding:
    """niquests sessions share their OCSP/CRL caches by setting them on each adapter."""

    adapter: Any

    @property
    def _ocsp_cache(self) -> Any:
        return getattr(self.adapter, "_ocsp_cache", None)

    @_ocsp_cache.setter
    def _ocsp_cache(self, value: Any) -> None:
        self.adapter._ocsp_cache = value

    @property
    def _crl_cache(self) -> Any:
        return getattr(self.adapter, "_crl_cache", None)

    @_crl_cache.setter
    def _crl_cache(self, value: Any) -> None:
        self.adapter._crl_cache = value


class HedgedHTTPAdapter(_CacheForwarding, BaseAdapter):
    """A ``niquests.Session`` adapter that hedges the requests it sends.

    Mount it like any adapter: ``session.mount("https://", HedgedHTTPAdapter(config=...))``
    (or use :class:`HedgedNiquestsSyncSession`, which does it for you).

    Attempts run on the engine's worker threads (the primary too, so that the
    caller's thread can send a hedge while it waits). A thread blocked on a
    socket cannot be interrupted, so a losing attempt still waiting for its
    answer is aborted by shutting down its connection's socket (see
    :mod:`hedge_niquests._abort`); a loser that finishes anyway has its
    response closed by its worker. The caller never waits for a loser.

    Args:
        adapter: the adapter that sends each attempt (default: a new
            ``niquests.adapters.HTTPAdapter()``); this adapter closes it.
        config: the hedging policy (default ``HedgeConfig()``).
        hedger: an engine to share with other adapters (its stats, estimates
            and budgets), instead of ``config``.
        classifier: judges attempts (default :class:`NiquestsClassifier`).

    Raises:
        TypeError: for arguments of the wrong type, or both ``config`` and ``hedger``.

    """

    def __init__(
        self,
        adapter: BaseAdapter | None = None,
        *,
        config: HedgeConfig | None = None,
        hedger: Hedger | None = None,
        classifier: Classifier[Any] | None = None,
    ) -> None:
        super().__init__()
        if adapter is not None and not isinstance(adapter, BaseAdapter):
            raise TypeError(
                f"adapter must be a niquests.adapters.BaseAdapter (for AsyncSession use "
                f"AsyncHedgedHTTPAdapter), got {type(adapter).__name__}"
            )
        self.hedger = _engine(config, hedger)
        self.classifier = _check_classifier(classifier)
        self.adapter = adapter if adapter is not None else HTTPAdapter()

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self.hedger.config

    @property
    def stats(self) -> Stats:
        """The engine's counters (requests, hedges sent and won, budget denials...)."""
        return self.hedger.stats

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
        on_post_connection: _Callback | None = None,
        on_upload_body: _Callback | None = None,
        on_early_response: _Callback | None = None,
        multiplexed: bool = False,
    ) -> Response:
        """Send ``request`` as a race of attempts and return the winning response.

        Called by the session for each hop, with the session's settings. The
        response has its headers (and, for ``stream=True`` with
        ``race_on="first_byte"``, its first chunk buffered); its body is
        read by the session or the caller afterwards. Every other attempt's
        response has been closed, or will be by its worker when it arrives.

        Raises:
            ValueError: if the ``X-Hedge`` header is neither true nor false.
            the primary's exception when every attempt failed, as niquests raised it.

        """
        override = read_override(request)
        requests = AttemptRequests(request, self.hedger.config.attempt_header)
        adapter = self.adapter
        first_byte = stream and self.hedger.config.race_on == "first_byte"

        def send(attempt: Attempt) -> Response:
            prepared = requests.for_attempt(attempt.index)
            callback = on_post_connection
            if prepared is not request:
                callback = _recording(prepared, on_post_connection)
            if attempt.cancelled:
                # Given up before its worker started: nothing to send.
                raise _given_up()
            with watch_connection(attempt) as watch:
                response: Response = adapter.send(
                    prepared,
                    stream=stream,
                    timeout=timeout,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                    on_post_connection=watch.wrap(callback),
                    on_upload_body=on_upload_body,
                    on_early_response=on_early_response,
                    multiplexed=multiplexed,
                )
                if first_byte and not multiplexed:
                    try:
                        read_first_chunk(response)
                    except BaseException:
                        response.close()
                        raise
            return response

        response: Response = self.hedger.run_sync(
            describe(request),
            send,
            hedge=False if multiplexed else override,
            replayable=is_replayable(request),
            classifier=self.classifier,
            release=_close,
        )
        return response

    def gather(self, *responses: Response, max_fetch: int | None = None) -> None:
        """Resolve lazy (multiplexed) responses: the wrapped adapter's ``gather``."""
        self.adapter.gather(*responses, max_fetch=max_fetch)

    def close(self) -> None:
        """Close the wrapped adapter and stop the engine's idle worker threads."""
        try:
            self.adapter.close()
        finally:
            self.hedger.close()

    def __repr__(self) -> str:
        return f"<HedgedHTTPAdapter {self.adapter!r}>"


class AsyncHedgedHTTPAdapter(_CacheForwarding, AsyncBaseAdapter):
    """A ``niquests.AsyncSession`` adapter that hedges the requests it sends.

    Mount it like any adapter: ``session.mount("https://", AsyncHedgedHTTPAdapter(config=...))``
    (or use :class:`HedgedNiquestsSession`, which does it for you). Losing
    attempts are cut off and their responses closed; if the caller is
    cancelled, so is every attempt, and the cancellation propagates at once.
    Create it inside a running event loop (niquests' async adapters need one
    on Python 3.9).

    Args:
        adapter: the adapter that sends each attempt (default: a new
            ``niquests.adapters.AsyncHTTPAdapter()``); this adapter closes it.
        config: the hedging policy (default ``HedgeConfig()``).
        hedger: an engine to share with other adapters, instead of ``config``.
        classifier: judges attempts (default :class:`NiquestsClassifier`).

    Raises:
        TypeError: for arguments of the wrong type, or both ``config`` and ``hedger``.

    """

    def __init__(
        self,
        adapter: AsyncBaseAdapter | None = None,
        *,
        config: HedgeConfig | None = None,
        hedger: Hedger | None = None,
        classifier: Classifier[Any] | None = None,
    ) -> None:
        super().__init__()
        if adapter is not None and not isinstance(adapter, AsyncBaseAdapter):
            raise TypeError(
                f"adapter must be a niquests.adapters.AsyncBaseAdapter (for Session use "
                f"HedgedHTTPAdapter), got {type(adapter).__name__}"
            )
        self.hedger = _engine(config, hedger)
        self.classifier = _check_classifier(classifier)
        self.adapter = adapter if adapter is not None else AsyncHTTPAdapter()
        self._pending: set[asyncio.Future[Any]] = set()

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self.hedger.config

    @property
    def stats(self) -> Stats:
        """The engine's counters (requests, hedges sent and won, budget denials...)."""
        return self.hedger.stats

    async def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
        on_post_connection: Callable[[Any], Awaitable[None]] | None = None,
        on_upload_body: Callable[[int, int | None, bool, bool], Awaitable[None]] | None = None,
        on_early_response: Callable[[Response], Awaitable[None]] | None = None,
        multiplexed: bool = False,
    ) -> AsyncResponse:
        """Send ``request`` as a race of attempts and return the winning response.

        See :meth:`HedgedHTTPAdapter.send`. If the caller is cancelled, the
        cancellation propagates at once and unchanged; every attempt is cut
        off and every response it still produces is closed in the background.
        """
        override = read_override(request)
        requests = AttemptRequests(request, self.hedger.config.attempt_header)
        adapter = self.adapter
        first_byte = stream and self.hedger.config.race_on == "first_byte"

        async def exchange(prepared: PreparedRequest, callback: Any) -> AsyncResponse:
            response: AsyncResponse = await adapter.send(
                prepared,
                stream=stream,
                timeout=timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
                on_post_connection=callback,
                on_upload_body=on_upload_body,
                on_early_response=on_early_response,
                multiplexed=multiplexed,
            )
            if first_byte and not multiplexed:
                try:
                    await read_first_chunk_async(response)
                except BaseException:
                    await response.close()
                    raise
            return response

        async def send(attempt: Attempt) -> AsyncResponse:
            prepared = requests.for_attempt(attempt.index)
            callback = on_post_connection
            if prepared is not request:
                callback = _recording_async(prepared, on_post_connection)
            watch = ConnectionWatch()
            # The exchange runs as its own task, shielded: a cancellation of
            # this attempt never lands inside urllib3-future (see _abort).
            handed: asyncio.Future[AsyncResponse] = asyncio.get_running_loop().create_future()
            work = asyncio.ensure_future(_hand_over(exchange(prepared, watch.wrap_async(callback)), handed))
            try:
                response = await handed
            except asyncio.CancelledError:
                self._abandon(work, watch)
                raise
            finally:
                watch.end()
            return response

        return await self.hedger.run(
            describe(request),
            send,
            hedge=False if multiplexed else override,
            replayable=is_replayable(request),
            classifier=self.classifier,
            release=_aclose,
        )

    def _abandon(self, work: asyncio.Future[AsyncResponse | None], watch: ConnectionWatch) -> None:
        """Stop an exchange whose attempt was cancelled, and close what it produces.

        An HTTP/1.1 exchange is cut off by shutting its socket down, so that
        urllib3-future fails it through its ordinary error path; one with no
        such socket (not connected yet, HTTP/2 or 3) is cancelled. Either way
        it is awaited in the background, and a response it still produced is
        closed; :meth:`close` waits for all of them.
        """
        if not work.done() and not watch.abort():
            work.cancel()
        self._pending.add(work)
        work.add_done_callback(self._exchange_ended)

    def _exchange_ended(self, work: asyncio.Future[AsyncResponse | None]) -> None:
        self._pending.discard(work)
        if work.cancelled() or work.exception() is not None:
            return
        response = work.result()
        if response is None:
            return  # it failed; the failure was handed to the attempt, which is gone
        closing = asyncio.ensure_future(_close_quietly(response))
        self._pending.add(closing)
        closing.add_done_callback(self._pending.discard)

    async def gather(self, *responses: Response, max_fetch: int | None = None) -> None:
        """Resolve lazy (multiplexed) responses: the wrapped adapter's ``gather``."""
        await self.adapter.gather(*responses, max_fetch=max_fetch)

    async def close(self) -> None:
        """Wait for abandoned exchanges to end, then close the wrapped adapter."""
        try:
            loop = asyncio.get_running_loop()
            while True:
                # Only this loop's: an adapter reused across asyncio.run() calls
                # cannot wait for tasks of a loop that is gone.
                pending = [task for task in self._pending if task.get_loop() is loop]
                if not pending:
                    break
                await asyncio.gather(*pending, return_exceptions=True)
            await self.adapter.close()
        finally:
            self.hedger.close()

    def __repr__(self) -> str:
        return f"<AsyncHedgedHTTPAdapter {self.adapter!r}>"


def _close(response: Response) -> None:
    response.close()


async def _hand_over(
    exchange: Awaitable[AsyncResponse], handed: asyncio.Future[AsyncResponse]
) -> AsyncResponse | None:
    """Run ``exchange`` (in a task of its own) and hand its outcome to ``handed`` as it ends.

    What ``asyncio.shield`` does for the attempt waiting on ``handed``: its
    cancellation stops the wait, never the exchange. Done here because
    shield hands the outcome over from a done-callback, one event-loop
    iteration after the exchange ends; that iteration was measured at
    about an eighth of what hedging adds to a niquests request.

    Returns:
        the response, for an attempt abandoned meanwhile (see
        :meth:`AsyncHedgedHTTPAdapter._abandon`); ``None`` if the exchange
        failed, its error having gone to ``handed``.
    """
    try:
        response = await exchange
    except asyncio.CancelledError:
        if not handed.done():
            handed.cancel()
        raise
    except Exception as exc:  # noqa: BLE001 - handed over, raised by the attempt
        if not handed.done():
            handed.set_exception(exc)
        return None
    if not handed.done():
        handed.set_result(response)
    return response


async def _close_quietly(response: AsyncResponse) -> None:
    try:
        await response.close()
    except Exception:
        logger.warning("hedge: closing an abandoned niquests response raised; ignored", exc_info=True)


async def _aclose(response: AsyncResponse) -> None:
    await response.close()


def _given_up() -> Exception:
    from niquests.exceptions import ConnectionError

    return ConnectionError("hedge: the attempt was given up before it was sent")
