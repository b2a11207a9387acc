"""The hedged transports for httpx2 (``httpx2.AsyncClient`` and ``httpx2.Client``)."""

from __future__ import annotations

import httpx2

from ._flavor import Flavor
from ._transport import HedgedAsyncTransport, HedgedSyncTransport

__all__ = ["HedgedHttpx2SyncTransport", "HedgedHttpx2Transport"]

FLAVOR = Flavor(httpx2, "httpx2")


class HedgedHttpx2Transport(
    HedgedAsyncTransport[httpx2.Request, httpx2.Response, httpx2.AsyncBaseTransport],
    httpx2.AsyncBaseTransport,
):
    """An ``httpx2.AsyncClient`` transport that hedges slow requests.

    Each request the policy allows (by default GET, HEAD and OPTIONS with a
    replayable body) is sent once; if no answer has come by the learned
    delay (a percentile of recent latencies to the same target), a copy is
    sent, the first acceptable response wins, and every other attempt is
    cancelled and its response closed. Anything else is sent once,
    untouched. Use it as the client's transport::

        transport = HedgedHttpx2Transport(config=HedgeConfig(percentile=0.95))
        async with httpx2.AsyncClient(transport=transport) as client:
            response = await client.get("https://api.example.com/items")

    Per request, ``extensions={"hedge": True}`` or ``{"hedge": False}``
    forces hedging on or off (a body that is a stream is still sent once).

    Args:
        inner: the transport that sends each attempt (default
            ``httpx2.AsyncHTTPTransport()``); configure HTTP/2, retries,
            proxies or limits there. Closed with this transport.
        config: the hedging policy (default ``hedge.HedgeConfig()``).

    Raises:
        TypeError: if ``inner`` is not an ``httpx2.AsyncBaseTransport`` or
            ``config`` not a ``hedge.HedgeConfig``.

    Attributes:
        stats: hedging counters (:class:`hedge.Stats`).
        hedger: the race engine (:class:`hedge.Hedger`).
        inner: the wrapped transport.

    """

    _flavor = FLAVOR
    _twin = "HedgedHttpx2SyncTransport"


class HedgedHttpx2SyncTransport(
    HedgedSyncTransport[httpx2.Request, httpx2.Response, httpx2.BaseTransport],
    httpx2.BaseTransport,
):
    """An ``httpx2.Client`` transport that hedges slow requests, using threads.

    The synchronous twin of :class:`HedgedHttpx2Transport`, with the same
    policy and outcomes. Attempts run on hedge's worker threads while the
    calling thread waits for the race to be decided. A losing attempt is
    aborted where httpcore offers a handle on its connection (one it opened
    itself, or one whose headers have arrived); otherwise it runs to its end
    on its worker thread, bounded by the client's timeouts, and its response
    is closed as soon as it arrives. The caller never waits for a loser.

    Args:
        inner: the transport that sends each attempt (default
            ``httpx2.HTTPTransport()``). Closed with this transport.
        config: the hedging policy (default ``hedge.HedgeConfig()``).

    Raises:
        TypeError: if ``inner`` is not an ``httpx2.BaseTransport`` or
            ``config`` not a ``hedge.HedgeConfig``.

    Attributes:
        stats: hedging counters (:class:`hedge.Stats`).
        hedger: the race engine (:class:`hedge.Hedger`).
        inner: the wrapped transport.

    """

    _flavor = FLAVOR
    _twin = "HedgedHttpx2Transport"
