"""hedge-grpc: hedged gRPC calls for grpcio, on asyncio and sync channels.

gRPC's own hedging policy (gRFC A6) is not implemented by grpcio; these
client interceptors provide it, with hedge's adaptive delay and budget:

* :class:`HedgedUnaryInterceptor`, :class:`HedgedServerStreamInterceptor` —
  for ``grpc.aio`` channels (``interceptors=[...]``);
* :class:`SyncHedgedUnaryInterceptor`, :class:`SyncHedgedServerStreamInterceptor`
  — for synchronous channels (``grpc.intercept_channel``).

Only methods safe to repeat are hedged: declared ``NO_SIDE_EFFECTS`` or
``IDEMPOTENT`` in the ``.proto``, or allowed by name. The names are
re-exported lazily, so importing ``hedge_grpc._plugin`` (which hedge's
plugin discovery does) never imports grpcio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from ._aio import HedgedServerStreamInterceptor, HedgedUnaryInterceptor, HedgedUnaryStreamCall
    from ._policy import HEDGE_METADATA_KEY, PUSHBACK_METADATA_KEY
    from ._sync import (
        HedgedResponseStream,
        HedgedUnaryFuture,
        SyncHedgedServerStreamInterceptor,
        SyncHedgedUnaryInterceptor,
    )
    from ._target import parse_target

__all__ = [
    "HEDGE_METADATA_KEY",
    "PUSHBACK_METADATA_KEY",
    "HedgedResponseStream",
    "HedgedServerStreamInterceptor",
    "HedgedUnaryFuture",
    "HedgedUnaryInterceptor",
    "HedgedUnaryStreamCall",
    "SyncHedgedServerStreamInterceptor",
    "SyncHedgedUnaryInterceptor",
    "__version__",
    "parse_target",
]

_LAZY = {
    "HEDGE_METADATA_KEY": "._policy",
    "PUSHBACK_METADATA_KEY": "._policy",
    "HedgedResponseStream": "._sync",
    "HedgedServerStreamInterceptor": "._aio",
    "HedgedUnaryFuture": "._sync",
    "HedgedUnaryInterceptor": "._aio",
    "HedgedUnaryStreamCall": "._aio",
    "SyncHedgedServerStreamInterceptor": "._sync",
    "SyncHedgedUnaryInterceptor": "._sync",
    "parse_target": "._target",
}


def __getattr__(name: str) -> Any:
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hedge_grpc' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
