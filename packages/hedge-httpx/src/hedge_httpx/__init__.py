"""hedge-httpx: hedged transports for httpx and httpx2.

Drop a hedged transport into an ``AsyncClient`` or ``Client`` and slow
idempotent requests get a backup attempt at the learned delay; the first
acceptable response wins and every other attempt is cancelled and closed::

    import httpx
    from hedge_httpx import HedgedHttpxTransport

    client = httpx.AsyncClient(transport=HedgedHttpxTransport())

=============================  ======================  =================
class                          client                  install
=============================  ======================  =================
``HedgedHttpxTransport``       ``httpx.AsyncClient``   ``hedge-httpx[httpx]``
``HedgedHttpxSyncTransport``   ``httpx.Client``        ``hedge-httpx[httpx]``
``HedgedHttpx2Transport``      ``httpx2.AsyncClient``  ``hedge-httpx[httpx2]``
``HedgedHttpx2SyncTransport``  ``httpx2.Client``       ``hedge-httpx[httpx2]``
=============================  ======================  =================

The classes are imported on first use, so importing this package (or its
plugin module, which hedge's adapter discovery loads) imports neither httpx
nor httpx2.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from ._httpx import HedgedHttpxSyncTransport, HedgedHttpxTransport
    from ._httpx2 import HedgedHttpx2SyncTransport, HedgedHttpx2Transport

__all__ = [
    "HedgedHttpx2SyncTransport",
    "HedgedHttpx2Transport",
    "HedgedHttpxSyncTransport",
    "HedgedHttpxTransport",
    "__version__",
]

_LAZY = {
    "HedgedHttpxTransport": "._httpx",
    "HedgedHttpxSyncTransport": "._httpx",
    "HedgedHttpx2Transport": "._httpx2",
    "HedgedHttpx2SyncTransport": "._httpx2",
}


def __getattr__(name: str) -> Any:
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hedge_httpx' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
