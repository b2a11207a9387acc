import asyncio

from hedge import HedgeConfig
from hedge_aiohttp import HedgedAiohttpSession


async def main(base_url: str) -> list[int]:
    config = HedgeConfig(percentile=0.95)
    async with HedgedAiohttpSession(base_url, config=config) as session:
        # The usual aiohttp forms work: a context manager...
        async with session.get("items", params={"page": 1}) as response:
            items = await response.json()
        # ...or await, then release.
        response = await session.get("items", params={"page": 2})
        more = await response.json()
        response.release()
        # Opt out for one request.
        async with session.get("report", hedge=False) as response:
            await response.read()
        print(session.stats.snapshot())
    return items + more


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/v1/"))
