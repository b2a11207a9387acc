"""Reading what the OpenTelemetry SDK exported, for hedge-otel's tests.

The test process installs one global ``MeterProvider`` (with an
``InMemoryMetricReader``, cumulative) and one global ``TracerProvider``
(with an ``InMemorySpanExporter``) for its whole life: the API allows the
global providers to be set once. Metrics therefore accumulate across tests,
and every test reads only the points of its own target (each test talks to
its own server port, or to a host name of its own).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hedge import HedgeConfig, Stats

_hosts = itertools.count(1)

FIXED_DELAY = 0.05
SLOW = 5.0  # seconds a slow attempt would take; always cancelled long before


def unique_url(path: str = "/item") -> str:
    """A URL on a host name no other test uses (for engine tests without a server)."""
    return f"http://t{next(_hosts)}.otel.test:8080{path}"


def fixed_config(**changes: Any) -> HedgeConfig:
    """A fixed hedge delay, an ample budget and its own Stats."""
    settings: dict[str, Any] = {
        "min_delay": FIXED_DELAY,
        "max_delay": FIXED_DELAY,
        "warmup_delay": FIXED_DELAY,
        "budget_percent": 100.0,
        "budget_floor": 100.0,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


@dataclass
class Histogram:
    count: int
    sum: float
    min: float
    max: float
    bounds: Sequence[float]
    buckets: Sequence[int]


class Telemetry:
    """The global SDK providers of the test process and ways to read them."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self._series: dict[str, dict[frozenset[tuple[str, Any]], Any]] = {}
        self._units: dict[str, str] = {}

    # -- metrics ----------------------------------------------------------------

    def collect(self) -> None:
        """Collect now, keeping the latest point of every series ever reported.

        Points are cumulative, so the latest is the total. Keeping them also
        covers SDKs before 1.2x that leave a histogram series out of a
        collection when it had no new measurement since the previous one.
        """
        data = self.reader.get_metrics_data()
        if data is None:
            return
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                if scope.scope.name != "hedge":
                    continue
                for metric in scope.metrics:
                    self._units[metric.name] = metric.unit
                    series = self._series.setdefault(metric.name, {})
                    for point in metric.data.data_points:
                        series[frozenset(point.attributes.items())] = point

    def points(self, name: str, target: str, attributes: dict[str, Any] | None = None) -> list[Any]:
        """The data points of ``name`` for ``target`` whose attributes include ``attributes``."""
        self.collect()
        wanted = {"hedge.target": target, **(attributes or {})}
        return [
            point
            for point in self._series.get(name, {}).values()
            if all(point.attributes.get(key) == value for key, value in wanted.items())
        ]

    def count(self, name: str, target: str, attributes: dict[str, Any] | None = None) -> float:
        """The sum of a counter's points for ``target`` matching ``attributes`` (0 if none)."""
        return sum(point.value for point in self.points(name, target, attributes))

    def histogram(self, name: str, target: str) -> Histogram | None:
        points = self.points(name, target)
        if not points:
            return None
        assert len(points) == 1, points
        point = points[0]
        return Histogram(
            point.count, point.sum, point.min, point.max, point.explicit_bounds, point.bucket_counts
        )

    def gauge(self, name: str, target: str) -> list[float]:
        return [point.value for point in self.points(name, target)]

    def unit(self, name: str) -> str:
        self.collect()
        return self._units[name]

    # -- spans ------------------------------------------------------------------

    def span(self, name: str) -> ReadableSpan:
        spans = [span for span in self.exporter.get_finished_spans() if span.name == name]
        assert len(spans) == 1, [span.name for span in self.exporter.get_finished_spans()]
        return spans[0]

    def span_events(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """``(event name, attributes)`` of the hedge events on the finished span ``name``."""
        return [
            (event.name, dict(event.attributes or {}))
            for event in self.span(name).events
            if event.name.startswith("hedge.")
        ]


_span_names = itertools.count(1)


def span_name(label: str) -> str:
    """A span name no other test uses."""
    return f"{label}-{next(_span_names)}"
