"""The global OpenTelemetry SDK providers every hedge-otel test reads, and shared fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import metrics, trace

sys.path.insert(0, str(Path(__file__).parent))

from hedge.testing import ScriptedServer
from hedge_otel_support import Telemetry

_TELEMETRY = Telemetry()
# Installed once for the whole test process (the API's global providers can
# be set only once), before any test sends a request.
metrics.set_meter_provider(_TELEMETRY.meter_provider)
trace.set_tracer_provider(_TELEMETRY.tracer_provider)


def pytest_report_header() -> str:
    from importlib.metadata import version

    return (
        f"opentelemetry-api {version('opentelemetry-api')}, opentelemetry-sdk {version('opentelemetry-sdk')}"
    )


@pytest.fixture
def otel() -> Telemetry:
    """The SDK providers: read metric points and finished spans."""
    return _TELEMETRY


@pytest.fixture
def tracer() -> trace.Tracer:
    return trace.get_tracer("hedge-otel-tests")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted
