"""Drivers: how the benchmark talks to one adapter's framework, bare and hedged.

A driver is the only framework-specific code in hedge-bench. Given the
server's address and a :class:`hedge.HedgeConfig` (or ``None``), it opens a
client of its framework: the framework's own client, untouched, for ``None``
(the "no hedging" row), or the same client with the adapter's hedging
installed, the way the adapter's README says to install it. The runner then
calls :meth:`BenchClient.call` once per request and times it from outside,
so every framework is measured the same way.

A driver of an adapter with a synchronous form (a client for threads) also
gives :attr:`Driver.open_sync`, which ``hedge-bench soak`` drives from a
pool of threads; its :meth:`SyncBenchClient.call` takes a timeout, the way
a thread's caller gives up on a request.

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
from typing import Any, Optional, Protocol

from hedge import HedgeConfig

__all__ = ["ENTRY_POINT_GROUP", "BenchClient", "Driver", "SyncBenchClient", "load_drivers"]

ENTRY_POINT_GROUP = "hedge_bench.drivers"


class BenchClient(Protocol):
    """An open client of one framework, as a driver returns it."""

    async def call(self, path: str, address: str | None = None) -> None:
        """Make one request for ``path`` (``/r/<epoch>/<stream>/<request>``) and read the whole answer.

        Args:
            path: what to ask for.
            address: another server of the same protocol to send it to
                (default: the one the client was opened for), through the
                same client and so the same hedging state.

        Raises:
            Exception: if the request failed or was not answered ``ok``.

        """

    async def aclose(self) -> None:
        """Close the client and everything it opened."""


class SyncBenchClient(Protocol):
    """An open client of a framework's synchronous form, as :attr:`Driver.open_sync` returns it.

    It is called from several threads at once, as such a client is in use.
    """

    def call(self, path: str, timeout: float | None = None, address: str | None = None) -> None:
        """Make one request, as :meth:`BenchClient.call`, in the calling thread.

        Args:
            path: what to ask for.
            timeout: the framework's own timeout for this request, in
                seconds (``None``: the client's default).
            address: as for :meth:`BenchClient.call`.

        Raises:
            TimeoutError: the framework's timeout expired (its own exception
                is the ``__cause__``).
            Exception: if the request failed otherwise or was not answered ``ok``.

        """

    def close(self) -> None:
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
        open_sync: ``open_sync(address, config, connections)`` returns a
            :class:`SyncBenchClient` of the adapter's synchronous form, or
            ``None`` (the default) if it has none.
        hedged_sync: the synchronous hedged client, as shown in reports.

    """

    adapter: str
    protocol: str
    open: Callable[[str, HedgeConfig | None, int], Awaitable[BenchClient]]
    bare: str
    hedged: str
    open_sync: Optional[Callable[[str, Optional[HedgeConfig], int], SyncBenchClient]] = None  # noqa: UP045
    hedged_sync: str = ""

    def __post_init__(self) -> None:
        if self.protocol not in ("http", "grpc"):
            raise ValueError(f"Driver.protocol must be 'http' or 'grpc', got {self.protocol!r}")
        if self.open_sync is not None and not self.hedged_sync:
            raise ValueError("Driver.hedged_sync must name the synchronous client when open_sync is given")

    @property
    def forms(self) -> tuple[str, ...]:
        """``("async",)``, or ``("async", "sync")`` when the adapter has a synchronous form."""
        return ("async",) if self.open_sync is None else ("async", "sync")


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
