"""Microbenchmark of hedge-core's hot paths, printed as one table.

    nox -s microbench            (installs ddsketch 3.0.1 for the comparison)
    python packages/hedge-core/benchmarks/microbench.py [--quick]

Measures, in one run on one machine:

* sketch ``add``: hedge's DDSketch against DataDog's ``ddsketch`` 3.0.1 (same
  relative accuracy, same latency-like values), and the ratio;
* sketch ``quantile`` and the windowed quantile over two windows;
* the hedge-delay lookup a request pays (a cached value; refreshes amortised);
* engine overhead per request on the no-hedge path: ``Hedger.run`` around an
  attempt that returns at once, minus calling the attempt directly; the same
  for ``Hedger.run_sync`` (which hands the attempt to a worker thread);
* with ``--observer``: the same engine figures with an observer plugin
  listening to every event (the cost of hedge-otel-style plugins).

Every figure is process CPU time (steadier than wall time on a shared
machine), the best of several repeats; the two sketches are measured in
alternating rounds so both see the same conditions. Nothing here is
asserted: figures are for reading.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, hookimpl
from hedge._delay import DelayEstimator
from hedge.events import HedgeEvent
from hedge.plugins import HedgePluginManager
from hedge.sketch import DDSketch, WindowedSketch


def best_of(repeats: int, run: Callable[[], float]) -> float:
    """The smallest of ``repeats`` measurements (seconds per operation)."""
    return min(run() for _ in range(repeats))


def per_op(operation: Callable[[], None], count: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        operation()
        return (time.process_time() - start) / count
    finally:
        gc.enable()


def latency_values(count: int) -> list[float]:
    rng = random.Random(42)
    return [
        rng.lognormvariate(math.log(0.005), 0.4) * (10 if rng.random() < 0.05 else 1) for _ in range(count)
    ]


def bench_sketch_add(values: list[float], repeats: int) -> dict[str, float]:
    def measure(factory: Callable[[], Any]) -> float:
        add = factory().add
        return per_op(lambda: [add(v) for v in values] and None, len(values))

    try:
        from ddsketch import DDSketch as DatadogSketch
    except ImportError:
        return {"hedge add": best_of(repeats, lambda: measure(lambda: DDSketch(0.01)))}
    ours, theirs = [], []
    for _ in range(repeats):  # alternate, so that both see the same machine
        ours.append(measure(lambda: DDSketch(0.01)))
        theirs.append(measure(lambda: DatadogSketch(relative_accuracy=0.01)))
    return {"hedge add": min(ours), "ddsketch add": min(theirs)}


def bench_quantiles(values: list[float], repeats: int) -> dict[str, float]:
    sketch = DDSketch(0.01)
    window = WindowedSketch(30.0)
    for index, value in enumerate(values):
        sketch.add(value)
        window.add(value, 0.0 if index < len(values) // 2 else 30.5)
    count = 2000

    def quantile() -> float:
        return per_op(lambda: [sketch.quantile(0.9) for _ in range(count)] and None, count)

    def windowed() -> float:
        return per_op(lambda: [window.quantile(0.9, 31.0) for _ in range(count)] and None, count)

    return {
        "sketch quantile p90": best_of(repeats, quantile),
        "window quantile p90": best_of(repeats, windowed),
    }


def bench_delay_lookup(values: list[float], repeats: int) -> dict[str, float]:
    """The delay a request reads, with the cache refreshes real traffic causes amortised in.

    Real traffic adds one sample per request, and samples are what trigger
    refreshes, so the loop observes one value per lookup; the cost of the
    observation alone is measured separately and subtracted.
    """
    config = HedgeConfig()
    count = 200_000

    def run(with_lookup: bool) -> float:
        estimator = DelayEstimator(config, 0.0)
        for value in values[:1000]:
            estimator.observe(value, 0.0)

        def loop() -> None:
            delay, observe = estimator.delay, estimator.observe
            size = len(values)
            for index in range(count):
                now = index * 1e-4
                if with_lookup:
                    delay(now)
                observe(values[index % size], now)

        return per_op(loop, count)

    both = best_of(repeats, lambda: run(True))
    observe_only = best_of(repeats, lambda: run(False))
    return {"delay lookup (amortised)": max(0.0, both - observe_only), "latency observe": observe_only}


class _Listener:
    def __init__(self) -> None:
        self.count = 0

    @hookimpl
    def hedge_event(self, event: HedgeEvent) -> None:
        self.count += 1


def bench_engine(repeats: int, requests: int, observer: bool) -> dict[str, float]:
    info = RequestInfo.from_url("GET", "http://bench.local/item", framework="bench")
    manager: Any = False
    if observer:
        manager = HedgePluginManager()
        manager.register(_Listener())
    hedger = Hedger(HedgeConfig(), plugins=manager)
    suffix = " (observer)" if observer else ""

    async def attempt(_: Attempt | None) -> int:
        return 1

    async def direct() -> float:
        start = time.process_time()
        for _ in range(requests):
            await attempt(None)
        return (time.process_time() - start) / requests

    async def hedged() -> float:
        start = time.process_time()
        for _ in range(requests):
            await hedger.run(info, attempt)
        return (time.process_time() - start) / requests

    def measure(coroutine: Callable[[], Any]) -> float:
        gc.collect()
        return asyncio.run(coroutine())

    bare = best_of(repeats, lambda: measure(direct))
    run = best_of(repeats, lambda: measure(hedged))

    def sync_attempt(_: Attempt | None) -> int:
        return 1

    def sync_run() -> float:
        # Wall time: the attempt runs on another thread, which process time would not separate.
        start = time.perf_counter()
        for _ in range(requests // 4):
            hedger.run_sync(info, sync_attempt)
        return (time.perf_counter() - start) / (requests // 4)

    sync = best_of(repeats, sync_run)
    hedger.close()
    return {
        f"engine overhead, asyncio{suffix}": run - bare,
        f"engine overhead, threads{suffix}": sync,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every measurement and print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for smoke runs)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    values = latency_values(20_000 if args.quick else 100_000)
    requests = 2_000 if args.quick else 20_000

    figures: dict[str, float] = {}
    figures.update(bench_sketch_add(values, repeats))
    figures.update(bench_quantiles(values, repeats))
    figures.update(bench_delay_lookup(values, repeats))
    figures.update(bench_engine(repeats, requests, observer=False))
    figures.update(bench_engine(repeats, requests, observer=True))

    print(f"hedge-core microbenchmark - Python {platform.python_version()} on {platform.machine()}")
    width = max(len(name) for name in figures)
    print(f"{'operation':<{width}}  {'time/op':>10}")
    for name, seconds in figures.items():
        print(f"{name:<{width}}  {seconds * 1e9:>8.0f} ns")
    if "ddsketch add" in figures:
        ratio = figures["hedge add"] / figures["ddsketch add"]
        print(f"\nhedge add / ddsketch add = {ratio:.2f} (target <= 0.45)")
    print(f"delay lookup target <= 1000 ns: {figures['delay lookup (amortised)'] * 1e9:.0f} ns")
    overhead = figures["engine overhead, asyncio"] * 1e6
    print(f"engine overhead on the no-hedge path target <= 15 us: {overhead:.1f} us (asyncio)")
    observed = figures["engine overhead, asyncio (observer)"] - figures["engine overhead, asyncio"]
    print(f"observer plugin cost per request: {observed * 1e6:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
