"""Drivers: how the benchmark talks to one adapter's framework, bare and hedged.

A driver is the only framework-specific code in hedge-bench. Given the
server's address and a :class:`hedge.HedgeConfig` (or ``None``), it opens a
client of its framework: the framework's own client, untouched, for ``None``
(the "no hedging" row), or the same client with the adapter's hedging
installed, the way the adapter's README says to install it. The runner then
calls :meth:`BenchClient.call` once per request and times it from outside,
so every framework is measured the same way.

Drivers are found through the ``hedge_bench.drivers`` entry-point group
(``name = "module:DRIVER"``), hedge-bench's own included, and matched to the
adapters that :func:`hedge.discover_adapters` reports by
:attr:`Driver.adapter`. A driver module imports its framework only inside
:attr:`Driver.open`, so listing drivers imports no framework.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

from hedge import HedgeConfig

__all__ = ["ENTRY_POINT_GROUP", "BenchClient", "Driver", "load_drivers"]

ENTRY_POINT_GROUP = "hedge_bench.drivers"


class BenchClient(Protocol):
    """An open client of one framework, as a driver returns it."""

    async def call(self, path: str) -> None:
        """Make one request for ``path`` (``/r/<epoch>/<stream>/<request>``) and read the whole answer.

        Raises:
            Exception: if the request failed or was not answered ``ok``.

        """

    async def aclose(self) -> None:
        """Close the client and everything it opened."""


@dataclass(frozen=True)
class Driver:
    """How to benchmark one adapter.

    Attributes:
        adapter: the :class:`hedge.AdapterSpec` name this driver exercises
            (``"httpx"``); discovery decides whether it runs.
        protocol: ``"http"`` or ``"grpc"``: which benchmark server it talks to.
        open: ``await open(address, config, connections)`` returns a
            :class:`BenchClient`; ``config=None`` means the bare framework
            client. ``connections`` is how many requests may be in flight at
            once (hedges included), for sizing pools.
        bare: the bare client, as shown in reports (``"httpx.AsyncClient()"``).
        hedged: the hedged client, as shown in reports.

    """

    adapter: str
    protocol: str
    open: Callable[[str, HedgeConfig | None, int], Awaitable[BenchClient]]
    bare: str
    hedged: str

    def __post_init__(self) -> None:
        if self.protocol not in ("http", "grpc"):
            raise ValueError(f"Driver.protocol must be 'http' or 'grpc', got {self.protocol!r}")


def load_drivers() -> dict[str, Driver]:
    """Return every installed driver by adapter name.

    A driver that cannot be loaded is skipped with a warning; the others load.
    """
    drivers: dict[str, Driver] = {}
    for entry_point in sorted(_entry_points(), key=lambda ep: ep.name):
        try:
            driver = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - a broken third-party driver must not stop the others
            warnings.warn(f"hedge-bench driver {entry_point.name!r} was skipped: {exc!r}", stacklevel=2)
            continue
        if not isinstance(driver, Driver):
            warnings.warn(
                f"hedge-bench driver {entry_point.name!r} was skipped: "
                f"it is a {type(driver).__name__}, not a hedge_bench.Driver",
                stacklevel=2,
            )
            continue
        drivers.setdefault(driver.adapter, driver)
    return drivers


def _entry_points() -> list[metadata.EntryPoint]:
    found: Any = metadata.entry_points()
    if hasattr(found, "select"):
        return list(found.select(group=ENTRY_POINT_GROUP))
    return list(found.get(ENTRY_POINT_GROUP, []))  # Python 3.9: a dict of groups
