"""A server-sent event stream, raced on its first chunk (race_on="first_byte")."""

from __future__ import annotations

import asyncio

from hedge import HedgeConfig
from hedge_niquests import HedgedNiquestsSession


async def main(url: str) -> list[str]:
    config = HedgeConfig(race_on="first_byte")
    events = []
    async with HedgedNiquestsSession(config=config) as session:
        response = await session.get(url, stream=True)
        try:
            async for line in response.iter_lines():
                if line:
                    events.append(line.decode())
        finally:
            await response.close()
    return events


if __name__ == "__main__":
    print(asyncio.run(main("https://httpbingo.org/sse")))
