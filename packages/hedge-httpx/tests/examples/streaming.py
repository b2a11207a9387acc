import asyncio

import httpx

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpxTransport


async def main(url: str) -> list[str]:
    # Race on the first body chunk: an SSE stream whose headers come at once
    # but whose first event is late gets a hedge.
    transport = HedgedHttpxTransport(config=HedgeConfig(race_on="first_byte"))
    events = []
    async with httpx.AsyncClient(transport=transport) as client, client.stream("GET", url) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
    return events


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/events"))
