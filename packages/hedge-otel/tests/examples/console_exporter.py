"""hedge's metrics and span events on the console, with the OpenTelemetry SDK.

    pip install hedge-otel hedge-httpx[httpx] opentelemetry-sdk
    python console_exporter.py https://example.com/

hedge-otel needs no code: once installed, its plugin records every hedged
request on the global providers. The application only configures the SDK.
"""

from __future__ import annotations

import asyncio
import sys

import httpx
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from hedge import HedgeConfig
from hedge_httpx import HedgedHttpxTransport

# The usual SDK setup: metrics every minute (and at shutdown), spans as they end.
meter_provider = MeterProvider(
    metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)]
)
metrics.set_meter_provider(meter_provider)
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
trace.set_tracer_provider(tracer_provider)
tracer = trace.get_tracer("console-example")


async def fetch_all(url: str, count: int) -> None:
    transport = HedgedHttpxTransport(config=HedgeConfig(min_delay=0.05, max_delay=2.0))
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(count):
            # hedge's span events (hedge.sent, hedge.winner, ...) land on this span.
            with tracer.start_as_current_span("fetch"):
                response = await client.get(url)
                print(response.status_code, len(response.content), "bytes", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(fetch_all(sys.argv[1] if len(sys.argv) > 1 else "https://example.com/", count=5))
    meter_provider.shutdown()  # exports the metrics collected so far
    tracer_provider.shutdown()
