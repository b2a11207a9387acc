"""hedge-grpc's plugin: registers the gRPC adapter with hedge's plugin system.

Loaded through the ``hedge`` entry-point group. It imports neither grpcio
nor the interceptors, so listing adapters (``python -m hedge``) works when
grpcio is absent or too old.
"""

from __future__ import annotations

from collections.abc import Callable

from hedge import AdapterSpec, hookimpl

GRPCIO_FLOOR = "1.62.0"
"""The oldest grpcio supported; the same floor as in pyproject.toml."""

SPEC = AdapterSpec(
    name="grpc",
    framework="grpcio",
    min_version=GRPCIO_FLOOR,
    exports={
        "HedgedUnaryInterceptor": "hedge_grpc:HedgedUnaryInterceptor",
        "HedgedServerStreamInterceptor": "hedge_grpc:HedgedServerStreamInterceptor",
        "SyncHedgedUnaryInterceptor": "hedge_grpc:SyncHedgedUnaryInterceptor",
        "SyncHedgedServerStreamInterceptor": "hedge_grpc:SyncHedgedServerStreamInterceptor",
    },
    description="grpcio interceptors: asyncio and sync channels, unary and server streaming",
)


@hookimpl
def hedge_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register the gRPC adapter."""
    register(SPEC)
