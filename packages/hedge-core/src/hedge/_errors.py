"""hedge's own exceptions and warnings: a deliberately small hierarchy.

Adapters raise their framework's exception types to callers (an httpx user
catches ``httpx.ConnectError``, never a hedge type). These are for what is
hedge's own business: configuration of the plugin system and adapters.
"""

from __future__ import annotations

__all__ = ["AdapterUnavailable", "HedgeError", "HedgePluginWarning"]


class HedgeError(Exception):
    """Base class of hedge's own errors."""


class AdapterUnavailable(HedgeError, ImportError):
    """An adapter asked for by name is not installed or cannot be used.

    Raised (as an :class:`ImportError`, so ``from hedge.transport import X``
    fails the usual way) with a message naming the distribution to install.
    """


class HedgePluginWarning(UserWarning):
    """A discovered plugin was skipped because it failed to load or register."""
