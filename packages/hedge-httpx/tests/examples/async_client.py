import asyncio

import httpx

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpxTransport


async def main(url: str) -> int:
    # Hedge at the learned p95 of each host; the inner transport sends every attempt.
    transport = HedgedHttpxTransport(
        inner=httpx.AsyncHTTPTransport(retries=1),
        config=HedgeConfig(percentile=0.95),
    )
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
        response = await client.get(url)
        print(response.status_code, transport.stats.snapshot())
    return response.status_code


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/items"))
