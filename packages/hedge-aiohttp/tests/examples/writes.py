import asyncio
import uuid

from hedge import HedgeConfig
from hedge_aiohttp import HedgedAiohttpSession


async def main(url: str) -> int:
    # A POST carrying an Idempotency-Key may be hedged: the server deduplicates it.
    config = HedgeConfig(idempotency_key_header="Idempotency-Key")
    async with HedgedAiohttpSession(config=config) as session:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        async with session.post(url, json={"amount": 10}, headers=headers) as response:
            return response.status


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com/payments"))
