"""The fault matrix of the gRPC adapter, for every interceptor form, against real local servers.

Each scenario breaks something (nothing listening, an UNAVAILABLE storm, a
server stopped or a connection reset mid-call, a stream broken after its
first message, a server that never answers, the caller leaving at awkward
moments, attempts that finish together or fail differently, a host that does
not resolve, a fatal status from a hedge, many calls at once) and checks
three things:

* the caller gets what grpc itself gives: its own error types and status,
  the primary's when every attempt failed, and ``asyncio.CancelledError`` /
  ``grpc.FutureCancelledError`` when it cancelled;
* nothing is sent more often than allowed (the server's record of every
  attempt, hedge events, the interceptor's counters);
* nothing is left behind: every attempt the server saw has ended (cancelled
  or completed), and no asyncio task or thread started by the scenario is
  still alive once the channel is closed.

Forms: asyncio unary and server streaming; sync unary (blocking and
``.future()``) and server streaming. Hedge delays are fixed (``min_delay =
max_delay = warmup_delay``) and slow attempts are scripted to take far
longer than any test waits, so no assertion depends on the machine's speed.
Where an outcome does depend on timing (a cancellation racing the winner's
answer), each possible outcome is checked for being coherent.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import pytest

from hedge import HedgeConfig, Hedger, Verdict, hookimpl
from hedge.events import (
    AttemptFailed,
    AttemptLost,
    AttemptWon,
    BudgetDenied,
    HedgeEvent,
    HedgeSent,
    RequestFinished,
)
from hedge.plugins import get_plugin_manager
from hedge.testing import EventRecorder, free_port
from hedge_grpc import (
    HedgedServerStreamInterceptor,
    HedgedUnaryInterceptor,
    SyncHedgedServerStreamInterceptor,
    SyncHedgedUnaryInterceptor,
)
from hedge_grpc_support import (
    MARKER,
    SERVER_THREADS,
    SLOW,
    Plan,
    ResettingProxy,
    Script,
    start_aio_server,
    start_sync_server,
)

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
DEADLINE_EXCEEDED = grpc.StatusCode.DEADLINE_EXCEEDED
NOT_FOUND = grpc.StatusCode.NOT_FOUND

AIO_FORMS = ("unary", "stream")
SYNC_FORMS = ("blocking", "future", "stream")

#: A deadline on calls that must not hang: reached only if something does.
NO_HANG = 30.0
#: How long a scenario waits for the server or the client to settle.
SETTLE = 20.0
#: Where the caller cancels, from inside the engine, as it announces each event.
CANCEL_POINTS = (HedgeSent, AttemptLost, AttemptWon, RequestFinished)
#: Offsets (seconds) around the winner's answer at which the caller cancels.
ANSWER_OFFSETS = (-0.05, -0.01, 0.0, 0.005, 0.02, 0.05)
#: An unresolvable target: the .invalid TLD never resolves (RFC 2606).
UNRESOLVABLE = "dns:///nonexistent.invalid:50051"

_names = itertools.count()


def config(delay: float = 0.1, **changes: Any) -> HedgeConfig:
    """A config whose hedge delay is exactly ``delay``, whose budget never refuses, marking hedges."""
    settings: dict[str, Any] = {
        "min_delay": delay,
        "max_delay": delay,
        "warmup_delay": delay,
        "budget_percent": 100.0,
        "budget_floor": 1000.0,
        "attempt_header": MARKER,
    }
    settings.update(changes)
    return HedgeConfig(**settings)


# ---------------------------------------------------------------------------
# Observing the engine, and cancelling from inside it
# ---------------------------------------------------------------------------


class _Plugged:
    """Registers a plugin on the process-wide manager (where interceptors' hedgers look) for a while."""

    def __init__(self, plugin: object) -> None:
        self.plugin = plugin
        self.name = f"hedge-grpc-faults-{next(_names)}"

    def __enter__(self) -> Any:
        get_plugin_manager().register(self.plugin, name=self.name)
        return self.plugin

    def __exit__(self, *exc_info: object) -> None:
        get_plugin_manager().unregister(name=self.name)


@pytest.fixture
def events() -> Iterator[EventRecorder]:
    """Every hedge event of the test's interceptors."""
    with _Plugged(EventRecorder()) as recorder:
        yield recorder


class CancelOnEvent:
    """Cancels the caller synchronously, inside the engine, when it first announces ``kind``.

    Events are delivered where the engine stands: :class:`HedgeSent` as a
    hedge is about to start, :class:`AttemptLost` while the losers are booked
    after the winner was decided, :class:`AttemptWon` and
    :class:`RequestFinished` once the race is over but before the
    interceptor has handed the winner to grpc. No timer can hit those points.
    """

    def __init__(self, kind: type[HedgeEvent]) -> None:
        self.kind = kind
        self.cancel: Callable[[], bool] | None = None
        self.armed = threading.Event()
        self.result: bool | None = None
        self.fired = threading.Event()

    def arm(self, cancel: Callable[[], bool]) -> None:
        self.cancel = cancel
        self.armed.set()

    @hookimpl
    def hedge_event(self, event: HedgeEvent) -> None:
        if not isinstance(event, self.kind) or self.fired.is_set():
            return
        # A sync future's race may announce before the caller holds its future.
        assert self.armed.wait(SETTLE)
        assert self.cancel is not None
        self.result = self.cancel()
        self.fired.set()


# ---------------------------------------------------------------------------
# Leaks
# ---------------------------------------------------------------------------


class Leaks:
    """Threads and asyncio tasks alive when a scenario began: anything it started must end.

    Take it once the client's channel exists (a grpc.aio channel starts
    grpc's poller thread, which lives as long as the process). The sync
    server's handler threads are pooled by the server and not counted.
    """

    def __init__(self) -> None:
        self.threads = set(threading.enumerate())
        self.tasks = _tasks()

    def left(self) -> tuple[list[threading.Thread], list[asyncio.Task[Any]]]:
        threads = [
            thread
            for thread in threading.enumerate()
            if thread not in self.threads and thread.is_alive() and not thread.name.startswith(SERVER_THREADS)
        ]
        current = _current_task()
        tasks = [
            task
            for task in _tasks()
            if task not in self.tasks and task is not current and not _listening(task)
        ]
        return threads, tasks

    def check(self) -> None:
        """Wait (boundedly) for every thread started since to end (sync scenarios)."""
        deadline = time.monotonic() + SETTLE
        while self.left() != ([], []):
            if time.monotonic() > deadline:
                raise AssertionError(f"left running: {self.left()}")
            time.sleep(0.02)

    async def check_async(self) -> None:
        """Wait (boundedly) for every thread and task started since to end (asyncio scenarios)."""
        deadline = time.monotonic() + SETTLE
        while self.left() != ([], []):
            if time.monotonic() > deadline:
                raise AssertionError(f"left running: {self.left()}")
            await asyncio.sleep(0.02)


def _tasks() -> set[asyncio.Task[Any]]:
    try:
        return asyncio.all_tasks()
    except RuntimeError:  # no running loop: a sync scenario
        return set()


# A grpc.aio server keeps tasks waiting for its next calls, replaced as calls arrive:
# those are the server listening, not work left over. Its handlers' tasks must end.
_SERVER_LISTENERS = {"AioServer._request_call", "AioServer._request_registered_call"}


def _listening(task: asyncio.Task[Any]) -> bool:
    return getattr(task.get_coro(), "__qualname__", None) in _SERVER_LISTENERS


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


# ---------------------------------------------------------------------------
# Calls in every form, and what the caller got
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a caller received: the messages (a unary reply is one), then the error, if any."""

    items: list[Any]
    error: BaseException | None

    @property
    def code(self) -> grpc.StatusCode | None:
        return self.error.code() if isinstance(self.error, grpc.RpcError) else None

    @property
    def details(self) -> str | None:
        return self.error.details() if isinstance(self.error, grpc.RpcError) else None

    @property
    def attempts(self) -> set[int]:
        """Which attempts the messages came from (always one)."""
        return {item.attempt for item in self.items}


def status(outcome: Outcome) -> tuple[grpc.StatusCode | None, str | None]:
    return outcome.code, outcome.details


def request_for(pb2: Any, form: str, request_id: str, eligible: bool) -> Any:
    # CreateItem (a write) takes an Item; the read methods a GetItemRequest.
    if form != "stream" and not eligible:
        return pb2.Item(id=request_id)
    return pb2.GetItemRequest(id=request_id)


def method_for(stub: Any, form: str, eligible: bool) -> Any:
    """GetItem / WatchItem are declared idempotent (hedged); CreateItem / ExportItems are not."""
    if form == "stream":
        return stub.WatchItem if eligible else stub.ExportItems
    return stub.GetItem if eligible else stub.CreateItem


class AioClient:
    """A grpc.aio channel with both hedging interceptors."""

    def __init__(self, target: str, stub_class: Any, cfg: HedgeConfig | None = None, **options: Any) -> None:
        self.unary = HedgedUnaryInterceptor(cfg, **options)
        self.stream = HedgedServerStreamInterceptor(cfg, **options)
        self.channel = grpc.aio.insecure_channel(target, interceptors=[self.unary, self.stream])
        self.stub = stub_class(self.channel)

    def interceptor(self, form: str) -> Any:
        return self.stream if form == "stream" else self.unary

    def start(
        self, pb2: Any, form: str, request_id: str, *, eligible: bool = True, timeout: float = NO_HANG
    ) -> Any:
        """Start a call; returns grpc's call object."""
        method = method_for(self.stub, form, eligible)
        return method(request_for(pb2, form, request_id, eligible), timeout=timeout)

    async def call(
        self, pb2: Any, form: str, request_id: str, *, eligible: bool = True, timeout: float = NO_HANG
    ) -> Outcome:
        return await finish(form, self.start(pb2, form, request_id, eligible=eligible, timeout=timeout))

    async def close(self) -> None:
        await self.channel.close()


async def finish(form: str, call: Any) -> Outcome:
    """Await a unary call / read a stream to its end; a status error is part of the outcome."""
    items: list[Any] = []
    try:
        if form == "stream":
            async for item in call:
                items.append(item)
        else:
            items.append(await call)
    except grpc.RpcError as error:
        return Outcome(items, error)
    return Outcome(items, None)


class SyncClient:
    """A sync channel with both hedging interceptors (built from ``cfg``, or sharing ``hedger``)."""

    def __init__(
        self,
        target: str,
        stub_class: Any,
        cfg: HedgeConfig | None = None,
        *,
        hedger: Hedger | None = None,
        **options: Any,
    ) -> None:
        self.unary = SyncHedgedUnaryInterceptor(cfg, hedger=hedger, **options)
        self.stream = SyncHedgedServerStreamInterceptor(cfg, hedger=hedger, **options)
        self.raw = grpc.insecure_channel(target)
        self.channel = grpc.intercept_channel(self.raw, self.unary, self.stream)
        self.stub = stub_class(self.channel)

    def interceptor(self, form: str) -> Any:
        return self.stream if form == "stream" else self.unary

    def future(self, pb2: Any, request_id: str, *, timeout: float = NO_HANG) -> Any:
        return self.stub.GetItem.future(pb2.GetItemRequest(id=request_id), timeout=timeout)

    def call(
        self, pb2: Any, form: str, request_id: str, *, eligible: bool = True, timeout: float = NO_HANG
    ) -> Outcome:
        method = method_for(self.stub, form, eligible)
        request = request_for(pb2, form, request_id, eligible)
        items: list[Any] = []
        try:
            if form == "blocking":
                items.append(method(request, timeout=timeout))
            elif form == "future":
                items.append(method.future(request, timeout=timeout).result())
            else:
                for item in method(request, timeout=timeout):
                    items.append(item)
        except grpc.RpcError as error:
            return Outcome(items, error)
        return Outcome(items, None)

    def close(self) -> None:
        self.channel.close()
        self.unary.close()
        self.stream.close()


def finished(events: EventRecorder) -> list[tuple[int, int | None, str]]:
    """``(attempts started, winner, outcome)`` of every request the engine finished."""
    return [(event.attempts, event.winner, event.outcome) for event in events.of(RequestFinished)]


def sent(events: EventRecorder) -> list[tuple[int, str]]:
    return [(event.attempt, event.reason) for event in events.of(HedgeSent)]


def assert_retried_after_reset(script: Script, outcome: Outcome, events: EventRecorder) -> None:
    """The reset primary was retried by a hedge at once, and the first hedge the server saw answered.

    grpc may hand a hedge sent in the very instant the reset is seen to the
    connection that is going away: that hedge fails UNAVAILABLE without
    reaching the server, and the next one (``max_hedges=2``) goes out at once.
    Either way every hedge was sent for a retryable failure, never by the
    delay, and the caller got an answer.
    """
    assert outcome.error is None, outcome.error
    (winner,) = outcome.attempts
    primary, hedge = script.of("reset")
    assert primary.cancelled
    assert hedge.completed
    assert hedge.attempt == winner
    assert sent(events) == [(attempt, "retry") for attempt in range(1, winner + 1)]
    failed = [(e.attempt, e.verdict) for e in events.of(AttemptFailed)]
    assert failed == [(attempt, Verdict.RETRY) for attempt in range(winner)]
    assert finished(events) == [(winner + 1, winner, "hedge")]


def all_ended(script: Script, request_id: str, count: int) -> Callable[[], bool]:
    """The server saw ``count`` attempts of ``request_id`` and each of them has ended."""

    def check() -> bool:
        seen = script.of(request_id)
        return len(seen) == count and all(s.cancelled or s.completed for s in seen)

    return check


def all_cancelled(script: Script, request_id: str, count: int) -> Callable[[], bool]:
    """The server saw ``count`` attempts of ``request_id`` and each was cancelled before its end."""

    def check() -> bool:
        seen = script.of(request_id)
        return len(seen) == count and all(s.cancelled and not s.completed for s in seen)

    return check


def storm_plans(script: Script, calls: int) -> None:
    for index in range(calls):
        script.script(f"storm-{index}", Plan(code=UNAVAILABLE), Plan(code=UNAVAILABLE))


# ===========================================================================
# asyncio interceptors
# ===========================================================================


@pytest.mark.usefixtures("loop_errors")
class TestAsyncioFaults:
    # -- connection refused ------------------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("eligible", [True, False], ids=["hedged", "passthrough"])
    async def test_connection_refused(
        self, stub_class: Any, pb2: Any, events: EventRecorder, form: str, eligible: bool
    ) -> None:
        # Nothing listens. The delay is far longer than the test: a hedge can only be
        # the retry a non-fatal status sends at once.
        client = AioClient(f"127.0.0.1:{free_port()}", stub_class, config(SLOW))
        leaks = Leaks()
        try:
            outcome = await client.call(pb2, form, "refused", eligible=eligible)
        finally:
            await client.close()

        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert (outcome.items, outcome.code) == ([], UNAVAILABLE)
        snapshot = client.interceptor(form).stats.snapshot()
        if eligible:
            assert sent(events) == [(1, "retry")]
            assert [(e.attempt, e.verdict) for e in events.of(AttemptFailed)] == [
                (0, Verdict.RETRY),
                (1, Verdict.RETRY),
            ]
            assert finished(events) == [(2, 0, "failed")]
            assert (snapshot.total_requests, snapshot.errors, snapshot.hedges_sent) == (1, 1, 1)
        else:
            assert events.events == []
            assert (snapshot.total_requests, snapshot.passthrough_requests) == (0, 1)
        await leaks.check_async()

    # -- UNAVAILABLE storm -------------------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_unavailable_storm_stays_within_the_budget(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        # Every attempt fails UNAVAILABLE. Each failure asks for a retry hedge, paid from a
        # budget of 10% of the calls with no floor: exactly every tenth call gets one.
        calls = 40
        script = aio_server.script
        storm_plans(script, calls)
        client = AioClient(aio_server.target, stub_class, config(SLOW, budget_percent=10.0, budget_floor=0.0))
        leaks = Leaks()
        try:
            outcomes = [await client.call(pb2, form, f"storm-{index}") for index in range(calls)]
        finally:
            await client.close()

        # Every caller sees the primary's status (the server names the attempt in its details).
        assert {status(outcome) for outcome in outcomes} == {(UNAVAILABLE, "attempt 0")}
        assert all(isinstance(outcome.error, grpc.aio.AioRpcError) for outcome in outcomes)
        hedged = [index for index in range(calls) if len(script.of(f"storm-{index}")) == 2]
        assert hedged == [9, 19, 29, 39]
        extra = len(script.seen) - calls
        assert extra == len(hedged) <= calls * 10 // 100
        snapshot = client.interceptor(form).stats.snapshot()
        assert (snapshot.total_requests, snapshot.errors) == (calls, calls)
        assert (snapshot.hedges_sent, snapshot.budget_exhausted) == (extra, calls - extra)
        assert sent(events) == [(1, "retry")] * extra
        assert len(events.of(BudgetDenied)) == calls - extra
        await leaks.check_async()

    async def test_concurrent_unavailable_storm_stays_within_the_budget(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder
    ) -> None:
        # The same storm with every call in flight at once: which calls get a hedge
        # depends on the order they fail in, the total never exceeds 10% of the calls.
        calls = 40
        script = aio_server.script
        storm_plans(script, calls)
        client = AioClient(aio_server.target, stub_class, config(SLOW, budget_percent=10.0, budget_floor=0.0))
        leaks = Leaks()
        try:
            outcomes = await asyncio.gather(
                *(client.call(pb2, "unary", f"storm-{index}") for index in range(calls))
            )
        finally:
            await client.close()

        assert {status(outcome) for outcome in outcomes} == {(UNAVAILABLE, "attempt 0")}
        extra = len(script.seen) - calls
        # The last call to fail finds every deposit made: at least one hedge was paid for.
        assert 1 <= extra <= calls * 10 // 100
        snapshot = client.unary.stats.snapshot()
        assert (snapshot.total_requests, snapshot.errors, snapshot.hedges_sent) == (calls, calls, extra)
        assert len(events.of(HedgeSent)) == extra
        await leaks.check_async()

    # -- the server goes away mid-call -------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("in_flight", [1, 2], ids=["primary-alone", "primary-and-hedge"])
    async def test_server_stopped_mid_call(
        self,
        script: Script,
        catalog: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        in_flight: int,
    ) -> None:
        # The server is stopped with no grace while the call is in flight: grpc fails it
        # UNAVAILABLE. A call that may not be hedged, stopped alongside, is the reference.
        server, port = await start_aio_server(script, *catalog)
        script.script("stopped", Plan(delay=SLOW), Plan(delay=SLOW))
        script.script("reference", Plan(delay=SLOW))
        client = AioClient(f"127.0.0.1:{port}", stub_class, config(SLOW if in_flight == 1 else 0.1))
        leaks = Leaks()
        try:
            hedged = asyncio.ensure_future(client.call(pb2, form, "stopped"))
            reference = asyncio.ensure_future(client.call(pb2, form, "reference", eligible=False))
            await script.until(
                lambda: len(script.of("stopped")) == in_flight and len(script.of("reference")) == 1
            )
            await server.stop(0)
            outcome, unhedged = await hedged, await reference
        finally:
            await client.close()
            await server.stop(None)

        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert unhedged.code is UNAVAILABLE
        assert (outcome.items, status(outcome)) == (unhedged.items, status(unhedged))
        assert all(seen.cancelled for seen in script.of("stopped"))
        if in_flight == 1:
            # The primary's UNAVAILABLE sent the hedge at once, to a server that was gone.
            assert sent(events) == [(1, "retry")]
        else:
            assert sent(events) == [(1, "delay")]
        assert finished(events) == [(2, 0, "failed")]
        await leaks.check_async()

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_connection_reset_mid_call_is_retried_by_a_hedge(
        self, script: Script, catalog: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        # The connection is reset (TCP RST) while the primary waits for its answer. grpc
        # fails the call UNAVAILABLE, as it fails the reference call (one that may not
        # be hedged, on the same connection); that sends the hedge at once, and the first
        # hedge to reach the server answers the caller (see assert_retried_after_reset).
        server, port = await start_aio_server(script, *catalog)
        proxy = ResettingProxy(port)
        script.script("reset", Plan(delay=SLOW), Plan(messages=2), Plan(messages=2))
        script.script("reference", Plan(delay=SLOW))
        client = AioClient(proxy.target, stub_class, config(SLOW, max_hedges=2))
        leaks = Leaks()
        try:
            hedged = asyncio.ensure_future(client.call(pb2, form, "reset"))
            reference = asyncio.ensure_future(client.call(pb2, form, "reference", eligible=False))
            await script.until(lambda: len(script.of("reset")) == 1 and len(script.of("reference")) == 1)
            proxy.reset()
            outcome, unhedged = await hedged, await reference
            await script.until(all_ended(script, "reset", 2))
        finally:
            await client.close()
            proxy.close()
            await server.stop(None)

        assert isinstance(unhedged.error, grpc.aio.AioRpcError) and unhedged.code is UNAVAILABLE
        assert_retried_after_reset(script, outcome, events)
        await leaks.check_async()

    # -- a stream broken once the race is decided ---------------------------------

    @pytest.mark.parametrize("winner", [0, 1], ids=["primary-won", "hedge-won"])
    @pytest.mark.parametrize("breaks", ["status", "server-stop", "connection-reset"])
    async def test_stream_broken_after_its_first_message(
        self,
        script: Script,
        catalog: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        winner: int,
        breaks: str,
    ) -> None:
        # The winner's first message decided the race; then its stream breaks. The
        # caller sees what grpc gives a plain stream broken the same way (the reference,
        # a stream that may not be hedged), and nothing is retried, although
        # UNAVAILABLE is a non-fatal status before the first message.
        server, port = await start_aio_server(script, *catalog)
        proxy = ResettingProxy(port)
        if breaks == "status":
            breaking = Plan(messages=3, break_after=1, code=UNAVAILABLE, details="broken stream")
        else:
            breaking = Plan(messages=2, interval=SLOW)  # the second message never comes
        script.script("broken", *([Plan(delay=SLOW)] * winner), breaking)
        script.script("reference", breaking)
        # The primary wins alone when no hedge can be sent by delay.
        client = AioClient(proxy.target, stub_class, config(SLOW if winner == 0 else 0.1))
        leaks = Leaks()
        try:
            call = client.start(pb2, "stream", "broken")
            plain = client.start(pb2, "stream", "reference", eligible=False)
            first, plain_first = await call.read(), await plain.read()
            if winner:
                await script.until(lambda: script.of("broken")[0].cancelled)  # the loser
            if breaks == "server-stop":
                await server.stop(0)
            elif breaks == "connection-reset":
                proxy.reset()
            outcome, unhedged = await finish("stream", call), await finish("stream", plain)
        finally:
            await client.close()
            proxy.close()
            await server.stop(None)

        assert (first.attempt, first.seq, plain_first.seq) == (winner, 0, 0)
        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert unhedged.code is UNAVAILABLE
        assert (outcome.items, status(outcome)) == (unhedged.items, status(unhedged))
        assert [seen.attempt for seen in script.of("broken")] == list(range(winner + 1))
        assert sent(events) == [(1, "delay")] * winner
        assert finished(events) == [(winner + 1, winner, "primary" if winner == 0 else "hedge")]
        await leaks.check_async()

    # -- a server that never answers, and a deadline -----------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_server_never_answers_and_the_deadline_expires(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        # A 1 ms hedge delay sends both hedges at once, long before the deadline.
        script = aio_server.script
        script.script("never", *[Plan(delay=SLOW)] * 3)
        client = AioClient(aio_server.target, stub_class, config(0.001, max_hedges=2))
        leaks = Leaks()
        try:
            outcome = await client.call(pb2, form, "never", timeout=1.0)
        finally:
            await client.close()

        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert (outcome.items, outcome.code) == ([], DEADLINE_EXCEEDED)
        assert sent(events) == [(1, "delay"), (2, "delay")]
        await script.until(all_cancelled(script, "never", 3))
        [(attempts, _, label)] = finished(events)
        assert (attempts, label) == (3, "failed")
        await leaks.check_async()

    # -- the caller cancels ------------------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("how", ["call", "task"])
    async def test_cancel_before_the_hedge(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str, how: str
    ) -> None:
        script = aio_server.script
        script.script("early", Plan(delay=SLOW))
        client = AioClient(aio_server.target, stub_class, config(SLOW))
        leaks = Leaks()
        try:
            call = client.start(pb2, form, "early")
            task = asyncio.ensure_future(finish(form, call))
            await script.until(lambda: len(script.of("early")) == 1)
            assert (call.cancel() if how == "call" else task.cancel()) is True
            with pytest.raises(asyncio.CancelledError):
                await task
            assert call.cancelled()
            await script.until(all_cancelled(script, "early", 1))
        finally:
            await client.close()

        assert sent(events) == []
        assert finished(events) == [(1, None, "cancelled")]
        assert client.interceptor(form).stats.snapshot().cancelled_requests == 1
        await leaks.check_async()

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("offset", [0.0, 0.01, 0.05])
    async def test_cancel_while_primary_and_hedge_race(
        self,
        aio_server: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        offset: float,
    ) -> None:
        script = aio_server.script
        script.script("racing", Plan(delay=SLOW), Plan(delay=SLOW))
        client = AioClient(aio_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            call = client.start(pb2, form, "racing")
            task = asyncio.ensure_future(finish(form, call))
            await script.until(lambda: len(script.of("racing")) == 2)
            await asyncio.sleep(offset)
            assert call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert call.cancelled()
            await script.until(all_cancelled(script, "racing", 2))
        finally:
            await client.close()

        assert sent(events) == [(1, "delay")]
        assert finished(events) == [(2, None, "cancelled")]
        snapshot = client.interceptor(form).stats.snapshot()
        assert (snapshot.cancelled_requests, snapshot.attempts_cancelled) == (1, 2)
        await leaks.check_async()

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("offset", [-0.05, -0.01, 0.0, 0.01, 0.05])
    async def test_cancel_as_the_hedge_is_sent(
        self,
        aio_server: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        offset: float,
    ) -> None:
        # The caller cancels around the moment the hedge delay expires: whether the
        # hedge went out first depends on timing, but whatever reached the server is
        # cancelled, and the cancellation reaches the caller.
        delay = 0.2
        script = aio_server.script
        script.script("timer", Plan(delay=SLOW), Plan(delay=SLOW))
        client = AioClient(aio_server.target, stub_class, config(delay))
        leaks = Leaks()
        try:
            call = client.start(pb2, form, "timer")
            task = asyncio.ensure_future(finish(form, call))
            await script.until(lambda: len(script.of("timer")) == 1)
            await asyncio.sleep(delay + offset)
            assert call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert call.cancelled()
            await script.until(lambda: len(finished(events)) == 1)
            hedges = len(events.of(HedgeSent))
            # A hedge announced may have been cancelled before it reached the server.
            await script.until(lambda: all(seen.cancelled for seen in script.of("timer")))
            assert 1 <= len(script.of("timer")) <= 1 + hedges
        finally:
            await client.close()

        assert finished(events) == [(1 + hedges, None, "cancelled")]
        await leaks.check_async()

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("point", CANCEL_POINTS, ids=lambda kind: kind.__name__)
    async def test_cancel_at_each_point_of_the_race(
        self,
        aio_server: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        point: type[HedgeEvent],
    ) -> None:
        # The caller cancels from inside the engine: as the hedge is sent, or once the
        # hedge has won (while the primary is booked as lost, or just after). A winning
        # hedge answers at once; its stream would go on for minutes if nothing cancelled it.
        script = aio_server.script
        hedge = Plan(delay=SLOW) if point is HedgeSent else Plan(messages=3, interval=SLOW)
        script.script("point", Plan(delay=SLOW), hedge)
        client = AioClient(aio_server.target, stub_class, config(0.1))
        leaks = Leaks()
        with _Plugged(CancelOnEvent(point)) as canceller:
            try:
                call = client.start(pb2, form, "point")
                canceller.arm(call.cancel)
                with pytest.raises(asyncio.CancelledError):
                    await finish(form, call)
                assert canceller.result is True
                assert call.cancelled()
                # Every attempt that reached the server ends, and nothing is left streaming.
                await script.until(
                    lambda: (
                        script.of("point")
                        and all(
                            seen.cancelled or (form == "unary" and seen.completed)
                            for seen in script.of("point")
                        )
                    )
                )
            finally:
                await client.close()

        seen = script.of("point")
        assert seen[0].cancelled and not seen[0].completed
        if point is HedgeSent:
            assert len(seen) <= 2 and not any(s.completed for s in seen)
        else:
            assert len(seen) == 2
        await leaks.check_async()

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("offset", ANSWER_OFFSETS)
    async def test_cancel_around_the_winners_answer(
        self,
        aio_server: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        offset: float,
    ) -> None:
        # The hedge answers 0.2 s after it arrives; the caller cancels around then. It
        # either left first (CancelledError) or got the hedge's answer; either way the
        # primary is cancelled at the server and nothing keeps running.
        answer = 0.2
        script = aio_server.script
        script.script("close-call", Plan(delay=SLOW), Plan(delay=answer, messages=3, interval=SLOW))
        client = AioClient(aio_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            call = client.start(pb2, form, "close-call")
            task = asyncio.ensure_future(call.read() if form == "stream" else finish(form, call))
            await script.until(lambda: len(script.of("close-call")) == 2)
            await asyncio.sleep(answer + offset)
            cancelled = call.cancel()
            result = (await asyncio.gather(task, return_exceptions=True))[0]
            if isinstance(result, asyncio.CancelledError):
                assert cancelled and call.cancelled()
            elif form == "unary":
                # The answer had been delivered: nothing was left to cancel.
                assert isinstance(result, Outcome)
                assert not cancelled and result.items[0].attempt == 1
            else:
                # The first message had been delivered; cancel() stopped the winning stream.
                assert not isinstance(result, BaseException)
                assert cancelled and result.attempt == 1
                with pytest.raises(asyncio.CancelledError):
                    await call.read()
            await script.until(
                lambda: all(
                    seen.cancelled or (form == "unary" and seen.completed) for seen in script.of("close-call")
                )
            )
        finally:
            await client.close()

        assert script.of("close-call")[0].cancelled
        assert len(finished(events)) == 1
        await leaks.check_async()

    async def test_cancelling_the_stream_as_soon_as_it_is_returned(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder
    ) -> None:
        # The race is decided (the winner's first message is held for the caller) and the
        # caller cancels before reading: reading raises CancelledError, as it does for
        # grpc's own stream (the reference, a stream that may not be hedged).
        script = aio_server.script
        script.script("stop-at-once", Plan(delay=SLOW), Plan(messages=3, interval=SLOW))
        script.script("reference", Plan(messages=3, interval=SLOW))
        client = AioClient(aio_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            call = client.start(pb2, "stream", "stop-at-once")
            plain = client.start(pb2, "stream", "reference", eligible=False)
            # Initial metadata comes once the interceptor has returned the winner.
            await call.initial_metadata(), await plain.initial_metadata()
            await script.until(lambda: script.of("stop-at-once")[0].cancelled)
            assert call.cancel() and plain.cancel()
            with pytest.raises(asyncio.CancelledError):
                await plain.read()
            with pytest.raises(asyncio.CancelledError):
                await call.read()
            assert call.cancelled()
            await script.until(all_cancelled(script, "stop-at-once", 2))
        finally:
            await client.close()

        assert finished(events) == [(2, 1, "hedge")]
        await leaks.check_async()

    # -- attempts that end together, or fail differently --------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_attempts_finishing_in_the_same_instant(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        # The server holds the primary until the hedge arrives, then lets both answer
        # together. Exactly one answer reaches the caller; the other attempt is lost
        # (cancelled in flight, or finished and released). Streams send one message and
        # then nothing, so a loser that is not cancelled would show at the server.
        rounds = 5
        script = aio_server.script
        plan = Plan(gate=2) if form == "unary" else Plan(gate=2, messages=2, interval=SLOW)
        for round_ in range(rounds):
            script.script(f"tie-{round_}", plan, plan)
        client = AioClient(aio_server.target, stub_class, config(0.1))
        leaks = Leaks()
        winners = []
        try:
            for round_ in range(rounds):
                request_id = f"tie-{round_}"
                call = client.start(pb2, form, request_id)
                if form == "unary":
                    winners.append((await call).attempt)
                    await script.until(all_ended(script, request_id, 2))
                else:
                    winner = (await call.read()).attempt
                    winners.append(winner)
                    loser = script.of(request_id)[1 - winner]
                    await script.until(lambda loser=loser: loser.cancelled)
                    assert call.cancel()
                    await script.until(all_cancelled(script, request_id, 2))
        finally:
            await client.close()

        assert set(winners) <= {0, 1}
        assert [event.attempt for event in events.of(AttemptWon)] == winners
        assert [event.attempt for event in events.of(AttemptLost)] == [1 - winner for winner in winners]
        snapshot = client.interceptor(form).stats.snapshot()
        assert snapshot.total_requests == rounds
        assert (snapshot.primary_wins, snapshot.hedge_wins) == (winners.count(0), winners.count(1))
        await leaks.check_async()

    @pytest.mark.parametrize("form", AIO_FORMS)
    @pytest.mark.parametrize("first", ["primary", "hedge"], ids=["primary-fails-first", "hedge-fails-first"])
    @pytest.mark.parametrize("primary_code", [UNAVAILABLE, RESOURCE_EXHAUSTED], ids=lambda code: code.name)
    async def test_both_attempts_fail_with_different_non_fatal_codes(
        self,
        aio_server: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        first: str,
        primary_code: grpc.StatusCode,
    ) -> None:
        hedge_code = RESOURCE_EXHAUSTED if primary_code is UNAVAILABLE else UNAVAILABLE
        if first == "primary":
            # The hedge is sent only as the retry of the primary's failure.
            delay = SLOW
            primary = Plan(code=primary_code, details="primary failed")
            hedge = Plan(code=hedge_code, details="hedge failed")
        else:
            # Both are held until the hedge arrives; the primary fails 0.3 s after the hedge.
            delay = 0.1
            primary = Plan(gate=2, delay=0.3, code=primary_code, details="primary failed")
            hedge = Plan(gate=2, code=hedge_code, details="hedge failed")
        script = aio_server.script
        script.script("both-fail", primary, hedge)
        client = AioClient(
            aio_server.target,
            stub_class,
            config(delay),
            non_fatal_status_codes=[UNAVAILABLE, RESOURCE_EXHAUSTED],
        )
        leaks = Leaks()
        try:
            outcome = await client.call(pb2, form, "both-fail")
        finally:
            await client.close()

        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert status(outcome) == (primary_code, "primary failed")
        assert [seen.attempt for seen in script.of("both-fail")] == [0, 1]
        assert sorted((e.attempt, e.verdict) for e in events.of(AttemptFailed)) == [
            (0, Verdict.RETRY),
            (1, Verdict.RETRY),
        ]
        assert finished(events) == [(2, 0, "failed")]
        await leaks.check_async()

    # -- a host that does not resolve ----------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_unresolvable_host(
        self, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        client = AioClient(UNRESOLVABLE, stub_class, config(SLOW))
        leaks = Leaks()
        try:
            outcome = await client.call(pb2, form, "nowhere")
        finally:
            await client.close()

        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert outcome.code is UNAVAILABLE
        assert "nonexistent.invalid" in (outcome.details or "")
        # One retry, as max_hedges allows, and no more.
        assert sent(events) == [(1, "retry")]
        assert finished(events) == [(2, 0, "failed")]
        await leaks.check_async()

    # -- a fatal status from the hedge --------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_fatal_status_from_the_hedge_while_the_primary_is_slow(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        script = aio_server.script
        script.script("fatal", Plan(delay=SLOW), Plan(code=NOT_FOUND, details="no such item"))
        client = AioClient(aio_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            outcome = await client.call(pb2, form, "fatal")
            await script.until(lambda: script.of("fatal")[0].cancelled)
        finally:
            await client.close()

        assert isinstance(outcome.error, grpc.aio.AioRpcError)
        assert (outcome.items, status(outcome)) == ([], (NOT_FOUND, "no such item"))
        primary, hedge = script.of("fatal")
        assert primary.cancelled and not primary.completed and hedge.completed
        assert [(e.attempt, e.verdict) for e in events.of(AttemptFailed)] == [(1, Verdict.FATAL)]
        assert [(e.attempt, e.completed) for e in events.of(AttemptLost)] == [(0, False)]
        assert finished(events) == [(2, 1, "failed")]
        await leaks.check_async()

    # -- many calls at once ---------------------------------------------------------

    @pytest.mark.parametrize("form", AIO_FORMS)
    async def test_many_concurrent_calls_on_one_channel(
        self, aio_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        # 300 calls in flight on one channel (HEDGE_KIT_IN_FLIGHT in the full reliability
        # profile), one in twenty with a primary that never answers. A fast primary slowed
        # by the load may be hedged too: the counts are checked against what each caller
        # received, not against a guess.
        count = int(os.environ.get("HEDGE_KIT_IN_FLIGHT", "300"))
        script = aio_server.script
        for index in range(count):
            plans = (Plan(delay=SLOW), Plan(messages=2)) if index % 20 == 0 else (Plan(messages=2),)
            script.script(f"load-{index}", *plans)
        client = AioClient(aio_server.target, stub_class, config(1.0))
        leaks = Leaks()
        try:
            outcomes = await asyncio.gather(
                *(client.call(pb2, form, f"load-{index}") for index in range(count))
            )
            slow = [f"load-{index}" for index in range(0, count, 20)]
            await script.until(lambda: all(script.of(request_id)[0].cancelled for request_id in slow))
        finally:
            await client.close()

        for index, outcome in enumerate(outcomes):
            assert outcome.error is None, (index, outcome)
            assert {item.id for item in outcome.items} == {f"load-{index}"}
            assert len(outcome.attempts) == 1
            if form == "stream":
                assert [item.seq for item in outcome.items] == [0, 1]
            if index % 20 == 0:
                assert outcome.attempts == {1}
        won_by_hedges = sum(outcome.attempts != {0} for outcome in outcomes)
        snapshot = client.interceptor(form).stats.snapshot()
        assert (snapshot.total_requests, snapshot.errors, snapshot.cancelled_requests) == (count, 0, 0)
        assert (snapshot.primary_wins, snapshot.hedge_wins) == (count - won_by_hedges, won_by_hedges)
        assert won_by_hedges >= count // 20
        assert snapshot.hedges_sent == len(events.of(HedgeSent)) >= count // 20
        assert count + count // 20 <= len(script.seen) <= count + snapshot.hedges_sent
        await leaks.check_async()


# ===========================================================================
# sync interceptors
# ===========================================================================


def raised_by_grpc(outcome: Outcome) -> bool:
    """The sync error is grpc's own: an ``RpcError`` that is also the failed ``grpc.Call``."""
    return isinstance(outcome.error, grpc.RpcError) and isinstance(outcome.error, grpc.Call)


class TestSyncFaults:
    # -- connection refused ------------------------------------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    @pytest.mark.parametrize("eligible", [True, False], ids=["hedged", "passthrough"])
    def test_connection_refused(
        self, stub_class: Any, pb2: Any, events: EventRecorder, form: str, eligible: bool
    ) -> None:
        client = SyncClient(f"127.0.0.1:{free_port()}", stub_class, config(SLOW))
        leaks = Leaks()
        try:
            outcome = client.call(pb2, form, "refused", eligible=eligible)
        finally:
            client.close()

        assert raised_by_grpc(outcome)
        assert (outcome.items, outcome.code) == ([], UNAVAILABLE)
        snapshot = client.interceptor(form).stats.snapshot()
        if eligible:
            assert sent(events) == [(1, "retry")]
            assert finished(events) == [(2, 0, "failed")]
            assert (snapshot.total_requests, snapshot.errors, snapshot.hedges_sent) == (1, 1, 1)
        else:
            assert events.events == []
            assert (snapshot.total_requests, snapshot.passthrough_requests) == (0, 1)
        leaks.check()

    # -- UNAVAILABLE storm -------------------------------------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    def test_unavailable_storm_stays_within_the_budget(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        calls = 40
        script = sync_server.script
        storm_plans(script, calls)
        client = SyncClient(
            sync_server.target, stub_class, config(SLOW, budget_percent=10.0, budget_floor=0.0)
        )
        leaks = Leaks()
        try:
            outcomes = [client.call(pb2, form, f"storm-{index}") for index in range(calls)]
        finally:
            client.close()

        assert {status(outcome) for outcome in outcomes} == {(UNAVAILABLE, "attempt 0")}
        assert all(raised_by_grpc(outcome) for outcome in outcomes)
        hedged = [index for index in range(calls) if len(script.of(f"storm-{index}")) == 2]
        assert hedged == [9, 19, 29, 39]
        extra = len(script.seen) - calls
        assert extra == len(hedged) <= calls * 10 // 100
        snapshot = client.interceptor(form).stats.snapshot()
        assert (snapshot.total_requests, snapshot.errors) == (calls, calls)
        assert (snapshot.hedges_sent, snapshot.budget_exhausted) == (extra, calls - extra)
        assert sent(events) == [(1, "retry")] * extra
        assert len(events.of(BudgetDenied)) == calls - extra
        leaks.check()

    # -- the server goes away mid-call -------------------------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    @pytest.mark.parametrize("in_flight", [1, 2], ids=["primary-alone", "primary-and-hedge"])
    def test_server_stopped_mid_call(
        self,
        script: Script,
        catalog: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        in_flight: int,
    ) -> None:
        server, port = start_sync_server(script, *catalog)
        script.script("stopped", Plan(delay=SLOW), Plan(delay=SLOW))
        script.script("reference", Plan(delay=SLOW))
        client = SyncClient(f"127.0.0.1:{port}", stub_class, config(SLOW if in_flight == 1 else 0.1))
        leaks = Leaks()
        results: dict[str, Outcome] = {}
        callers = [
            threading.Thread(target=lambda: results.update(hedged=client.call(pb2, form, "stopped"))),
            threading.Thread(
                target=lambda: results.update(plain=client.call(pb2, form, "reference", eligible=False))
            ),
        ]
        try:
            for caller in callers:
                caller.start()
            script.wait(lambda: len(script.of("stopped")) == in_flight and len(script.of("reference")) == 1)
            server.stop(0).wait()
            for caller in callers:
                caller.join(SETTLE)
        finally:
            client.close()
            server.stop(None).wait()

        outcome, unhedged = results["hedged"], results["plain"]
        assert raised_by_grpc(outcome)
        assert unhedged.code is UNAVAILABLE
        assert (outcome.items, status(outcome)) == (unhedged.items, status(unhedged))
        assert all(seen.cancelled for seen in script.of("stopped"))
        assert sent(events) == [(1, "retry" if in_flight == 1 else "delay")]
        assert finished(events) == [(2, 0, "failed")]
        leaks.check()

    @pytest.mark.parametrize("form", SYNC_FORMS)
    def test_connection_reset_mid_call_is_retried_by_a_hedge(
        self, script: Script, catalog: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        # The connection is reset (TCP RST) while the primary waits for its answer. grpc
        # fails the call UNAVAILABLE, as it fails the reference call (one that may not
        # be hedged, on the same connection); that sends the hedge at once, and the first
        # hedge to reach the server answers the caller (see assert_retried_after_reset).
        server, port = start_sync_server(script, *catalog)
        proxy = ResettingProxy(port)
        script.script("reset", Plan(delay=SLOW), Plan(messages=2), Plan(messages=2))
        script.script("reference", Plan(delay=SLOW))
        client = SyncClient(proxy.target, stub_class, config(SLOW, max_hedges=2))
        leaks = Leaks()
        results: dict[str, Outcome] = {}
        callers = [
            threading.Thread(target=lambda: results.update(hedged=client.call(pb2, form, "reset"))),
            threading.Thread(
                target=lambda: results.update(plain=client.call(pb2, form, "reference", eligible=False))
            ),
        ]
        try:
            for caller in callers:
                caller.start()
            script.wait(lambda: len(script.of("reset")) == 1 and len(script.of("reference")) == 1)
            proxy.reset()
            for caller in callers:
                caller.join(SETTLE)
            script.wait(all_ended(script, "reset", 2))
        finally:
            client.close()
            proxy.close()
            server.stop(None).wait()

        outcome, unhedged = results["hedged"], results["plain"]
        assert raised_by_grpc(unhedged) and unhedged.code is UNAVAILABLE
        assert_retried_after_reset(script, outcome, events)
        leaks.check()

    # -- a stream broken once the race is decided ---------------------------------

    @pytest.mark.parametrize("winner", [0, 1], ids=["primary-won", "hedge-won"])
    @pytest.mark.parametrize("breaks", ["status", "server-stop", "connection-reset"])
    def test_stream_broken_after_its_first_message(
        self,
        script: Script,
        catalog: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        winner: int,
        breaks: str,
    ) -> None:
        server, port = start_sync_server(script, *catalog)
        proxy = ResettingProxy(port)
        if breaks == "status":
            breaking = Plan(messages=3, break_after=1, code=UNAVAILABLE, details="broken stream")
        else:
            breaking = Plan(messages=2, interval=SLOW)
        script.script("broken", *([Plan(delay=SLOW)] * winner), breaking)
        script.script("reference", breaking)
        client = SyncClient(proxy.target, stub_class, config(SLOW if winner == 0 else 0.1))
        leaks = Leaks()
        try:
            stream = client.stub.WatchItem(pb2.GetItemRequest(id="broken"), timeout=NO_HANG)
            plain = client.stub.ExportItems(pb2.GetItemRequest(id="reference"), timeout=NO_HANG)
            first, plain_first = next(stream), next(plain)
            if winner:
                script.wait(lambda: script.of("broken")[0].cancelled)
            if breaks == "server-stop":
                server.stop(0).wait()
            elif breaks == "connection-reset":
                proxy.reset()
            outcome, unhedged = _drain(stream), _drain(plain)
        finally:
            client.close()
            proxy.close()
            server.stop(None).wait()

        assert (first.attempt, first.seq, plain_first.seq) == (winner, 0, 0)
        assert raised_by_grpc(outcome)
        assert unhedged.code is UNAVAILABLE
        assert (outcome.items, status(outcome)) == (unhedged.items, status(unhedged))
        assert [seen.attempt for seen in script.of("broken")] == list(range(winner + 1))
        assert sent(events) == [(1, "delay")] * winner
        assert finished(events) == [(winner + 1, winner, "primary" if winner == 0 else "hedge")]
        leaks.check()

    # -- a server that never answers, and a deadline -----------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    def test_server_never_answers_and_the_deadline_expires(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        script = sync_server.script
        script.script("never", *[Plan(delay=SLOW)] * 3)
        client = SyncClient(sync_server.target, stub_class, config(0.001, max_hedges=2))
        leaks = Leaks()
        try:
            outcome = client.call(pb2, form, "never", timeout=1.0)
        finally:
            client.close()

        assert raised_by_grpc(outcome)
        assert (outcome.items, outcome.code) == ([], DEADLINE_EXCEEDED)
        assert sent(events) == [(1, "delay"), (2, "delay")]
        script.wait(all_cancelled(script, "never", 3))
        [(attempts, _, label)] = finished(events)
        assert (attempts, label) == (3, "failed")
        leaks.check()

    # -- the caller cancels a future ------------------------------------------------

    def test_cancel_before_the_hedge(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder
    ) -> None:
        script = sync_server.script
        script.script("early", Plan(delay=SLOW))
        client = SyncClient(sync_server.target, stub_class, config(SLOW))
        leaks = Leaks()
        try:
            future = client.future(pb2, "early")
            script.wait(lambda: len(script.of("early")) == 1)
            assert future.cancel() is True
            assert future.cancelled() and future.done()
            with pytest.raises(grpc.FutureCancelledError):
                future.result()
            script.wait(all_cancelled(script, "early", 1))
            script.wait(lambda: len(finished(events)) == 1)
        finally:
            client.close()

        assert sent(events) == []
        leaks.check()

    @pytest.mark.parametrize("offset", [0.0, 0.01, 0.05])
    def test_cancel_while_primary_and_hedge_race(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, offset: float
    ) -> None:
        script = sync_server.script
        script.script("racing", Plan(delay=SLOW), Plan(delay=SLOW))
        client = SyncClient(sync_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            future = client.future(pb2, "racing")
            script.wait(lambda: len(script.of("racing")) == 2)
            time.sleep(offset)
            assert future.cancel() is True
            with pytest.raises(grpc.FutureCancelledError):
                future.result()
            script.wait(all_cancelled(script, "racing", 2))
            script.wait(lambda: len(finished(events)) == 1)
        finally:
            client.close()

        assert sent(events) == [(1, "delay")]
        leaks.check()

    @pytest.mark.parametrize("offset", [-0.05, -0.01, 0.0, 0.01, 0.05])
    def test_cancel_as_the_hedge_is_sent(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, offset: float
    ) -> None:
        delay = 0.2
        script = sync_server.script
        script.script("timer", Plan(delay=SLOW), Plan(delay=SLOW))
        client = SyncClient(sync_server.target, stub_class, config(delay))
        leaks = Leaks()
        try:
            future = client.future(pb2, "timer")
            script.wait(lambda: len(script.of("timer")) == 1)
            time.sleep(delay + offset)
            assert future.cancel() is True
            with pytest.raises(grpc.FutureCancelledError):
                future.result()
            script.wait(lambda: len(finished(events)) == 1)
            hedges = len(events.of(HedgeSent))
            script.wait(lambda: all(seen.cancelled for seen in script.of("timer")))
            assert 1 <= len(script.of("timer")) <= 1 + hedges
        finally:
            client.close()

        assert finished(events)[0][0] == 1 + hedges
        leaks.check()

    @pytest.mark.parametrize("point", CANCEL_POINTS, ids=lambda kind: kind.__name__)
    def test_cancel_at_each_point_of_the_race(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, point: type[HedgeEvent]
    ) -> None:
        script = sync_server.script
        script.script("point", Plan(delay=SLOW), Plan())
        client = SyncClient(sync_server.target, stub_class, config(0.1))
        leaks = Leaks()
        with _Plugged(CancelOnEvent(point)) as canceller:
            try:
                future = client.future(pb2, "point")
                canceller.arm(future.cancel)
                with pytest.raises(grpc.FutureCancelledError):
                    future.result()
                assert canceller.fired.wait(SETTLE) and canceller.result is True
                assert future.cancelled()
                script.wait(
                    lambda: (
                        script.of("point")
                        and all(seen.cancelled or seen.completed for seen in script.of("point"))
                    )
                )
                script.wait(lambda: len(finished(events)) == 1)
            finally:
                client.close()

        seen = script.of("point")
        assert seen[0].cancelled and not seen[0].completed
        assert len(seen) == (1 if point is HedgeSent else 2)
        leaks.check()

    @pytest.mark.parametrize("offset", ANSWER_OFFSETS)
    def test_cancel_around_the_winners_answer(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, offset: float
    ) -> None:
        answer = 0.2
        script = sync_server.script
        script.script("close-call", Plan(delay=SLOW), Plan(delay=answer))
        client = SyncClient(sync_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            future = client.future(pb2, "close-call")
            script.wait(lambda: len(script.of("close-call")) == 2)
            time.sleep(answer + offset)
            if future.cancel():
                assert future.cancelled()
                with pytest.raises(grpc.FutureCancelledError):
                    future.result()
            else:
                assert not future.cancelled() and future.result().attempt == 1
            script.wait(lambda: all(seen.cancelled or seen.completed for seen in script.of("close-call")))
            script.wait(lambda: len(finished(events)) == 1)
        finally:
            client.close()

        assert script.of("close-call")[0].cancelled
        leaks.check()

    def test_cancelling_the_stream_as_soon_as_it_is_returned(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder
    ) -> None:
        # A sync stream is returned once the race is decided: cancelling it then, before
        # reading, stops the winner, and reading raises CANCELLED as grpc's own does.
        script = sync_server.script
        script.script("stop-at-once", Plan(delay=SLOW), Plan(messages=3, interval=SLOW))
        script.script("reference", Plan(messages=3, interval=SLOW))
        client = SyncClient(sync_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            stream = client.stub.WatchItem(pb2.GetItemRequest(id="stop-at-once"), timeout=NO_HANG)
            plain = client.stub.ExportItems(pb2.GetItemRequest(id="reference"), timeout=NO_HANG)
            script.wait(lambda: len(script.of("reference")) == 1)
            assert stream.cancel() and plain.cancel()
            outcome, unhedged = _drain(stream), _drain(plain)
            script.wait(all_cancelled(script, "stop-at-once", 2))
        finally:
            client.close()

        assert unhedged.items == [] and unhedged.code is grpc.StatusCode.CANCELLED
        assert (outcome.items, outcome.code) == (unhedged.items, unhedged.code)
        assert stream.cancelled()
        leaks.check()

    # -- attempts that end together, or fail differently --------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    def test_attempts_finishing_in_the_same_instant(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        rounds = 5
        script = sync_server.script
        plan = Plan(gate=2, messages=2, interval=SLOW) if form == "stream" else Plan(gate=2)
        for round_ in range(rounds):
            script.script(f"tie-{round_}", plan, plan)
        client = SyncClient(sync_server.target, stub_class, config(0.1))
        leaks = Leaks()
        winners = []
        try:
            for round_ in range(rounds):
                request_id = f"tie-{round_}"
                if form == "stream":
                    stream = client.stub.WatchItem(pb2.GetItemRequest(id=request_id), timeout=NO_HANG)
                    winner = next(stream).attempt
                    winners.append(winner)
                    loser = script.of(request_id)[1 - winner]
                    script.wait(lambda loser=loser: loser.cancelled)
                    assert stream.cancel()
                    script.wait(all_cancelled(script, request_id, 2))
                else:
                    [reply] = client.call(pb2, form, request_id).items
                    winners.append(reply.attempt)
                    script.wait(all_ended(script, request_id, 2))
                script.wait(lambda done=round_ + 1: len(finished(events)) == done)
        finally:
            client.close()

        assert set(winners) <= {0, 1}
        assert [event.attempt for event in events.of(AttemptWon)] == winners
        assert [event.attempt for event in events.of(AttemptLost)] == [1 - winner for winner in winners]
        snapshot = client.interceptor(form).stats.snapshot()
        assert snapshot.total_requests == rounds
        assert (snapshot.primary_wins, snapshot.hedge_wins) == (winners.count(0), winners.count(1))
        leaks.check()

    @pytest.mark.parametrize("form", SYNC_FORMS)
    @pytest.mark.parametrize("first", ["primary", "hedge"], ids=["primary-fails-first", "hedge-fails-first"])
    @pytest.mark.parametrize("primary_code", [UNAVAILABLE, RESOURCE_EXHAUSTED], ids=lambda code: code.name)
    def test_both_attempts_fail_with_different_non_fatal_codes(
        self,
        sync_server: Any,
        stub_class: Any,
        pb2: Any,
        events: EventRecorder,
        form: str,
        first: str,
        primary_code: grpc.StatusCode,
    ) -> None:
        hedge_code = RESOURCE_EXHAUSTED if primary_code is UNAVAILABLE else UNAVAILABLE
        if first == "primary":
            delay = SLOW
            primary = Plan(code=primary_code, details="primary failed")
            hedge = Plan(code=hedge_code, details="hedge failed")
        else:
            delay = 0.1
            primary = Plan(gate=2, delay=0.3, code=primary_code, details="primary failed")
            hedge = Plan(gate=2, code=hedge_code, details="hedge failed")
        script = sync_server.script
        script.script("both-fail", primary, hedge)
        client = SyncClient(
            sync_server.target,
            stub_class,
            config(delay),
            non_fatal_status_codes=[UNAVAILABLE, RESOURCE_EXHAUSTED],
        )
        leaks = Leaks()
        try:
            outcome = client.call(pb2, form, "both-fail")
        finally:
            client.close()

        assert raised_by_grpc(outcome)
        assert status(outcome) == (primary_code, "primary failed")
        assert [seen.attempt for seen in script.of("both-fail")] == [0, 1]
        assert sorted((e.attempt, e.verdict) for e in events.of(AttemptFailed)) == [
            (0, Verdict.RETRY),
            (1, Verdict.RETRY),
        ]
        assert finished(events) == [(2, 0, "failed")]
        leaks.check()

    # -- a host that does not resolve ----------------------------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    def test_unresolvable_host(self, stub_class: Any, pb2: Any, events: EventRecorder, form: str) -> None:
        client = SyncClient(UNRESOLVABLE, stub_class, config(SLOW))
        leaks = Leaks()
        try:
            outcome = client.call(pb2, form, "nowhere")
        finally:
            client.close()

        assert raised_by_grpc(outcome)
        assert outcome.code is UNAVAILABLE
        assert "nonexistent.invalid" in (outcome.details or "")
        assert sent(events) == [(1, "retry")]
        assert finished(events) == [(2, 0, "failed")]
        leaks.check()

    # -- a fatal status from the hedge --------------------------------------------

    @pytest.mark.parametrize("form", SYNC_FORMS)
    def test_fatal_status_from_the_hedge_while_the_primary_is_slow(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder, form: str
    ) -> None:
        script = sync_server.script
        script.script("fatal", Plan(delay=SLOW), Plan(code=NOT_FOUND, details="no such item"))
        client = SyncClient(sync_server.target, stub_class, config(0.1))
        leaks = Leaks()
        try:
            outcome = client.call(pb2, form, "fatal")
            script.wait(lambda: script.of("fatal")[0].cancelled)
        finally:
            client.close()

        assert raised_by_grpc(outcome)
        assert (outcome.items, status(outcome)) == ([], (NOT_FOUND, "no such item"))
        primary, hedge = script.of("fatal")
        assert primary.cancelled and not primary.completed and hedge.completed
        assert [(e.attempt, e.verdict) for e in events.of(AttemptFailed)] == [(1, Verdict.FATAL)]
        assert [(e.attempt, e.completed) for e in events.of(AttemptLost)] == [(0, False)]
        assert finished(events) == [(2, 1, "failed")]
        leaks.check()

    # -- one channel shared by threads ----------------------------------------------

    def test_one_channel_shared_by_threads(
        self, sync_server: Any, stub_class: Any, pb2: Any, events: EventRecorder
    ) -> None:
        # 8 threads make 40 calls each on one channel, the three forms in turn across
        # threads, one call in twenty with a primary that never answers. Both
        # interceptors share one Hedger, so its counters cover every call.
        threads, per_thread = 8, 40
        script = sync_server.script
        for thread in range(threads):
            for index in range(per_thread):
                slow = (Plan(delay=SLOW), Plan(messages=2)) if index % 20 == 0 else (Plan(messages=2),)
                script.script(f"t{thread}-{index}", *slow)
        hedger = Hedger(config(1.0, key_level="endpoint"))
        client = SyncClient(sync_server.target, stub_class, hedger=hedger)
        leaks = Leaks()
        outcomes: dict[str, Outcome] = {}
        failures: list[BaseException] = []

        def work(thread: int) -> None:
            form = SYNC_FORMS[thread % len(SYNC_FORMS)]
            try:
                for index in range(per_thread):
                    request_id = f"t{thread}-{index}"
                    outcomes[request_id] = client.call(pb2, form, request_id)
            except BaseException as exc:  # reported below
                failures.append(exc)

        workers = [threading.Thread(target=work, args=(thread,)) for thread in range(threads)]
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(120)
            slow_ids = [f"t{t}-{i}" for t in range(threads) for i in range(0, per_thread, 20)]
            script.wait(lambda: all(script.of(request_id)[0].cancelled for request_id in slow_ids))
        finally:
            client.close()
            hedger.close()

        assert failures == []
        assert len(outcomes) == threads * per_thread
        for request_id, outcome in outcomes.items():
            assert outcome.error is None, (request_id, outcome)
            assert {item.id for item in outcome.items} == {request_id}
            assert len(outcome.attempts) == 1
            if request_id.split("-")[0] in {f"t{t}" for t in range(2, threads, 3)}:
                assert [item.seq for item in outcome.items] == [0, 1]  # the stream threads
            if int(request_id.split("-")[1]) % 20 == 0:
                assert outcome.attempts == {1}
        total = threads * per_thread
        won_by_hedges = sum(outcome.attempts != {0} for outcome in outcomes.values())
        snapshot = hedger.stats.snapshot()
        assert (snapshot.total_requests, snapshot.errors, snapshot.cancelled_requests) == (total, 0, 0)
        assert (snapshot.primary_wins, snapshot.hedge_wins) == (total - won_by_hedges, won_by_hedges)
        assert won_by_hedges >= total // 20
        assert snapshot.hedges_sent == len(events.of(HedgeSent)) >= total // 20
        leaks.check()


def _drain(stream: Any) -> Outcome:
    items: list[Any] = []
    try:
        for item in stream:
            items.append(item)
    except grpc.RpcError as error:
        return Outcome(items, error)
    return Outcome(items, None)
