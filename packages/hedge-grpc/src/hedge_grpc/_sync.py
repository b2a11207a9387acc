"""Hedging interceptors for synchronous channels (``grpc.intercept_channel``).

:class:`SyncHedgedUnaryInterceptor` (unary-unary) and
:class:`SyncHedgedServerStreamInterceptor` (unary-stream) run each call that
may be hedged as a race on :meth:`hedge.Hedger.run_sync`: attempts wait on
worker threads, the first acceptable one wins, and every other is cancelled
on the wire through ``call.cancel()`` (registered with
:meth:`hedge.Attempt.on_cancel`), so the server sees the cancellation.

How grpcio calls a sync interceptor shapes the rest:

* ``stub.Method.future(request)`` passes a continuation that returns a
  live future. The interceptor returns a :class:`HedgedUnaryFuture` at
  once and runs the race on a background thread; ``cancel()`` on it
  cancels every attempt.
* ``stub.Method(request)`` and ``.with_call(request)`` pass a continuation
  that blocks until the RPC ends and yields no handle before then, so an
  attempt made through it could not be cancelled. For those calls the
  interceptor makes its attempts through the same channel's ``future()``
  path (found on grpcio's intercepted multi-callable; if a grpcio release
  ever moves it, the blocking continuation is used and losers run to their
  end, bounded by the deadline). The race runs in the caller's thread and
  the winner's own call is returned, so ``with_call`` gives the winner's
  metadata, code and details, and a failure raises the winner's (or, if
  every attempt failed non-fatally, the primary's) ``grpc.RpcError``.
* Server streaming: the race runs in the caller's thread until the first
  message; the call returns a :class:`HedgedResponseStream` (an iterator,
  ``grpc.Call`` and ``grpc.Future``) bound to the winner.

Every attempt gets the caller's remaining time as its timeout. Worker
threads belong to the interceptor's :class:`hedge.Hedger`; call
:meth:`close` when the channel is closed.
"""

from __future__ import annotations

import collections
import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats

from ._outcome import NOTHING, StreamOpening, UnaryOutcome
from ._policy import HEDGE_METADATA_KEY, GrpcPolicy, read_override

__all__ = [
    "HedgedResponseStream",
    "HedgedUnaryFuture",
    "SyncHedgedServerStreamInterceptor",
    "SyncHedgedUnaryInterceptor",
]

_DEFAULT_NON_FATAL: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)

if TYPE_CHECKING:
    # grpc-stubs declares these generic; grpcio's classes cannot be subscripted at run time.
    _UnaryUnaryClientInterceptor = grpc.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStreamClientInterceptor = grpc.UnaryStreamClientInterceptor[Any, Any]
    _Future = grpc.Future[Any]
else:
    _UnaryUnaryClientInterceptor = grpc.UnaryUnaryClientInterceptor
    _UnaryStreamClientInterceptor = grpc.UnaryStreamClientInterceptor
    _Future = grpc.Future

Metadata = tuple[tuple[str, Any], ...]
_Interceptor = TypeVar("_Interceptor", bound="_SyncInterceptor")


