import asyncio

from hedge import HedgeConfig
from hedge_tornado import HedgedTornadoClient


async def main(url: str) -> bytes:
    async with HedgedTornadoClient(config=HedgeConfig()) as client:
        response = await client.fetch(url)  # tornado's HTTPResponse
        print(response.code, client.stats.snapshot())
        return response.body


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/data"))
