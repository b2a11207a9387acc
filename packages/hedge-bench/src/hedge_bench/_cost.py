"""``hedge-bench cost``: what hedging costs a request that never needs a hedge.

A server that answers at once (zero latency), requests one at a time, the
bare client against two hedged ones:

* ``armed`` — a hedge is armed on every request (delay 1 s) but never
  fires: the difference from bare is the adapter's and hedge-core's own
  overhead per request (the race set-up, the key and budget lookups, the
  timer, the sketch update);
* ``adaptive`` — ``HedgeConfig()``, every default. Even against a
  zero-latency server some requests are slower than the learned p90 (the
  client's own pauses), so this side also pays for the hedges the policy
  sends (up to the 10% budget), each a new connection for most clients.

Each round opens a fresh client per side, warms it up, then times
``requests`` sequential requests: throughput from the wall clock, CPU per
request from the process's CPU time (``time.process_time``: every thread of
the client process, gRPC's included; the server is another process).
Rounds alternate bare, armed and adaptive so a change in the machine's
load hits all three; the report takes each side's best round (the least disturbed, the
usual rule for micro-benchmarks on a shared machine) and also keeps every
round in the JSON output.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from dataclasses import dataclass
from typing import Any

from hedge import HedgeConfig, Stats

from ._adapters import Target
from ._progress import Progress
from ._servers import ServerProcess
from ._validate import check_counts

__all__ = ["SIDES", "CostOptions", "CostResult", "CostRound", "measure_cost"]

_PATH = "/zero"

_CLOSE_GRACE = 0.01


@dataclass(frozen=True)
class CostOptions:
    """What ``hedge-bench cost`` measures."""

    requests: int = 1000
    warmup: int = 100
    rounds: int = 3

    def __post_init__(self) -> None:
        check_counts(self, ("requests", 1), ("warmup", 0), ("rounds", 1))


@dataclass(frozen=True)
class CostRound:
    """One timed round of one side (bare or hedged)."""

    side: str
    round: int
    requests: int
    wall_seconds: float
    cpu_seconds: float
    hedges_sent: int

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.wall_seconds

    @property
    def cpu_us(self) -> float:
        """Client CPU time per request, in microseconds."""
        return 1e6 * self.cpu_seconds / self.requests


@dataclass(frozen=True)
class CostResult:
    """Bare against hedged for one adapter."""

    adapter: str
    framework_version: str
    rounds: tuple[CostRound, ...]

    def _best(self, side: str) -> tuple[float, float]:
        rounds = [r for r in self.rounds if r.side == side]
        return max(r.throughput for r in rounds), min(r.cpu_us for r in rounds)

    def row(self) -> dict[str, Any]:
        """The figures of the cost table."""
        bare_rps, bare_cpu = self._best("bare")
        row: dict[str, Any] = {
            "framework": self.adapter,
            "framework_version": self.framework_version,
            "bare_rps": round(bare_rps, 1),
            "bare_cpu_us": round(bare_cpu, 1),
        }
        for side in SIDES[1:]:
            rps, cpu = self._best(side)
            row[f"{side}_rps"] = round(rps, 1)
            row[f"{side}_throughput_ratio"] = round(rps / bare_rps, 3)
            row[f"{side}_cpu_us"] = round(cpu, 1)
            row[f"{side}_cpu_ratio"] = round(cpu / bare_cpu, 3)
            row[f"{side}_hedges_sent"] = sum(r.hedges_sent for r in self.rounds if r.side == side)
        return row


SIDES = ("bare", "armed", "adaptive")
"""The clients compared, in the order each round runs them."""

_CONFIGS: dict[str, HedgeConfig | None] = {
    "bare": None,
    "armed": HedgeConfig(min_delay=1.0, max_delay=1.0, warmup_delay=1.0),
    "adaptive": HedgeConfig(),
}


async def _round(target: Target, address: str, side: str, index: int, options: CostOptions) -> CostRound:
    stats = Stats()
    base = _CONFIGS[side]
    config = None if base is None else dataclasses.replace(base, stats=stats)
    client = await target.driver.open(address, config, 2)
    try:
        for _ in range(options.warmup):
            await client.call(_PATH)
        warm = stats.snapshot().hedges_sent
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(options.requests):
            await client.call(_PATH)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await client.aclose()
        # Let the transports closed by aclose() (and by cancelled attempts) finish
        # closing on this loop before asyncio.run() closes it.
        await asyncio.sleep(_CLOSE_GRACE)
    return CostRound(side, index, options.requests, wall, cpu, stats.snapshot().hedges_sent - warm)


def measure_cost(
    targets: list[Target], options: CostOptions, progress: Progress | None = None
) -> list[CostResult]:
    """Measure bare and hedged clients of every target against zero-latency servers."""
    if not targets:
        raise ValueError("no adapter to measure")
    progress = progress or Progress(1, enabled=False)
    protocols = sorted({target.driver.protocol for target in targets})
    servers: dict[str, ServerProcess] = {}
    results = []
    try:
        for protocol in protocols:
            servers[protocol] = ServerProcess(protocol, None).start()
        for target in targets:
            address = servers[target.driver.protocol].address
            rounds = []
            for index in range(options.rounds):
                for side in SIDES:
                    progress.begin(f"{target.name} {side} (round {index + 1}/{options.rounds})")
                    measured = asyncio.run(_round(target, address, side, index, options))
                    rounds.append(measured)
                    progress.advance(options.requests + options.warmup)
                    progress.end(f"{measured.throughput:.0f} req/s, {measured.cpu_us:.0f} us CPU per request")
            results.append(CostResult(target.name, target.framework_version, tuple(rounds)))
    finally:
        for server in servers.values():
            server.stop()
        progress.close()
    return results
