"""Quick start: the sync session, a drop-in for niquests.Session."""

from __future__ import annotations

from hedge import HedgeConfig
from hedge_niquests import HedgedNiquestsSyncSession


def main(url: str) -> str:
    with HedgedNiquestsSyncSession(config=HedgeConfig(), base_url=url) as session:
        response = session.get("/users", params={"page": 2})
        response.raise_for_status()
        # One latency key per host, whatever the path or query.
        print(list(session.stats.keys()))
        return response.text or ""


if __name__ == "__main__":
    print(main("https://httpbingo.org"))
