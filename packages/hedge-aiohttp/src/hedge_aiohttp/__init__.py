"""hedge-aiohttp: adaptive hedged requests for aiohttp.

Two forms over one engine (aiohttp 3.12+):

* :func:`hedge_middleware` — a client middleware, the idiomatic form:
  ``aiohttp.ClientSession(middlewares=[hedge_middleware(config)])``; switch
  hedging per request with :func:`hedging`.
* :class:`HedgedAiohttpSession` — hedge-python's drop-in ``ClientSession``
  (``from hedge.transport import HedgedAiohttpSession`` still works), with a
  ``hedge=`` keyword on every request method and ``.stats``.

The public names are imported on first use, so that hedge's adapter
discovery can import this package's plugin module without importing aiohttp.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from ._classify import AiohttpClassifier
    from ._middleware import HedgeMiddleware, hedge_middleware
    from ._override import hedging
    from ._session import HedgedAiohttpSession

__all__ = [
    "AiohttpClassifier",
    "HedgeMiddleware",
    "HedgedAiohttpSession",
    "__version__",
    "hedge_middleware",
    "hedging",
]

_LAZY = {
    "AiohttpClassifier": "._classify",
    "HedgeMiddleware": "._middleware",
    "hedge_middleware": "._middleware",
    "hedging": "._override",
    "HedgedAiohttpSession": "._session",
}


def __getattr__(name: str) -> Any:
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hedge_aiohttp' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
