import asyncio
import uuid

import httpx

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpxTransport


async def main(base_url: str) -> list[int]:
    config = HedgeConfig(idempotency_key_header="Idempotency-Key", attempt_header="x-hedge-attempt")
    transport = HedgedHttpxTransport(config=config)
    async with httpx.AsyncClient(base_url=base_url, transport=transport) as client:
        # Never hedge this GET: it starts an expensive export.
        export = await client.get("/export", extensions={"hedge": False})
        # Hedge this POST: the search endpoint has no side effects.
        search = await client.post("/search", json={"q": "tail"}, extensions={"hedge": True})
        # A write that carries an Idempotency-Key may be hedged: the server deduplicates it.
        payment = await client.post(
            "/payments", json={"amount": 10}, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
    return [export.status_code, search.status_code, payment.status_code]


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com"))
