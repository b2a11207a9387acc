"""Which httpx outcomes win a race, which are worth another attempt, which end it.

Responses are judged by :func:`hedge.http.judge_status`, like every hedge
HTTP adapter: 502, 503 and 504 never win (a ``Retry-After`` on them is
server pushback), every other status is an answer.

Exceptions, by what they say about *this attempt* versus *the request*:

``RETRY`` (another attempt may well succeed; send the next hedge at once)
    ``ConnectError``, ``ConnectTimeout`` (the request never left: a refused
    or lost connection), ``ReadError``, ``WriteError``, ``CloseError`` (a
    reset or broken connection), ``RemoteProtocolError`` (the server
    closed a connection without answering, typically a stale keep-alive).

``RETRY``, but send no further hedge (``RetryAfter(-1)``)
    ``ReadTimeout``, ``WriteTimeout``: the attempt outlived the per-read
    timeout the user set. Attempts already in flight may still answer and
    are awaited, but starting a new one now would be a retry the timeout
    never asked for. ``PoolTimeout``: the client's own connection pool is
    full; another attempt would only queue behind it.

``FATAL`` (the request itself is wrong; every attempt would fail alike)
    every other httpx error: ``UnsupportedProtocol``, ``LocalProtocolError``,
    ``ProxyError``, ``InvalidURL``, stream misuse, decoding errors.

Anything else an inner transport raises is judged by
:class:`hedge.Classifier`'s defaults (the stdlib's connection errors are
``RETRY``, the rest ``FATAL``). If every attempt ends in ``RETRY``, the
caller gets the primary's response or exception exactly as httpx produced
it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hedge import Classifier, Judgement, RetryAfter, Verdict
from hedge.http import RETRYABLE_STATUSES, judge_status

if TYPE_CHECKING:
    from ._flavor import HttpxModule

__all__ = ["HttpxClassifier"]

_NO_MORE_HEDGES = RetryAfter(-1.0)


class HttpxClassifier(Classifier[Any]):
    """The verdicts above, for the exception types of one httpx-compatible module."""

    def __init__(self, module: HttpxModule) -> None:
        # Order matters: PoolTimeout and ReadTimeout are TimeoutExceptions, and
        # RemoteProtocolError is an HTTPError; the specific rules come first.
        self._stop: tuple[type[BaseException], ...] = (
            module.ReadTimeout,
            module.WriteTimeout,
            module.PoolTimeout,
        )
        self._retry: tuple[type[BaseException], ...] = (
            module.NetworkError,
            module.ConnectTimeout,
            module.RemoteProtocolError,
        )
        self._fatal: tuple[type[BaseException], ...] = (
            module.HTTPError,
            module.InvalidURL,
            module.StreamError,
        )

    def classify_result(self, result: Any) -> Judgement:
        """Judge a response by its status (and ``Retry-After`` on 502/503/504)."""
        status = result.status_code
        if status not in RETRYABLE_STATUSES:
            return Verdict.ACCEPT
        return judge_status(status, result.headers.get("retry-after"))

    def classify_error(self, error: BaseException) -> Judgement:
        """Judge an exception an attempt raised (see the module docstring)."""
        if isinstance(error, self._stop):
            return _NO_MORE_HEDGES
        if isinstance(error, self._retry):
            return Verdict.RETRY
        if isinstance(error, self._fatal):
            return Verdict.FATAL
        return super().classify_error(error)
