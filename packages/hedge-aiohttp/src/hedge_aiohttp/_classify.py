"""How an aiohttp attempt's outcome is judged: which failures another attempt may fix.

Responses are judged by :func:`hedge.http.judge_status`, like every hedge
HTTP adapter: 502, 503 and 504 do not win (a ``Retry-After`` on them is
server pushback); every other status is an answer.

Exceptions, by what they say about *this attempt* versus *the request*:

``RETRY`` (another attempt may well succeed: send the next hedge at once)
    :class:`~aiohttp.ClientConnectionError` and its subclasses: refused or
    unreachable (``ClientConnectorError``, ``ClientConnectorDNSError``,
    ``ClientProxyConnectionError``), reset or dropped (``ClientOSError``,
    ``ClientConnectionResetError``, ``ServerDisconnectedError``), a connect
    that timed out (``ConnectionTimeoutError``, from ``ClientTimeout.connect``
    or ``sock_connect``); :class:`~aiohttp.ClientPayloadError`, a body cut
    short before its first bytes (``race_on="first_byte"``).

``RETRY``, but send no further hedge (``RetryAfter(-1)``)
    ``SocketTimeoutError`` (and any other ``ServerTimeoutError``): the
    attempt sat idle past the ``sock_read`` timeout the user set. Attempts
    already in flight may still answer and are awaited, but starting a new
    one now would turn that timeout into a retry it never asked for.

``FATAL`` (every attempt would fail alike, or time is up)
    TLS failures (``ClientSSLError`` and its certificate subclasses) and
    ``ServerFingerprintMismatch``: the peer's identity is wrong, not its
    luck. A bare :class:`asyncio.TimeoutError` (no ``errno``): the request's
    *total* timeout fired; that deadline is the caller's and spans every
    attempt. Anything else (invalid URL, a malformed response, a
    programming error) is the request's own fault.

If every attempt ends in ``RETRY``, the caller gets the primary's response
or exception exactly as aiohttp produced it.
"""

from __future__ import annotations

import asyncio

from aiohttp import (
    ClientConnectionError,
    ClientPayloadError,
    ClientResponse,
    ClientSSLError,
    ConnectionTimeoutError,
    ServerFingerprintMismatch,
    ServerTimeoutError,
)

from hedge import Classifier, Judgement, RetryAfter, Verdict
from hedge.http import RETRYABLE_STATUSES, judge_status

__all__ = ["AiohttpClassifier"]

_FATAL_CONNECTION_ERRORS = (ClientSSLError, ServerFingerprintMismatch)
_RETRYABLE_ERRORS = (ClientConnectionError, ClientPayloadError)
_NO_MORE_HEDGES = RetryAfter(-1.0)


class AiohttpClassifier(Classifier[ClientResponse]):
    """Judges aiohttp outcomes (see the module docstring for the rules).

    Subclass it and pass an instance as ``classifier=`` to change a rule,
    e.g. to treat 429 as retryable. Both methods run once per finished
    attempt and must not raise.
    """

    def classify_result(self, result: ClientResponse) -> Judgement:
        """502/503/504 are ``RETRY`` (with ``Retry-After`` as pushback); anything else ``ACCEPT``."""
        status = result.status
        if status not in RETRYABLE_STATUSES:
            # Retry-After only matters on 502-504: no header lookup for the usual answer.
            return Verdict.ACCEPT
        return judge_status(status, result.headers.get("Retry-After"))

    def classify_error(self, error: BaseException) -> Judgement:
        """Judge an exception an attempt raised (see the module docstring)."""
        # Order matters: TLS errors are connector errors, both socket timeouts
        # are ServerTimeoutErrors, and those are ClientConnectionErrors.
        if isinstance(error, _FATAL_CONNECTION_ERRORS):
            return Verdict.FATAL
        if isinstance(error, ServerTimeoutError) and not isinstance(error, ConnectionTimeoutError):
            return _NO_MORE_HEDGES
        if isinstance(error, _RETRYABLE_ERRORS):
            return Verdict.RETRY
        if isinstance(error, asyncio.TimeoutError) and getattr(error, "errno", None) is None:
            # aiohttp's total-timeout timer; its per-attempt socket timeouts are
            # ServerTimeoutErrors, handled above.
            return Verdict.FATAL
        return super().classify_error(error)
