"""Hook specifications for hedge plugins.

A plugin is a module (or object) with functions marked ``@hedge.hookimpl``
whose names match the specs below, made installable through an entry point
in the ``hedge`` group::

    [project.entry-points.hedge]
    myframework = "hedge_myframework._plugin"

hedge's own adapters register exactly this way. Hooks are synchronous
(pluggy cannot await): they describe adapters, take policy decisions and
observe events. Sending, racing and cancelling are the adapter's own
methods, never hooks.

Per-request hooks (``hedge_request_key``, ``hedge_should_hedge``,
``hedge_event``) are only called when at least one plugin implements them,
so an unused hook costs nothing. An exception raised by a per-request hook
is logged on the ``hedge`` logger and the hook is treated as if it had
returned ``None``; a plugin can never break a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ._keys import RequestInfo
    from .adapters import AdapterSpec
    from .events import HedgeEvent

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "hedge"
"""The pluggy project name and the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marks a hook specification (used here only)."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a hook implementation in a plugin: ``@hedge.hookimpl``."""


# ---------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------


@hookspec
def hedge_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Register the framework adapters this plugin provides.

    Called once per plugin when hedge lists adapters (``python -m hedge``,
    ``hedge.discover_adapters()``, or resolving a name in ``hedge.transport``).
    Must not import the framework: a spec is metadata only, and the framework
    may not be installed.

    :param register: call it with one :class:`hedge.AdapterSpec` per
        framework, e.g. ``register(AdapterSpec(name="httpx", framework="httpx",
        min_version="0.23", exports={...}))``.
    """


# ---------------------------------------------------------------------------
# Policy (per request)
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def hedge_request_key(request: RequestInfo) -> str | None:
    """Choose the latency key of a request.

    Called once per hedge-eligible request, before the first attempt, unless
    the config sets ``key_func`` (which takes precedence). Requests with the
    same key share a latency estimate and hedge delay; the budget is always
    kept per target (scheme, host and port) whatever the key. Keep the number
    of distinct keys bounded (e.g. map ``/users/42`` to ``/users/{id}``).

    Stops at the first non-None result.

    :param request: the framework-neutral description of the request.
    :returns: the key, or ``None`` to leave the choice to others (the default
        is the config's ``key_level``).
    """


@hookspec(firstresult=True)
def hedge_should_hedge(request: RequestInfo) -> bool | None:
    """Decide whether a request is safe to send more than once.

    Called once per request whose eligibility the caller left open (an
    explicit per-request opt-in or opt-out, and a body that cannot be
    replayed, are decided before plugins are asked).

    Stops at the first non-None result.

    :param request: the framework-neutral description of the request.
    :returns: ``True`` to allow hedging, ``False`` to forbid it, ``None`` to
        defer (the default allows the config's ``hedge_methods`` and requests
        carrying ``idempotency_key_header``).
    """


# ---------------------------------------------------------------------------
# Observation
# ---------------------------------------------------------------------------


@hookspec
def hedge_event(event: HedgeEvent) -> None:
    """Observe what the race engine did.

    Called synchronously, on the thread or event loop running the request,
    for each :mod:`hedge.events` event: a hedge sent, an attempt won, lost
    or failed, a budget denial, a delay change, and the end of each
    hedge-eligible request. Events are built only when some plugin implements
    this hook. Must return quickly and must not block.

    :param event: a frozen :class:`hedge.events.HedgeEvent` subclass.
    """
