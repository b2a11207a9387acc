"""Hedger: the framework-neutral race engine that every adapter drives.

An adapter describes each request (:class:`~hedge.RequestInfo`) and hands the
engine a *send* function that makes one attempt. The engine decides whether
the request may be hedged, starts the primary, sends hedges after the
learned delay (or at once after a retryable failure) while the budget pays,
returns the first accepted outcome, and cancels and releases every other
attempt. :meth:`Hedger.run` does it on asyncio, :meth:`Hedger.run_sync` with
threads; both follow the same :class:`~hedge._call.Call` policy.

State and costs: per latency key a windowed sketch and a cached delay, per
target a budget, both in LRUs bounded by ``config.max_keys``, guarded by one
short lock so a Hedger may be shared by threads and event loops; per event
loop one shared hedge timer (:mod:`hedge._timers`), held weakly. Nothing
runs in the background. On asyncio a request that needs no hedge costs a
key lookup, a cached delay, a deadline on the shared timer, three short
lock sections (begin, the latency sample, the counters) and no task on
Python 3.11+ (measured by the core microbenchmark). Requests that may not
be hedged go straight to ``send``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._attempt import Attempt
from ._budget import Budget, ProportionalBudget, TokenBucketBudget
from ._call import Call
from ._clock import Clock, monotonic
from ._config import HedgeConfig
from ._delay import DelayEstimator
from ._keys import RequestInfo, endpoint_of
from ._lru import BoundedLRU
from ._outcome import Classifier
from ._race_async import race
from ._race_sync import race_sync
from ._stats import Stats
from ._timers import LoopTimers
from .events import DelayChanged, HedgeEvent

if TYPE_CHECKING:
    from ._workers import WorkerPool
    from .plugins import HedgePluginManager

__all__ = ["Hedger"]

T = TypeVar("T")

Release = Callable[[T], "Awaitable[None] | None"]
"""Closes a result that will not reach the caller (sync, or async returning an awaitable)."""

_DEFAULT_CLASSIFIER: Classifier[Any] = Classifier()


class _NoPlugins:
    __slots__ = ()
    generation = -1
    request_key = None
    should_hedge = None
    emit = None


_NO_PLUGINS = _NoPlugins()


def _forget(
    registry: dict[int, weakref.ref[LoopTimers]], key: int
) -> Callable[[weakref.ref[LoopTimers]], None]:
    """The weak reference callback that drops a dead LoopTimers' entry (and only its own)."""

    def forget(ref: weakref.ref[LoopTimers]) -> None:
        if registry.get(key) is ref:
            registry.pop(key, None)

    return forget


class _KeyState:
    """Per latency key: the delay estimator and the delay last reported."""

    __slots__ = ("estimator", "reported_delay")

    def __init__(self, config: HedgeConfig, now: float) -> None:
        self.estimator = DelayEstimator(config, now)
        self.reported_delay: float | None = None


