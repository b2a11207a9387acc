"""hedge-niquests: hedged requests for niquests.

* :class:`HedgedNiquestsSession` — a ``niquests.AsyncSession`` whose HTTP(S)
  requests are hedged (hedge-python's name); :class:`HedgedNiquestsSyncSession`
  is its ``niquests.Session`` twin.
* :class:`AsyncHedgedHTTPAdapter` / :class:`HedgedHTTPAdapter` — the
  transport adapters those sessions mount, to mount on any session yourself.
* :data:`HEDGE_HEADER` — the request header (``X-Hedge: true|false``) that
  forces hedging on or off for one request; it is never sent. :func:`hedging`
  does the same for every request made inside a ``with`` block.
* :class:`NiquestsClassifier` — how attempts are judged, to subclass.

The names are imported on first use, so that importing ``hedge_niquests``
(and hedge's plugin discovery) never imports niquests by itself.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from ._adapter import AsyncHedgedHTTPAdapter, HedgedHTTPAdapter
    from ._classify import NiquestsClassifier
    from ._override import HEDGE_HEADER, hedging
    from ._session import HedgedNiquestsSession, HedgedNiquestsSyncSession

__all__ = [
    "HEDGE_HEADER",
    "AsyncHedgedHTTPAdapter",
    "HedgedHTTPAdapter",
    "HedgedNiquestsSession",
    "HedgedNiquestsSyncSession",
    "NiquestsClassifier",
    "__version__",
    "hedging",
]

_LAZY = {
    "HEDGE_HEADER": "._override",
    "AsyncHedgedHTTPAdapter": "._adapter",
    "HedgedHTTPAdapter": "._adapter",
    "HedgedNiquestsSession": "._session",
    "HedgedNiquestsSyncSession": "._session",
    "NiquestsClassifier": "._classify",
    "hedging": "._override",
}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hedge_niquests' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
