"""httpx2: ``httpx2.AsyncClient()`` against one with ``transport=HedgedHttpx2Transport(config)``."""

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
    import httpx2

    if config is None:
        return _Client(httpx2.AsyncClient(), address)
    from hedge_httpx import HedgedHttpx2Transport

    return _Client(httpx2.AsyncClient(transport=HedgedHttpx2Transport(config=config)), address)


DRIVER = Driver(
    adapter="httpx2",
    protocol="http",
    open=_open,
    bare="httpx2.AsyncClient()",
    hedged="httpx2.AsyncClient(transport=HedgedHttpx2Transport(config=config))",
)
