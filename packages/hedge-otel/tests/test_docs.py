"""The documentation page runs and stays in step with the code.

Every Python block of ``docs/pages/observability-otel.md`` is one of the files in
``tests/examples``, verbatim, and each of those runs here; the metric and
span-event tables list exactly what the plugin exports.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    InMemoryMetricReader,
    Sum,
)

from hedge import Attempt, Hedger, RequestInfo
from hedge.events import AttemptLost, BudgetDenied, HedgeSent, RequestFinished
from hedge.plugins import DISABLE_ENV, get_plugin_manager
from hedge.testing import Reply, ScriptedServer
from hedge_otel import HedgeTelemetry, _telemetry
from hedge_otel_support import SLOW, fixed_config, unique_url

EXAMPLES = Path(__file__).parent / "examples"
PAGE = Path(__file__).resolve().parents[3] / "docs" / "pages" / "observability-otel.md"
KINDS = {"ObservableCounter": Sum, "Counter": Sum, "Histogram": Histogram, "ObservableGauge": Gauge}


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hedge_otel_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finished(target: str) -> RequestFinished:
    return RequestFinished("k", target, "docs", 2, 1, "hedge", 0.3, 0.1)


def test_every_python_block_of_the_page_is_an_example_file_verbatim() -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.DOTALL)
    examples = {path.name: path.read_text() for path in EXAMPLES.glob("*.py")}
    assert sorted(blocks) == sorted(examples.values()), "a block differs from its example file"


def _exported(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: metric for r in data.resource_metrics for s in r.scope_metrics for metric in s.metrics
    }


def test_the_metric_table_lists_what_the_plugin_exports() -> None:
    reader = InMemoryMetricReader()
    telemetry = HedgeTelemetry(MeterProvider(metric_readers=[reader]))
    target = "http://docs.otel.test:80"
    for event in (
        HedgeSent("k", target, "docs", 1, 0.1, "delay"),
        BudgetDenied("k", target, "docs", 2),
        AttemptLost("k", target, "docs", 0, 0.2, False),
    ):
        telemetry.observe(event)
    telemetry.observe(finished(target))
    exported = _exported(reader)

    rows = re.findall(
        r"^\| `(hedge\.client\.[\w.]+)` \| (\w+) \| `([^`]+)` \| ([^|]+) \|", PAGE.read_text(), re.M
    )
    assert {name for name, *_ in rows} == set(exported)
    for name, kind, unit, attributes in rows:
        metric = exported[name]
        assert metric.unit == unit, name
        assert isinstance(metric.data, KINDS[kind]), (name, kind)
        if isinstance(metric.data, Sum):
            assert metric.data.is_monotonic, name
        documented = set(re.findall(r"`([\w.]+)`", attributes))
        for point in metric.data.data_points:
            assert set(point.attributes) == documented, (name, dict(point.attributes))


def test_the_span_event_table_lists_every_event_the_plugin_adds() -> None:
    names = {value for key, value in vars(_telemetry).items() if key.startswith("EVENT_")}
    section = PAGE.read_text().split("## Span events", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(hedge\.\w+)` \|", section, re.M))
    assert documented == names


def _json_documents(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    documents, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return documents
        document, index = decoder.raw_decode(text, index)
        documents.append(document)


def test_the_console_example_prints_hedge_metrics_and_span_events(server: ScriptedServer) -> None:
    server.script("/item", Reply(delay=SLOW, body=b"primary"), Reply(body=b"hedge"))
    environment = {key: value for key, value in os.environ.items() if key != DISABLE_ENV}
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / "console_exporter.py"), server.url_for("/item")],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    received = server.requests_to("/item")
    assert completed.stderr.count("200 ") == 5

    documents = _json_documents(completed.stdout)
    spans = [document for document in documents if "span_id" in document.get("context", {})]
    assert len(spans) == 5
    assert [event["name"] for event in spans[0]["events"]] == [
        "hedge.sent",
        "hedge.loser_cancelled",
        "hedge.winner",
    ]
    assert spans[0]["events"][0]["attributes"] == {
        "hedge.attempt": 1,
        "hedge.delay": 0.05,
        "hedge.reason": "delay",
    }

    points: dict[str, float] = {}
    for document in documents:
        for resource in document.get("resource_metrics", []):
            for scope in resource["scope_metrics"]:
                if scope["scope"]["name"] != "hedge":
                    continue
                for metric in scope["metrics"]:
                    for point in metric["data"]["data_points"]:
                        value = point.get("value", point.get("count"))
                        points[metric["name"]] = points.get(metric["name"], 0) + value
    assert points["hedge.client.requests"] == 5
    assert points["hedge.client.hedges"] == len(received) - 5
    assert points["hedge.client.call.attempts"] == 5
    assert points["hedge.client.hedge_delay"] == 0.05


def test_the_bucket_view_example_applies_the_advised_buckets_on_any_api() -> None:
    example = load_example("bucket_view")
    reader = InMemoryMetricReader()
    telemetry = HedgeTelemetry(example.meter_provider_with_hedge_buckets(reader))
    telemetry.observe(finished("http://view.otel.test:80"))
    (point,) = _exported(reader)["hedge.client.call.attempts"].data.data_points
    assert tuple(point.explicit_bounds) == _telemetry.ATTEMPT_BUCKETS
    assert list(point.bucket_counts) == [0, 1, 0, 0, 0, 0]


def test_the_own_provider_example_records_on_that_provider() -> None:
    example = load_example("own_provider")
    reader = InMemoryMetricReader()
    telemetry = example.observe_hedging(MeterProvider(metric_readers=[reader]))
    try:
        assert get_plugin_manager().get_plugin("otel-private") is telemetry
        info = RequestInfo.from_url("GET", unique_url(), framework="docs")
        hedger = Hedger(fixed_config())

        async def send(attempt: Attempt) -> str:
            if attempt.index == 0:
                await asyncio.sleep(SLOW)
            return "ok"

        assert asyncio.run(hedger.run(info, send)) == "ok"
    finally:
        get_plugin_manager().unregister(name="otel-private")
    exported = _exported(reader)
    (requests,) = exported["hedge.client.requests"].data.data_points
    assert (requests.attributes["hedge.target"], requests.value) == (info.target, 1)
    (hedges,) = exported["hedge.client.hedges"].data.data_points
    assert hedges.value == 1
