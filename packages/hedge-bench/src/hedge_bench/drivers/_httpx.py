"""httpx: ``httpx.AsyncClient()`` against one with ``transport=HedgedHttpxTransport(config)``.

:func:`httpx_driver` makes the same driver for httpx2 (``drivers/_httpx2.py``).

The synchronous form: ``httpx.Client()`` against one with
``transport=HedgedHttpxSyncTransport(config)``.

The async clients' pool holds httpx's default 100 connections, or as many
requests as may be in flight when that is more (``hedge-bench outage``).
"""

from __future__ import annotations

import importlib
from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver, SyncBenchClient

__all__ = ["DRIVER", "httpx_driver"]


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
    def __init__(self, client: Any, address: str, timeout_error: type[Exception]) -> None:
        self._client = client
        self._address = address
        self._timeout_error = timeout_error

    def call(self, path: str, timeout: float | None = None, address: str | None = None) -> None:
        url = (address or self._address) + path
        try:
            response = self._client.get(url) if timeout is None else self._client.get(url, timeout=timeout)
        except self._timeout_error as exc:
            raise TimeoutError(str(exc)) from exc
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    def close(self) -> None:
        self._client.close()


def httpx_driver(framework: str, transports: str) -> Driver:
    """The driver of one httpx flavour.

    ``framework`` is its module (``"httpx"``, ``"httpx2"``), ``transports`` the
    hedge-httpx name stem (``"Httpx"``, ``"Httpx2"``). The framework and
    hedge-httpx are imported only when a client is opened.
    """
    async_name, sync_name = f"Hedged{transports}Transport", f"Hedged{transports}SyncTransport"

    async def open_async(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
        module = importlib.import_module(framework)
        limits = module.Limits(max_connections=max(100, connections), max_keepalive_connections=20)
        if config is None:
            return _Client(module.AsyncClient(limits=limits), address)
        transport = getattr(importlib.import_module("hedge_httpx"), async_name)
        inner = module.AsyncHTTPTransport(limits=limits)
        return _Client(module.AsyncClient(transport=transport(inner=inner, config=config)), address)

    def open_sync(address: str, config: HedgeConfig | None, connections: int) -> SyncBenchClient:
        module = importlib.import_module(framework)
        if config is None:
            return _SyncClient(module.Client(), address, module.TimeoutException)
        transport = getattr(importlib.import_module("hedge_httpx"), sync_name)
        return _SyncClient(
            module.Client(transport=transport(config=config)), address, module.TimeoutException
        )

    return Driver(
        adapter=framework,
        protocol="http",
        open=open_async,
        bare=f"{framework}.AsyncClient()",
        hedged=f"{framework}.AsyncClient(transport={async_name}(config=config))",
        open_sync=open_sync,
        hedged_sync=f"{framework}.Client(transport={sync_name}(config=config))",
    )


DRIVER = httpx_driver("httpx", "Httpx")
