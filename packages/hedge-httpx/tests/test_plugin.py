"""Discovery, seed compatibility and import hygiene (hedge_httpx._plugin, __init__)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import hedge_httpx
from hedge import discover_adapters
from hedge_httpx._plugin import HTTPX, HTTPX2

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_the_entry_point_is_registered() -> None:
    found = metadata.entry_points()
    group = found.select(group="hedge") if hasattr(found, "select") else found.get("hedge", [])  # Python 3.9
    (entry_point,) = [ep for ep in group if ep.name == "httpx"]
    assert entry_point.value == "hedge_httpx._plugin"


def test_each_framework_is_its_own_adapter() -> None:
    found = {status.spec.name: status for status in discover_adapters()}
    assert found["httpx"].spec == HTTPX
    assert found["httpx2"].spec == HTTPX2
    for name in ("httpx", "httpx2"):
        status = found[name]
        assert status.distribution == "hedge-httpx"
        installed = _installed(name)
        assert status.framework_version == installed
        assert status.compatible is (installed is not None)


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@pytest.mark.parametrize("spec", [HTTPX, HTTPX2], ids=lambda spec: spec.name)
def test_the_declared_floor_is_the_extra_floor(spec: Any) -> None:
    # The extra in pyproject.toml (read by the noxfile) and the spec must agree.
    text = PYPROJECT.read_text()
    (floor,) = re.findall(
        rf'^{spec.name} = \["{spec.framework}>=([0-9.]+)(?:;[^"]*)?"\]$', text, re.MULTILINE
    )
    assert floor == spec.min_version


def test_exports_resolve_to_the_public_classes(framework: Any) -> None:
    spec = HTTPX if framework.name == "httpx" else HTTPX2
    loaded = {name: spec.load(name) for name in spec.exports}
    assert set(loaded.values()) == {framework.async_transport, framework.sync_transport}
    assert all(name in hedge_httpx.__all__ for name in loaded)


def test_seed_import_path(frameworks: list[Any]) -> None:
    if any(f.name == "httpx" for f in frameworks):
        from hedge.transport import HedgedHttpxTransport

        assert HedgedHttpxTransport is hedge_httpx.HedgedHttpxTransport
    else:
        from hedge import AdapterUnavailable

        with pytest.raises(AdapterUnavailable, match="httpx"):
            from hedge.transport import HedgedHttpxTransport


def test_unknown_attributes_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="HedgedTransport"):
        hedge_httpx.HedgedTransport  # noqa: B018
    assert set(hedge_httpx.__all__) <= set(dir(hedge_httpx))


def test_importing_the_package_and_its_plugin_imports_no_framework() -> None:
    code = (
        "import sys, json, hedge_httpx, hedge_httpx._plugin, hedge;"
        "hedge.discover_adapters();"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'httpx2', 'httpcore', 'httpcore2', 'anyio'))))"
    )
    assert json.loads(_run(code)) == []


def test_python_m_hedge_lists_both_adapters() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "hedge", "--json"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    names = {entry["name"]: entry for entry in json.loads(listed)["adapters"]}
    assert names["httpx"]["distribution"] == names["httpx2"]["distribution"] == "hedge-httpx"
    assert names["httpx"]["exports"] == ["HedgedHttpxSyncTransport", "HedgedHttpxTransport"]
