import httpx

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpxSyncTransport


def main(url: str) -> int:
    transport = HedgedHttpxSyncTransport(config=HedgeConfig(percentile=0.95))
    with httpx.Client(transport=transport) as client:
        response = client.get(url)
        print(response.status_code, transport.stats.snapshot().hedge_rate())
    return response.status_code


if __name__ == "__main__":
    main("https://api.example.com/items")
