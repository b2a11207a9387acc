"""hedge-otel: OpenTelemetry metrics and span events for hedge's hedged requests.

Installing the package is enough: it registers the ``otel`` observer plugin
through the ``hedge`` entry-point group, and every hedge adapter's requests
are then counted on the meter ``"hedge"`` of the global ``MeterProvider``
(hedges sent, wins, budget denials, wasted attempts, attempts per call, the
hedge delay), with events on the caller's recording span. It depends on
``opentelemetry-api`` only: without an SDK configured by the application,
every instrument is a no-op. ``HEDGE_DISABLE_PLUGINS=otel`` turns it off.

:class:`HedgeTelemetry` is the observer itself, for applications that want
hedge's metrics on a ``MeterProvider`` other than the global one. The names
are re-exported lazily, so importing ``hedge_otel._plugin`` (which hedge's
plugin discovery does) never imports OpenTelemetry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from ._telemetry import ATTEMPT_BUCKETS, MAX_TARGETS, METER_NAME, HedgeTelemetry

__all__ = [
    "ATTEMPT_BUCKETS",
    "MAX_TARGETS",
    "METER_NAME",
    "HedgeTelemetry",
    "__version__",
]

_LAZY = frozenset({"ATTEMPT_BUCKETS", "MAX_TARGETS", "METER_NAME", "HedgeTelemetry"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'hedge_otel' has no attribute {name!r}")
    from . import _telemetry

    value = getattr(_telemetry, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
