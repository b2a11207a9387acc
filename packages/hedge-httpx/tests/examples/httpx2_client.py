import asyncio

import httpx2

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpx2SyncTransport, HedgedHttpx2Transport


async def main(url: str) -> list[int]:
    config = HedgeConfig(percentile=0.95)
    async with httpx2.AsyncClient(transport=HedgedHttpx2Transport(config=config)) as client:
        first = await client.get(url)
    with httpx2.Client(transport=HedgedHttpx2SyncTransport(config=config)) as client:
        second = client.get(url)
    return [first.status_code, second.status_code]


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/items"))
