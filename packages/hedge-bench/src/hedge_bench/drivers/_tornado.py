"""tornado: ``AsyncHTTPClient(force_instance=True)`` against ``HedgedTornadoClient(config)``.

tornado's client sends ``Connection: close``, so every attempt opens a
connection, bare or hedged. Both get ``max_clients`` as large as the
requests that may be in flight, so that no hedge waits in tornado's queue
(tornado's default is 10).
"""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self._address = address

    async def call(self, path: str, address: str | None = None) -> None:
        response = await self._client.fetch((address or self._address) + path, raise_error=False)
        if response.code != 200:
            raise RuntimeError(f"the request failed: {response.code} {response.error!r}")

    async def aclose(self) -> None:
        self._client.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    slots = max(10, connections)
    if config is None:
        from tornado.httpclient import AsyncHTTPClient

        return _Client(AsyncHTTPClient(force_instance=True, max_clients=slots), address)
    from hedge_tornado import HedgedTornadoClient

    return _Client(HedgedTornadoClient(config, max_clients=slots), address)


DRIVER = Driver(
    adapter="tornado",
    protocol="http",
    open=_open,
    bare="AsyncHTTPClient(force_instance=True, max_clients=n)",
    hedged="HedgedTornadoClient(config, max_clients=n)",
)
