"""httpx: ``httpx.AsyncClient()`` against one with ``transport=HedgedHttpxTransport(config)``.

The synchronous form: ``httpx.Client()`` against one with
``transport=HedgedHttpxSyncTransport(config)``.

The async clients' pool holds httpx's default 100 connections, or as many
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
        import httpx

        url = (address or self._address) + path
        try:
            response = self._client.get(url) if timeout is None else self._client.get(url, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    def close(self) -> None:
        self._client.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    import httpx

    limits = httpx.Limits(max_connections=max(100, connections), max_keepalive_connections=20)
    if config is None:
        return _Client(httpx.AsyncClient(limits=limits), address)
    from hedge_httpx import HedgedHttpxTransport

    inner = httpx.AsyncHTTPTransport(limits=limits)
    return _Client(httpx.AsyncClient(transport=HedgedHttpxTransport(inner=inner, config=config)), address)


def _open_sync(address: str, config: HedgeConfig | None, connections: int) -> SyncBenchClient:
    import httpx

    if config is None:
        return _SyncClient(httpx.Client(), address)
    from hedge_httpx import HedgedHttpxSyncTransport

    return _SyncClient(httpx.Client(transport=HedgedHttpxSyncTransport(config=config)), address)


DRIVER = Driver(
    adapter="httpx",
    protocol="http",
    open=_open,
    bare="httpx.AsyncClient()",
    hedged="httpx.AsyncClient(transport=HedgedHttpxTransport(config=config))",
    open_sync=_open_sync,
    hedged_sync="httpx.Client(transport=HedgedHttpxSyncTransport(config=config))",
)
