"""The per-request hedging override, carried in a context variable.

aiohttp hands a client middleware the :class:`~aiohttp.ClientRequest` and
nothing else: its request methods accept no extra keyword a middleware could
read. The override therefore travels in a :class:`~contextvars.ContextVar`
that the middleware reads when it sees the request. aiohttp runs the
middleware chain in the task that awaits the request, so a value set around
the call (:func:`hedging`, or :class:`~hedge_aiohttp.HedgedAiohttpSession`'s
``hedge=`` keyword) reaches exactly the requests made inside it, redirects
included, and tasks created inside it inherit it as usual.

Cost: one ``ContextVar.get()`` per request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from hedge.http import hedge_override

__all__ = ["HEDGE", "hedging"]

HEDGE: ContextVar[bool | None] = ContextVar("hedge_aiohttp.hedge", default=None)
"""``True``/``False`` forces hedging on/off for requests made in this context; ``None``: the policy."""


@contextlib.contextmanager
def hedging(enabled: bool | None) -> Iterator[None]:
    """Force hedging on or off for the requests made inside the ``with`` block.

    This is the per-request switch of the middleware form::

        with hedging(False):
            async with session.get(url) as response:  # sent once, never hedged
                ...

    ``hedging(True)`` opts a request in that the policy would not hedge (a
    POST whose server deduplicates), provided its body can be sent twice;
    ``hedging(None)`` restores the policy inside an outer block. The setting
    covers every request awaited in the block and every task created in it.

    Raises:
        TypeError: if ``enabled`` is not a bool or ``None``.
        ValueError: for a string other than ``true``/``false`` and friends.
    """
    token = HEDGE.set(hedge_override(enabled))
    try:
        yield
    finally:
        HEDGE.reset(token)
