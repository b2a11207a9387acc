"""hedge-httpx's plugin: registers the httpx and httpx2 adapters with hedge.

Loaded by hedge's discovery through the ``hedge`` entry-point group, the
same way a third-party adapter is. It imports neither framework: each spec
names the framework's distribution and floor, and where its classes live.
"""

from __future__ import annotations

from collections.abc import Callable

from hedge import AdapterSpec, hookimpl

__all__ = ["HTTPX", "HTTPX2", "hedge_register_adapters"]

HTTPX = AdapterSpec(
    name="httpx",
    framework="httpx",
    min_version="0.25.0",
    exports={
        "HedgedHttpxTransport": "hedge_httpx:HedgedHttpxTransport",
        "HedgedHttpxSyncTransport": "hedge_httpx:HedgedHttpxSyncTransport",
    },
    description="hedged transports for httpx.AsyncClient and httpx.Client",
)

HTTPX2 = AdapterSpec(
    name="httpx2",
    framework="httpx2",
    min_version="2.13.0",
    exports={
        "HedgedHttpx2Transport": "hedge_httpx:HedgedHttpx2Transport",
        "HedgedHttpx2SyncTransport": "hedge_httpx:HedgedHttpx2SyncTransport",
    },
    description="hedged transports for httpx2.AsyncClient and httpx2.Client",
)


@hookimpl
def hedge_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register the httpx and httpx2 adapters."""
    register(HTTPX)
    register(HTTPX2)
