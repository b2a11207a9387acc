"""niquests: ``niquests.AsyncSession()`` against ``HedgedNiquestsSession(config=config)``.

The synchronous form: ``niquests.Session()`` against
``HedgedNiquestsSyncSession(config=config)``.

Every session gets a connection pool as large as the requests that may be
in flight (niquests keeps 10 by default), so that none waits for a
connection and hedges are not queued behind the primaries they back up.
"""

from __future__ import annotations

from typing import Any

from hedge import HedgeConfig

from .._driver import BenchClient, Driver, SyncBenchClient

__all__ = ["DRIVER"]


class _Client:
    def __init__(self, session: Any, address: str) -> None:
        self._session = session
        self._address = address

    async def call(self, path: str, address: str | None = None) -> None:
        response = await self._session.get((address or self._address) + path)
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    async def aclose(self) -> None:
        await self._session.close()


class _SyncClient:
    def __init__(self, session: Any, address: str) -> None:
        self._session = session
        self._address = address

    def call(self, path: str, timeout: float | None = None, address: str | None = None) -> None:
        import niquests

        url = (address or self._address) + path
        try:
            response = self._session.get(url) if timeout is None else self._session.get(url, timeout=timeout)
        except niquests.exceptions.Timeout as exc:
            raise TimeoutError(str(exc)) from exc
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    def close(self) -> None:
        self._session.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    pool = max(10, connections)
    if config is None:
        import niquests

        return _Client(niquests.AsyncSession(pool_maxsize=pool), address)
    from hedge_niquests import HedgedNiquestsSession

    return _Client(HedgedNiquestsSession(config=config, pool_maxsize=pool), address)


def _open_sync(address: str, config: HedgeConfig | None, connections: int) -> SyncBenchClient:
    pool = max(10, connections)
    if config is None:
        import niquests

        return _SyncClient(niquests.Session(pool_maxsize=pool), address)
    from hedge_niquests import HedgedNiquestsSyncSession

    return _SyncClient(HedgedNiquestsSyncSession(config=config, pool_maxsize=pool), address)


DRIVER = Driver(
    adapter="niquests",
    protocol="http",
    open=_open,
    bare="niquests.AsyncSession(pool_maxsize=n)",
    hedged="HedgedNiquestsSession(config=config, pool_maxsize=n)",
    open_sync=_open_sync,
    hedged_sync="HedgedNiquestsSyncSession(config=config, pool_maxsize=n)",
)
