"""``hedge-bench simulate``: replay latencies through hedge-core's policy on virtual time.

Nothing here re-implements hedging. Each simulated request is a real
:meth:`hedge.Hedger.run` race (the DDSketch window, the delay estimator, the
budget, the race rules, the statistics), whose attempts ``asyncio.sleep``
the latency the workload draws for them, on
:func:`hedge.testing.run_virtual`'s event loop: the clock jumps from one
timer to the next, so an hour of traffic takes seconds and the result does
not depend on the machine's load.

Requests run ``concurrency`` at a time, as in ``hedge-bench run`` (the budget
floor and the sketch window depend on how fast time passes). A warm-up of
``warmup`` requests from a separate stream comes first and is not measured,
as in ``run``. The extra load is the hedges the engine started per measured
request: in a simulation every attempt reaches the server.

What it leaves out: the network and the client's own CPU (a real client
adds its overhead to every request, and may be late to fire a hedge when
busy), and any correlation between the copies of one request (see
:mod:`hedge_bench._workload`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats
from hedge.testing import FakeClock, run_virtual

from ._summary import percentiles
from ._workload import EmpiricalModel, Workload, warmup_stream

__all__ = ["FrontierPoint", "SimOutcome", "frontier", "pareto", "simulate"]

_HOST = "simulated.invalid"


@dataclass(frozen=True)
class SimOutcome:
    """What one simulated configuration did on one stream of requests."""

    latencies_ms: list[float]
    hedges_sent: int
    hedge_wins: int
    budget_denied: int
    delay_ms: float | None

    @property
    def requests(self) -> int:
        """Requests measured."""
        return len(self.latencies_ms)

    @property
    def extra_percent(self) -> float:
        """Hedges started per measured request, as a percentage."""
        return 100.0 * self.hedges_sent / self.requests if self.requests else 0.0

    def percentiles(self) -> dict[str, float]:
        """The latency percentiles in milliseconds."""
        return percentiles(self.latencies_ms)


def _request_info(key: str) -> RequestInfo:
    path = "/" + key.lstrip("/")
    return RequestInfo("GET", "http", _HOST, 80, path, framework="simulate")


def simulate(
    workload: Workload,
    config: HedgeConfig,
    *,
    requests: int,
    stream: int = 0,
    warmup: int = 0,
    warmup_from: int | None = None,
    concurrency: int = 1,
) -> SimOutcome:
    """Run ``requests`` requests of ``stream`` through a fresh :class:`hedge.Hedger` on virtual time.

    Args:
        workload: gives every attempt's latency.
        config: the policy to simulate (``key_level`` is set to ``"endpoint"``
            when the workload is a log with keys, so each key learns its own
            delay; budgets are per target, as in production).
        requests: requests to measure.
        stream: the workload stream of the measured requests.
        warmup: requests sent first, from stream ``warmup_from`` (default:
            the warm-up stream of ``stream``), and not measured.
        warmup_from: see ``warmup``.
        concurrency: requests in flight at once.

    """
    if requests < 1:
        raise ValueError(f"requests must be >= 1, got {requests!r}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
    model = workload.model
    keyed = isinstance(model, EmpiricalModel)
    if keyed:
        config = dataclasses.replace(config, key_level="endpoint")
    stats = Stats()
    clock = FakeClock()
    hedger = Hedger(dataclasses.replace(config, stats=stats), clock=clock, plugins=False)
    infos: dict[str, RequestInfo] = {}
    warm_stream = warmup_stream(stream) if warmup_from is None else warmup_from

    def info_for(index: int) -> RequestInfo:
        key = model.key(index) if isinstance(model, EmpiricalModel) else "bench"
        info = infos.get(key)
        if info is None:
            info = infos[key] = _request_info(key)
        return info

    async def one(which: int, index: int) -> float:
        loop = asyncio.get_running_loop()

        async def send(attempt: Attempt) -> int:
            await asyncio.sleep(workload.latency(which, index, attempt.index))
            return attempt.index

        started = loop.time()
        await hedger.run(info_for(index), send)
        return (loop.time() - started) * 1000.0

    async def drive(which: int, count: int) -> list[float]:
        latencies = [0.0] * count
        order = iter(range(count))

        async def worker() -> None:
            for index in order:
                latencies[index] = await one(which, index)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
        return latencies

    warm = stats.snapshot()

    async def main() -> list[float]:
        nonlocal warm
        if warmup:
            await drive(warm_stream, warmup)
        # Counted as a difference: a reset would also forget each key's last delay.
        warm = stats.snapshot()
        return await drive(stream, requests)

    latencies = run_virtual(main, clock)
    snapshot = stats.snapshot()
    delays = [key.delay for key in stats.keys().values() if key.delay is not None]
    return SimOutcome(
        latencies_ms=latencies,
        hedges_sent=snapshot.hedges_sent - warm.hedges_sent,
        hedge_wins=snapshot.hedge_wins - warm.hedge_wins,
        budget_denied=snapshot.budget_exhausted - warm.budget_exhausted,
        delay_ms=max(delays) * 1000.0 if delays else None,
    )


@dataclass(frozen=True)
class FrontierPoint:
    """One point of the settings grid: medians over repeats."""

    percentile: float
    max_hedges: int
    p50: float
    p99: float
    p999: float
    extra_percent: float
    hedge_wins: float
    delay_ms: float | None
    efficient: bool = False

    def row(self) -> dict[str, object]:
        """A flat description for CSV and JSON."""
        return {
            "percentile": None if math.isnan(self.percentile) else self.percentile,
            "max_hedges": self.max_hedges,
            "p50": round(self.p50, 3),
            "p99": round(self.p99, 3),
            "p999": round(self.p999, 3),
            "extra_percent": round(self.extra_percent, 2),
            "hedge_wins": self.hedge_wins,
            "delay_ms": None if self.delay_ms is None else round(self.delay_ms, 3),
            "efficient": self.efficient,
        }


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def frontier(
    workload: Workload,
    base: HedgeConfig,
    *,
    grid_percentiles: Sequence[float],
    grid_max_hedges: Sequence[int],
    requests: int,
    warmup: int = 0,
    repeat: int = 1,
    concurrency: int = 1,
    progress: object = None,
) -> list[FrontierPoint]:
    """Simulate every ``(percentile, max_hedges)`` of the grid; return one point each.

    ``max_hedges=0`` does not depend on the percentile, so it is simulated
    once and reported once (with ``percentile`` as ``nan``). Each figure is
    the median over ``repeat`` streams (0, 1, ...), the same streams
    ``hedge-bench run`` measures for its repeats.
    """
    points: list[FrontierPoint] = []
    pairs: list[tuple[float, int]] = []
    if 0 in grid_max_hedges:
        pairs.append((math.nan, 0))
    pairs += [(q, hedges) for hedges in sorted(set(grid_max_hedges)) if hedges for q in grid_percentiles]
    advance = getattr(progress, "advance", None)
    for q, hedges in pairs:
        config = dataclasses.replace(base, max_hedges=hedges, percentile=q if hedges else base.percentile)
        outcomes = []
        for stream in range(repeat):
            outcomes.append(
                simulate(
                    workload, config, requests=requests, stream=stream, warmup=warmup, concurrency=concurrency
                )
            )
            if advance is not None:
                advance(requests + warmup)
        figures = [outcome.percentiles() for outcome in outcomes]
        delays = [outcome.delay_ms for outcome in outcomes if outcome.delay_ms is not None]
        points.append(
            FrontierPoint(
                percentile=q,
                max_hedges=hedges,
                p50=_median([f["p50"] for f in figures]),
                p99=_median([f["p99"] for f in figures]),
                p999=_median([f["p999"] for f in figures]),
                extra_percent=_median([outcome.extra_percent for outcome in outcomes]),
                hedge_wins=_median([float(outcome.hedge_wins) for outcome in outcomes]),
                delay_ms=_median(delays) if delays else None,
            )
        )
    return pareto(points)


def pareto(points: Sequence[FrontierPoint]) -> list[FrontierPoint]:
    """Mark the points no other point beats on both p99 and extra load (the efficient frontier)."""
    marked = []
    for point in points:
        dominated = any(
            other is not point
            and other.p99 <= point.p99
            and other.extra_percent <= point.extra_percent
            and (other.p99 < point.p99 or other.extra_percent < point.extra_percent)
            for other in points
        )
        marked.append(dataclasses.replace(point, efficient=not dominated))
    return marked
