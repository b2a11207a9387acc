import asyncio

from hedge import HedgeConfig
from hedge_aiohttp import HedgedAiohttpSession


async def main(url: str) -> list[str]:
    # Race on the first body bytes: an SSE or LLM stream sends its headers at once.
    config = HedgeConfig(race_on="first_byte")
    events = []
    async with (
        HedgedAiohttpSession(config=config) as session,
        session.get(url, headers={"accept": "text/event-stream"}) as response,
    ):
        async for line in response.content:
            if line.startswith(b"data: "):
                events.append(line[len(b"data: ") :].decode().strip())
    return events


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/stream"))
