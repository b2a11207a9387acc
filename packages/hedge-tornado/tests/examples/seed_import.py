import asyncio

from hedge import HedgeConfig
from hedge.transport import HedgedTornadoClient  # hedge-python's import path


async def main(url: str) -> int:
    async with HedgedTornadoClient(config=HedgeConfig()) as client:
        resp = await client.fetch(url)
        return resp.code


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/data"))
