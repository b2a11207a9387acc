"""Per-request choices: the X-Hedge header, hedging() blocks, writes with an Idempotency-Key."""

from __future__ import annotations

import asyncio

from hedge import HedgeConfig, StatsSnapshot
from hedge_niquests import HEDGE_HEADER, HedgedNiquestsSession, hedging

CONFIG = HedgeConfig(idempotency_key_header="Idempotency-Key", attempt_header="X-Hedge-Attempt")


async def main(url: str) -> tuple[list[int], StatsSnapshot]:
    async with HedgedNiquestsSession(config=CONFIG) as session:
        # A GET that must never be sent twice (the header itself is not sent).
        once = await session.get(url + "/report", headers={HEDGE_HEADER: "false"})
        # The same for every request made inside a block.
        with hedging(False):
            again = await session.get(url + "/report")
        # A PUT the server treats as idempotent: hedging allowed for this one.
        put = await session.put(url + "/items/7", json={"name": "seven"}, headers={HEDGE_HEADER: "true"})
        # A POST with an idempotency key may be hedged (config.idempotency_key_header).
        paid = await session.post(url + "/payments", json={"eur": 10}, headers={"Idempotency-Key": "order-7"})
        statuses = [r.status_code or 0 for r in (once, again, put, paid)]
        # The GETs went straight through; the PUT and the POST could be hedged.
        return statuses, session.stats.snapshot()


if __name__ == "__main__":
    print(asyncio.run(main("https://httpbingo.org")))
