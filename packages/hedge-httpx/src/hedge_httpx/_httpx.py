"""The hedged transports for httpx (``httpx.AsyncClient`` and ``httpx.Client``)."""

from __future__ import annotations

import httpx

from ._flavor import Flavor
from ._transport import HedgedAsyncTransport, HedgedSyncTransport

__all__ = ["HedgedHttpxSyncTransport", "HedgedHttpxTransport"]

FLAVOR = Flavor(httpx, "httpx")


class HedgedHttpxTransport(
    HedgedAsyncTransport[httpx.Request, httpx.Response, httpx.AsyncBaseTransport],
    httpx.AsyncBaseTransport,
):
    """An ``httpx.AsyncClient`` transport that hedges slow requests.

    Each request the policy allows (by default GET, HEAD and OPTIONS with a
    replayable body) is sent once; if no answer has come by the learned
    delay (a percentile of recent latencies to the same target), a copy is
    sent, the first acceptable response wins, and every other attempt is
    cancelled and its response closed. Anything else is sent once,
    untouched. Use it as the client's transport::

        transport = HedgedHttpxTransport(config=HedgeConfig(percentile=0.95))
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.get("https://api.example.com/items")

    Per request, ``extensions={"hedge": True}`` or ``{"hedge": False}``
    forces hedging on or off (a body that is a stream is still sent once).

    Args:
        inner: the transport that sends each attempt (default
            ``httpx.AsyncHTTPTransport()``); configure HTTP/2, retries,
            proxies or limits there. Closed with this transport.
        config: the hedging policy (default ``hedge.HedgeConfig()``).

    Raises:
        TypeError: if ``inner`` is not an ``httpx.AsyncBaseTransport`` or
            ``config`` not a ``hedge.HedgeConfig``.

    Attributes:
        stats: hedging counters (:class:`hedge.Stats`).
        hedger: the race engine (:class:`hedge.Hedger`).
        inner: the wrapped transport.

    """

    _flavor = FLAVOR
    _twin = "HedgedHttpxSyncTransport"


class HedgedHttpxSyncTransport(
    HedgedSyncTransport[httpx.Request, httpx.Response, httpx.BaseTransport],
    httpx.BaseTransport,
):
    """An ``httpx.Client`` transport that hedges slow requests, using threads.

    The synchronous twin of :class:`HedgedHttpxTransport`, with the same
    policy and outcomes. Attempts run on hedge's worker threads while the
    calling thread waits for the race to be decided. A losing attempt is
    aborted where httpcore offers a handle on its connection (one it opened
    itself, or one whose headers have arrived); otherwise it runs to its end
    on its worker thread, bounded by the client's timeouts, and its response
    is closed as soon as it arrives. The caller never waits for a loser.

    Args:
        inner: the transport that sends each attempt (default
            ``httpx.HTTPTransport()``). Closed with this transport.
        config: the hedging policy (default ``hedge.HedgeConfig()``).

    Raises:
        TypeError: if ``inner`` is not an ``httpx.BaseTransport`` or
            ``config`` not a ``hedge.HedgeConfig``.

    Attributes:
        stats: hedging counters (:class:`hedge.Stats`).
        hedger: the race engine (:class:`hedge.Hedger`).
        inner: the wrapped transport.

    """

    _flavor = FLAVOR
    _twin = "HedgedHttpxTransport"
