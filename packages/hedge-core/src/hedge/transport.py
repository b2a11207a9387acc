"""hedge-python's ``hedge.transport`` import path.

``from hedge.transport import HedgedHttpxTransport`` (or
``HedgedAiohttpSession``, ``HedgedNiquestsSession``, ``HedgedTornadoClient``)
returns the class from the installed adapter distribution. If it is not
installed, the :class:`ImportError` says which distribution to install.
New code may import from the adapter package directly (``hedge_httpx``).
"""

from __future__ import annotations

from typing import Any

from ._compat import resolve

__all__ = ["HedgedAiohttpSession", "HedgedHttpxTransport", "HedgedNiquestsSession", "HedgedTornadoClient"]  # noqa: F822 - each name is resolved by __getattr__


def __getattr__(name: str) -> Any:
    return resolve(__name__, name, tuple(__all__))
