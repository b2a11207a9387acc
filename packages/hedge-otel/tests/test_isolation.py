"""In a fresh virtualenv holding only hedge-core, hedge-otel and opentelemetry-api.

This test builds a virtualenv (with ``uv`` when it is on PATH, which takes
seconds; with ``venv`` and pip otherwise), installs the two local packages
and the opentelemetry-api version installed here, no SDK, and runs hedged
requests in it. It proves that hedge-otel needs nothing else, that loading
hedge's plugins imports no OpenTelemetry, and that what hedge-otel imports
when it runs is the API's own dependency closure, pluggy and hedge.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import sys
baseline = set(sys.modules)

from hedge.plugins import get_plugin_manager

import asyncio
import json
import re
import sysconfig
from importlib import metadata

roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}


def third_party_since(before):
    return sorted(
        {
            name.split(".")[0]
            for name, mod in list(sys.modules.items())
            if name not in before
            and any(str(getattr(mod, "__file__", None) or "").startswith(root) for root in roots)
        }
    )


manager = get_plugin_manager()
plugins = sorted(name for name, plugin in manager.list_name_plugin() if plugin is not None)
after_loading = third_party_since(baseline)

from hedge import HedgeConfig, Hedger, RequestInfo

config = HedgeConfig(min_delay=0.05, max_delay=0.05, warmup_delay=0.05, budget_percent=100.0)
hedger = Hedger(config)
info = RequestInfo.from_url("GET", "http://isolated.test/item", framework="isolated")


async def send(attempt):
    if attempt.index == 0:
        await asyncio.sleep(5.0)
    return "answer %d" % attempt.index


answers = [asyncio.run(hedger.run(info, send)) for _ in range(2)]
third_party = third_party_since(baseline)


def closure(names):
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # excluded by its environment marker
        seen.add(name)
        for requirement in requirements:
            if "extra ==" not in requirement:
                todo.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return seen


def top_level(distribution):
    names = set()
    for file in metadata.distribution(distribution).files or ():
        parts = file.parts
        if parts and not parts[0].endswith((".dist-info", ".pth")) and parts[0] != "..":
            names.add(parts[0][:-3] if parts[0].endswith(".py") else parts[0])
    return names


allowed = set()
for distribution in closure(["hedge-otel"]):
    allowed |= top_level(distribution)
print(json.dumps({
    "plugins": plugins,
    "after_loading": after_loading,
    "third_party": third_party,
    "otel_modules": sorted(name for name in sys.modules if name.startswith("opentelemetry")),
    "allowed": sorted(allowed),
    "distributions": sorted(d.metadata["Name"].lower() for d in metadata.distributions()),
    "answers": answers,
    "stats": [hedger.stats.snapshot().hedges_sent, hedger.stats.snapshot().hedge_wins],
    "telemetry_built": sys.modules["hedge_otel._plugin"]._telemetry is not None,
}))
"""


def _build_venv(root: Path) -> Path:
    api = f"opentelemetry-api=={metadata.version('opentelemetry-api')}"
    requirements = [str(PACKAGES / "hedge-core"), str(PACKAGES / "hedge-otel"), api]
    uv = shutil.which("uv")
    if uv is not None:
        subprocess.run(
            [uv, "venv", "--quiet", "--python", sys.executable, str(root)], check=True, timeout=300
        )
        python = root / "bin" / "python"
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--no-sources", "--python", str(python), *requirements],
            check=True,
            timeout=600,
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
        python = root / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
            timeout=600,
        )
    return python


def test_hedge_otel_needs_only_hedge_and_the_opentelemetry_api(tmp_path: Path) -> None:
    python = _build_venv(tmp_path / "venv")
    completed = subprocess.run(
        [str(python), "-W", "error", "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)

    # The venv holds what was asked for and the API's dependencies: no SDK.
    distributions = set(report["distributions"])
    assert {"hedge-core", "hedge-otel", "pluggy", "opentelemetry-api"} <= distributions
    assert not {"opentelemetry-sdk", "opentelemetry-semantic-conventions", "pytest"} & distributions
    # hedge loads the plugin from its entry point without importing OpenTelemetry.
    assert report["plugins"] == ["otel"]
    assert set(report["after_loading"]) <= {"hedge", "hedge_otel", "pluggy"}
    # Running it imports the API (no-op instruments without an SDK), never the SDK.
    assert report["answers"] == ["answer 1", "answer 1"]
    assert report["stats"] == [2, 2]
    assert report["telemetry_built"] is True
    assert "opentelemetry.metrics" in report["otel_modules"]
    assert not [name for name in report["otel_modules"] if name.startswith("opentelemetry.sdk")]
    assert {"hedge", "hedge_otel", "pluggy", "opentelemetry"} <= set(report["third_party"])
    assert set(report["third_party"]) <= set(report["allowed"])
