"""gRPC: a ``grpc.aio`` channel, bare against one with ``HedgedUnaryInterceptor(config)``.

The benchmark method has no ``.proto`` (the server uses a generic handler on
raw bytes), so the interceptor is told it is safe to repeat through
``idempotent_methods``, the documented opt-in for such methods.
"""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver
from .._servers import GRPC_METHOD

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, channel: Any) -> None:
        self._channel = channel
        self._get = channel.unary_unary(GRPC_METHOD)

    async def call(self, path: str) -> None:
        answer = await self._get(path[3:].encode("ascii"))
        if answer != b"ok":
            raise RuntimeError(f"the server answered {answer!r}")

    async def aclose(self) -> None:
        await self._channel.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    import grpc

    if config is None:
        return _Client(grpc.aio.insecure_channel(address))
    from hedge_grpc import HedgedUnaryInterceptor

    # Any: grpc-stubs does not know the interceptor base class hedge-grpc derives from.
    interceptor: Any = HedgedUnaryInterceptor(config, idempotent_methods=[GRPC_METHOD])
    return _Client(grpc.aio.insecure_channel(address, interceptors=[interceptor]))


DRIVER = Driver(
    adapter="grpc",
    protocol="grpc",
    open=_open,
    bare="grpc.aio.insecure_channel(target)",
    hedged="grpc.aio.insecure_channel(target, interceptors=[HedgedUnaryInterceptor(config, ...)])",
)
