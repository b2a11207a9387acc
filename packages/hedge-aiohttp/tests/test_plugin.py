"""Discovery: the plugin module imports no aiohttp; the spec's floor is the package's floor."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import hedge_aiohttp
from hedge import transport
from hedge.plugins import discover_adapters
from hedge_aiohttp._plugin import MIN_AIOHTTP, SPEC

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_importing_the_plugin_and_the_package_imports_no_aiohttp() -> None:
    script = textwrap.dedent(
        """
        import sys
        import hedge_aiohttp._plugin
        import hedge_aiohttp
        assert hedge_aiohttp.__version__
        assert "aiohttp" not in sys.modules, "aiohttp was imported"
        hedge_aiohttp.hedge_middleware
        assert "aiohttp" in sys.modules
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_the_spec_floor_is_the_declared_floor() -> None:
    declared = re.search(r'"aiohttp>=([0-9.]+)"', PYPROJECT.read_text())
    assert declared is not None
    assert declared.group(1) == MIN_AIOHTTP == SPEC.min_version


def test_discovery_finds_a_compatible_adapter() -> None:
    (status,) = [s for s in discover_adapters() if s.spec.name == "aiohttp"]
    assert status.distribution == "hedge-aiohttp"
    assert status.compatible, status.status
    for public, target in SPEC.exports.items():
        assert status.spec.load(public) is getattr(hedge_aiohttp, public)
        assert target.startswith("hedge_aiohttp:")


def test_public_names() -> None:
    assert set(hedge_aiohttp.__all__) == {
        "AiohttpClassifier",
        "HedgeMiddleware",
        "HedgedAiohttpSession",
        "__version__",
        "hedge_middleware",
        "hedging",
    }
    assert set(hedge_aiohttp.__all__) <= set(dir(hedge_aiohttp))
    assert transport.HedgedAiohttpSession is hedge_aiohttp.HedgedAiohttpSession
