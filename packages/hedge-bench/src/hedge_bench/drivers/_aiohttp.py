"""aiohttp: ``aiohttp.ClientSession()`` against ``HedgedAiohttpSession(config=config)``.

Both sessions' connector holds aiohttp's default 100 connections, or as many
requests as may be in flight when that is more (``hedge-bench outage``).
"""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, session: Any, address: str) -> None:
        self._session = session
        self._address = address

    async def call(self, path: str, address: str | None = None) -> None:
        async with self._session.get((address or self._address) + path) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"the server answered {response.status}")

    async def aclose(self) -> None:
        await self._session.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=max(100, connections))
    if config is None:
        return _Client(aiohttp.ClientSession(connector=connector), address)
    from hedge_aiohttp import HedgedAiohttpSession

    return _Client(HedgedAiohttpSession(config=config, connector=connector), address)


DRIVER = Driver(
    adapter="aiohttp",
    protocol="http",
    open=_open,
    bare="aiohttp.ClientSession()",
    hedged="HedgedAiohttpSession(config=config)",
)
