"""hedge-tornado: hedged requests for tornado's HTTP client.

:class:`HedgedTornadoClient` has tornado's ``fetch()`` (``HTTPRequest`` or
URL, ``raise_error``, ``HTTPResponse``, ``streaming_callback``) and runs
each idempotent request as a race: a backup attempt is sent when the first
has not answered by the learned percentile, the first good answer wins, and
the losers are aborted on the wire, their ``max_clients`` slots freed at
once. hedge-python's import path works too::

    from hedge.transport import HedgedTornadoClient

Importing this package does not import tornado until a public name is used,
so adapter discovery works with tornado absent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from ._client import HedgedTornadoClient

__all__ = ["HedgedTornadoClient", "__version__"]

_LAZY = {"HedgedTornadoClient": ("hedge_tornado._client", "HedgedTornadoClient")}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hedge_tornado' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
