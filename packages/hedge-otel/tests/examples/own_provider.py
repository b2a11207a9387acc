"""hedge's metrics on a MeterProvider that is not the global one.

Run the application with HEDGE_DISABLE_PLUGINS=otel so that the default
plugin (global providers) does not count the same requests too.
"""

from __future__ import annotations

from opentelemetry.metrics import MeterProvider

from hedge.plugins import get_plugin_manager
from hedge_otel import HedgeTelemetry


def observe_hedging(meter_provider: MeterProvider) -> HedgeTelemetry:
    telemetry = HedgeTelemetry(meter_provider)
    get_plugin_manager().register(telemetry, name="otel-private")
    return telemetry