class Hedger:
    """Runs requests as races of attempts, under one :class:`HedgeConfig`.

    Args:
        config: the policy (default ``HedgeConfig()``).
        clock: the time source for estimates and budgets (default
            :func:`time.monotonic`). The async driver's timers use the event
            loop, so a fake clock belongs with a loop that follows it
            (:func:`hedge.testing.run_virtual`).
        plugins: ``None`` (default) to use the installed plugins, loading
            them on first use; ``False`` for none; or a specific
            :class:`~hedge.plugins.HedgePluginManager`.

    Attributes:
        config: the policy.
        stats: where counters go (``config.stats`` or a new :class:`Stats`).
    """

    def __init__(
        self,
        config: HedgeConfig | None = None,
        *,
        clock: Clock | None = None,
        plugins: HedgePluginManager | bool | None = None,
    ) -> None:
        if config is None:
            config = HedgeConfig()
        elif not isinstance(config, HedgeConfig):
            raise TypeError(f"config must be a hedge.HedgeConfig, got {type(config).__name__}")
        self.config = config
        self.stats: Stats = config.stats if config.stats is not None else Stats(max_keys=config.max_keys)
        self._clock: Clock = clock or monotonic
        self._lock = threading.Lock()
        self._keys: BoundedLRU[str, _KeyState] = BoundedLRU(config.max_keys)
        self._targets: BoundedLRU[str, Budget] = BoundedLRU(config.max_keys)
        self._ratio = config.budget_percent / 100.0
        self._host_level = config.key_level == "host"
        self._host_keys = self._host_level and config.key_func is None
        self._target_names: dict[tuple[Any, ...], str] = {}
        if plugins is None:
            from .plugins import get_plugin_manager

            self._plugins: HedgePluginManager | None = get_plugin_manager()
        elif plugins is False:
            self._plugins = None
        elif plugins is True:
            raise TypeError("plugins must be None, False or a HedgePluginManager")
        else:
            self._plugins = plugins
        self._dispatch: Any = _NO_PLUGINS
        self._background: set[asyncio.Task[Any]] = set()
        # The shared hedge timer of each event loop this engine runs on, by
        # id(loop). Weak: a LoopTimers lives while its loop timer is pending or
        # a race uses it, and takes its entry with it when it goes.
        self._timers: dict[int, weakref.ref[LoopTimers]] = {}
        self._workers: WorkerPool | None = None
        self._closed = False

    # -- public helpers ------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The time source this engine reads."""
        return self._clock

    def key_for(self, request: RequestInfo) -> str:
        """Return the latency key of ``request`` (config ``key_func``, plugins, ``key_level``)."""
        return self._key(request, self._plugin_dispatch())

    def is_eligible(
        self,
        request: RequestInfo,
        *,
        hedge: bool | None = None,
        safe: bool | None = None,
        replayable: bool = True,
    ) -> bool:
        """Return whether ``request`` may be sent more than once (see :meth:`run`)."""
        return self._eligible(request, hedge, safe, replayable, self._plugin_dispatch())

    def current_delay(self, key: str) -> float:
        """Return the hedge delay ``key`` would use now (``warmup_delay`` if unknown)."""
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                return self.config.effective_warmup_delay
            return state.estimator.delay(self._clock())

    # -- the two drivers -----------------------------------------------------

    async def run(
        self,
        request: RequestInfo,
        send: Callable[[Attempt], Awaitable[T]],
        *,
        hedge: bool | None = None,
        safe: bool | None = None,
        replayable: bool = True,
        classifier: Classifier[T] | None = None,
        release: Callable[[T], Awaitable[None] | None] | None = None,
    ) -> T:
        """Run ``request`` as a race of attempts on the running asyncio loop.

        ``send(attempt)`` makes one attempt and returns its result or raises.
        It is called once for the primary and once per hedge, each in its own
        task; a losing attempt's task is cancelled, and any result a loser
        produced anyway is passed to ``release``. When ``run`` returns or
        raises, every attempt has ended and every result but the returned one
        has been released. If the caller is cancelled, every attempt is
        cancelled, every result released, and the cancellation propagates.

        Args:
            request: what is being sent (keys and eligibility come from it).
            send: makes one attempt.
            hedge: ``True``/``False`` forces hedging on/off for this request
                (an explicit per-request choice); ``None`` lets the policy decide.
            safe: the adapter's own judgement that the request is safe to
                repeat (e.g. a gRPC method marked idempotent), used when
                ``hedge`` is ``None`` and no plugin decides; ``None`` applies
                ``config.hedge_methods`` and ``config.idempotency_key_header``.
            replayable: ``False`` if the request cannot be sent twice (a
                streamed body); such a request is never hedged.
            classifier: judges outcomes (default: :class:`~hedge.Classifier`).
            release: closes a result that will not be returned; may return an
                awaitable, which is awaited.

        Returns:
            the winning attempt's result, or the primary's if every attempt
            failed with a retryable outcome.

        Raises:
            BaseException: whatever the winning attempt raised (the primary's
                exception if every attempt failed), unchanged.
            asyncio.CancelledError: the caller's own cancellation.
        """
        dispatch = self._plugin_dispatch()
        key = self._key(request, dispatch)
        if not self._eligible(request, hedge, safe, replayable, dispatch) or not self.config.max_hedges:
            self.stats.record_passthrough(key)
            return await send(Attempt(0, self._clock()))
        call = self._begin(key, request, dispatch)
        return await race(self, call, send, classifier or cast("Classifier[T]", _DEFAULT_CLASSIFIER), release)

    def run_sync(
        self,
        request: RequestInfo,
        send: Callable[[Attempt], T],
        *,
        hedge: bool | None = None,
        safe: bool | None = None,
        replayable: bool = True,
        classifier: Classifier[T] | None = None,
        release: Callable[[T], object] | None = None,
    ) -> T:
        """Run ``request`` as a race of attempts on worker threads, blocking until it ends.

        The arguments and the outcome rules are those of :meth:`run`, except
        that a thread cannot be interrupted: a losing attempt still in flight
        is told so through :meth:`Attempt.on_cancel` callbacks (the adapter's
        way to abort it, e.g. closing its connection) and otherwise runs to
        its end in its worker thread, where its result is released. The
        caller does not wait for it. Attempts run in a copy of the caller's
        :mod:`contextvars` context.
        """
        dispatch = self._plugin_dispatch()
        key = self._key(request, dispatch)
        if not self._eligible(request, hedge, safe, replayable, dispatch) or not self.config.max_hedges:
            self.stats.record_passthrough(key)
            return send(Attempt(0, self._clock()))
        call = self._begin(key, request, dispatch)
        return race_sync(self, call, send, classifier or cast("Classifier[T]", _DEFAULT_CLASSIFIER), release)

    def close(self) -> None:
        """Stop the worker threads of :meth:`run_sync` (idempotent).

        Attempts still running in a worker finish first; the threads are
        daemons, so an attempt stuck forever cannot block interpreter exit.
        """
        self._closed = True
        workers, self._workers = self._workers, None
        if workers is not None:
            workers.close()

    # -- internals shared by both drivers -----------------------------------

    def _plugin_dispatch(self) -> Any:
        plugins = self._plugins
        if plugins is None:
            return _NO_PLUGINS
        dispatch = self._dispatch
        if dispatch.generation != plugins.generation:
            from .plugins import HookDispatch

            dispatch = self._dispatch = HookDispatch(plugins)
        return dispatch

    def _key(self, request: RequestInfo, dispatch: Any) -> str:
        key_func = self.config.key_func
        if key_func is not None:
            key = key_func(request)
            if not isinstance(key, str):
                raise TypeError(f"HedgeConfig.key_func must return a str, got {type(key).__name__}")
            return key
        if dispatch.request_key is not None:
            key = dispatch.request_key(request)
            if isinstance(key, str):
                return key
        if self._host_level:
            return self._target(request)
        return endpoint_of(self._target(request), request.path)

    def _target(self, request: RequestInfo) -> str:
        """``request.target``, remembered per scheme, host and port.

        Building the string is the costliest part of keying a request (a few
        hundred nanoseconds, more than the lookup here), and a client talks
        to few targets. The memo is dropped whole when it reaches
        ``max_keys`` entries, so it stays bounded.
        """
        address = request[1:4]  # (scheme, host, port)
        names = self._target_names
        target = names.get(address)
        if target is None:
            target = request.target
            if len(names) >= self.config.max_keys:
                names.clear()
            names[address] = target
        return target

    def _eligible(
        self, request: RequestInfo, hedge: bool | None, safe: bool | None, replayable: bool, dispatch: Any
    ) -> bool:
        if not replayable:
            return False
        if hedge is not None:
            return bool(hedge)
        if dispatch.should_hedge is not None:
            verdict = dispatch.should_hedge(request)
            if verdict is not None:
                return bool(verdict)
        if safe is not None:
            return safe
        config = self.config
        if request.method in config.hedge_methods:
            return True
        header = config.idempotency_key_header
        return header is not None and header in request.headers

    def _new_budget(self, now: float) -> Budget:
        config = self.config
        if config.estimated_rps is not None:
            return TokenBucketBudget(config.estimated_rps * self._ratio, now)
        return ProportionalBudget(self._ratio, config.budget_floor, now)

    def _begin(self, key: str, request: RequestInfo, dispatch: Any) -> Call:
        now = self._clock()
        # With host keys (the default) the key is the target: do not build it twice.
        target = key if self._host_keys and dispatch.request_key is None else self._target(request)
        with self._lock:
            state = self._keys.touch(key)
            if state is None:
                state = _KeyState(self.config, now)
                self._keys.insert(key, state)
            budget = self._targets.touch(target)
            if budget is None:
                budget = self._new_budget(now)
                self._targets.insert(target, budget)
            budget.deposit(now)
            delay = state.estimator.delay(now)
            previous = state.reported_delay
            state.reported_delay = delay
        emit = dispatch.emit
        if delay != previous:
            self.stats.record_delay(key, delay)
            if emit is not None and previous is not None:
                emit(DelayChanged(key, target, request.framework, previous, delay))
        return Call(self, key, target, request.framework, state, budget, delay, now, emit)

    def _withdraw(self, budget: Budget, now: float) -> bool:
        with self._lock:
            return budget.try_withdraw(now)

    def _loop_timers(self, loop: asyncio.AbstractEventLoop) -> LoopTimers:
        """The hedge deadlines of this engine's races on ``loop`` (see :mod:`hedge._timers`)."""
        key = id(loop)
        ref = self._timers.get(key)
        timers = ref() if ref is not None else None
        # A live LoopTimers holds its loop, so no other loop can have its id.
        if timers is None:
            timers = LoopTimers(loop)
            self._timers[key] = weakref.ref(timers, _forget(self._timers, key))
        return timers

    def _worker_pool(self) -> WorkerPool:
        workers = self._workers
        if workers is None:
            from ._workers import WorkerPool

            with self._lock:
                workers = self._workers
                if workers is None:
                    workers = self._workers = WorkerPool()
        return workers

    def _emit(self, event: HedgeEvent) -> None:
        emit = self._plugin_dispatch().emit
        if emit is not None:
            emit(event)

    def __repr__(self) -> str:
        return f"Hedger(config={self.config!r})"
