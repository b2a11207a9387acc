"""httpx: ``httpx.AsyncClient()`` against one with ``transport=HedgedHttpxTransport(config)``."""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self._address = address

    async def call(self, path: str) -> None:
        response = await self._client.get(self._address + path)
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    import httpx

    if config is None:
        return _Client(httpx.AsyncClient(), address)
    from hedge_httpx import HedgedHttpxTransport

    return _Client(httpx.AsyncClient(transport=HedgedHttpxTransport(config=config)), address)


DRIVER = Driver(
    adapter="httpx",
    protocol="http",
    open=_open,
    bare="httpx.AsyncClient()",
    hedged="httpx.AsyncClient(transport=HedgedHttpxTransport(config=config))",
)
