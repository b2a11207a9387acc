"""Shared fixtures for hedge-core's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hedge.plugins import HedgePluginManager, reset_plugin_manager
from hedge.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A manual clock starting at 1000 s."""
    return FakeClock(1000.0)


@pytest.fixture
def pm() -> HedgePluginManager:
    """A fresh plugin manager with no entry points loaded."""
    return HedgePluginManager()


@pytest.fixture
def fresh_plugins() -> Iterator[None]:
    """Forget the process-wide plugin manager before and after the test."""
    reset_plugin_manager()
    yield
    reset_plugin_manager()
