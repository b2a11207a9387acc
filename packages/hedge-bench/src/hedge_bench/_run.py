"""``hedge-bench run``: every installed adapter, bare and hedged, against the seeded workload.

For each repeat, adapter and configuration, in that nesting (so a drift of
the machine spreads over every configuration instead of landing on one):

1. open a fresh client (bare, or hedged with a fresh :class:`hedge.Stats`);
2. warm up: ``warmup`` requests from a stream of their own, so the adaptive
   configurations have learned their delay and the pools are full. Warm-up
   is the same for every configuration, bare included, and is reported;
3. measure ``requests`` requests, ``concurrency`` at a time, each timed from
   before the call to after the whole answer was read. Request ``i`` of
   repeat ``r`` gets the same primary latency in every configuration (see
   :mod:`hedge_bench._workload`), so configurations differ only by what
   hedging did;
4. read what the server saw during step 3 (after a short settle, so a hedge
   still on the wire is counted) and what the client's hedging counted.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from hedge import Stats

from ._adapters import Target
from ._configs import CONFIGURATIONS, Configuration
from ._driver import BenchClient
from ._progress import Progress
from ._servers import ServerCounts, ServerProcess, request_path
from ._summary import percentiles, spread
from ._validate import check_counts
from ._workload import SEED_MODEL, LatencyModel, Workload, warmup_stream

__all__ = ["Measurement", "RunOptions", "Summary", "run_benchmark", "summarize"]

_SETTLE = 0.05

_CLOSE_GRACE = 0.01


@dataclass(frozen=True)
class RunOptions:
    """What ``hedge-bench run`` measures (the command line's options)."""

    requests: int = 500
    warmup: int = 200
    repeat: int = 1
    seed: int = 1
    concurrency: int = 4
    model: LatencyModel = SEED_MODEL
    configurations: tuple[Configuration, ...] = CONFIGURATIONS

    def __post_init__(self) -> None:
        check_counts(self, ("requests", 1), ("warmup", 0), ("repeat", 1), ("concurrency", 1))
        if not self.configurations:
            raise ValueError("configurations must name at least one configuration")

    @property
    def workload(self) -> Workload:
        """The latency model with this run's seed."""
        return Workload(self.model, self.seed)


@dataclass
class Measurement:
    """One configuration of one adapter, measured once (one repeat)."""

    adapter: str
    framework_version: str
    configuration: str
    label: str
    repeat: int
    latencies_ms: list[float]
    errors: int
    server: ServerCounts
    hedges_sent: int
    hedge_wins: int
    budget_denied: int
    delay_ms: Optional[float]  # noqa: UP045 - evaluated on Python 3.9
    wall_seconds: float
    cpu_seconds: float
    warmup_hedges: int

    @property
    def requests(self) -> int:
        """Requests measured (errors included)."""
        return len(self.latencies_ms) + self.errors

    @property
    def extra_percent(self) -> float:
        """Requests the server received beyond one per request, as a percentage."""
        return 100.0 * (self.server.received - self.requests) / self.requests

    def percentiles(self) -> dict[str, float]:
        """The table's latency percentiles, in milliseconds."""
        return percentiles(self.latencies_ms) if self.latencies_ms else {}

    def row(self) -> dict[str, Any]:
        """A flat description for CSV and JSON."""
        return {
            "framework": self.adapter,
            "framework_version": self.framework_version,
            "configuration": self.configuration,
            "label": self.label,
            "repeat": self.repeat,
            **{name: round(value, 3) for name, value in self.percentiles().items()},
            "extra_percent": round(self.extra_percent, 2),
            "hedges_sent": self.hedges_sent,
            "hedge_wins": self.hedge_wins,
            "budget_denied": self.budget_denied,
            "delay_ms": None if self.delay_ms is None else round(self.delay_ms, 3),
            "requests": self.requests,
            "errors": self.errors,
            "server_received": self.server.received,
            "server_abandoned": self.server.abandoned,
            "warmup_hedges": self.warmup_hedges,
            "wall_seconds": round(self.wall_seconds, 4),
            "cpu_ms_per_request": round(1000.0 * self.cpu_seconds / self.requests, 4),
        }


@dataclass
class Summary:
    """One row of the results table: a configuration of an adapter over every repeat.

    Each figure is the median over repeats; ``ranges`` holds the minimum and
    maximum of the figures that vary most from run to run.
    """

    adapter: str
    framework_version: str
    configuration: str
    label: str
    repeats: int
    figures: dict[str, float]
    ranges: dict[str, dict[str, float]] = field(default_factory=dict)
    hedged: bool = True

    def row(self) -> dict[str, Any]:
        """A flat description for CSV and JSON."""
        flat: dict[str, Any] = {
            "framework": self.adapter,
            "framework_version": self.framework_version,
            "configuration": self.configuration,
            "label": self.label,
            "repeats": self.repeats,
        }
        flat.update({name: round(value, 3) for name, value in self.figures.items()})
        for name, low_high in self.ranges.items():
            flat[f"{name}_min"] = round(low_high["min"], 3)
            flat[f"{name}_max"] = round(low_high["max"], 3)
        return flat


_SPREAD_FIGURES = ("p50", "p99", "p999", "extra_percent")


def summarize(measurements: Iterable[Measurement]) -> list[Summary]:
    """Fold repeats into one :class:`Summary` per adapter and configuration (in first-seen order)."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault((measurement.adapter, measurement.configuration), []).append(measurement)
    hedged = {configuration.slug: configuration.hedged for configuration in CONFIGURATIONS}
    summaries = []
    for (adapter, slug), group in groups.items():
        per_figure: dict[str, list[float]] = {}
        for measurement in group:
            figures = {
                **measurement.percentiles(),
                "extra_percent": measurement.extra_percent,
                "hedges_sent": float(measurement.hedges_sent),
                "hedge_wins": float(measurement.hedge_wins),
                "errors": float(measurement.errors),
            }
            if measurement.delay_ms is not None:
                figures["delay_ms"] = measurement.delay_ms
            for name, value in figures.items():
                per_figure.setdefault(name, []).append(value)
        spreads = {name: spread(values) for name, values in per_figure.items()}
        summaries.append(
            Summary(
                adapter=adapter,
                framework_version=group[0].framework_version,
                configuration=slug,
                label=group[0].label,
                repeats=len(group),
                figures={name: values["median"] for name, values in spreads.items()},
                ranges={name: spreads[name] for name in _SPREAD_FIGURES if name in spreads},
                hedged=hedged.get(slug, True),
            )
        )
    return summaries


# -- driving requests ---------------------------------------------------------------


async def _drive(
    client: BenchClient, paths: Sequence[str], concurrency: int, progress: Progress
) -> tuple[list[float], int]:
    """Send ``paths`` through ``client``, ``concurrency`` at a time; return latencies (ms) and errors."""
    latencies: list[float] = [0.0] * len(paths)
    failed: list[int] = []
    order = iter(range(len(paths)))
    clock = time.perf_counter

    async def worker() -> None:
        for index in order:
            started = clock()
            try:
                await client.call(paths[index])
            except Exception:  # noqa: BLE001 - counted and reported, never hidden
                failed.append(index)
            latencies[index] = (clock() - started) * 1000.0
            progress.advance()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(paths)))))
    errors = set(failed)
    return [value for index, value in enumerate(latencies) if index not in errors], len(errors)


def _delay_ms(stats: Stats) -> float | None:
    delays = [snapshot.delay for snapshot in stats.keys().values() if snapshot.delay is not None]
    return max(delays) * 1000.0 if delays else None


async def _measure(
    target: Target,
    configuration: Configuration,
    repeat: int,
    server: ServerProcess,
    epochs: list[int],
    options: RunOptions,
    progress: Progress,
) -> Measurement:
    stats = Stats()
    config = configuration.with_stats(stats)
    connections = options.concurrency * (1 + configuration.max_hedges)
    client = await target.driver.open(server.address, config, connections)
    try:
        epochs[0] += 1
        warmup_paths = [
            request_path(epochs[0], warmup_stream(repeat), index) for index in range(options.warmup)
        ]
        await _drive(client, warmup_paths, options.concurrency, progress)
        await asyncio.sleep(_SETTLE)
        epochs[0] += 1
        paths = [request_path(epochs[0], repeat, index) for index in range(options.requests)]
        # Not reset: a reset would also forget each key's last delay, which the table shows.
        warm = stats.snapshot()
        gc.collect()
        before = server.counts()
        cpu, wall = time.process_time(), time.perf_counter()
        latencies, errors = await _drive(client, paths, options.concurrency, progress)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await asyncio.sleep(_SETTLE)
        seen = server.counts() - before
        snapshot = stats.snapshot()
        delay = _delay_ms(stats)
        warmup_hedges = warm.hedges_sent
    finally:
        await client.aclose()
        # Let the transports closed by aclose() (and by cancelled attempts) finish
        # closing on this loop before asyncio.run() closes it.
        await asyncio.sleep(_CLOSE_GRACE)
    return Measurement(
        adapter=target.name,
        framework_version=target.framework_version,
        configuration=configuration.slug,
        label=configuration.label,
        repeat=repeat,
        latencies_ms=latencies,
        errors=errors,
        server=seen,
        hedges_sent=snapshot.hedges_sent - warm.hedges_sent,
        hedge_wins=snapshot.hedge_wins - warm.hedge_wins,
        budget_denied=snapshot.budget_exhausted - warm.budget_exhausted,
        delay_ms=delay,
        wall_seconds=wall,
        cpu_seconds=cpu,
        warmup_hedges=warmup_hedges,
    )


def run_benchmark(
    targets: Sequence[Target], options: RunOptions, progress: Progress | None = None
) -> list[Measurement]:
    """Measure every configuration of every target ``options.repeat`` times.

    Starts one server process per protocol the targets need and stops them
    before returning. Returns the measurements in the order they were taken.
    """
    if not targets:
        raise ValueError("no adapter to benchmark")
    steps = options.repeat * len(targets) * len(options.configurations)
    progress = progress or Progress(steps * (options.warmup + options.requests), enabled=False)
    protocols = sorted({target.driver.protocol for target in targets})
    servers: dict[str, ServerProcess] = {}
    measurements: list[Measurement] = []
    epochs = [0]
    try:
        for protocol in protocols:
            servers[protocol] = ServerProcess(protocol, options.workload).start()
        for repeat in range(options.repeat):
            for target in targets:
                server = servers[target.driver.protocol]
                for configuration in options.configurations:
                    suffix = f" (repeat {repeat + 1}/{options.repeat})" if options.repeat > 1 else ""
                    progress.begin(f"{target.name} {configuration.label}{suffix}")
                    measurement = asyncio.run(
                        _measure(target, configuration, repeat, server, epochs, options, progress)
                    )
                    measurements.append(measurement)
                    figures = measurement.percentiles()
                    progress.end(
                        f"p50 {figures.get('p50', float('nan')):.1f} ms, "
                        f"p99 {figures.get('p99', float('nan')):.1f} ms, "
                        f"extra {measurement.extra_percent:.1f}%"
                    )
    finally:
        for server in servers.values():
            server.stop()
        progress.close()
    return measurements
