"""Which adapters a benchmark runs: discovery's installed adapters that have a driver."""

from __future__ import annotations

from dataclasses import dataclass

import hedge
from hedge import AdapterStatus

from ._driver import Driver, load_drivers

__all__ = ["Target", "select_targets"]


@dataclass(frozen=True)
class Target:
    """An adapter to benchmark: what discovery found and the driver that exercises it."""

    status: AdapterStatus
    driver: Driver

    @property
    def name(self) -> str:
        """The adapter's name (``"httpx"``)."""
        return self.status.spec.name

    @property
    def framework_version(self) -> str:
        """The framework's installed version."""
        return self.status.framework_version or "?"


def select_targets(
    requested: list[str] | None = None,
    *,
    drivers: dict[str, Driver] | None = None,
    statuses: list[AdapterStatus] | None = None,
) -> tuple[list[Target], list[str]]:
    """Return the adapters to run and a note for each installed adapter left out.

    With ``requested=None`` every adapter that discovery reports as usable
    (framework installed at or above its floor) and that has a driver runs;
    the others are left out with a note. Adapters asked for by name must be
    runnable.

    Raises:
        ValueError: if an adapter asked for by name is not installed, its
            framework is missing or too old, or it has no driver.

    """
    drivers = load_drivers() if drivers is None else drivers
    statuses = hedge.discover_adapters() if statuses is None else statuses
    targets: list[Target] = []
    notes: list[str] = []
    reasons: dict[str, str] = {}
    for status in sorted(statuses, key=lambda found: found.spec.name):
        name = status.spec.name
        driver = drivers.get(name)
        if not status.compatible:
            reasons[name] = f"{status.spec.framework}: {status.status}"
        elif driver is None:
            reasons[name] = "no hedge-bench driver is installed for it"
        else:
            targets.append(Target(status, driver))
            continue
        notes.append(f"{name}: skipped ({reasons[name]})")
    if requested is None:
        return targets, notes
    chosen = []
    problems = []
    for name in requested:
        match = [target for target in targets if target.name == name]
        if match:
            chosen.append(match[0])
        elif name in reasons:
            problems.append(f"{name!r} cannot run: {reasons[name]}")
        else:
            problems.append(f"{name!r} is not an installed hedge adapter")
    if problems:
        runnable = ", ".join(target.name for target in targets) or "none"
        raise ValueError("; ".join(problems) + f" (runnable adapters: {runnable})")
    return chosen, []
