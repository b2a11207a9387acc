import asyncio

from hedge import HedgeConfig
from hedge_tornado import HedgedTornadoClient


async def main(url: str) -> list[bytes]:
    # Server-sent events: headers come at once, the first event may not.
    # Race on the first body byte; the callback sees the winner's chunks only.
    events: list[bytes] = []
    async with HedgedTornadoClient(config=HedgeConfig(race_on="first_byte")) as client:
        await client.fetch(url, streaming_callback=events.append, request_timeout=60)
    return events


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/events"))
