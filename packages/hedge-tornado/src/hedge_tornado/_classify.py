"""How the race judges a tornado attempt: hedge's shared HTTP rules, tornado's errors.

* A response whose status is 502, 503 or 504 is ``RETRY`` (with its
  ``Retry-After`` as pushback, :func:`hedge.http.judge_status`); every other
  status is an answer and can win, exactly as in every hedge HTTP adapter.
* Connection failures are ``RETRY``: tornado reports them as ``OSError``
  subclasses (refused, reset, unreachable, name resolution) or as
  ``HTTPStreamClosedError`` (599: the server closed without answering).
  Certificate failures are ``FATAL``: another attempt would fail alike.
* A timeout (``HTTPTimeoutError``, 599) is ``RETRY`` that sends no further
  hedge (a negative pushback): the attempt does not win and attempts
  already in flight are awaited, but none is started after a timeout, so a
  caller never waits more than ``request_timeout`` past the last hedge sent.
* Anything else (an unsupported URL scheme, a bad method, a closed client)
  is ``FATAL`` and reaches the caller at once.
"""

from __future__ import annotations

import ssl

from tornado.simple_httpclient import HTTPStreamClosedError, HTTPTimeoutError

from hedge import Classifier, Judgement, RetryAfter, Verdict
from hedge.http import RETRYABLE_STATUSES, judge_status

from ._exchange import Exchange

__all__ = ["ClientClosedError", "TornadoClassifier"]

_NO_MORE_HEDGES = RetryAfter(-1.0)


class ClientClosedError(HTTPStreamClosedError):
    """A 599 for attempts cut short by closing the client; ends the race (``FATAL``)."""

    def __init__(self) -> None:
        super().__init__("Stream closed: the HedgedTornadoClient was closed")


class TornadoClassifier(Classifier[Exchange]):
    """Judges exchanges (by status) and tornado's errors (see the module docstring)."""

    def classify_result(self, result: Exchange) -> Judgement:
        status = result.status
        if status in RETRYABLE_STATUSES:
            return judge_status(status, result.retry_after())
        return Verdict.ACCEPT

    def classify_error(self, error: BaseException) -> Judgement:
        if isinstance(error, ClientClosedError):
            return Verdict.FATAL
        if isinstance(error, HTTPTimeoutError):
            return _NO_MORE_HEDGES
        if isinstance(error, HTTPStreamClosedError):
            return Verdict.RETRY
        if isinstance(error, OSError) and not isinstance(error, ssl.CertificateError):
            return Verdict.RETRY
        return Verdict.FATAL
