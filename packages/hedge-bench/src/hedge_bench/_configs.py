"""The configurations ``hedge-bench run`` compares, for every adapter.

* ``none`` — no hedging: the framework's own client, without the adapter.
* ``static-10ms``, ``static-50ms`` — a fixed hedge delay: ``min_delay =
  max_delay = warmup_delay``, so the learned estimate is clamped away and
  warm-up does not matter.
* ``adaptive`` — ``HedgeConfig()``: every default (hedge at the learned p90,
  one hedge, 10% budget).
* ``adaptive-2`` — the defaults with ``max_hedges=2``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from hedge import HedgeConfig, Stats

__all__ = ["CONFIGURATIONS", "Configuration", "select"]


@dataclass(frozen=True)
class Configuration:
    """One row kind of the results table.

    Attributes:
        slug: the name on the command line and in files (``"adaptive"``).
        label: the name in the table (``"adaptive"``).
        config: the hedging policy, or ``None`` for the bare client.

    """

    slug: str
    label: str
    config: Optional[HedgeConfig]  # noqa: UP045 - evaluated on Python 3.9

    @property
    def hedged(self) -> bool:
        """Whether this configuration hedges at all."""
        return self.config is not None

    @property
    def max_hedges(self) -> int:
        """Hedges per request this configuration may send."""
        return 0 if self.config is None else self.config.max_hedges

    def with_stats(self, stats: Stats) -> HedgeConfig | None:
        """The policy, counting into ``stats`` (``None`` for the bare client)."""
        if self.config is None:
            return None
        return dataclasses.replace(self.config, stats=stats)


def _static(seconds: float) -> HedgeConfig:
    return HedgeConfig(min_delay=seconds, max_delay=seconds, warmup_delay=seconds)


CONFIGURATIONS: tuple[Configuration, ...] = (
    Configuration("none", "no hedging", None),
    Configuration("static-10ms", "static 10ms", _static(0.010)),
    Configuration("static-50ms", "static 50ms", _static(0.050)),
    Configuration("adaptive", "adaptive", HedgeConfig()),
    Configuration("adaptive-2", "adaptive, max_hedges=2", HedgeConfig(max_hedges=2)),
)


def select(slugs: list[str] | None) -> tuple[Configuration, ...]:
    """The configurations named by ``slugs`` (all for ``None``), in table order.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).

    """
    if slugs is None:
        return CONFIGURATIONS
    known = {configuration.slug for configuration in CONFIGURATIONS}
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise ValueError(
            f"unknown configuration {', '.join(map(repr, unknown))}; choose from {', '.join(sorted(known))}"
        )
    return tuple(configuration for configuration in CONFIGURATIONS if configuration.slug in slugs)
