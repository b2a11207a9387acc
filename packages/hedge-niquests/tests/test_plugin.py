"""Discovery: the plugin registers the adapter without importing niquests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import hedge_niquests
from hedge import discover_adapters
from hedge_niquests._plugin import NIQUESTS_FLOOR

PACKAGE = Path(__file__).resolve().parents[1]


def test_the_plugin_and_the_package_import_without_niquests() -> None:
    script = (
        "import sys, hedge_niquests, hedge_niquests._plugin\n"
        "from hedge import discover_adapters\n"
        "names = [s.spec.name for s in discover_adapters()]\n"
        "assert 'niquests' in names, names\n"
        "assert 'niquests' not in sys.modules, 'niquests was imported'\n"
        "assert 'hedge_niquests._adapter' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_the_registered_spec() -> None:
    (status,) = [s for s in discover_adapters() if s.spec.name == "niquests"]
    assert status.distribution == "hedge-niquests"
    assert status.spec.framework == "niquests"
    assert status.compatible
    for public in status.spec.exports:
        assert status.spec.load(public) is getattr(hedge_niquests, public)


def test_the_floor_matches_the_declared_dependency() -> None:
    pyproject = (PACKAGE / "pyproject.toml").read_text()
    declared = re.search(r'"niquests>=([0-9.]+)"', pyproject)
    assert declared is not None
    assert declared.group(1) == NIQUESTS_FLOOR


def test_public_names() -> None:
    for name in hedge_niquests.__all__:
        assert getattr(hedge_niquests, name) is not None
    assert set(hedge_niquests.__all__) <= set(dir(hedge_niquests))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        hedge_niquests.Nope  # noqa: B018
