"""Hedging one API on an existing niquests.Session, by mounting the adapter on its prefix."""

from __future__ import annotations

import niquests
from niquests.adapters import HTTPAdapter

from hedge import HedgeConfig
from hedge_niquests import HedgedHTTPAdapter


def main(api: str) -> int:
    session = niquests.Session()
    # Keep niquests' own adapter (and its pool settings); hedge what it sends.
    session.mount(api, HedgedHTTPAdapter(HTTPAdapter(pool_maxsize=20), config=HedgeConfig()))
    try:
        return session.get(api + "/status").status_code or 0
    finally:
        session.close()


if __name__ == "__main__":
    print(main("https://httpbingo.org"))
