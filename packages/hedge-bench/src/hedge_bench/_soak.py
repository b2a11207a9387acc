"""``hedge-bench soak``: many hedged requests through one client, and whether anything piled up.

For every installed adapter, and for its synchronous form where it has one,
a fresh interpreter (so that imports, earlier runs and other adapters'
threads do not blur its figures) starts the benchmark server it talks to,
opens one hedged client (``HedgeConfig()``, every default) and sends:

* ``warmup`` requests, unmeasured, so that pools are full and the delay is
  learned;
* ``requests`` requests in ``checkpoints`` equal chunks, ``concurrency`` at
  a time, on the seed workload (lognormal mean 5 ms, sd 2 ms; 5% of attempts
  stragglers ten times slower, so about one request in ten races a hedge);
* among them, ``cancel_share`` (1%) given up by their caller at a random
  point: half of them requests whose primary is a straggler, half the
  others, each after a uniformly drawn 5-95% of its primary's latency, so
  some are given up before the hedge is sent and most of the others while
  both attempts race. The async form cancels the caller's task; the sync
  form gives the request that long as the framework's own timeout.

After the warm-up and after every chunk, with no request in flight, it lets
the client settle (cancelled losers finish closing; it waits until two
readings 50 ms apart agree, at most two seconds) and samples the client
process (:func:`hedge_bench._resources.sample`: descriptors, sockets, asyncio
tasks, threads, resident memory) and the server's open connections. It
samples once more after the client is closed, and records every warning
and undelivered exception throughout (:class:`~hedge_bench._resources.Watch`).

A resource is *flat* when, over the second half of the run (from the middle
sample to the end one), it grew by no more than its tolerance and did not
creep: see :func:`verdict`. A run is clean when every resource is flat,
the client closed down to what the process held before it was opened
(sockets and, on the server, connections), nothing was recorded by the
watch, and no request failed in a way it should not have.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import importlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from hedge import HedgeConfig, Stats

from ._adapters import Target
from ._driver import BenchClient, Driver, SyncBenchClient, load_drivers
from ._progress import Progress
from ._resources import Sample, Watch, peak_rss, sample
from ._servers import ServerProcess, request_path
from ._validate import check_counts
from ._workload import LognormalModel, Workload, warmup_stream

__all__ = [
    "RESOURCES",
    "Resource",
    "SoakOptions",
    "SoakResult",
    "cancel_plan",
    "give_up_after",
    "judge",
    "run_soak",
    "verdict",
]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Resource:
    """One figure the soak watches, and how it may move (see :func:`verdict`).

    Attributes:
        name: the key in samples (``"sockets"``).
        label: the column header.
        pooled: whether it is held by pools that legitimately grow and shrink
            with the attempts in flight (connections, descriptors, worker
            threads). A pooled figure may move by a quarter of the most
            attempts in flight (``concurrency x (1 + max_hedges)``, at least
            2) between the middle and the end, and never exceed the start by
            more than all of them. Others (asyncio tasks) may not grow at all.
        memory: resident memory: may grow by 2 MiB or 2% of the middle level,
            whichever is larger, and may rise at every step (the allocator
            grows in steps of its own).

    """

    name: str
    label: str
    pooled: bool = False
    memory: bool = False


RESOURCES: tuple[Resource, ...] = (
    Resource("fds", "fds", pooled=True),
    Resource("sockets", "sockets", pooled=True),
    Resource("server_connections", "server conns", pooled=True),
    Resource("tasks", "tasks"),
    Resource("threads", "threads", pooled=True),
    Resource("os_threads", "OS threads", pooled=True),
    Resource("rss", "RSS MiB", memory=True),
)
"""What the soak watches; a ``None`` figure (not measurable here) is left out."""


@dataclass(frozen=True)
class SoakOptions:
    """What ``hedge-bench soak`` does per adapter and form (the command line's options)."""

    requests: int = 1000
    warmup: int = 200
    concurrency: int = 8
    checkpoints: int = 10
    cancel_share: float = 0.01
    stragglers: float = 0.05
    straggler_factor: float = 10.0
    seed: int = 1
    max_hedges: int = 1
    stall_seconds: float = 60.0

    def __post_init__(self) -> None:
        check_counts(
            self,
            ("requests", 1),
            ("warmup", 0),
            ("concurrency", 1),
            ("checkpoints", 4),
            ("seed", 0),
            ("max_hedges", 1),
        )
        if self.checkpoints % 2:
            raise ValueError(f"checkpoints must be even (the middle sample is one), got {self.checkpoints}")
        if self.requests < self.checkpoints:
            raise ValueError(f"requests ({self.requests}) must be at least checkpoints ({self.checkpoints})")
        if not self.stall_seconds > 0:
            raise ValueError(f"stall_seconds must be > 0, got {self.stall_seconds!r}")
        if not 0.0 <= self.cancel_share <= 0.5:
            raise ValueError(f"cancel_share must be in [0, 0.5], got {self.cancel_share!r}")
        # The model checks the straggler figures.
        self.workload  # noqa: B018

    @property
    def in_flight(self) -> int:
        """The most attempts in flight at once: ``concurrency x (1 + max_hedges)``."""
        return self.concurrency * (1 + self.max_hedges)

    @property
    def config(self) -> HedgeConfig:
        """The hedging policy soaked: every default but ``max_hedges``."""
        return HedgeConfig(max_hedges=self.max_hedges)

    @property
    def workload(self) -> Workload:
        """The seed workload with this run's straggler figures and seed."""
        return Workload(LognormalModel(5.0, 2.0, self.stragglers, self.straggler_factor), self.seed)


# -- the plan: which requests are given up, and when -----------------------------------


def cancel_plan(options: SoakOptions) -> dict[int, tuple[str, float]]:
    """Which measured requests their caller gives up on, when, and why.

    Returns ``{request: (kind, fraction)}``. Half of the ``cancel_share`` are
    ``"before"``: requests of any kind given up after ``fraction`` of the
    hedge delay (or of the primary's latency, if shorter), before a hedge is
    sent. The other half are ``"race"``: requests whose primary is slow (at
    least twice the mean latency: the stragglers, which race a hedge) given
    up after the hedge delay plus ``fraction`` of the time the race lasts
    (until the primary or the hedge answers, whichever is first). Seeded:
    the same options give the same plan. See :func:`give_up_after`.
    """
    workload = options.workload
    model = workload.model
    assert isinstance(model, LognormalModel)
    rng = random.Random(options.seed * 7919 + 17)
    threshold = 2.0 * model.mean_ms / 1000.0
    slow = [index for index in range(options.requests) if workload.latency(0, index, 0) >= threshold]
    slow_set = set(slow)
    fast = [index for index in range(options.requests) if index not in slow_set]
    wanted = round(options.cancel_share * options.requests)
    racing = min(len(slow), wanted // 2)
    plan: dict[int, tuple[str, float]] = {}
    for index in rng.sample(slow, racing):
        plan[index] = ("race", rng.uniform(0.05, 0.95))
    for index in rng.sample(fast, min(len(fast), wanted - racing)):
        plan[index] = ("before", rng.uniform(0.05, 0.95))
    return plan


def give_up_after(options: SoakOptions, index: int, kind: str, fraction: float, delay: float) -> float:
    """Seconds after which the caller gives up on request ``index``, given the hedge ``delay`` now."""
    workload = options.workload
    primary = workload.latency(0, index, 0)
    if kind == "race" and primary > delay:
        race = min(primary - delay, workload.latency(0, index, 1))
        return delay + fraction * race
    return fraction * min(delay, primary)


# -- tallies --------------------------------------------------------------------------------


@dataclass
class _Tally:
    ok: int = 0
    cancelled: int = 0
    cancel_too_late: int = 0  # the request answered before its caller gave up
    before_hedge: int = 0  # to be given up before the hedge delay passes
    in_race: int = 0  # to be given up while the primary and the hedge race
    timed_out: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failed += 1
            if len(self.failures) < 10:
                self.failures.append(what)

    def row(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "cancelled": self.cancelled,
            "timed_out": self.timed_out,
            "given_up_before_hedge": self.before_hedge,
            "given_up_in_race": self.in_race,
            "answered_before_given_up": self.cancel_too_late,
            "failed": self.failed,
            "failures": list(self.failures),
        }


def _current_delay(stats: Stats) -> float:
    delays = [snapshot.delay for snapshot in stats.keys().values() if snapshot.delay is not None]
    return max(delays) if delays else 0.0


# -- the child process: one adapter, one form -----------------------------------------


_STABLE = ("fds", "sockets", "tasks", "threads", "os_threads", "server_connections")


def _stable_key(reading: Sample) -> tuple[Any, ...]:
    values = reading.as_dict()
    return tuple(values[name] for name in _STABLE)


class _Soaker:
    """Runs one soak in this process and reports to stdout (see :func:`_child_main`)."""

    def __init__(self, driver: Driver, form: str, options: SoakOptions, server: ServerProcess) -> None:
        self.driver = driver
        self.form = form
        self.options = options
        self.server = server
        self.stats = Stats()
        self.config = dataclasses.replace(options.config, stats=self.stats)
        self.plan = cancel_plan(options)
        self.tally = _Tally()
        self.samples: list[dict[str, Any]] = []
        self.done = 0
        self._reported = 0
        self._progress_lock = threading.Lock()
        # When a request last finished (or a sample was taken): the stall watchdog reads it.
        self.last_progress = time.monotonic()
        self.loop: asyncio.AbstractEventLoop | None = None

    # progress lines for the parent
    def advance(self) -> None:
        self.last_progress = time.monotonic()
        with self._progress_lock:
            self.done += 1
            if self.done - self._reported >= 50:
                print(f"progress {self.done - self._reported}", flush=True)
                self._reported = self.done

    def flush_progress(self) -> None:
        with self._progress_lock:
            if self.done > self._reported:
                print(f"progress {self.done - self._reported}", flush=True)
                self._reported = self.done

    def chunks(self) -> Iterator[tuple[int, range]]:
        size, extra = divmod(self.options.requests, self.options.checkpoints)
        start = 0
        for chunk in range(self.options.checkpoints):
            stop = start + size + (1 if chunk < extra else 0)
            yield chunk, range(start, stop)
            start = stop

    def give_up(self, index: int, plan: tuple[str, float] | None) -> float | None:
        """When the caller gives up on a measured request (``None``: it waits for the answer)."""
        if plan is None:
            return None
        kind, fraction = plan
        with self.tally.lock:
            if kind == "race":
                self.tally.in_race += 1
            else:
                self.tally.before_hedge += 1
        return give_up_after(self.options, index, kind, fraction, _current_delay(self.stats))

    def record(self, label: str, reading: Sample, requests: int) -> None:
        self.last_progress = time.monotonic()
        self.samples.append({"at": label, "requests": requests, **reading.as_dict()})

    # -- async ----------------------------------------------------------------------------

    async def run_async(self, watch: Watch) -> None:
        loop = self.loop = asyncio.get_running_loop()
        watch.watch_loop(loop)
        connections = self.options.in_flight
        client = await self.driver.open(self.server.address, self.config, connections)
        try:
            warm = [request_path(0, warmup_stream(0), index) for index in range(self.options.warmup)]
            await self._drive_async(client, [(path, None, index) for index, path in enumerate(warm)], False)
            self.record("start", await self._quiet_async(), 0)
            for chunk, indices in self.chunks():
                jobs = [(request_path(chunk + 1, 0, i), self.plan.get(i), i) for i in indices]
                await self._drive_async(client, jobs, True)
                self.record(f"{chunk + 1}", await self._quiet_async(), indices.stop)
        finally:
            await client.aclose()
            # Transports closed by aclose() finish closing on the loop's next turns.
            await asyncio.sleep(0.05)

    async def _drive_async(
        self, client: BenchClient, jobs: Sequence[tuple[str, tuple[str, float] | None, int]], measured: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        order = iter(jobs)
        tally = self.tally

        async def worker() -> None:
            for path, plan, index in order:
                task = loop.create_task(client.call(path))
                handle = None
                give_up = self.give_up(index, plan)
                if give_up is not None:
                    handle = loop.call_later(give_up, task.cancel)
                await asyncio.wait((task,))
                if handle is not None:
                    handle.cancel()
                if task.cancelled():
                    if give_up is None:
                        tally.fail("cancelled, though its caller did not cancel it")
                    else:
                        tally.cancelled += 1
                elif task.exception() is not None:
                    tally.fail(repr(task.exception()))
                else:
                    tally.ok += 1
                    if give_up is not None:
                        tally.cancel_too_late += 1
                self.last_progress = time.monotonic()
                if measured:
                    self.advance()

        await asyncio.gather(*(worker() for _ in range(min(self.options.concurrency, len(jobs)))))

    async def _quiet_async(self) -> Sample:
        await asyncio.sleep(0.1)
        previous: tuple[Any, ...] | None = None
        deadline = time.monotonic() + 2.0
        while True:
            gc.collect()
            reading = sample(self.server.connections())
            key = _stable_key(reading)
            if key == previous or time.monotonic() > deadline:
                return reading
            previous = key
            await asyncio.sleep(0.05)

    # -- sync -----------------------------------------------------------------------------

    def run_sync(self) -> None:
        assert self.driver.open_sync is not None
        connections = self.options.in_flight
        callers = concurrent.futures.ThreadPoolExecutor(
            self.options.concurrency, thread_name_prefix="hedge-bench-caller"
        )
        client = self.driver.open_sync(self.server.address, self.config, connections)
        try:
            warm = [request_path(0, warmup_stream(0), index) for index in range(self.options.warmup)]
            self._drive_sync(callers, client, [(path, None, i) for i, path in enumerate(warm)], False)
            self.record("start", self._quiet_sync(), 0)
            for chunk, indices in self.chunks():
                jobs = [(request_path(chunk + 1, 0, i), self.plan.get(i), i) for i in indices]
                self._drive_sync(callers, client, jobs, True)
                self.record(f"{chunk + 1}", self._quiet_sync(), indices.stop)
        finally:
            client.close()
            callers.shutdown(wait=True)

    def _drive_sync(
        self,
        callers: concurrent.futures.ThreadPoolExecutor,
        client: SyncBenchClient,
        jobs: Sequence[tuple[str, tuple[str, float] | None, int]],
        measured: bool,
    ) -> None:
        order = iter(jobs)
        lock = threading.Lock()
        tally = self.tally

        def worker() -> None:
            while True:
                with lock:
                    job = next(order, None)
                if job is None:
                    return
                path, plan, index = job
                give_up = self.give_up(index, plan)
                try:
                    client.call(path, timeout=give_up)
                except TimeoutError as exc:
                    if give_up is None:
                        tally.fail(f"timed out without a timeout: {exc!r}")
                    else:
                        with tally.lock:
                            tally.timed_out += 1
                except Exception as exc:  # noqa: BLE001 - counted and reported, never hidden
                    tally.fail(repr(exc))
                else:
                    with tally.lock:
                        tally.ok += 1
                        if give_up is not None:
                            tally.cancel_too_late += 1
                self.last_progress = time.monotonic()
                if measured:
                    self.advance()

        futures = [callers.submit(worker) for _ in range(min(self.options.concurrency, len(jobs)))]
        for future in futures:
            future.result()

    def _quiet_sync(self) -> Sample:
        time.sleep(0.1)
        previous: tuple[Any, ...] | None = None
        deadline = time.monotonic() + 2.0
        while True:
            gc.collect()
            reading = sample(self.server.connections())
            key = _stable_key(reading)
            if key == previous or time.monotonic() > deadline:
                return reading
            previous = key
            time.sleep(0.05)


def _wait_for_server_to_drain(server: ServerProcess, timeout: float = 2.0) -> int:
    """The server's open connections once they stop falling (the client closed its end)."""
    deadline = time.monotonic() + timeout
    count = server.connections()
    while count and time.monotonic() < deadline:
        time.sleep(0.05)
        count = server.connections()
    return count


def _load_driver(job: dict[str, Any]) -> Driver:
    """The job's driver: its adapter's registered one, or ``job["driver"]`` (``module:attribute``)."""
    spec = job.get("driver")
    if not spec:
        return load_drivers()[job["adapter"]]
    module_name, _, attribute = str(spec).partition(":")
    driver = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(driver, Driver):
        raise TypeError(f"{spec} is a {type(driver).__name__}, not a hedge_bench.Driver")
    return driver


def _child_main(job: dict[str, Any]) -> dict[str, Any]:
    """Soak one adapter in one form in this process; return the result as a dict.

    A watchdog thread reports a stall instead: if no request finishes for
    ``options.stall_seconds`` (a deadlock in the client), it prints what was
    measured so far, where the requests are waiting, and ends the process.
    """
    options = SoakOptions(**job["options"])
    driver = _load_driver(job)
    form = job["form"]
    started = time.monotonic()
    with Watch() as watch, ServerProcess(driver.protocol, options.workload) as server:
        gc.collect()
        before = sample(server.connections())
        soaker = _Soaker(driver, form, options, server)
        finished = threading.Event()

        def report(after: Sample | None, stalled: dict[str, Any] | None) -> dict[str, Any]:
            return _report(job, driver, soaker, server, watch, before, after, started, stalled)

        threading.Thread(
            target=_watchdog, args=(soaker, options.stall_seconds, finished, report), daemon=True
        ).start()
        if form == "async":
            asyncio.run(soaker.run_async(watch))
        else:
            soaker.run_sync()
        finished.set()
        soaker.flush_progress()
        gc.collect()
        drained = _wait_for_server_to_drain(server)
        gc.collect()
        after = sample(drained)
        result = report(after, None)
    result["problems"] = [asdict(problem) for problem in watch.problems]
    return result


def _report(
    job: dict[str, Any],
    driver: Driver,
    soaker: _Soaker,
    server: ServerProcess,
    watch: Watch,
    before: Sample,
    after: Sample | None,
    started: float,
    stalled: dict[str, Any] | None,
) -> dict[str, Any]:
    snapshot = soaker.stats.snapshot()
    counts = server.counts()
    return {
        "adapter": job["adapter"],
        "form": job["form"],
        "client": driver.hedged if job["form"] == "async" else driver.hedged_sync,
        "before": before.as_dict(),
        "samples": list(soaker.samples),
        "after_close": None if after is None else after.as_dict(),
        "peak_rss": max([peak_rss() or 0] + [reading["rss"] or 0 for reading in soaker.samples]) or None,
        "outcomes": soaker.tally.row(),
        "hedging": {
            "total_requests": snapshot.total_requests,
            "hedges_sent": snapshot.hedges_sent,
            "hedge_wins": snapshot.hedge_wins,
            "budget_exhausted": snapshot.budget_exhausted,
            "cancelled_requests": snapshot.cancelled_requests,
            "attempts_cancelled": snapshot.attempts_cancelled,
            "errors": snapshot.errors,
            "delay_ms": round(1000.0 * _current_delay(soaker.stats), 3),
        },
        "server": {"received": counts.received, "completed": counts.completed, "abandoned": counts.abandoned},
        "problems": [asdict(problem) for problem in list(watch.problems)],
        "stalled": stalled,
        "elapsed_seconds": round(time.monotonic() - started, 2),
    }


def _watchdog(
    soaker: _Soaker,
    limit: float,
    finished: threading.Event,
    report: Callable[[Sample | None, dict[str, Any] | None], dict[str, Any]],
) -> None:
    """Report a soak in which no request finished for ``limit`` seconds, and end the process."""
    while not finished.wait(0.5):
        idle = time.monotonic() - soaker.last_progress
        if idle < limit:
            continue
        stalled = {
            "seconds": round(idle, 1),
            "requests_done": soaker.done,
            "waiting_in": _waiting_in(soaker),
        }
        try:
            result = report(None, stalled)
        except Exception as exc:  # noqa: BLE001 - the report is best effort; the stall is not
            result = {
                "adapter": "?",
                "form": soaker.form,
                "samples": [],
                "stalled": stalled,
                "error": repr(exc),
            }
        sys.stdout.write("result " + json.dumps(result) + "\n")
        sys.stdout.flush()
        os._exit(3)


def _waiting_in(soaker: _Soaker, most: int = 3) -> list[list[str]]:
    """Where the requests in flight wait: the innermost frames of their tasks or threads."""
    chains: list[list[str]] = []
    if soaker.loop is not None:
        try:
            tasks = list(asyncio.all_tasks(soaker.loop))
        except RuntimeError:  # the set changed while it was read from this thread
            tasks = []
        for task in tasks:
            chain = []
            awaited: Any = task.get_coro()
            while awaited is not None:
                frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
                if frame is not None:
                    chain.append(_where(frame))
                awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
            if chain and chain not in chains:
                chains.append(chain[-6:])
    else:
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            if not names.get(ident, "").startswith("hedge-bench-caller"):
                continue
            chain = [_where(f) for f, _ in traceback.walk_stack(frame)][:6][::-1]
            if chain not in chains:
                chains.append(chain)
    return chains[:most]


def _where(frame: Any) -> str:
    filename = frame.f_code.co_filename.replace("\\", "/")
    for marker in ("site-packages/", "/src/", "/lib/python"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{frame.f_lineno} {frame.f_code.co_name}"


# -- verdicts -------------------------------------------------------------------------------


def verdict(
    values: Sequence[int | None],
    tolerance: float,
    *,
    creep: bool = True,
    ceiling: float | None = None,
    unit: int = 1,
) -> dict[str, Any]:
    """Whether one resource stayed flat over a soak.

    ``values`` are the samples after warm-up (the start) and after each
    chunk, the last being the end (at least five). The *middle level* is the
    median of the three samples centred on the middle one, the *end level*
    the median of the last three: a pool that happens to hold one connection
    more or less at one instant moves neither. Flat means all of:

    * growth: ``end level - middle level <= tolerance``;
    * with ``creep``, no monotonic growth: the second half (middle sample to
      end) did not rise at every one of its steps. A leak, however slow,
      rises at every step once chunks are long enough; a pool rises at some;
    * with a ``ceiling``, no sample above ``start + ceiling``.

    ``unit`` only scales the figures in the explanation (``1 << 20`` for MiB).
    A resource that could not be measured (``None``) is reported as not
    measured and does not fail.
    """
    if len(values) < 5:
        raise ValueError(f"a verdict needs at least five samples, got {len(values)}")
    if any(value is None for value in values):
        return {"measured": False, "flat": True, "growth": None, "tolerance": tolerance, "why": ""}
    numbers = [int(value) for value in values if value is not None]
    middle = (len(numbers) - 1) // 2
    growth = statistics.median(numbers[-3:]) - statistics.median(numbers[middle - 1 : middle + 2])
    second = numbers[middle:]
    creeping = creep and all(after > before for before, after in zip(second, second[1:]))
    peak = max(numbers) - numbers[0]
    why = []

    def show(value: float) -> str:
        return f"{value:g}" if unit == 1 else f"{value / unit:.1f}"

    suffix = "" if unit != _MIB else " MiB"
    if growth > tolerance:
        why.append(
            f"grew by {show(growth)}{suffix} over the second half (tolerance {show(tolerance)}{suffix})"
        )
    if creeping:
        why.append(f"rose at every step of the second half ({show(second[0])} to {show(second[-1])}{suffix})")
    if ceiling is not None and peak > ceiling:
        why.append(f"reached {show(peak)}{suffix} above the start (ceiling {show(ceiling)}{suffix})")
    return {
        "measured": True,
        "flat": not why,
        "growth": growth,
        "tolerance": tolerance,
        "ceiling": ceiling,
        "why": "; ".join(why),
    }


def judge(resource: Resource, values: Sequence[int | None], options: SoakOptions) -> dict[str, Any]:
    """:func:`verdict` with ``resource``'s rule (see :class:`Resource`) for a run with ``options``."""
    if resource.memory:
        centre = (len(values) - 1) // 2
        around = [value for value in values[centre - 1 : centre + 2] if value is not None]
        level = statistics.median(around) if around else 0
        return verdict(values, max(2 * _MIB, 0.02 * level), creep=False, unit=_MIB)
    if resource.pooled:
        slack = max(2, math.ceil(options.in_flight / 4))
        return verdict(values, slack, ceiling=options.in_flight)
    return verdict(values, 0)


@dataclass
class SoakResult:
    """One adapter in one form, soaked: the child's figures and the verdicts on them."""

    adapter: str
    form: str
    framework_version: str
    data: dict[str, Any]
    options: SoakOptions
    error: str | None = None

    @property
    def samples(self) -> list[dict[str, Any]]:
        """The samples after warm-up and after each chunk."""
        return list(self.data.get("samples", []))

    def series(self, name: str) -> list[int | None]:
        """One resource over the samples."""
        return [reading.get(name) for reading in self.samples]

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Every resource's :func:`verdict`."""
        found = {}
        for resource in RESOURCES:
            values = self.series(resource.name)
            if len(values) >= 5:  # a soak that stalled early has too few to judge
                found[resource.name] = judge(resource, values, self.options)
        return found

    def closed_clean(self) -> dict[str, Any]:
        """Whether closing the client gave back its sockets and the server's connections."""
        before, after = self.data.get("before") or {}, self.data.get("after_close") or {}
        sockets_before, sockets_after = before.get("sockets"), after.get("sockets")
        sockets_ok = sockets_before is None or sockets_after is None or sockets_after <= sockets_before
        server_after = after.get("server_connections")
        server_ok = server_after is None or server_after == 0
        return {
            "sockets_before": sockets_before,
            "sockets_after": sockets_after,
            "server_connections_after": server_after,
            "clean": sockets_ok and server_ok,
        }

    @property
    def problems(self) -> list[dict[str, str]]:
        """Warnings and undelivered exceptions recorded."""
        return list(self.data.get("problems", []))

    @property
    def failures(self) -> int:
        """Requests that failed where they should have answered (or been given up)."""
        return int(self.data.get("outcomes", {}).get("failed", 0))

    @property
    def leaks(self) -> list[str]:
        """What leaked or went wrong, in words; empty for a clean run."""
        if self.error is not None:
            return [self.error]
        stalled = self.data.get("stalled")
        prefix = []
        if stalled:
            waiting = stalled.get("waiting_in") or [["?"]]
            prefix.append(
                f"stalled: no request finished for {stalled['seconds']} s after {stalled['requests_done']} "
                f"measured requests (a deadlock); waiting in {waiting[0][-1]}"
            )
        found = prefix + [
            f"{name} {figures['why']}" for name, figures in self.verdicts().items() if not figures["flat"]
        ]
        closed = self.closed_clean()
        if not closed["clean"]:
            found.append(
                f"after close: {closed['sockets_after']} sockets "
                f"(before opening: {closed['sockets_before']}), "
                f"{closed['server_connections_after']} server connections"
            )
        seen: dict[tuple[str, str], int] = {}
        for problem in self.problems:
            key = (problem["kind"], problem["message"])
            seen[key] = seen.get(key, 0) + 1
        found += [
            f"{kind}: {message}" + (f" ({count} times)" if count > 1 else "")
            for (kind, message), count in seen.items()
        ]
        return found

    @property
    def clean(self) -> bool:
        """Nothing leaked, nothing was recorded and no request failed."""
        return not self.leaks and not self.failures

    def row(self) -> dict[str, Any]:
        """A flat description for CSV: start, middle and end of every resource, and the verdict."""
        samples = self.samples
        flat: dict[str, Any] = {
            "framework": self.adapter,
            "form": self.form,
            "framework_version": self.framework_version,
            "requests": self.options.requests,
        }
        if samples:
            middle = samples[(len(samples) - 1) // 2]
            for resource in RESOURCES:
                for where, reading in (("start", samples[0]), ("middle", middle), ("end", samples[-1])):
                    flat[f"{resource.name}_{where}"] = reading.get(resource.name)
        flat["peak_rss"] = self.data.get("peak_rss")
        outcomes = self.data.get("outcomes", {})
        for name in ("ok", "cancelled", "timed_out", "failed"):
            flat[name] = outcomes.get(name)
        hedging = self.data.get("hedging", {})
        flat["hedges_sent"] = hedging.get("hedges_sent")
        flat["server_abandoned"] = self.data.get("server", {}).get("abandoned")
        flat["problems"] = len(self.problems)
        flat["leaks"] = len(self.leaks)
        flat["verdict"] = (
            "clean"
            if self.clean
            else "STALLED"
            if self.data.get("stalled")
            else "LEAK"
            if self.leaks
            else "FAILED"
        )
        return flat


# -- the parent: one child per adapter and form ---------------------------------------------


def _run_child(
    target: Target, form: str, options: SoakOptions, progress: Progress, timeout: float, spec: str | None
) -> SoakResult:
    job: dict[str, Any] = {"adapter": target.name, "form": form, "options": asdict(options)}
    if spec:
        job["driver"] = spec
    process = subprocess.Popen(
        [sys.executable, "-m", "hedge_bench._soak", json.dumps(job)],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    data: dict[str, Any] | None = None
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            if line.startswith("progress "):
                progress.advance(int(line.split()[1]))
            elif line.startswith("result "):
                data = json.loads(line[len("result ") :])
        process.wait()
    finally:
        timer.cancel()
        process.stdout.close()
    if data is None:
        error = f"the soak process ended without a result (exit code {process.returncode})"
        return SoakResult(target.name, form, target.framework_version, {}, options, error)
    return SoakResult(target.name, form, target.framework_version, data, options)


def run_soak(
    targets: Sequence[tuple[Target, str]],
    options: SoakOptions,
    progress: Progress | None = None,
    *,
    timeout: float | None = None,
    driver_modules: dict[str, str] | None = None,
) -> list[SoakResult]:
    """Soak every ``(target, form)`` in turn, each in a fresh interpreter.

    Args:
        targets: the adapters and forms (``"async"`` or ``"sync"``) to soak.
        options: what each soak sends.
        progress: counts measured requests.
        timeout: seconds after which one soak is stopped and reported as
            failed (default: generous, from the number of requests).
        driver_modules: for an adapter name, the ``module:attribute`` of the
            driver the fresh interpreter imports instead of the registered
            one (a driver that is not installed as an entry point).

    """
    progress = progress or Progress(len(targets) * options.requests, enabled=False)
    limit = timeout if timeout is not None else 120.0 + 0.05 * (options.requests + options.warmup)
    results = []
    for target, form in targets:
        progress.begin(f"{target.name} ({form})")
        spec = (driver_modules or {}).get(target.name)
        result = _run_child(target, form, options, progress, limit, spec)
        results.append(result)
        progress.end("clean" if result.clean else "; ".join(result.leaks[:2]) or "failed requests")
    progress.close()
    return results


def _main(argv: Sequence[str]) -> int:
    job = json.loads(argv[0])
    result = _child_main(job)
    sys.stdout.write("result " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
