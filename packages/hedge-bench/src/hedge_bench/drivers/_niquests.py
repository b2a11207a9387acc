"""niquests: ``niquests.AsyncSession()`` against ``HedgedNiquestsSession(config=config)``.

Both sessions get a connection pool as large as the requests that may be
in flight (niquests keeps 10 by default), so that neither waits for a
connection and hedges are not queued behind the primaries they back up.
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

    async def call(self, path: str) -> None:
        response = await self._session.get(self._address + path)
        if response.status_code != 200:
            raise RuntimeError(f"the server answered {response.status_code}")

    async def aclose(self) -> None:
        await self._session.close()


async def _open(address: str, config: HedgeConfig | None, connections: int) -> BenchClient:
    pool = max(10, connections)
    if config is None:
        import niquests

        return _Client(niquests.AsyncSession(pool_maxsize=pool), address)
    from hedge_niquests import HedgedNiquestsSession

    return _Client(HedgedNiquestsSession(config=config, pool_maxsize=pool), address)


DRIVER = Driver(
    adapter="niquests",
    protocol="http",
    open=_open,
    bare="niquests.AsyncSession(pool_maxsize=n)",
    hedged="HedgedNiquestsSession(config=config, pool_maxsize=n)",
)
