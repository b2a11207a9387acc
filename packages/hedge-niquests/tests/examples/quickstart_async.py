"""Quick start: the async session (hedge-python's HedgedNiquestsSession)."""

from __future__ import annotations

import asyncio

from hedge import HedgeConfig
from hedge_niquests import HedgedNiquestsSession


async def main(url: str) -> str:
    async with HedgedNiquestsSession(config=HedgeConfig(percentile=0.95)) as session:
        response = await session.get(url, timeout=10)
        response.raise_for_status()
        print(session.stats.snapshot())
        return response.text or ""


if __name__ == "__main__":
    print(asyncio.run(main("https://httpbingo.org/get")))
