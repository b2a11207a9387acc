"""gRPC: a ``grpc.aio`` channel, bare against one with ``HedgedUnaryInterceptor(config)``.

The synchronous form: ``grpc.insecure_channel`` intercepted by
``SyncHedgedUnaryInterceptor(config)``.

The benchmark method has no ``.proto`` (the server uses a generic handler on
raw bytes), so the interceptor is told it is safe to repeat through
``idempotent_methods``, the documented opt-in for such methods. Each
interceptor is given its channel's ``target=``: hedge-grpc can read it from
grpcio's internals, but not from every grpcio release. A request to another
address goes through a channel of its own whose interceptor shares the first
one's engine (``hedger=``): one client's hedging state, with per-target
budgets, the documented way to hedge several channels together.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from hedge import HedgeConfig

from .._driver import BenchClient, Driver, SyncBenchClient
from .._servers import GRPC_METHOD

__all__ = ["DRIVER"]


class _Channels:
    """One channel per address, each with its interceptor, created on first use."""

    def __init__(self, address: str, make: Callable[[str], tuple[Any, Any]]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self.channels: dict[str, tuple[Any, Any, Any]] = {}
        self.address = address
        self.first = self.method(address)

    def method(self, address: str) -> Any:
        with self._lock:
            found = self.channels.get(address)
            if found is None:
                channel, interceptor = self._make(address)
                found = self.channels[address] = (channel, channel.unary_unary(GRPC_METHOD), interceptor)
        return found[1]

    def get(self, address: str | None) -> Any:
        return self.first if address is None or address == self.address else self.method(address)


class _Client:
    def __init__(self, address: str, config: HedgeConfig | None) -> None:
        self._config = config
        self._hedger: Any = None
        self._channels = _Channels(address, self._open)

    def _open(self, address: str) -> tuple[Any, Any]:
        import grpc

        if self._config is None:
            return grpc.aio.insecure_channel(address), None
        from hedge_grpc import HedgedUnaryInterceptor

        if self._hedger is None:
            interceptor = HedgedUnaryInterceptor(
                self._config, target=address, idempotent_methods=[GRPC_METHOD]
            )
            self._hedger = interceptor.hedger
        else:
            interceptor = HedgedUnaryInterceptor(
                hedger=self._hedger, target=address, idempotent_methods=[GRPC_METHOD]
            )
        # Any: grpc-stubs does not know the interceptor base class hedge-grpc derives from.
        interceptors: Any = [interceptor]
        return grpc.aio.insecure_channel(address, interceptors=interceptors), interceptor

    async def call(self, path: str, address: str | None = None) -> None:
        answer = await self._channels.get(address)(path[3:].encode("ascii"))
        if answer != b"ok":
            raise RuntimeError(f"the server answered {answer!r}")

    async def aclose(self) -> None:
        for channel, _, _ in self._channels.channels.values():
            await channel.close()


class _SyncClient:
    def __init__(self, address: str, config: HedgeConfig | None) -> None:
        self._config = config
        self._hedger: Any = None
        self._channels = _Channels(address, self._open)

    def _open(self, address: str) -> tuple[Any, Any]:
        import grpc

        channel: Any = grpc.insecure_channel(address)
        if self._config is None:
            return channel, None
        from hedge_grpc import SyncHedgedUnaryInterceptor

        if self._hedger is None:
            interceptor = SyncHedgedUnaryInterceptor(
                self._config, target=address, idempotent_methods=[GRPC_METHOD]
            )
            self._hedger = interceptor.hedger
        else:
            interceptor = SyncHedgedUnaryInterceptor(
                hedger=self._hedger, target=address, idempotent_methods=[GRPC_METHOD]
            )
        return grpc.intercept_channel(channel, interceptor), interceptor

    def call(self, path: str, timeout: float | None = None, address: str | None = None) -> None:
        import grpc

        try:
            answer = self._channels.get(address)(path[3:].encode("ascii"), timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise TimeoutError(str(exc)) from exc
            raise
        if answer != b"ok":
            raise RuntimeError(f"the server answered {answer!r}")

    def close(self) -> None:
        for channel, _, interceptor in self._channels.channels.values():
            channel.close()
            if interceptor is not None:
                interceptor.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    return _Client(address, config)


def _open_sync(address: str, config: HedgeConfig | None, connections: int) -> SyncBenchClient:
    return _SyncClient(address, config)


DRIVER = Driver(
    adapter="grpc",
    protocol="grpc",
    open=_open,
    bare="grpc.aio.insecure_channel(target)",
    hedged=(
        "grpc.aio.insecure_channel(target, interceptors=[HedgedUnaryInterceptor(config, target=target, ...)])"
    ),
    open_sync=_open_sync,
    hedged_sync=(
        "grpc.intercept_channel(grpc.insecure_channel(target), "
        "SyncHedgedUnaryInterceptor(config, target=target, ...))"
    ),
)
