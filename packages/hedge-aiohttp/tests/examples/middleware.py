import asyncio

import aiohttp

from hedge import HedgeConfig
from hedge_aiohttp import hedge_middleware, hedging


async def main(url: str) -> bytes:
    middleware = hedge_middleware(HedgeConfig(percentile=0.95))
    async with aiohttp.ClientSession(middlewares=[middleware]) as session:
        async with session.get(url) as response:
            body = await response.read()
        # The per-request switch of the middleware form.
        with hedging(False):
            async with session.get(url) as response:
                await response.read()
    print(middleware.stats.snapshot().hedge_rate())
    return body


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/items"))
