"""hedge: adaptive hedged requests.

A small share of slow responses dominates the latency users feel. hedge
learns each target's latency (a DDSketch per key), sends a backup attempt
when the first has not answered by the learned percentile, returns the first
good answer, cancels and releases the rest, and caps the extra load with a
budget proportional to the traffic.

This package, hedge-core, is framework-neutral and depends only on the
standard library and pluggy (which the sketch, budget and engine modules do
not import). Framework adapters are separate distributions (hedge-httpx,
hedge-aiohttp, hedge-niquests, hedge-tornado, hedge-grpc) found through the
``hedge`` entry-point group; ``python -m hedge`` lists what is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from ._attempt import Attempt
from ._budget import Budget, ProportionalBudget, TokenBucketBudget
from ._config import HedgeConfig
from ._errors import AdapterUnavailable, HedgeError, HedgePluginWarning
from ._hedger import Hedger
from ._keys import RequestInfo
from ._outcome import Classifier, Judgement, RetryAfter, Verdict
from ._stats import KeyStatsSnapshot, Stats, StatsSnapshot
from .adapters import AdapterSpec, AdapterStatus

if TYPE_CHECKING:
    from .hookspecs import hookimpl, hookspec
    from .plugins import discover_adapters

__all__ = [
    "AdapterSpec",
    "AdapterStatus",
    "AdapterUnavailable",
    "Attempt",
    "Budget",
    "Classifier",
    "HedgeConfig",
    "HedgeError",
    "HedgePluginWarning",
    "Hedger",
    "Judgement",
    "KeyStatsSnapshot",
    "ProportionalBudget",
    "RequestInfo",
    "RetryAfter",
    "Stats",
    "StatsSnapshot",
    "TokenBucketBudget",
    "Verdict",
    "__version__",
    "discover_adapters",
    "hookimpl",
    "hookspec",
]

# The plugin API needs pluggy; resolve it on first use so that importing the
# sketch, budget or engine never imports pluggy.
_LAZY = {
    "hookimpl": ("hedge.hookspecs", "hookimpl"),
    "hookspec": ("hedge.hookspecs", "hookspec"),
    "discover_adapters": ("hedge.plugins", "discover_adapters"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'hedge' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
