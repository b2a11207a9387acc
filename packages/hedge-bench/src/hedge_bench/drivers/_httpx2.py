"""httpx2: ``httpx2.AsyncClient()`` against one with ``transport=HedgedHttpx2Transport(config)``.

The synchronous form: ``httpx2.Client()`` against one with
``transport=HedgedHttpx2SyncTransport(config)``.

The async clients' pool holds httpx2's default 100 connections, or as many
requests as may be in flight when that is more (``hedge-bench outage``).
"""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver, SyncBenchClient

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self._address = address

    async def call(self, path: str, address: str | None = None) -> None:
        response = await self._client.get((address or self._address) + path)
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()


class _SyncClient:
    def __init__(self, client: Any, address: str) -> None:
        self._client = client
        self._address = address

    def call(self, path: str, timeout: float | None = None, address: str | None = None) -> None:
        import httpx2

        url = (address or self._address) + path
        try:
            response = self._client.get(url) if timeout is None else self._client.get(url, timeout=timeout)
        except httpx2.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    def close(self) -> None:
        self._client.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    import httpx2

    limits = httpx2.Limits(max_connections=max(100, connections), max_keepalive_connections=20)
    if config is None:
        return _Client(httpx2.AsyncClient(limits=limits), address)
    from hedge_httpx import HedgedHttpx2Transport

    inner = httpx2.AsyncHTTPTransport(limits=limits)
    return _Client(httpx2.AsyncClient(transport=HedgedHttpx2Transport(inner=inner, config=config)), address)


def _open_sync(address: str, config: HedgeConfig | None, connections: int) -> SyncBenchClient:
    import httpx2

    if config is None:
        return _SyncClient(httpx2.Client(), address)
    from hedge_httpx import HedgedHttpx2SyncTransport

    return _SyncClient(httpx2.Client(transport=HedgedHttpx2SyncTransport(config=config)), address)


DRIVER = Driver(
    adapter="httpx2",
    protocol="http",
    open=_open,
    bare="httpx2.AsyncClient()",
    hedged="httpx2.AsyncClient(transport=HedgedHttpx2Transport(config=config))",
    open_sync=_open_sync,
    hedged_sync="httpx2.Client(transport=HedgedHttpx2SyncTransport(config=config))",
)
