"""Throughput of hedged vs bare aiohttp sessions on a zero-latency local server.

Starts an ``aiohttp.web`` server answering ``200 ok`` at once in a separate
process on 127.0.0.1, then sends sequential GETs through each client in
turn, several rounds in alternating order, and prints requests per second and
the client process's CPU time per request (medians over rounds; the CPU
figure is the steadier one on a shared machine). The hedge delay never
fires against a server this fast, so the figures are the adapter's own cost
on the path of a request that needs no hedge.

    python benchmarks/throughput.py [--requests 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from hedge import HedgeConfig, Stats
from hedge_aiohttp import HedgedAiohttpSession, hedge_middleware


def _serve(port_queue: Any) -> None:
    async def ok(_request: web.Request) -> web.Response:
        return web.Response(body=b"ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/", ok)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


Factory = Callable[[], Any]


async def _pass(request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
    """A middleware that does nothing: the price of aiohttp's middleware chain alone."""
    return await handler(request)


async def _round(make: Factory, url: str, requests: int) -> tuple[float, float]:
    """Wall-clock and client CPU seconds for ``requests`` sequential GETs."""
    async with make() as session:
        for _ in range(50):  # warm the pool and the estimator
            async with session.get(url) as response:
                await response.read()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            async with session.get(url) as response:
                await response.read()
        return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    """Run the benchmark and print one line per client."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}/"
    # A 1 s hedge delay isolates the adapter's cost; the default config (1 ms
    # floor) may also hedge the odd request the machine delays.
    config = HedgeConfig(warmup_delay=1.0, min_delay=1.0)
    stats = Stats()
    clients: dict[str, Factory] = {
        "aiohttp.ClientSession": lambda: aiohttp.ClientSession(),
        "ClientSession + pass-through middleware": lambda: aiohttp.ClientSession(middlewares=[_pass]),
        "ClientSession + hedge_middleware": lambda: aiohttp.ClientSession(
            middlewares=[hedge_middleware(config)]
        ),
        "HedgedAiohttpSession": lambda: HedgedAiohttpSession(config=config),
        "HedgedAiohttpSession, default config": lambda: HedgedAiohttpSession(config=HedgeConfig(stats=stats)),
    }
    timings: dict[str, list[float]] = {name: [] for name in clients}
    cpu: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for number in range(args.rounds):
            order = list(clients) if number % 2 == 0 else list(reversed(clients))
            for name in order:
                wall, used = asyncio.run(_round(clients[name], url, args.requests))
                timings[name].append(wall)
                cpu[name].append(used)
    finally:
        server.terminate()
        server.join()
    snapshot = stats.snapshot()
    bare = statistics.median(timings["aiohttp.ClientSession"])
    bare_cpu = statistics.median(cpu["aiohttp.ClientSession"])
    print(f"{args.requests} sequential GETs x {args.rounds} rounds, median per client")
    for name, seconds in timings.items():
        elapsed = statistics.median(seconds)
        used = statistics.median(cpu[name])
        print(
            f"{name:40} {args.requests / elapsed:6.0f} req/s ({(elapsed / bare - 1) * 100:+5.1f}%)"
            f"  client CPU {used / args.requests * 1e6:5.1f} us/req ({(used / bare_cpu - 1) * 100:+5.1f}%)"
        )
    print(f"default config: {snapshot.hedges_sent} hedges in {snapshot.total_requests} requests")


if __name__ == "__main__":
    main()
