"""One client of ``hedge-bench peer``, run as a script by any interpreter.

    python _peer_client.py SETTINGS_JSON

It imports nothing of hedge-bench, so that it runs in another library's
environment: hedge-python installs an import package named ``hedge`` too,
so the two can never share one interpreter. The hedged clients are built
through the import paths and names hedge-python documents
(``hedge.HedgeConfig``, ``hedge.Stats``, ``hedge.transport``), which
hedge's own compatibility paths also answer: the same script measures
either library.

Protocol, one JSON document per line on stdout: after the warm-up the
script prints ``{"warm": true}`` and waits for a line on stdin (the caller
reads the server's counters meanwhile); then it times the measured
requests and prints ``{"latencies_ms": [...], "errors": N, "stats":
{...}}``, where ``stats`` holds the counters the measured requests added
(hedge-python's ``StatsSnapshot`` names; ``null`` for the bare client).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

SETTLE = 0.05  # seconds for attempts still in flight to end, as hedge-bench run waits


def _snapshot(stats: Any) -> dict[str, int] | None:
    if stats is None:
        return None
    snap = stats.snapshot()
    names = ("total_requests", "hedged_requests", "hedge_wins", "primary_wins", "budget_exhausted")
    return {name: int(getattr(snap, name)) for name in names}


def _open(settings: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The client, a coroutine function ``get(url)``, and the stats (``None`` when bare)."""
    framework = settings["framework"]
    client: Any
    stats = None
    config = None
    if settings["mode"] == "hedged":
        from hedge import HedgeConfig, Stats

        stats = Stats()
        config = HedgeConfig(stats=stats, **settings["config"])
    if framework == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        if config is None:
            client = httpx.AsyncClient(limits=limits)
        else:
            from hedge.transport import HedgedHttpxTransport

            inner = httpx.AsyncHTTPTransport(limits=limits)
            client = httpx.AsyncClient(transport=HedgedHttpxTransport(inner=inner, config=config))

        async def get(url: str) -> int:
            response = await client.get(url)
            return int(response.status_code)

        return client, get, stats
    if framework == "aiohttp":
        import aiohttp

        if config is None:
            client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        else:
            from hedge.transport import HedgedAiohttpSession

            client = HedgedAiohttpSession(config=config, connector=aiohttp.TCPConnector(limit=100))

        async def get(url: str) -> int:
            response = await client.get(url)
            try:
                await response.read()
                return int(response.status)
            finally:
                response.release()

        return client, get, stats
    raise ValueError(f"framework must be 'httpx' or 'aiohttp', got {framework!r}")


async def _drive(get: Any, urls: list[str], concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = [0.0] * len(urls)
    failed: set[int] = set()
    order = iter(range(len(urls)))
    clock = time.perf_counter

    async def worker() -> None:
        for index in order:
            started = clock()
            try:
                if await get(urls[index]) != 200:
                    failed.add(index)
            except Exception:  # noqa: BLE001 - counted and reported, never hidden
                failed.add(index)
            latencies[index] = (clock() - started) * 1000.0

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(urls)))))
    return [value for index, value in enumerate(latencies) if index not in failed], len(failed)


def _say(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


async def main(settings: dict[str, Any]) -> None:
    client, get, stats = _open(settings)
    address = settings["address"]
    concurrency = settings["concurrency"]
    try:
        warmup = [f"{address}{settings['warmup_prefix']}/{i}" for i in range(settings["warmup"])]
        await _drive(get, warmup, concurrency)
        await asyncio.sleep(SETTLE)
        before = _snapshot(stats)
        _say({"warm": True})
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        urls = [f"{address}{settings['prefix']}/{i}" for i in range(settings["requests"])]
        latencies, errors = await _drive(get, urls, concurrency)
        await asyncio.sleep(SETTLE)
        after = _snapshot(stats)
    finally:
        closing = getattr(client, "aclose", None) or client.close
        await closing()
    added = None if before is None or after is None else {k: after[k] - before[k] for k in after}
    _say({"latencies_ms": latencies, "errors": errors, "stats": added})


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
