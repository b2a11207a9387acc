"""hedge-otel's plugin: the ``otel`` entry point of the ``hedge`` group.

hedge's plugin discovery imports this module whenever hedge loads its
plugins, so it imports neither OpenTelemetry nor the instruments: the
default :class:`~hedge_otel.HedgeTelemetry` (global providers) is built on
the first event, once. With no hedge-eligible request nothing is imported
or created, and ``HEDGE_DISABLE_PLUGINS=otel`` keeps the module from being
loaded at all.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from hedge.hookspecs import hookimpl

if TYPE_CHECKING:
    from hedge.events import HedgeEvent

    from ._telemetry import HedgeTelemetry

__all__ = ["default_telemetry", "hedge_event"]

_telemetry: HedgeTelemetry | None = None
_lock = threading.Lock()


def default_telemetry() -> HedgeTelemetry:
    """Return the plugin's :class:`~hedge_otel.HedgeTelemetry`, building it on first use."""
    global _telemetry
    telemetry = _telemetry
    if telemetry is None:
        with _lock:
            telemetry = _telemetry
            if telemetry is None:
                from ._telemetry import HedgeTelemetry

                telemetry = _telemetry = HedgeTelemetry()
    return telemetry


@hookimpl
def hedge_event(event: HedgeEvent) -> None:
    """Record ``event`` with the default telemetry (global meter and tracer providers)."""
    telemetry = _telemetry
    if telemetry is None:
        telemetry = default_telemetry()
    telemetry.observe(event)
