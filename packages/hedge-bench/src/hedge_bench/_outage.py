"""``hedge-bench outage``: a server that turns slow, over real sockets, and what hedging did about it.

A hedging library earns its keep on stragglers and must not make an outage
worse: when every request is slow, every request "wants" a hedge, and a
client that sent them all would double the load on a server already
drowning. hedge's budget (``hedge._budget``) stops that: over any stretch
of time a target receives at most

    hedges <= budget_percent% x requests + reserve + floor x seconds

where the *reserve* is what the traffic of the last 10-20 s earned (at
least one hedge) and the *floor* a small bucket of ``budget_floor`` hedges
per second (capacity ``max(1, floor)``).

Each adapter's async client is driven by an open loop, ``rate`` requests per
second whatever the answers do (as users keep arriving during an outage),
through four phases: warm-up, *before* (the seed workload: lognormal mean
5 ms, 5% stragglers ten times slower), *outage* (the server answers every
attempt after a uniform 200-500 ms, :class:`~hedge_bench.UniformModel`) and
*after* (the seed workload again). Each phase's requests name an epoch of
their own, so the server counts every phase's requests and the copies of
them it received (:meth:`~hedge_bench._servers.ServerProcess.epoch`)
exactly, whenever they arrive. Hedges are those copies beyond the first:
the load the server really got.

Warnings and exceptions the event loop could not deliver are recorded as in
``hedge-bench soak`` (:class:`~hedge_bench._resources.Watch`) and fail the
run: an outage is when a client that leaks on cancellation shows it.

Two scenarios, per adapter:

* ``single``: one client, one server that has the outage. Checked: the
  outage's hedges stay within the bound above (with the reserve taken as
  ``budget_percent``% of the requests sent in the 20 s before the outage,
  the most the budget can hold, and the floor counted over the outage plus
  one second for hedges armed at its end); hedging resumes after it (some
  hedges in the *after* phase); the hedge delay recovers (during *after*
  it comes back to at most twice the delay before the outage, or 10 ms
  above it, whichever is larger; the time it took is reported, and the
  delay at the end, which a busy machine's own stalls can lift again).
  The client's window is short
  (``window`` seconds, default 2) so that the estimate can follow the
  outage and recover within one run; with the default 30 s it would take a
  minute.
* ``two-targets``: one client sending to two servers at the same rate, one
  of which has the outage. Budgets are per target, so the healthy one must
  keep hedging its stragglers: its hedge share during the outage is at
  least half its share before (or half of ``budget_percent``, if that is
  smaller). The slow one is checked as in ``single``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hedge import HedgeConfig, Stats

from ._adapters import Target
from ._driver import BenchClient
from ._progress import Progress
from ._resources import Watch
from ._servers import ServerProcess, request_path
from ._workload import SEED_MODEL, UniformModel, Workload

__all__ = ["PHASES", "SCENARIOS", "OutageOptions", "OutageResult", "run_outage"]

PHASES = ("before", "outage", "after")
SCENARIOS = ("single", "two-targets")
_EPOCHS = {"warmup": 0, "before": 1, "outage": 2, "after": 3}
_SAMPLE_EVERY = 0.2
_RESERVE_LOOKBACK = 20.0  # the budget's reserve holds what 10-20 s of traffic earned


@dataclass(frozen=True)
class OutageOptions:
    """What ``hedge-bench outage`` does (the command line's options)."""

    rate: float = 100.0
    warmup: float = 2.0
    before: float = 5.0
    outage: float = 8.0
    after: float = 8.0
    slow_low_ms: float = 200.0
    slow_high_ms: float = 500.0
    window: float = 2.0
    budget_percent: float = 10.0
    budget_floor: float = 1.0
    seed: int = 1
    scenarios: tuple[str, ...] = SCENARIOS

    def __post_init__(self) -> None:
        for name in ("rate", "before", "outage", "after", "window"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, (int, float)) or self.warmup < 0:
            raise ValueError(f"warmup must be a number >= 0, got {self.warmup!r}")
        if self.after < 2 * self.window:
            raise ValueError(
                f"after ({self.after:g} s) must be at least two windows ({2 * self.window:g} s): "
                "the delay estimate forgets the outage only after one to two windows"
            )
        UniformModel(self.slow_low_ms, self.slow_high_ms)  # checks the range
        unknown = [name for name in self.scenarios if name not in SCENARIOS]
        if unknown or not self.scenarios:
            raise ValueError(f"scenarios must be among {', '.join(SCENARIOS)}, got {self.scenarios!r}")
        self.config  # noqa: B018 - HedgeConfig checks the budget figures

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy: defaults, with this run's window and budget."""
        return HedgeConfig(
            window_duration=self.window, budget_percent=self.budget_percent, budget_floor=self.budget_floor
        )

    @property
    def slow_model(self) -> UniformModel:
        """What the server serves during the outage."""
        return UniformModel(self.slow_low_ms, self.slow_high_ms)

    @property
    def connections(self) -> int:
        """Requests one client may have in flight during the outage, hedges included, with room."""
        return int(2 * self.rate * (self.slow_high_ms / 1000.0) * 2) + 16


@dataclass
class _TargetState:
    """One server as the client sees it: when requests were sent, and the delay over time."""

    name: str
    server: ServerProcess
    has_outage: bool
    sent_at: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    delays: list[tuple[float, float]] = field(default_factory=list)  # (time.monotonic(), ms)
    client_stats: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def port(self) -> str:
        return self.server.address.rsplit(":", 1)[1]

    def key_snapshot(self, stats: Stats) -> Any:
        for key, snapshot in stats.keys().items():
            if f":{self.port}" in key:
                return snapshot
        return None


@dataclass
class OutageResult:
    """One scenario of one adapter: per target and phase, what the server got, and the verdicts."""

    adapter: str
    scenario: str
    framework_version: str
    options: OutageOptions
    targets: list[dict[str, Any]]
    elapsed_seconds: float
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every check that failed, in words (empty when all passed)."""
        found = []
        for target in self.targets:
            for check in target["checks"]:
                if not check["passed"]:
                    found.append(f"{target['name']}: {check['name']}: {check['detail']}")
            if target["errors"]:
                found.append(
                    f"{target['name']}: {len(target['errors'])} requests failed ({target['errors'][0]})"
                )
        if self.warnings:
            first = self.warnings[0]
            found.append(f"{len(self.warnings)} warnings, first {first['kind']}: {first['message']}")
        return found

    @property
    def passed(self) -> bool:
        """Every check passed and no request failed."""
        return not self.problems

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per target, for CSV."""
        rows = []
        for target in self.targets:
            row: dict[str, Any] = {
                "framework": self.adapter,
                "scenario": self.scenario,
                "target": target["name"],
            }
            for phase in PHASES:
                figures = target["phases"][phase]
                row[f"{phase}_requests"] = figures["requests"]
                row[f"{phase}_hedges"] = figures["hedges"]
                row[f"{phase}_share_percent"] = figures["share_percent"]
            row["outage_bound"] = target.get("bound")
            for name in ("delay_before_ms", "delay_outage_max_ms", "delay_after_ms", "recovered_after_s"):
                row[name] = target.get(name)
            row["errors"] = len(target["errors"])
            row["warnings"] = len(self.warnings)
            row["passed"] = (
                all(check["passed"] for check in target["checks"])
                and not target["errors"]
                and not self.warnings
            )
            rows.append(row)
        return rows


# -- driving -------------------------------------------------------------------------------


async def _open_loop(
    client: BenchClient,
    targets: Sequence[_TargetState],
    epoch: int,
    seconds: float,
    rate: float,
    tasks: set[asyncio.Task[None]],
    progress: Progress,
) -> None:
    """Send ``rate`` requests per second to every target for ``seconds``, never waiting for answers."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    count = round(seconds * rate)
    for index in range(count):
        wait = start + index / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        for target in targets:
            target.sent_at.append(time.monotonic())
            path = request_path(epoch, 0, index)
            task = loop.create_task(_one(client, path, target))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        progress.advance(len(targets))


async def _one(client: BenchClient, path: str, target: _TargetState) -> None:
    try:
        await client.call(path, target.server.address)
    except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
        target.errors.append(repr(exc))


async def _watch_delays(stats: Stats, targets: Sequence[_TargetState]) -> None:
    while True:
        now = time.monotonic()
        for target in targets:
            snapshot = target.key_snapshot(stats)
            if snapshot is not None and snapshot.delay is not None:
                target.delays.append((now, round(1000.0 * snapshot.delay, 3)))
        await asyncio.sleep(_SAMPLE_EVERY)


def _delay_at(delays: Sequence[tuple[float, float]], moment: float) -> float | None:
    """The last delay sampled at or before ``moment`` (seconds from the outage's start)."""
    found = None
    for at, value in delays:
        if at > moment:
            break
        found = value
    return found


async def _scenario(
    target: Target,
    scenario: str,
    options: OutageOptions,
    servers: Sequence[ServerProcess],
    progress: Progress,
    watch: Watch,
) -> tuple[list[_TargetState], float]:
    """Drive one scenario; return the targets' records and when the outage began."""
    watch.watch_loop(asyncio.get_running_loop())
    stats = Stats()
    config = dataclasses.replace(options.config, stats=stats)
    states = [_TargetState("slow" if scenario == "two-targets" else "server", servers[0], True)]
    if scenario == "two-targets":
        states.append(_TargetState("healthy", servers[1], False))
    client = await target.driver.open(servers[0].address, config, options.connections)
    tasks: set[asyncio.Task[None]] = set()
    outage_started = 0.0
    watcher = asyncio.get_running_loop().create_task(_watch_delays(stats, states))
    try:
        for phase in ("warmup", "before", "outage", "after"):
            seconds = options.warmup if phase == "warmup" else getattr(options, phase)
            if phase == "outage":
                servers[0].set_model(options.slow_model)
                outage_started = time.monotonic()
            elif phase == "after":
                servers[0].set_model(None)
            if seconds > 0:
                await _open_loop(client, states, _EPOCHS[phase], seconds, options.rate, tasks, progress)
            for state in states:
                snapshot = state.key_snapshot(stats)
                state.client_stats[phase] = {
                    "hedges_sent": snapshot.hedges_sent if snapshot else 0,
                    "budget_exhausted": snapshot.budget_exhausted if snapshot else 0,
                    "total_requests": snapshot.total_requests if snapshot else 0,
                }
        while tasks:
            await asyncio.gather(*list(tasks))
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*list(tasks), return_exceptions=True)
        await client.aclose()
        await asyncio.sleep(0.05)
    return states, outage_started


def _judge(state: _TargetState, options: OutageOptions, outage_started: float) -> dict[str, Any]:
    phases: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        requests, copies = state.server.epoch(_EPOCHS[phase])
        hedges = copies - requests
        phases[phase] = {
            "requests": requests,
            "copies": copies,
            "hedges": hedges,
            "share_percent": round(100.0 * hedges / requests, 2) if requests else None,
        }
    ratio = options.budget_percent / 100.0
    lookback = [at for at in state.sent_at if outage_started - _RESERVE_LOOKBACK <= at < outage_started]
    reserve = max(1.0, ratio * len(lookback)) if ratio else 0.0
    floor = options.budget_floor
    bound = ratio * phases["outage"]["requests"] + reserve + floor * (options.outage + 1.0)
    bound += max(1.0, floor) if floor > 0 else 0.0
    delays = [(at - outage_started, value) for at, value in state.delays]
    delay_before = _delay_at(delays, 0.0)
    outage_delays = [value for at, value in delays if 0.0 <= at <= options.outage]
    delay_outage = max(outage_delays) if outage_delays else None
    delay_after = _delay_at(delays, math.inf)
    healthy_again = None if delay_before is None else max(2.0 * delay_before, delay_before + 10.0)
    recovered_after = None
    if healthy_again is not None:
        for at, value in delays:
            if at > options.outage and value <= healthy_again:
                recovered_after = round(at - options.outage, 2)
                break
    checks = []
    if state.has_outage:
        checks.append(
            {
                "name": "outage hedges within the budget",
                "passed": phases["outage"]["hedges"] <= bound,
                "detail": f"{phases['outage']['hedges']} hedges for {phases['outage']['requests']} requests, "
                f"bound {bound:.1f} ({options.budget_percent:g}% of requests + reserve {reserve:.1f} "
                f"+ floor {floor:g}/s)",
            }
        )
        checks.append(
            {
                "name": "hedging resumes after recovery",
                "passed": phases["after"]["hedges"] > 0,
                "detail": f"{phases['after']['hedges']} hedges for "
                f"{phases['after']['requests']} requests after the outage",
            }
        )
        checks.append(
            {
                "name": "delay estimate recovers",
                "passed": recovered_after is not None,
                "detail": f"{delay_before} ms before, up to {delay_outage} ms during, "
                + (
                    f"back to {healthy_again:g} ms or less {recovered_after} s after the outage"
                    if recovered_after is not None
                    else f"never back to {healthy_again} ms or less after it"
                )
                + f" ({delay_after} ms at the end)",
            }
        )
    else:
        before_share = phases["before"]["share_percent"] or 0.0
        during_share = phases["outage"]["share_percent"] or 0.0
        # Against the smaller of its own share before and the budget: a client that
        # stalled before the outage (a busy machine) hedged more than its stragglers need.
        expected = min(before_share, options.budget_percent)
        checks.append(
            {
                "name": "healthy target not starved",
                "passed": phases["outage"]["hedges"] > 0 and during_share >= 0.5 * expected,
                "detail": f"hedge share {before_share:g}% before, "
                f"{during_share:g}% during the other server's outage",
            }
        )
    return {
        "name": state.name,
        "has_outage": state.has_outage,
        "phases": phases,
        "bound": round(bound, 1) if state.has_outage else None,
        "reserve": round(reserve, 1),
        "delay_before_ms": delay_before,
        "delay_outage_max_ms": delay_outage,
        "delay_after_ms": delay_after,
        "recovered_after_s": recovered_after,
        "client_stats": state.client_stats,
        "delays": [(round(at, 2), value) for at, value in delays],
        "errors": state.errors[:10]
        + ([f"... {len(state.errors) - 10} more"] if len(state.errors) > 10 else []),
        "checks": checks,
    }


def run_outage(
    targets: Sequence[Target], options: OutageOptions, progress: Progress | None = None
) -> list[OutageResult]:
    """Run every scenario of ``options`` for every target (async clients), in turn.

    Starts fresh servers (in their own processes) per adapter and scenario,
    so that one run's connections and epochs do not meet the next's.
    """
    if not targets:
        raise ValueError("no adapter to run")
    per_run = options.rate * (options.warmup + options.before + options.outage + options.after)
    total = sum(int(per_run * (2 if s == "two-targets" else 1)) for s in options.scenarios) * len(targets)
    progress = progress or Progress(total, enabled=False)
    workload = Workload(SEED_MODEL, options.seed)
    results = []
    try:
        for target in targets:
            for scenario in options.scenarios:
                progress.begin(f"{target.name} {scenario}")
                count = 2 if scenario == "two-targets" else 1
                servers = [ServerProcess(target.driver.protocol, workload) for _ in range(count)]
                started = time.monotonic()
                try:
                    for server in servers:
                        server.start()
                    with Watch() as watch:
                        states, outage_started = asyncio.run(
                            _scenario(target, scenario, options, servers, progress, watch)
                        )
                        gc.collect()  # what the client left unclosed warns now, inside the watch
                    judged = [_judge(state, options, outage_started) for state in states]
                finally:
                    for server in servers:
                        server.stop()
                result = OutageResult(
                    target.name,
                    scenario,
                    target.framework_version,
                    options,
                    judged,
                    round(time.monotonic() - started, 1),
                    [dataclasses.asdict(problem) for problem in watch.problems],
                )
                results.append(result)
                slow = judged[0]["phases"]["outage"]
                progress.end(
                    f"outage hedge share {slow['share_percent']}%"
                    + ("" if result.passed else "; FAILED: " + "; ".join(result.problems[:2]))
                )
    finally:
        progress.close()
    return results
