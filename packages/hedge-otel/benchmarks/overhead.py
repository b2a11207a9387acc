"""What hedge-otel adds to a request: the engine's overhead with and without the plugin.

    python packages/hedge-otel/benchmarks/overhead.py [--quick]

Needs hedge-otel and opentelemetry-sdk installed. Measured the way hedge-core's
microbenchmark measures the engine (``packages/hedge-core/benchmarks/microbench.py``):
``Hedger.run`` around an attempt that returns at once (the no-hedge path, the
one almost every request takes), minus calling the attempt directly. Rows:

* no plugin: the engine alone (no listener: no event is even built);
* trivial listener: an observer plugin that only counts events;
* hedge-otel, no SDK: the observer on the API's no-op provider, as in an
  application that installed hedge-otel but configured no SDK;
* hedge-otel + SDK: the ``otel`` plugin itself, with an SDK ``MeterProvider``
  (an in-memory reader) installed as the global provider;
* "in a span" rows: the requests run inside a recording span (one span per
  round, so that the span's own cost, the same with or without hedge, does
  not blur the figure): hedge's span events count, and the SDK's exemplar
  sampling that a sampled span switches on;
* the same for ``Hedger.run_sync`` (worker threads).

Times are CPU time (the event loop's thread for asyncio, the whole process
for threads), not wall time, so that other work on a shared machine does not
count; the configurations run in interleaved rounds and each keeps its best.
Figures are for reading; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from importlib.metadata import version
from typing import Any, cast

from opentelemetry import metrics, trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

import hedge_otel
import hedge_otel._plugin
from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, hookimpl
from hedge.events import HedgeEvent
from hedge.plugins import HedgePluginManager

INFO = RequestInfo.from_url("GET", "http://bench.local/item", framework="bench")


class _Listener:
    @hookimpl
    def hedge_event(self, event: HedgeEvent) -> None:
        pass


def _hedger(plugin: object | None) -> Hedger:
    if plugin is None:
        return Hedger(HedgeConfig(), plugins=False)
    manager = HedgePluginManager()
    manager.register(plugin, name="bench-plugin")
    return Hedger(HedgeConfig(), plugins=manager)


def _no_span() -> AbstractContextManager[Any]:
    return nullcontext()


class AsyncCase:
    """Per-request seconds of ``Hedger.run`` minus a direct call, best round kept."""

    def __init__(self, plugin: object | None, span: Callable[[], AbstractContextManager[Any]]) -> None:
        self.hedger = _hedger(plugin)
        self.span = span
        self.bare = float("inf")
        self.run = float("inf")

    def measure(self, requests: int) -> None:
        """Run one round of ``requests`` requests, direct and through the engine."""
        hedger, span = self.hedger, self.span

        async def attempt(_: Attempt | None) -> int:
            return 1

        async def direct() -> float:
            with span():
                start = time.thread_time()
                for _ in range(requests):
                    await attempt(None)
                return (time.thread_time() - start) / requests

        async def hedged() -> float:
            with span():
                start = time.thread_time()
                for _ in range(requests):
                    await hedger.run(INFO, attempt)
                return (time.thread_time() - start) / requests

        gc.collect()
        self.bare = min(self.bare, asyncio.run(direct()))
        gc.collect()
        self.run = min(self.run, asyncio.run(hedged()))

    @property
    def overhead(self) -> float:
        """Seconds the engine adds per request (best rounds)."""
        return self.run - self.bare


class ThreadCase:
    """Per-request seconds of ``Hedger.run_sync`` around an attempt that returns at once."""

    def __init__(self, plugin: object | None) -> None:
        self.hedger = _hedger(plugin)
        self.overhead = float("inf")

    def measure(self, requests: int) -> None:
        """Run one round of ``requests`` requests."""
        hedger = self.hedger

        def attempt(_: Attempt) -> int:
            return 1

        gc.collect()
        start = time.process_time()
        for _ in range(requests):
            hedger.run_sync(INFO, attempt)
        self.overhead = min(self.overhead, (time.process_time() - start) / requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and rounds (smoke runs)")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    requests = 1_000 if args.quick else 5_000

    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    trace.set_tracer_provider(TracerProvider())  # spans are recorded, and dropped when they end
    tracer = trace.get_tracer("bench")

    def span() -> AbstractContextManager[Any]:
        return cast("AbstractContextManager[Any]", tracer.start_as_current_span("request"))

    no_sdk = hedge_otel.HedgeTelemetry(NoOpMeterProvider())
    otel = hedge_otel._plugin  # the entry-point plugin: global providers (the SDK here)
    cases: dict[str, AsyncCase | ThreadCase] = {
        "asyncio, no plugin": AsyncCase(None, _no_span),
        "asyncio, trivial listener": AsyncCase(_Listener(), _no_span),
        "asyncio, hedge-otel, no SDK": AsyncCase(no_sdk, _no_span),
        "asyncio, hedge-otel + SDK": AsyncCase(otel, _no_span),
        "asyncio, no plugin, in a span": AsyncCase(None, span),
        "asyncio, hedge-otel + SDK, in a span": AsyncCase(otel, span),
        "threads, no plugin": ThreadCase(None),
        "threads, hedge-otel + SDK": ThreadCase(otel),
    }
    for _ in range(rounds):
        for case in cases.values():
            case.measure(requests)
    for case in cases.values():
        case.hedger.close()
    assert reader.get_metrics_data() is not None  # the plugin really recorded

    print(
        f"hedge-otel overhead - Python {platform.python_version()} on {platform.machine()}, "
        f"opentelemetry-api {version('opentelemetry-api')}, opentelemetry-sdk {version('opentelemetry-sdk')}"
    )
    width = max(len(name) for name in cases)
    print(f"{'engine overhead per request':<{width}}  {'time':>9}")
    for name, case in cases.items():
        print(f"{name:<{width}}  {case.overhead * 1e6:>6.2f} us")
    figures = {name: case.overhead for name, case in cases.items()}
    added = figures["asyncio, hedge-otel + SDK"] - figures["asyncio, no plugin"]
    in_span = figures["asyncio, hedge-otel + SDK, in a span"] - figures["asyncio, no plugin, in a span"]
    print(f"\nhedge-otel + SDK adds {added * 1e6:.2f} us per request (asyncio, no hedge, no span)")
    print(f"hedge-otel + SDK adds {in_span * 1e6:.2f} us per request in a recording span")
    return 0


if __name__ == "__main__":
    sys.exit(main())
