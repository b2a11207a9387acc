"""The hedging client middleware: one aiohttp request, raced as several attempts.

aiohttp (3.12+) builds a request (URL joined with the session's
``base_url``, headers and cookies merged, body encoded) and passes it down a
chain of client middlewares to the handler that connects and sends it. A
middleware may call that handler more than once, and this one does: the
primary attempt sends the request, each hedge sends a copy
(:mod:`hedge_aiohttp._attempts`), and :class:`hedge.Hedger` runs the race.
Everything around the middleware happens once per call, as without hedging:
redirects (each hop is its own race), cookie updates from the winner,
``raise_for_status``, trace start/end, and the ``ClientTimeout.total``
deadline, which spans the whole race. Per-attempt limits
(``connect``, ``sock_connect``, ``sock_read``) apply to each attempt.

What the engine guarantees, and how it is met here:

* A losing attempt's task is cancelled. Cancelled while connecting, sending
  or reading headers, aiohttp's handler closes that connection itself; a
  loser that already has its response is *released*
  (:meth:`aiohttp.ClientResponse.release`): its connection goes back to the
  pool if the body was complete, and is closed otherwise. Also when two
  attempts finish in the same loop iteration.
* If the caller is cancelled or its total timeout fires, every attempt is
  cancelled and released, and the caller sees aiohttp's usual outcome.
* If every attempt fails, the primary's response or exception is what the
  handler returns, exactly as aiohttp produced it.

Racing on the body (``race_on="first_byte"``). aiohttp responses always
stream: the handler returns once the headers are in. With ``first_byte`` an
attempt counts as finished only when its body's first bytes (or its end)
have arrived, so a server that answers headers at once and the body late
(SSE, LLM streams) is raced on what matters. Nothing is consumed: the
winner's body reaches the caller whole. The trade-off: each hedge-eligible
response is handed over one network read later than with ``headers``, and
latency estimates measure time to first byte.
"""

from __future__ import annotations

import asyncio

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

from hedge import Attempt, Classifier, HedgeConfig, Hedger, RequestInfo, Stats

from ._attempts import clone_request, is_replayable
from ._classify import AiohttpClassifier
from ._override import HEDGE

__all__ = ["HedgeMiddleware", "hedge_middleware"]

_DEFAULT_CLASSIFIER = AiohttpClassifier()


class HedgeMiddleware:
    """An aiohttp client middleware that hedges the requests passing through it.

    Install it like any client middleware (aiohttp 3.12+)::

        session = aiohttp.ClientSession(middlewares=[hedge_middleware(HedgeConfig())])

    One instance holds one :class:`hedge.Hedger` (latency estimates, budgets,
    stats); share it between sessions to share those. It is called by aiohttp
    once per request, redirect hops included; switch hedging per request with
    :func:`hedge_aiohttp.hedging`. Put it last in ``middlewares`` so that the
    middlewares before it (auth, logging, retries) see one request and its
    winning response, and each attempt is one HTTP exchange.

    Args:
        config: the hedging policy (default ``HedgeConfig()``).
        classifier: judges attempt outcomes (default
            :class:`~hedge_aiohttp.AiohttpClassifier`).

    Raises:
        TypeError: if ``config`` is not a :class:`hedge.HedgeConfig` or
            ``classifier`` not a :class:`hedge.Classifier`.
    """

    __slots__ = ("_attempt_header", "_classifier", "_first_byte", "hedger")

    def __init__(
        self, config: HedgeConfig | None = None, *, classifier: Classifier[ClientResponse] | None = None
    ) -> None:
        if classifier is None:
            classifier = _DEFAULT_CLASSIFIER
        elif not isinstance(classifier, Classifier):
            raise TypeError(f"classifier must be a hedge.Classifier, got {type(classifier).__name__}")
        self.hedger = Hedger(config)
        self._classifier = classifier
        policy = self.hedger.config
        self._first_byte = policy.race_on == "first_byte" and policy.max_hedges > 0
        self._attempt_header = policy.attempt_header

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy."""
        return self.hedger.config

    @property
    def stats(self) -> Stats:
        """The counters of what hedging did (``config.stats`` if one was given)."""
        return self.hedger.stats

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        """Send ``request`` through ``handler`` as a race of attempts; return the winning response.

        Called by aiohttp. A request that may not be hedged (by method,
        override or body) is passed to ``handler`` once, untouched.
        """
        url = request.url
        info = RequestInfo(
            request.method,
            url.scheme,
            (url.host or "").rstrip(".").lower(),
            url.port,
            url.raw_path or "/",
            request.headers,
            "aiohttp",
        )
        hedge = HEDGE.get()
        replayable = is_replayable(request)
        hedger = self.hedger
        first_byte = self._first_byte and hedger.is_eligible(info, hedge=hedge, replayable=replayable)
        attempt_header = self._attempt_header

        async def send(attempt: Attempt) -> ClientResponse:
            index = attempt.index
            response = await handler(request if not index else clone_request(request, index, attempt_header))
            if first_byte:
                try:
                    await _body_started(response)
                except BaseException:
                    response.close()
                    raise
            return response

        return await hedger.run(
            info, send, hedge=hedge, replayable=replayable, classifier=self._classifier, release=_release
        )

    def __repr__(self) -> str:
        return f"HedgeMiddleware(config={self.hedger.config!r})"


def hedge_middleware(
    config: HedgeConfig | None = None, *, classifier: Classifier[ClientResponse] | None = None
) -> HedgeMiddleware:
    """Return a client middleware that hedges requests under ``config``.

    The idiomatic way to hedge an aiohttp session::

        async with aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            async with session.get(url) as response:
                ...

    See :class:`HedgeMiddleware` for the arguments.
    """
    return HedgeMiddleware(config, classifier=classifier)


def _release(response: ClientResponse) -> None:
    # Returns the connection to the pool when the body was read to its end,
    # closes it otherwise; either way nothing is left open.
    response.release()


async def _body_started(response: ClientResponse) -> None:
    """Wait until ``response``'s body has bytes buffered, has ended or has failed; read nothing.

    aiohttp has no public way to wait for body data without consuming it
    (``StreamReader.unread_data`` is deprecated), so this waits on the
    reader's own wake-up future, as its ``readany()`` does, and leaves the
    bytes in its buffer for the caller. It does not enter the reader's
    total-timeout timer (see :mod:`hedge_aiohttp._attempts` for why); that
    deadline reaches this wait by cancelling the caller's task.

    Raises:
        the reader's exception (a payload error, a ``sock_read`` timeout).
    """
    content = response.content
    loop = asyncio.get_running_loop()
    while True:
        error = content.exception()
        if error is not None:
            raise error
        if content.is_eof() or content._buffer:
            return
        waiter: asyncio.Future[None] = loop.create_future()
        content._waiter = waiter
        try:
            await waiter
        finally:
            content._waiter = None
