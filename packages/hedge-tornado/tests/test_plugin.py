"""Discovery: the entry point, hedge-python's import path, and import hygiene."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import hedge_tornado
from hedge.plugins import discover_adapters
from hedge_tornado._plugin import TORNADO

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_adapter_is_discovered_through_its_entry_point() -> None:
    (status,) = [s for s in discover_adapters() if s.spec.name == "tornado"]
    assert status.plugin == "tornado"
    assert status.distribution == "hedge-tornado"
    assert status.spec.framework == "tornado"
    assert status.compatible, status.status
    assert status.spec == TORNADO


def test_hedge_pythons_import_path_resolves_to_this_adapter() -> None:
    from hedge.transport import HedgedTornadoClient

    assert HedgedTornadoClient is hedge_tornado.HedgedTornadoClient


def test_the_registered_floor_is_the_declared_one() -> None:
    declared = re.search(r'"tornado>=([0-9.]+)"', PYPROJECT.read_text())
    assert declared is not None
    assert declared.group(1) == TORNADO.min_version


def test_discovery_does_not_import_tornado() -> None:
    code = (
        "import sys, hedge_tornado, hedge_tornado._plugin\n"
        "from hedge.plugins import discover_adapters\n"
        "assert any(s.spec.name == 'tornado' for s in discover_adapters())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tornado'))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_public_names_are_lazy_and_listed() -> None:
    assert hedge_tornado.__all__ == ["HedgedTornadoClient", "__version__"]
    assert "HedgedTornadoClient" in dir(hedge_tornado)
    assert hedge_tornado.__version__ == "0.1.0"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        hedge_tornado.Nope  # noqa: B018
