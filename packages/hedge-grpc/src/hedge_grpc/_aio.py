"""Hedging interceptors for ``grpc.aio`` channels.

:class:`HedgedUnaryInterceptor` (unary-unary) and
:class:`HedgedServerStreamInterceptor` (unary-stream) run each call that may
be hedged as a race on :meth:`hedge.Hedger.run`: the primary attempt goes at
once, a hedge after the learned delay (or at once after a non-fatal status),
and the first acceptable attempt wins. Every other attempt is cancelled on
the wire (``call.cancel()``: the server sees the cancellation).

What the application gets back is the winning attempt's own call:

* unary: the interceptor returns the winner's ``grpc.aio.UnaryUnaryCall``
  itself, so ``await call``, ``initial_metadata()``, ``trailing_metadata()``,
  ``code()``, ``details()``, ``done()`` and ``add_done_callback()`` are the
  winner's (grpc.aio wraps it and forwards to it).
* server streaming: the race is decided by the first message; the winner is
  returned as a :class:`HedgedUnaryStreamCall`, which yields that message and
  then the rest of the winner's stream, and forwards everything else
  (metadata, status, ``cancel()``) to the winning call.

Because the winner is only known when the race ends, ``initial_metadata()``
of a hedged call resolves then (for a unary call, with the response).

Calls that may not be hedged go straight through: the interceptor returns
``await continuation(...)`` untouched, at the cost of one eligibility check.

Deadlines: grpc.aio turns ``timeout`` into a deadline when each call starts.
The primary is sent with the caller's details untouched, as without the
interceptor; each hedge is given the caller's *remaining* time, never a
fresh one.
Cancelling the caller's call (or closing the channel) cancels the
interceptor's task, which cancels every attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio
from grpc.aio import EOF  # type: ignore[attr-defined]  # missing from grpc-stubs

from hedge import Attempt, HedgeConfig, Hedger, RequestInfo, Stats

from ._outcome import NOTHING, StreamOpening, UnaryOutcome
from ._policy import HEDGE_METADATA_KEY, GrpcPolicy, read_override

__all__ = ["HedgedServerStreamInterceptor", "HedgedUnaryInterceptor", "HedgedUnaryStreamCall"]

_DEFAULT_NON_FATAL: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)

if TYPE_CHECKING:
    # grpc-stubs declares these generic; grpcio's classes cannot be subscripted at run time.
    _UnaryUnaryClientInterceptor = grpc.aio.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStreamClientInterceptor = grpc.aio.UnaryStreamClientInterceptor[Any, Any]
    _UnaryStreamCall = grpc.aio.UnaryStreamCall[Any, Any]
else:
    _UnaryUnaryClientInterceptor = grpc.aio.UnaryUnaryClientInterceptor
    _UnaryStreamClientInterceptor = grpc.aio.UnaryStreamClientInterceptor
    _UnaryStreamCall = grpc.aio.UnaryStreamCall


class _Plan:
    """One intercepted call that may be hedged: its description, and how each attempt sends it.

    The primary sends the call's own details untouched (its deadline starts
    with it, as without the interceptor); a hedge sends a copy with the
    caller's remaining time and, if configured, the attempt marker. ``send``
    methods are bound methods rather than closures: one object per call.
    """

    __slots__ = (
        "attempt_key",
        "continuation",
        "deadline",
        "details",
        "info",
        "metadata",
        "non_fatal",
        "override",
        "request",
        "safe",
    )

    def __init__(
        self,
        continuation: Callable[[Any, Any], Awaitable[Any]],
        details: Any,
        request: Any,
        info: RequestInfo,
        metadata: grpc.aio.Metadata | None,
        override: bool | None,
        safe: bool,
        policy: GrpcPolicy,
    ) -> None:
        self.continuation = continuation
        self.details = details
        self.request = request
        self.info = info
        self.metadata = metadata
        self.override = override
        self.safe = safe
        self.attempt_key = policy.attempt_key
        self.non_fatal = policy.non_fatal
        timeout = details.timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def details_for(self, attempt: Attempt) -> Any:
        """The call details ``attempt`` sends (see the class docstring)."""
        if not attempt.index:
            return self.details
        timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
        metadata = self.metadata
        if self.attempt_key is not None:
            entries = list(metadata) if metadata is not None else []
            entries.append((self.attempt_key, str(attempt.index)))
            metadata = grpc.aio.Metadata(*entries)
        return _replace(self.details, timeout=timeout, metadata=metadata)

    async def send_unary(self, attempt: Attempt) -> UnaryOutcome:
        """One attempt of a unary call: its call, once it has ended, with its status."""
        call = await self.continuation(self.details_for(attempt), self.request)
        try:
            await call
        except grpc.aio.AioRpcError:
            pass  # the status stays on the call, which is judged below
        except BaseException:
            call.cancel()
            raise
        code = await call.code()
        trailing = await call.trailing_metadata() if code in self.non_fatal else None
        return UnaryOutcome(call, code, trailing)

    async def send_stream(self, attempt: Attempt) -> StreamOpening:
        """One attempt of a server-streaming call: its call, once its first message (or end) is in."""
        call = await self.continuation(self.details_for(attempt), self.request)
        iterator = call.__aiter__()
        try:
            first = await iterator.__anext__()
        except StopAsyncIteration:
            return StreamOpening(call, iterator, NOTHING, code=grpc.StatusCode.OK)
        except grpc.aio.AioRpcError as error:
            code = error.code()
            trailing = error.trailing_metadata() if code in self.non_fatal else None
            return StreamOpening(call, iterator, NOTHING, error=error, code=code, trailing_metadata=trailing)
        except BaseException:
            call.cancel()
            raise
        return StreamOpening(call, iterator, first)


def _replace(details: Any, **changes: Any) -> Any:
    replace = getattr(details, "_replace", None)
    if replace is not None:
        return replace(**changes)
    # An outer interceptor passed its own details type: rebuild grpc.aio's.
    fields = {
        name: getattr(details, name, None)
        for name in ("method", "timeout", "metadata", "credentials", "wait_for_ready")
    }
    fields.update(changes)
    details_type: Any = grpc.aio.ClientCallDetails
    return details_type(**fields)


class _AioInterceptor:
    """What both asyncio interceptors share: the policy and the per-call preparation."""

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
        """Release the engine's resources (nothing to do for asyncio; kept for symmetry)."""
        self._policy.close()

    def _prepare(self, continuation: Any, details: Any, request: Any) -> tuple[Any, _Plan | None]:
        """The details to send (override entry removed) and the plan, ``None`` if not hedged."""
        policy = self._policy
        method = details.method
        full_method = method.decode("ascii") if isinstance(method, bytes) else str(method)
        metadata = details.metadata
        override = None
        if metadata is not None:
            if not isinstance(metadata, grpc.aio.Metadata):
                metadata = grpc.aio.Metadata(*metadata)
                details = _replace(details, metadata=metadata)
            if HEDGE_METADATA_KEY in metadata:
                override = read_override(metadata[HEDGE_METADATA_KEY])
                metadata = grpc.aio.Metadata(*[(k, v) for k, v in metadata if k != HEDGE_METADATA_KEY])
                details = _replace(details, metadata=metadata)
        info = policy.request_info(full_method, continuation, metadata)
        safe = policy.is_safe(full_method)
        if not policy.hedger.is_eligible(info, hedge=override, safe=safe):
            policy.passthrough(info)
            return details, None
        return details, _Plan(continuation, details, request, info, metadata, override, safe, policy)


