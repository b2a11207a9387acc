import asyncio

from tornado.httpclient import HTTPClientError, HTTPRequest

from hedge import HedgeConfig
from hedge_tornado import HedgedTornadoClient


async def main(base: str) -> list[int]:
    config = HedgeConfig(percentile=0.95, idempotency_key_header="Idempotency-Key")
    codes = []
    async with HedgedTornadoClient(config=config, max_clients=20) as client:
        # tornado's keyword arguments, as with AsyncHTTPClient.fetch
        response = await client.fetch(f"{base}/items?page=1", headers={"Accept": "application/json"})
        codes.append(response.code)
        # an HTTPRequest works too; it is never modified
        request = HTTPRequest(f"{base}/items?page=2", request_timeout=5.0)
        codes.append((await client.fetch(request)).code)
        # a write that carries an idempotency key may be hedged
        response = await client.fetch(
            f"{base}/orders", method="POST", body=b'{"sku": 1}', headers={"Idempotency-Key": "order-42"}
        )
        codes.append(response.code)
        # opt out (or in, with hedge=True) for one request
        codes.append((await client.fetch(f"{base}/report", hedge=False)).code)
        # raise_error works as in tornado
        try:
            await client.fetch(f"{base}/missing")
        except HTTPClientError as error:
            codes.append(error.code)
        response = await client.fetch(f"{base}/missing", raise_error=False)
        codes.append(response.code)
    return codes


if __name__ == "__main__":
    asyncio.run(main("https://api.example.com"))
