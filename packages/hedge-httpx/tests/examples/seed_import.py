import asyncio

import httpx

from hedge import HedgeConfig
from hedge.transport import HedgedHttpxTransport  # hedge-python's import path still works


async def main(url: str) -> int:
    transport = HedgedHttpxTransport(config=HedgeConfig())
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(url)
    return response.status_code


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/data"))
