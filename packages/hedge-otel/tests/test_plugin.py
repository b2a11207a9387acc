"""The ``otel`` plugin: found through the ``hedge`` entry-point group, cheap to load, can be turned off.

Checks that need a fresh interpreter (what importing the plugin imports, a
``MeterProvider`` installed after hedge started) run in a subprocess: the
test process has its global providers installed once by ``conftest``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from typing import Any

import pytest

import hedge_otel
import hedge_otel._plugin
from hedge import Attempt, Hedger, RequestInfo
from hedge.plugins import DISABLE_ENV, HedgePluginManager
from hedge_otel_support import SLOW, Telemetry, fixed_config, unique_url


def run_python(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; return the JSON document it prints last."""
    environment = {key: value for key, value in os.environ.items() if key != DISABLE_ENV}
    environment.update(env)
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_entry_point_names_the_plugin_module() -> None:
    entry_points = [
        entry_point
        for entry_point in metadata.distribution("hedge-otel").entry_points
        if entry_point.group == "hedge"
    ]
    assert [(ep.name, ep.value) for ep in entry_points] == [("otel", "hedge_otel._plugin")]


def test_hedge_loads_the_plugin_from_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    manager = HedgePluginManager()
    manager.load_entry_points()
    assert manager.get_plugin("otel") is hedge_otel._plugin
    assert manager.distributions["otel"] == ("hedge-otel", hedge_otel.__version__)
    implementers = [impl.plugin_name for impl in manager.hook.hedge_event.get_hookimpls()]
    assert implementers == ["otel"]
    assert manager.failures == []


async def _hedged_request(manager: HedgePluginManager) -> str:
    info = RequestInfo.from_url("GET", unique_url(), framework="scripted")
    hedger = Hedger(fixed_config(), plugins=manager)

    async def send(attempt: Attempt) -> str:
        if attempt.index == 0:
            await asyncio.sleep(SLOW)
        return "ok"

    assert await hedger.run(info, send) == "ok"
    assert hedger.stats.snapshot().hedges_sent == 1
    return info.target


async def test_hedge_disable_plugins_otel_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, otel: Telemetry
) -> None:
    monkeypatch.setenv(DISABLE_ENV, "otel")
    disabled = HedgePluginManager()
    disabled.load_entry_points()
    assert disabled.is_blocked("otel")
    assert disabled.get_plugin("otel") is None
    assert otel.points("hedge.client.requests", await _hedged_request(disabled)) == []

    monkeypatch.delenv(DISABLE_ENV)
    enabled = HedgePluginManager()
    enabled.load_entry_points()
    assert otel.count("hedge.client.requests", await _hedged_request(enabled)) == 1


def test_loading_the_plugin_imports_no_opentelemetry() -> None:
    document = run_python(
        """
        import json, sys
        from hedge.plugins import get_plugin_manager
        manager = get_plugin_manager()
        print(json.dumps({
            "plugins": sorted(name for name, plugin in manager.list_name_plugin() if plugin),
            "otel_modules": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
            "telemetry_built": sys.modules["hedge_otel._plugin"]._telemetry is not None,
        }))
        """
    )
    assert "otel" in document["plugins"]
    assert document["otel_modules"] == []
    assert document["telemetry_built"] is False


def test_python_m_hedge_lists_the_plugin_and_its_blocking() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "hedge", "--json"], capture_output=True, text=True, check=True, timeout=120
    )
    assert "otel" in json.loads(listed.stdout)["plugins"]
    blocked = subprocess.run(
        [sys.executable, "-m", "hedge", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, DISABLE_ENV: "otel"},
    )
    document = json.loads(blocked.stdout)
    assert "otel" not in document["plugins"]
    assert document["blocked"] == ["otel"]


def test_a_meter_provider_installed_after_hedge_started_is_honoured() -> None:
    document = run_python(
        """
        import asyncio, json, sys
        from hedge import Hedger, HedgeConfig, RequestInfo
        import hedge_otel._plugin as plugin

        config = HedgeConfig(min_delay=0.01, max_delay=0.01, warmup_delay=0.01,
                             budget_percent=100.0, budget_floor=100.0)
        hedger = Hedger(config)
        info = RequestInfo.from_url("GET", "http://late.otel.test/item", framework="scripted")

        async def send(attempt):
            if attempt.index == 0:
                await asyncio.sleep(5.0)
            return attempt.index

        async def hedged():
            assert await hedger.run(info, send) == 1

        asyncio.run(hedged())  # no provider yet: the plugin builds its instruments on proxies
        built_early = plugin._telemetry is not None
        sdk_early = any(name.startswith("opentelemetry.sdk") for name in sys.modules)

        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        asyncio.run(hedged())
        asyncio.run(hedged())

        found = {}
        for resource in reader.get_metrics_data().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[scope.scope.name + " " + metric.name] = [
                        getattr(point, "value", getattr(point, "count", None))
                        for point in metric.data.data_points
                    ]
        print(json.dumps({"built_early": built_early, "sdk_early": sdk_early, "found": found,
                          "version": [s.scope.version for r in reader.get_metrics_data().resource_metrics
                                      for s in r.scope_metrics][0]}))
        """
    )
    assert document["built_early"] is True
    assert document["sdk_early"] is False
    found = document["found"]
    # The counters are hedge's own totals, read by the provider when it collects:
    # they include the request made before it was installed. The histogram
    # is the SDK's: it holds the two requests made since.
    assert found["hedge hedge.client.requests"] == [3]
    assert found["hedge hedge.client.hedges"] == [3]
    assert found["hedge hedge.client.call.attempts"] == [2]
    assert found["hedge hedge.client.hedge_delay"] == [0.01]  # the observable gauge's callback too
    assert document["version"] == hedge_otel.__version__
