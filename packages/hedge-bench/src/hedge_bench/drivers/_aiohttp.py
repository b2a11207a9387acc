"""aiohttp: ``aiohttp.ClientSession()`` against ``HedgedAiohttpSession(config=config)``."""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, session: Any, address: str) -> None:
        self._session = session
        self._address = address

    async def call(self, path: str) -> None:
        async with self._session.get(self._address + path) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"the server answered {response.status}")

    async def aclose(self) -> None:
        await self._session.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    if config is None:
        import aiohttp

        return _Client(aiohttp.ClientSession(), address)
    from hedge_aiohttp import HedgedAiohttpSession

    return _Client(HedgedAiohttpSession(config=config), address)


DRIVER = Driver(
    adapter="aiohttp",
    protocol="http",
    open=_open,
    bare="aiohttp.ClientSession()",
    hedged="HedgedAiohttpSession(config=config)",
)
