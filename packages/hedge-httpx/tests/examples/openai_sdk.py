import asyncio

import httpx
from openai import AsyncOpenAI

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpxTransport


async def main(base_url: str, api_key: str) -> tuple[list[str], str]:
    transport = HedgedHttpxTransport(config=HedgeConfig(percentile=0.95))
    http_client = httpx.AsyncClient(transport=transport)
    async with AsyncOpenAI(base_url=base_url, api_key=api_key, http_client=http_client) as client:
        models = await client.models.list()  # a GET: hedged when slow
        completion = await client.chat.completions.create(  # a POST: always sent once
            model=models.data[0].id,
            messages=[{"role": "user", "content": "Hello"}],
        )
    return [model.id for model in models.data], completion.choices[0].message.content or ""


if __name__ == "__main__":
    asyncio.run(main("https://api.openai.com/v1", "sk-..."))
