"""The per-request hedging override: the ``X-Hedge`` header, or a ``with hedging(...)`` block.

niquests' request methods take a fixed set of keywords, and what reaches an
adapter is the ``PreparedRequest`` alone, so a per-request choice travels in
one of two niquests-neutral ways, read by the adapter when it sees the
request:

* the :data:`HEDGE_HEADER` request header (``X-Hedge: true|false``), set
  like any header (``session.get(url, headers={"X-Hedge": "false"})``, a
  prepared ``Request``, session-wide headers). The adapter removes it before
  sending: servers never see it. It travels with the request, redirects
  included.
* :func:`hedging`, a context manager over a :class:`~contextvars.ContextVar`
  (the same switch hedge-aiohttp offers): every request made inside the
  block, in this thread or task and the tasks created in it.

The header wins over the block: it is the more specific choice.

Cost: one header lookup and one ``ContextVar.get()`` per request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from niquests import PreparedRequest

from hedge.http import hedge_override

__all__ = ["HEDGE", "HEDGE_HEADER", "hedging", "read_override"]

HEDGE_HEADER = "X-Hedge"
"""The request header that forces hedging on (``true``) or off (``false``) for one request."""

HEDGE: ContextVar[bool | None] = ContextVar("hedge_niquests.hedge", default=None)
"""``True``/``False`` forces hedging on/off for requests made in this context; ``None``: the policy."""


@contextlib.contextmanager
def hedging(enabled: bool | None) -> Iterator[None]:
    """Force hedging on or off for the requests made inside the ``with`` block.

    ::

        with hedging(False):
            session.get(url)  # sent once, never hedged

    ``hedging(True)`` opts in a request the policy would not hedge (a PUT
    the server deduplicates), provided its body can be sent twice;
    ``hedging(None)`` restores the policy inside an outer block.

    Raises:
        TypeError: if ``enabled`` is not a bool or ``None``.
        ValueError: for a string other than ``true``/``false`` and friends.

    """
    token = HEDGE.set(hedge_override(enabled))
    try:
        yield
    finally:
        HEDGE.reset(token)


def read_override(request: PreparedRequest) -> bool | None:
    """Return the override for ``request``: its header, else the :func:`hedging` block, else ``None``.

    Raises:
        ValueError: if the header holds anything but true/false (1/0, yes/no, on/off).

    """
    headers = request.headers
    value = headers.get(HEDGE_HEADER) if headers is not None else None
    if value is None:
        return HEDGE.get()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    try:
        return hedge_override(value)
    except ValueError:
        raise ValueError(
            f"the {HEDGE_HEADER} request header must be true or false (1/0, yes/no, on/off), got {value!r}"
        ) from None