class _ClientCallDetails(
    collections.namedtuple(
        "_ClientCallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """The call details handed to each attempt (grpcio's own class is private)."""


class _Plan:
    """One intercepted call, prepared: its description and each attempt's details."""

    __slots__ = ("attempt_key", "deadline", "details", "info", "metadata", "override", "safe")

    def __init__(
        self,
        details: _ClientCallDetails,
        info: RequestInfo,
        override: bool | None,
        safe: bool,
        attempt_key: str | None,
    ) -> None:
        self.details = details
        self.info = info
        self.metadata: Metadata | None = details.metadata
        self.override = override
        self.safe = safe
        self.attempt_key = attempt_key
        timeout = details.timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        """Seconds left before the caller's deadline (``None``: no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def details_for(self, attempt: Attempt) -> _ClientCallDetails:
        """The call details of ``attempt``: the remaining time, and the attempt marker on hedges."""
        metadata = self.metadata
        if attempt.index and self.attempt_key is not None:
            metadata = (*(metadata or ()), (self.attempt_key, str(attempt.index)))
        return self.details._replace(timeout=self.remaining(), metadata=metadata)


def _details(details: Any, **changes: Any) -> _ClientCallDetails:
    fields = {
        name: getattr(details, name, None)
        for name in ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    }
    fields.update(changes)
    return _ClientCallDetails(**fields)


class _SyncInterceptor:
    """What both sync interceptors share: the policy and the per-call preparation."""

    def __init__(
        self,
        config: HedgeConfig | None = None,
        *,
        target: str | None = None,
        idempotent_methods: Iterable[str] = (),
        hedge_all_methods: bool = False,
        non_fatal_status_codes: Iterable[grpc.StatusCode | str] = _DEFAULT_NON_FATAL,
        hedger: Hedger | None = None,
    ) -> None:
        self._policy = GrpcPolicy(
            config,
            hedger=hedger,
            target=target,
            idempotent_methods=idempotent_methods,
            hedge_all_methods=hedge_all_methods,
            non_fatal_status_codes=non_fatal_status_codes,
        )

    @property
    def hedger(self) -> Hedger:
        """The race engine (share it with another interceptor through ``hedger=``)."""
        return self._policy.hedger

    @property
    def config(self) -> HedgeConfig:
        """The policy in force (``key_level`` is ``"endpoint"``: latency is kept per method)."""
        return self._policy.hedger.config

    @property
    def stats(self) -> Stats:
        """Counters of what hedging did, global and per method."""
        return self._policy.hedger.stats

    def close(self) -> None:
        """Stop the worker threads (idempotent; not those of a Hedger passed in as ``hedger=``)."""
        self._policy.close()

    def __enter__(self: _Interceptor) -> _Interceptor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _prepare(self, continuation: Any, details: Any) -> tuple[_ClientCallDetails, _Plan | None]:
        """The details to send (override entry removed) and the plan, ``None`` if not hedged."""
        policy = self._policy
        method = details.method
        full_method = method.decode("ascii") if isinstance(method, bytes) else str(method)
        metadata: Metadata | None = None
        override = None
        headers: dict[str, Any] = {}
        if details.metadata is not None:
            kept = []
            for key, value in details.metadata:
                if key == HEDGE_METADATA_KEY:
                    override = read_override(value)
                    continue
                kept.append((key, value))
                headers.setdefault(key, value)
            metadata = tuple(kept)
        details = _details(details, metadata=metadata)
        info = policy.request_info(full_method, continuation, headers)
        safe = policy.is_safe(full_method)
        if not policy.hedger.is_eligible(info, hedge=override, safe=safe):
            policy.passthrough(info)
            return details, None
        return details, _Plan(details, info, override, safe, policy.attempt_key)


class SyncHedgedUnaryInterceptor(_SyncInterceptor, _UnaryUnaryClientInterceptor):
    """Hedges unary-unary calls of a synchronous channel.

    ``channel = grpc.intercept_channel(grpc.insecure_channel(target), SyncHedgedUnaryInterceptor(config))``.
    The arguments and the eligibility rules are those of
    :class:`~hedge_grpc.HedgedUnaryInterceptor`. Blocking calls return the
    winner's response (``with_call``: and its call); ``future()`` returns a
    :class:`HedgedUnaryFuture` at once. Call :meth:`close` when done.
    """

    def intercept_unary_unary(
        self,
        continuation: Callable[[Any, Any], Any],
        client_call_details: Any,
        request: Any,
    ) -> Any:
        """Run the call as a race (see the module docstring for the blocking and future forms)."""
        details, plan = self._prepare(continuation, client_call_details)
        if plan is None:
            return continuation(details, request)
        if _is_blocking(continuation):
            start = _future_continuation(continuation) or continuation
            return self._race(plan, start, request, None).call
        future = HedgedUnaryFuture(plan)
        # A new thread starts with an empty context: run the race in the caller's.
        context = contextvars.copy_context()
        runner = threading.Thread(
            target=context.run,
            args=(future._run, lambda: self._race(plan, continuation, request, future)),
            name="hedge-grpc-future",
            daemon=True,
        )
        runner.start()
        return future

    def _race(
        self, plan: _Plan, start: Callable[[Any, Any], Any], request: Any, owner: HedgedUnaryFuture | None
    ) -> UnaryOutcome:
        policy = self._policy
        non_fatal = policy.non_fatal

        def send(attempt: Attempt) -> UnaryOutcome:
            if owner is not None and owner.cancelled():
                raise grpc.FutureCancelledError()
            call = start(plan.details_for(attempt), request)
            attempt.on_cancel(call.cancel)
            if owner is not None:
                owner._track(call)
            call.exception()  # waits for the end; raises FutureCancelledError if cancelled
            code = call.code()
            trailing = call.trailing_metadata() if code in non_fatal else None
            return UnaryOutcome(call, code, trailing)

        outcome: UnaryOutcome = policy.hedger.run_sync(
            plan.info, send, hedge=plan.override, safe=plan.safe, classifier=policy.classifier
        )
        return outcome


def _is_blocking(continuation: Any) -> bool:
    """Whether grpcio passed the continuation of a blocking call (``__call__``/``with_call``)."""
    return "._with_call." in getattr(continuation, "__qualname__", "")


def _future_continuation(continuation: Any) -> Callable[[Any, Any], Any] | None:
    """A continuation that starts the same call through ``future()``, or ``None`` if not found.

    grpcio's blocking continuation closes over its intercepted
    multi-callable, whose ``_thunk(method)`` is the next multi-callable in
    the chain (another interceptor or the channel's own): the same object
    grpcio's ``future()`` path calls.
    """
    for cell in getattr(continuation, "__closure__", None) or ():
        try:
            owner = cell.cell_contents
        except ValueError:
            continue
        thunk = getattr(owner, "_thunk", None)
        if callable(thunk):

            def start(details: Any, request: Any, _thunk: Callable[[Any], Any] = thunk) -> Any:
                return _thunk(details.method).future(
                    request,
                    timeout=details.timeout,
                    metadata=details.metadata,
                    credentials=details.credentials,
                    wait_for_ready=details.wait_for_ready,
                    compression=details.compression,
                )

            return start
    return None


_PENDING = "pending"
_FINISHED = "finished"
_CANCELLED = "cancelled"


class HedgedUnaryFuture(grpc.Call, _Future):
    """The future ``stub.Method.future(request)`` returns for a hedged call.

    It is decided when the race ends; from then on ``result()``,
    ``exception()``, the metadata, ``code()`` and ``details()`` are the
    winning attempt's (a failed call raises its own ``grpc.RpcError``).
    Methods that need the winner wait for it, as grpcio's own future waits
    for the RPC. ``cancel()`` before the end cancels every attempt on the
    wire; callbacks receive this future.
    """

    def __init__(self, plan: _Plan) -> None:
        self._plan = plan
        self._condition = threading.Condition()
        self._state = _PENDING
        self._call: Any = None
        self._error: BaseException | None = None
        self._attempts: list[Any] = []
        self._done_callbacks: list[Callable[[Any], object]] = []
        self._rpc_callbacks: list[Callable[[], object]] = []

    # -- the race's side -------------------------------------------------------

    def _run(self, race: Callable[[], UnaryOutcome]) -> None:
        try:
            call, error = race().call, None
        except BaseException as exc:  # noqa: BLE001 - delivered through result()
            call, error = None, exc
        with self._condition:
            decided = self._state is _PENDING
            if decided:
                self._state = _FINISHED
                self._call = call
                self._error = error
                self._attempts = []
                self._condition.notify_all()
        if decided:
            self._fire()
        elif call is not None:
            call.cancel()  # cancelled by the caller meanwhile: nobody will read it

    def _track(self, call: Any) -> None:
        with self._condition:
            cancelled = self._state is _CANCELLED
            if not cancelled:
                self._attempts.append(call)
        if cancelled:
            call.cancel()

    def _fire(self) -> None:
        with self._condition:
            done, self._done_callbacks = self._done_callbacks, []
            rpc, self._rpc_callbacks = self._rpc_callbacks, []
        for callback in rpc:
            callback()
        for done_callback in done:
            done_callback(self)

    def _wait(self, timeout: float | None) -> None:
        with self._condition:
            if not self._condition.wait_for(lambda: self._state is not _PENDING, timeout):
                raise grpc.FutureTimeoutError()

    # -- grpc.Future -------------------------------------------------------------

    def cancel(self) -> bool:
        with self._condition:
            if self._state is not _PENDING:
                return False
            self._state = _CANCELLED
            attempts, self._attempts = self._attempts, []
            self._condition.notify_all()
        for call in attempts:
            call.cancel()
        self._fire()
        return True

    def cancelled(self) -> bool:
        return self._state is _CANCELLED

    def running(self) -> bool:
        return self._state is _PENDING

    def done(self) -> bool:
        return self._state is not _PENDING

    def result(self, timeout: float | None = None) -> Any:
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise grpc.FutureCancelledError()
        if self._error is not None:
            raise self._error
        return self._call.result()

    def exception(self, timeout: float | None = None) -> BaseException | None:  # type: ignore[override]  # grpc-stubs omits timeout
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise grpc.FutureCancelledError()
        if self._error is not None:
            return self._error
        error: BaseException | None = self._call.exception()
        return error

    def traceback(self, timeout: float | None = None) -> TracebackType | None:
        self._wait(timeout)
        if self._state is _CANCELLED:
            raise grpc.FutureCancelledError()
        if self._error is not None:
            return self._error.__traceback__
        traceback: TracebackType | None = self._call.traceback()
        return traceback

    def add_done_callback(self, fn: Callable[[Any], object]) -> None:
        with self._condition:
            if self._state is _PENDING:
                self._done_callbacks.append(fn)
                return
        fn(self)

    # -- grpc.Call -----------------------------------------------------------------

    def is_active(self) -> bool:
        return self._state is _PENDING

    def time_remaining(self) -> float | None:  # type: ignore[override]  # None: no deadline
        call = self._call
        if call is not None:
            remaining: float | None = call.time_remaining()
            return remaining
        return self._plan.remaining() if self._state is _PENDING else None

    def add_callback(self, callback: Callable[[], object]) -> bool:
        with self._condition:
            if self._state is not _PENDING:
                return False
            self._rpc_callbacks.append(callback)
            return True

    def initial_metadata(self) -> Any:
        return self._winner_value("initial_metadata", None)

    def trailing_metadata(self) -> Any:
        return self._winner_value("trailing_metadata", None)

    def code(self) -> grpc.StatusCode:
        code: grpc.StatusCode = self._winner_value("code", grpc.StatusCode.CANCELLED)
        return code

    def details(self) -> str:
        details: str = self._winner_value("details", "Locally cancelled by application!")
        return details

    def debug_error_string(self) -> str | None:
        debug: str | None = self._winner_value("debug_error_string", None)
        return debug

    def _winner_value(self, name: str, cancelled: Any) -> Any:
        self._wait(None)
        source: Any = self._call if self._call is not None else self._error
        if self._state is _CANCELLED or source is None:
            return cancelled
        accessor = getattr(source, name, None)
        return accessor() if callable(accessor) else None

    def __repr__(self) -> str:
        return f"HedgedUnaryFuture(state={self._state}, winner={self._call!r})"


class SyncHedgedServerStreamInterceptor(_SyncInterceptor, _UnaryStreamClientInterceptor):
    """Hedges unary-stream calls of a synchronous channel, racing on the first message.

    The call blocks until the race is decided (the first message, or an
    acceptable end), then returns a :class:`HedgedResponseStream` bound to
    the winner; the other attempts are cancelled on the wire. Arguments and
    eligibility are those of :class:`~hedge_grpc.HedgedUnaryInterceptor`.
    Call :meth:`close` when done.
    """

    def intercept_unary_stream(
        self,
        continuation: Callable[[Any, Any], Any],
        client_call_details: Any,
        request: Any,
    ) -> Any:
        """Race the call on its first message and return the winner's stream."""
        details, plan = self._prepare(continuation, client_call_details)
        if plan is None:
            return continuation(details, request)
        policy = self._policy
        non_fatal = policy.non_fatal

        def send(attempt: Attempt) -> StreamOpening:
            call = continuation(plan.details_for(attempt), request)
            attempt.on_cancel(call.cancel)
            try:
                first = next(call)
            except StopIteration:
                return StreamOpening(call, call, NOTHING, code=grpc.StatusCode.OK)
            except grpc.RpcError as error:
                code = call.code()
                trailing = call.trailing_metadata() if code in non_fatal else None
                return StreamOpening(call, call, NOTHING, error=error, code=code, trailing_metadata=trailing)
            return StreamOpening(call, call, first)

        opening: StreamOpening = policy.hedger.run_sync(
            plan.info,
            send,
            hedge=plan.override,
            safe=plan.safe,
            classifier=policy.classifier,
            release=lambda losing: losing.call.cancel(),
        )
        return HedgedResponseStream(opening)


class HedgedResponseStream(grpc.Call, _Future):
    """The winning attempt of a hedged server-streaming call on a sync channel.

    Iterating yields the first message the race was decided on, then the
    rest of the winner's stream. Every other method is the winning call's
    (grpcio's response iterator is itself a ``grpc.Call`` and a
    ``grpc.Future``): metadata, status, ``cancel()``, callbacks (which
    receive this object).
    """

    def __init__(self, opening: StreamOpening) -> None:
        self._call = opening.call
        self._first = opening.first
        self._error = opening.error

    @property
    def winner(self) -> Any:
        """The winning attempt's own response iterator."""
        return self._call

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        first = self._first
        if first is not NOTHING:
            self._first = NOTHING
            return first
        error = self._error
        if error is not None:
            self._error = None
            raise error
        return next(self._call)

    next = __next__

    # -- grpc.Call -----------------------------------------------------------

    def initial_metadata(self) -> Any:
        return self._call.initial_metadata()

    def trailing_metadata(self) -> Any:
        return self._call.trailing_metadata()

    def code(self) -> grpc.StatusCode:
        code: grpc.StatusCode = self._call.code()
        return code

    def details(self) -> str:
        details: str = self._call.details()
        return details

    def debug_error_string(self) -> str | None:
        debug = getattr(self._call, "debug_error_string", None)
        return debug() if callable(debug) else None

    def is_active(self) -> bool:
        return bool(self._call.is_active())

    def time_remaining(self) -> float | None:  # type: ignore[override]  # None: no deadline
        remaining: float | None = self._call.time_remaining()
        return remaining

    def add_callback(self, callback: Callable[[], object]) -> bool:
        return bool(self._call.add_callback(callback))

    # -- grpc.Future ---------------------------------------------------------

    def cancel(self) -> bool:
        cancelled = bool(self._call.cancel())
        if cancelled:
            # grpc's own stream yields nothing more once cancelled: drop the held first message.
            self._first = NOTHING
        return cancelled

    def cancelled(self) -> bool:
        return bool(self._call.cancelled())

    def running(self) -> bool:
        return bool(self._call.running())

    def done(self) -> bool:
        return bool(self._call.done())

    def result(self, timeout: float | None = None) -> Any:
        return self._call.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:  # type: ignore[override]  # grpc-stubs omits timeout
        error: BaseException | None = self._call.exception(timeout)
        return error

    def traceback(self, timeout: float | None = None) -> TracebackType | None:
        traceback: TracebackType | None = self._call.traceback(timeout)
        return traceback

    def add_done_callback(self, fn: Callable[[Any], object]) -> None:
        self._call.add_done_callback(lambda _call: fn(self))

    def __repr__(self) -> str:
        return f"HedgedResponseStream(winner={self._call!r})"
