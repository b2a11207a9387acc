"""What the adapters read from a niquests ``PreparedRequest``, and the copies they send.

* :func:`describe` — the :class:`hedge.RequestInfo` of a prepared request.
  niquests resolves a session's ``base_url`` while preparing, so the URL the
  adapter sees is absolute and keys never depend on the query string.
* :func:`is_replayable` — whether the body can be sent more than once.
  niquests prepares ``data=dict``, ``json=`` and ``files=`` into bytes or
  str, which replay; a generator, iterator or file object is sent once.
* :class:`AttemptRequests` — the request each attempt sends: the caller's
  own object for the primary (untouched unless the override header must be
  dropped), a copy per hedge (marked with ``config.attempt_header`` if set),
  so concurrent attempts never share a mutable request.

The per-request override is read by :mod:`hedge_niquests._override`.
"""

from __future__ import annotations

from niquests import PreparedRequest

from hedge import RequestInfo

from ._override import HEDGE_HEADER

__all__ = ["FRAMEWORK", "AttemptRequests", "describe", "is_replayable"]

FRAMEWORK = "niquests"

_REPLAYABLE_BODIES = (bytes, bytearray, memoryview, str)


def describe(request: PreparedRequest) -> RequestInfo:
    """Return the :class:`~hedge.RequestInfo` of a prepared request."""
    return RequestInfo.from_url(
        request.method or "GET",
        request.url or "",
        headers=request.headers if request.headers is not None else {},
        framework=FRAMEWORK,
    )


def is_replayable(request: PreparedRequest) -> bool:
    """Return whether the body of ``request`` can be sent more than once."""
    body = request.body
    return body is None or isinstance(body, _REPLAYABLE_BODIES)


class AttemptRequests:
    """Hands each attempt of one request the ``PreparedRequest`` it sends.

    Args:
        request: the caller's request.
        attempt_header: the header that marks hedges (``None``: unmarked).

    """

    __slots__ = ("_attempt_header", "_base")

    def __init__(self, request: PreparedRequest, attempt_header: str | None) -> None:
        self._attempt_header = attempt_header
        headers = request.headers
        if headers is not None and HEDGE_HEADER in headers:
            # The override is for this adapter only; the caller's object keeps
            # it, so the hops of a redirect carry the same choice.
            request = request.copy()
            assert request.headers is not None
            del request.headers[HEDGE_HEADER]
        self._base = request

    @property
    def primary(self) -> PreparedRequest:
        """The request the primary attempt sends."""
        return self._base

    def for_attempt(self, index: int) -> PreparedRequest:
        """The request attempt ``index`` sends: the primary's, or a fresh copy for a hedge."""
        if index == 0:
            return self._base
        copy = self._base.copy()
        if self._attempt_header is not None and copy.headers is not None:
            copy.headers[self._attempt_header] = str(index)
        return copy