class HedgedUnaryInterceptor(_AioInterceptor, _UnaryUnaryClientInterceptor):
    """Hedges unary-unary calls of a ``grpc.aio`` channel.

    ``grpc.aio.insecure_channel(target, interceptors=[HedgedUnaryInterceptor(config)])``.
    Only methods safe to repeat are hedged: declared ``NO_SIDE_EFFECTS`` or
    ``IDEMPOTENT`` in their ``.proto``, listed in ``idempotent_methods``, or
    all of them with ``hedge_all_methods=True``. A call's metadata entry
    ``("x-hedge", "true"|"false")`` forces hedging on or off for that call
    (and is not sent).

    Args:
        config: the hedging policy (default ``HedgeConfig()``). Latency is
            keyed per method whatever ``key_level`` says, budgets per target.
        target: the channel's target, e.g. ``"localhost:50051"``; read from
            the channel when omitted.
        idempotent_methods: full method names safe to repeat although their
            ``.proto`` does not say so: ``"/pkg.Service/Method"``, or
            ``"/pkg.Service/*"`` for a whole service.
        hedge_all_methods: hedge every method, writes included (explicit opt-in).
        non_fatal_status_codes: statuses that do not end the race (gRFC A6's
            ``nonFatalStatusCodes``); default ``UNAVAILABLE``. Others are fatal.
        hedger: a :class:`hedge.Hedger` to use instead of building one from
            ``config`` (e.g. shared with a :class:`HedgedServerStreamInterceptor`
            so both spend one budget); its config is used as is.

    Raises:
        TypeError, ValueError: for a bad argument, naming it.
    """

    async def intercept_unary_unary(
        self,
        continuation: Callable[[Any, Any], Awaitable[Any]],
        client_call_details: Any,
        request: Any,
    ) -> Any:
        """Run the call as a race and return the winning attempt's call (see the module docstring)."""
        details, plan = self._prepare(continuation, client_call_details, request)
        if plan is None:
            return await continuation(details, request)
        policy = self._policy
        outcome = await policy.hedger.run(
            plan.info, plan.send_unary, hedge=plan.override, safe=plan.safe, classifier=policy.classifier
        )
        return outcome.call


