"""hedge-python's benchmark workload on the gRPC adapter: a quick local measurement.

Run from the repository root: ``python packages/hedge-grpc/tests/seed_workload.py``.

A grpc.aio server in its own process answers after a lognormal delay (mean
5 ms, sd 2 ms), ten times longer for 5% of attempts (the stragglers), each
attempt drawn independently. 500 sequential calls per configuration, unary
and server streaming (five messages, the first after the delay), without
and with hedging (``HedgeConfig()`` defaults). Prints latency percentiles in
milliseconds and the extra attempts hedging sent. Not a test: its figures
depend on the machine; the benchmark package produces the published ones.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

sys.path.insert(0, str(Path(__file__).parent))

from hedge import HedgeConfig
from hedge_grpc import HedgedServerStreamInterceptor, HedgedUnaryInterceptor
from hedge_grpc_support import catalog_modules

REQUESTS = 500
MEAN, SD = 0.005, 0.002
STRAGGLERS, FACTOR = 0.05, 10.0
MESSAGES = 5


def _delay(rng: random.Random) -> float:
    sigma = math.sqrt(math.log(1 + (SD / MEAN) ** 2))
    mu = math.log(MEAN) - sigma**2 / 2
    delay = rng.lognormvariate(mu, sigma)
    return delay * FACTOR if rng.random() < STRAGGLERS else delay


def _serve(directory: str, ready: Any, port: Any) -> None:
    pb2, pb2_grpc = catalog_modules(Path(directory))
    rng = random.Random(20130201)

    class Servicer(pb2_grpc.CatalogServicer):  # type: ignore[misc,name-defined]
        async def GetItem(self, request: Any, context: Any) -> Any:
            await asyncio.sleep(_delay(rng))
            return pb2.Item(id=request.id)

        async def WatchItem(self, request: Any, context: Any) -> Any:
            await asyncio.sleep(_delay(rng))
            for seq in range(MESSAGES):
                yield pb2.Item(id=request.id, seq=seq)

    async def main() -> None:
        server = grpc.aio.server()
        pb2_grpc.add_CatalogServicer_to_server(Servicer(), server)
        port.value = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        ready.set()
        await server.wait_for_termination()

    asyncio.run(main())


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    result = {}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)):
        result[name] = ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000
    return result


async def _run(
    target: str, pb2: Any, pb2_grpc: Any, hedged: bool, streaming: bool
) -> tuple[list[float], int]:
    interceptors: list[Any] = []
    if hedged:
        unary = HedgedUnaryInterceptor(HedgeConfig(), target=target)
        interceptors = [unary, HedgedServerStreamInterceptor(hedger=unary.hedger, target=target)]
    async with grpc.aio.insecure_channel(target, interceptors=interceptors) as channel:
        stub = pb2_grpc.CatalogStub(channel)
        await channel.channel_ready()
        samples = []
        for index in range(REQUESTS):
            request = pb2.GetItemRequest(id=str(index))
            start = time.perf_counter()
            if streaming:
                count = 0
                async for _ in stub.WatchItem(request):
                    count += 1
                assert count == MESSAGES
            else:
                await stub.GetItem(request)
            samples.append(time.perf_counter() - start)
    extra = interceptors[0].stats.snapshot().hedges_sent if hedged else 0
    return samples, extra


def main() -> None:
    directory = tempfile.mkdtemp()
    pb2, pb2_grpc = catalog_modules(Path(directory))
    context = multiprocessing.get_context("spawn")
    ready, port = context.Event(), context.Value("i", 0)
    server = context.Process(target=_serve, args=(directory, ready, port), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the server did not start")
        target = f"127.0.0.1:{port.value}"
        print(f"grpcio {grpc.__version__}, {REQUESTS} sequential calls per row, times in ms")
        print(f"{'kind':<10} {'hedging':<8} {'p50':>7} {'p90':>7} {'p99':>7} {'p999':>7} {'extra':>7}")
        for streaming in (False, True):
            for hedged in (False, True):
                samples, extra = asyncio.run(_run(target, pb2, pb2_grpc, hedged, streaming))
                p = _percentiles(samples)
                print(
                    f"{'stream' if streaming else 'unary':<10} {'yes' if hedged else 'no':<8} "
                    f"{p['p50']:7.2f} {p['p90']:7.2f} {p['p99']:7.2f} {p['p999']:7.2f} "
                    f"{extra / REQUESTS:7.1%}"
                )
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
