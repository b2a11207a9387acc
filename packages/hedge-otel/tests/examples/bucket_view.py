"""hedge's advised histogram buckets as a View, for opentelemetry-api older than 1.30.

From 1.30 the API carries a histogram's advised bucket boundaries to the SDK
and hedge-otel advises them itself; before, the SDK's default boundaries
(meant for milliseconds) apply unless a View sets them.
"""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

import hedge_otel


def meter_provider_with_hedge_buckets(*readers: MetricReader) -> MeterProvider:
    attempts = View(
        instrument_name="hedge.client.call.attempts",
        aggregation=ExplicitBucketHistogramAggregation(hedge_otel.ATTEMPT_BUCKETS),
    )
    return MeterProvider(metric_readers=list(readers), views=[attempts])
