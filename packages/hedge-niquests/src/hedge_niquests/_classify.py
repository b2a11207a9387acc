"""How an attempt's outcome is judged: niquests' responses and exceptions as verdicts.

Responses are judged by status with the rules every hedge HTTP adapter
shares (:func:`hedge.http.judge_status`): 502, 503 and 504 do not win, and a
``Retry-After`` on them is honoured as pushback. Every other status is an
answer and goes to the caller, who keeps ``raise_for_status()`` as usual.

Exceptions are niquests' own (the adapter never translates them):

* ``RETRY`` — the connection failed in a way another attempt may not:
  :class:`niquests.ConnectionError` (refused, reset, closed before the
  answer, DNS failure, connect timeout, proxy failure), a read timeout,
  a body cut short while the first chunk was awaited
  (:class:`~niquests.exceptions.ChunkedEncodingError`), urllib3's retries
  exhausted (:class:`~niquests.exceptions.RetryError`), and the standard
  library's connection errors should one escape unwrapped.
* ``FATAL`` — everything else, in particular TLS failures
  (:class:`~niquests.exceptions.SSLError`: a certificate that fails to
  verify fails again), invalid URLs, schemes and headers, decoding errors.
"""

from __future__ import annotations

from typing import Union

from niquests import AsyncResponse, Response
from niquests.exceptions import (
    ChunkedEncodingError,
    ConnectionError,
    RetryError,
    SSLError,
    Timeout,
)

from hedge import Classifier, Judgement, Verdict
from hedge.http import RETRYABLE_STATUSES, judge_status

__all__ = ["NiquestsClassifier"]

_AnyResponse = Union[Response, AsyncResponse]

_RETRYABLE_ERRORS = (ConnectionError, Timeout, ChunkedEncodingError, RetryError)


class NiquestsClassifier(Classifier[_AnyResponse]):
    """Judge niquests attempts (see the module docstring for the rules).

    Subclass it and pass an instance as ``classifier=`` to the adapters or
    sessions to change the rules, e.g. to let 500 send the next hedge.
    """

    def classify_result(self, result: _AnyResponse) -> Judgement:
        """Judge a response by its status (and ``Retry-After``)."""
        status = result.status_code
        if status not in RETRYABLE_STATUSES:
            # Also a lazy (multiplexed) response, which has no status yet. Retry-After
            # only matters on 502-504: no header lookup for the usual answer.
            return Verdict.ACCEPT
        return judge_status(status, result.headers.get("Retry-After"))

    def classify_error(self, error: BaseException) -> Judgement:
        """Judge an exception an attempt raised."""
        if isinstance(error, SSLError):
            return Verdict.FATAL
        if isinstance(error, _RETRYABLE_ERRORS):
            return Verdict.RETRY
        return super().classify_error(error)
