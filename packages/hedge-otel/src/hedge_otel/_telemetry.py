"""Turns hedge's observation events into OpenTelemetry metrics and span events.

:class:`HedgeTelemetry` implements the public ``hedge_event`` hook: every
:mod:`hedge.events` event of a hedge-eligible request updates hedge's
instruments on the meter ``"hedge"``, and, when a span is recording in the
context the event is delivered in (the caller's: the engine emits from the
caller's task or thread, or from loop callbacks scheduled in its context),
becomes an event on that span.

Costs and guarantees:

* The counters are *asynchronous* (observable) instruments: hedge counts in
  plain integers per ``(framework, target)`` under one short lock, and the
  SDK reads the totals when it collects. A request therefore costs one SDK
  measurement (the attempts histogram) plus a dictionary update, where a
  synchronous counter would add a second SDK measurement, the bulk of the
  plugin's cost (attribute validation and aggregation in the SDK).
* State is bounded: at most :data:`MAX_TARGETS` ``(framework, target)``
  entries, least recently used dropped first (a dropped target starts again
  from zero, which readers of a cumulative counter see as a reset). Every
  attribute has bounded cardinality: the adapter's ``framework``, the budget
  ``target`` (scheme, host and port; never a path, query or user info), and
  values from small fixed sets.
* Built from the global providers (the default), the instruments are the
  API's proxies until the application installs its ``MeterProvider``, then
  forward to it: a provider installed after hedge started is honoured. The
  counters then report totals since the first request hedge observed; the
  histogram starts with the provider.
* Observers run on the request's path, so nothing here blocks or does I/O;
  the SDK's exporters do that on their own threads. An exception raised by
  an instrument or a span is caught and logged by hedge's hook dispatch and
  never reaches the request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, MeterProvider, Observation
from opentelemetry.trace import get_current_span

from hedge import hookimpl
from hedge.events import (
    AttemptFailed,
    AttemptLost,
    AttemptWon,
    BudgetDenied,
    HedgeEvent,
    HedgeSent,
    RequestFinished,
)

from .__about__ import __version__

__all__ = [
    "ATTEMPT_BUCKETS",
    "MAX_TARGETS",
    "METER_NAME",
    "HedgeTelemetry",
]

METER_NAME = "hedge"
"""The instrumentation scope (meter) name of every hedge instrument."""

ATTEMPT_BUCKETS: tuple[float, ...] = (1, 2, 3, 4, 5)
"""Bucket boundaries advised for ``hedge.client.call.attempts`` (one bucket per count)."""

MAX_TARGETS = 1000
"""How many ``(framework, target)`` pairs the counters and the delay gauge keep."""

# Metric names (the table in docs/pages/observability-otel.md lists them all).
REQUESTS = "hedge.client.requests"
HEDGES = "hedge.client.hedges"
BUDGET_DENIALS = "hedge.client.budget_denials"
WASTED = "hedge.client.attempt.wasted"
CALL_ATTEMPTS = "hedge.client.call.attempts"
HEDGE_DELAY = "hedge.client.hedge_delay"

# Attribute names.
FRAMEWORK = "hedge.framework"
TARGET = "hedge.target"
OUTCOME = "hedge.outcome"
REASON = "hedge.reason"
KIND = "hedge.attempt.kind"
STATE = "hedge.attempt.state"
ATTEMPT = "hedge.attempt"
DELAY = "hedge.delay"
ELAPSED = "hedge.elapsed"
VERDICT = "hedge.verdict"
ERROR_TYPE = "error.type"

# Span event names.
EVENT_SENT = "hedge.sent"
EVENT_DENIED = "hedge.budget_denied"
EVENT_FAILED = "hedge.attempt_failed"
EVENT_WINNER = "hedge.winner"
EVENT_CANCELLED = "hedge.loser_cancelled"
EVENT_RELEASED = "hedge.loser_released"

# A counted series of one target: the metric and its extra attributes.
_Series = tuple[str, tuple[tuple[str, str], ...]]
_DENIED: _Series = (BUDGET_DENIALS, ())
_WASTED: dict[tuple[bool, bool], _Series] = {
    (hedge, completed): (
        WASTED,
        ((KIND, "hedge" if hedge else "primary"), (STATE, "released" if completed else "cancelled")),
    )
    for hedge in (False, True)
    for completed in (False, True)
}


class _Target:
    """What is kept per ``(framework, target)``: counts and the latest hedge delay."""

    __slots__ = ("attributes", "counts", "delay")

    def __init__(self, framework: str, target: str) -> None:
        # Shared by every measurement of this target; never mutated.
        self.attributes = {FRAMEWORK: framework, TARGET: target}
        self.counts: dict[_Series, int] = {}
        self.delay: float | None = None


class HedgeTelemetry:
    """An observer plugin recording hedge events as OpenTelemetry metrics and span events.

    Installing hedge-otel registers one, built from the global providers, as
    the ``otel`` plugin: nothing else is needed. Build your own only to send
    hedge's metrics to a ``MeterProvider`` that is not the global one, and
    register it with ``hedge.plugins.get_plugin_manager().register(...)``
    (set ``HEDGE_DISABLE_PLUGINS=otel`` so the default one does not count
    the same requests again).

    Args:
        meter_provider: where the instruments come from; ``None`` (default)
            for the global provider, including one installed later.
        span_events: add events to the span recording in the caller's context
            (default ``True``).

    Raises:
        TypeError: if ``meter_provider`` is not an OpenTelemetry
            ``MeterProvider`` or ``span_events`` is not a bool.

    """

    def __init__(self, meter_provider: MeterProvider | None = None, *, span_events: bool = True) -> None:
        if meter_provider is not None and not isinstance(meter_provider, MeterProvider):
            raise TypeError(
                "meter_provider must be an opentelemetry.metrics.MeterProvider or None, "
                f"got {type(meter_provider).__name__}"
            )
        if not isinstance(span_events, bool):
            raise TypeError(f"span_events must be True or False, got {span_events!r}")
        self.span_events = span_events
        self._targets: OrderedDict[tuple[str, str], _Target] = OrderedDict()
        self._lock = threading.Lock()
        meter = metrics.get_meter(METER_NAME, __version__, meter_provider)
        meter.create_observable_counter(
            REQUESTS,
            callbacks=[self._reader(REQUESTS)],
            unit="{request}",
            description="Hedge-eligible requests, by outcome: primary (the first attempt's answer), "
            "hedge (a hedge's answer), failed, cancelled (by the caller).",
        )
        meter.create_observable_counter(
            HEDGES,
            callbacks=[self._reader(HEDGES)],
            unit="{attempt}",
            description="Hedge attempts sent, by reason: delay (the previous attempt was slow) "
            "or retry (an attempt failed in a retryable way).",
        )
        meter.create_observable_counter(
            BUDGET_DENIALS,
            callbacks=[self._reader(BUDGET_DENIALS)],
            unit="{attempt}",
            description="Hedges that were due but refused by the target's budget.",
        )
        meter.create_observable_counter(
            WASTED,
            callbacks=[self._reader(WASTED)],
            unit="{attempt}",
            description="Attempts that lost the race after being sent (wasted work), by state: "
            "cancelled in flight, or released after completing.",
        )
        self._attempts = _histogram(
            meter,
            CALL_ATTEMPTS,
            "{attempt}",
            "Attempts per hedge-eligible request, the primary included.",
            ATTEMPT_BUCKETS,
        )
        meter.create_observable_gauge(
            HEDGE_DELAY,
            callbacks=[self._observe_delays],
            unit="s",
            description="The hedge delay used by the latest request to each target.",
        )
        self._handlers: dict[type[HedgeEvent], Callable[[Any], None]] = {
            HedgeSent: self._hedge_sent,
            BudgetDenied: self._budget_denied,
            AttemptFailed: self._attempt_failed,
            AttemptWon: self._attempt_won,
            AttemptLost: self._attempt_lost,
            RequestFinished: self._request_finished,
        }

    @hookimpl
    def hedge_event(self, event: HedgeEvent) -> None:
        """Record ``event`` (the ``hedge_event`` hook; see :meth:`observe`)."""
        self.observe(event)

    def observe(self, event: HedgeEvent) -> None:
        """Record one :mod:`hedge.events` event; events of unknown types are ignored.

        Called synchronously by hedge's engine on the request's thread or
        loop, in the caller's context.
        """
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # -- one handler per event type ---------------------------------------------

    def _hedge_sent(self, event: HedgeSent) -> None:
        self._count(event, (HEDGES, ((REASON, event.reason),)))
        if self.span_events:
            span = get_current_span()
            if span.is_recording():
                span.add_event(EVENT_SENT, {ATTEMPT: event.attempt, DELAY: event.delay, REASON: event.reason})

    def _budget_denied(self, event: BudgetDenied) -> None:
        self._count(event, _DENIED)
        if self.span_events:
            span = get_current_span()
            if span.is_recording():
                span.add_event(EVENT_DENIED, {ATTEMPT: event.attempt})

    def _attempt_failed(self, event: AttemptFailed) -> None:
        if self.span_events:
            span = get_current_span()
            if span.is_recording():
                attributes: dict[str, Any] = {
                    ATTEMPT: event.attempt,
                    VERDICT: event.verdict.value,
                    ELAPSED: event.elapsed,
                }
                if event.error is not None:
                    attributes[ERROR_TYPE] = _error_type(event.error)
                span.add_event(EVENT_FAILED, attributes)

    def _attempt_won(self, event: AttemptWon) -> None:
        if self.span_events:
            span = get_current_span()
            if span.is_recording():
                span.add_event(EVENT_WINNER, {ATTEMPT: event.attempt, ELAPSED: event.elapsed})

    def _attempt_lost(self, event: AttemptLost) -> None:
        self._count(event, _WASTED[event.attempt > 0, event.completed])
        if self.span_events:
            span = get_current_span()
            if span.is_recording():
                span.add_event(
                    EVENT_RELEASED if event.completed else EVENT_CANCELLED,
                    {ATTEMPT: event.attempt, ELAPSED: event.elapsed},
                )

    def _request_finished(self, event: RequestFinished) -> None:
        state = self._count(event, (REQUESTS, ((OUTCOME, event.outcome),)), event.delay)
        self._attempts.record(event.attempts, state.attributes)

    # -- the per-target state -----------------------------------------------------

    def _count(self, event: HedgeEvent, series: _Series, delay: float | None = None) -> _Target:
        """Add one to ``series`` of the event's target (and note its delay); return the target."""
        pair = (event.framework, event.target)
        targets = self._targets
        with self._lock:
            state = targets.get(pair)
            if state is None:
                state = targets[pair] = _Target(*pair)
                if len(targets) > MAX_TARGETS:
                    targets.popitem(last=False)
            else:
                targets.move_to_end(pair)
            counts = state.counts
            counts[series] = counts.get(series, 0) + 1
            if delay is not None:
                state.delay = delay
        return state

    def _reader(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        """The callback through which the SDK reads counter ``name``'s totals."""

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                rows = [
                    (state.attributes, extra, count)
                    for state in self._targets.values()
                    for (metric, extra), count in state.counts.items()
                    if metric == name
                ]
            return [Observation(count, {**attributes, **dict(extra)}) for attributes, extra, count in rows]

        return observe

    def _observe_delays(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            rows = [(state.attributes, state.delay) for state in self._targets.values()]
        return [Observation(delay, attributes) for attributes, delay in rows if delay is not None]

    def __repr__(self) -> str:
        return f"HedgeTelemetry(span_events={self.span_events!r})"


def _histogram(meter: Meter, name: str, unit: str, description: str, buckets: Sequence[float]) -> Histogram:
    """A histogram with advised bucket boundaries where the API can carry the advice."""
    try:
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
    except TypeError:
        # opentelemetry-api < 1.30 has no advisory parameter: the SDK's
        # default buckets apply unless the application configures a View.
        return meter.create_histogram(name, unit=unit, description=description)


def _error_type(error: BaseException) -> str:
    """The semantic conventions' ``error.type`` of an exception: its qualified class name."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