class HedgedServerStreamInterceptor(_AioInterceptor, _UnaryStreamClientInterceptor):
    """Hedges unary-stream calls of a ``grpc.aio`` channel, racing on the first message.

    The first attempt to deliver a message (or to end with an acceptable
    status) wins and keeps streaming; the others are cancelled on the wire.
    A hedge goes out when the primary has sent no message by the learned
    delay, which therefore tracks time to first message. Arguments and
    eligibility are those of :class:`HedgedUnaryInterceptor`.
    """

    async def intercept_unary_stream(  # type: ignore[override]  # grpc.aio's continuation is a coroutine function
        self,
        continuation: Callable[[Any, Any], Awaitable[Any]],
        client_call_details: Any,
        request: Any,
    ) -> Any:
        """Race the call on its first message; return the winner as a :class:`HedgedUnaryStreamCall`."""
        details, plan = self._prepare(continuation, client_call_details, request)
        if plan is None:
            return await continuation(details, request)
        policy = self._policy
        opening = await policy.hedger.run(
            plan.info,
            plan.send_stream,
            hedge=plan.override,
            safe=plan.safe,
            classifier=policy.classifier,
            release=_release_opening,
        )
        stream = HedgedUnaryStreamCall(opening)
        task = asyncio.current_task()
        if task is not None:
            # A cancellation requested while the race ended (from code it ran synchronously,
            # such as an event observer) lands after this return: the task ends cancelled and
            # grpc drops the winner unseen. It must then be cancelled on the wire.
            task.add_done_callback(stream._cancel_if_dropped)
        return stream


def _release_opening(opening: StreamOpening) -> Awaitable[None] | None:
    """Cancel a losing stream that already delivered its first message, and close its iterator."""
    opening.call.cancel()
    aclose = getattr(opening.iterator, "aclose", None)
    return aclose() if aclose is not None else None


class HedgedUnaryStreamCall(_UnaryStreamCall):
    """The winning attempt of a hedged server-streaming call.

    Iterating (or :meth:`read`) yields the first message the race was
    decided on, then the rest of the winner's stream. Every other method
    refers to the winning call: metadata, status, ``cancel()`` (which the
    server sees), ``done()`` and ``add_done_callback()`` (callbacks receive
    this object). grpc.aio wraps it in its own intercepted call, which
    forwards here.
    """

    def __init__(self, opening: StreamOpening) -> None:
        self._call = opening.call
        self._iterator = opening.iterator
        self._first = opening.first
        self._error = opening.error

    @property
    def winner(self) -> Any:
        """The winning attempt's own ``grpc.aio.UnaryStreamCall``."""
        return self._call

    # -- messages ------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        first = self._first
        if first is not NOTHING:
            self._first = NOTHING
            return first
        error = self._error
        if error is not None:
            # The stream ended with this status before its first message;
            # raise it once, as grpc.aio's own iterator does.
            self._error = None
            raise error
        return await self._iterator.__anext__()

    async def read(self) -> Any:
        """The next message, or ``grpc.aio.EOF`` when the stream has ended well."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            return EOF

    # -- the call ------------------------------------------------------------

    def cancel(self) -> bool:
        cancelled = bool(self._call.cancel())
        if cancelled:
            # grpc's own stream yields nothing more once cancelled: drop the held first message.
            self._first = NOTHING
        return cancelled

    def cancelled(self) -> bool:
        return bool(self._call.cancelled())

    def _cancel_if_dropped(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            self._call.cancel()

    def done(self) -> bool:
        return bool(self._call.done())

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._call.add_done_callback(lambda _call: callback(self))

    def time_remaining(self) -> float | None:
        remaining: float | None = self._call.time_remaining()
        return remaining

    async def initial_metadata(self) -> Any:
        return await self._call.initial_metadata()

    async def trailing_metadata(self) -> Any:
        return await self._call.trailing_metadata()

    async def code(self) -> grpc.StatusCode:
        code: grpc.StatusCode = await self._call.code()
        return code

    async def details(self) -> str:
        details: str = await self._call.details()
        return details

    async def debug_error_string(self) -> str | None:
        debug: Callable[[], Awaitable[str | None]] | None = getattr(self._call, "debug_error_string", None)
        return None if debug is None else await debug()

    async def wait_for_connection(self) -> None:
        await self._call.wait_for_connection()

    def __repr__(self) -> str:
        return f"HedgedUnaryStreamCall(winner={self._call!r})"
