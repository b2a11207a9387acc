"""Plugin loading, adapter discovery and per-request hook dispatch.

Plugins are found through the ``hedge`` entry-point group and registered in
one process-wide :class:`HedgePluginManager`, loaded the first time it is
needed (a :class:`~hedge.Hedger` is built, or adapters are listed).

Rules:

* ``HEDGE_DISABLE_PLUGINS`` (comma-separated entry-point names, or ``*``)
  blocks plugins before they load, e.g. ``HEDGE_DISABLE_PLUGINS=otel``.
* A plugin that fails to import or register is reported with a
  :class:`HedgePluginWarning` and skipped; the others still load.
* Per-request hooks are called through :class:`HookDispatch`, which calls
  each implementation on its own and logs (once per plugin and hook, on the
  ``hedge`` logger) any exception instead of letting it reach the request.
  With no implementation of a hook, its dispatch is ``None`` and the engine
  skips it: no call, no event construction.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from ._errors import HedgePluginWarning
from .adapters import AdapterSpec, AdapterStatus

if TYPE_CHECKING:
    from ._keys import RequestInfo
    from .events import HedgeEvent

__all__ = [
    "DISABLE_ENV",
    "HedgePluginManager",
    "HookDispatch",
    "PluginFailure",
    "discover_adapters",
    "get_plugin_manager",
    "reset_plugin_manager",
]

DISABLE_ENV = "HEDGE_DISABLE_PLUGINS"

logger = logging.getLogger("hedge")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or whose registration hook failed.

    Attributes:
        name: the entry-point (plugin) name.
        distribution: the distribution that declares it, if known.
        stage: ``"import"``, ``"register"`` or ``"adapters"``.
        error: ``repr`` of the exception.
    """

    name: str
    distribution: str | None
    stage: str
    error: str


class HedgePluginManager(pluggy.PluginManager):
    """pluggy's manager for project ``"hedge"``, with a change counter.

    ``generation`` increases on every registration change, so hot paths can
    cache what they derived from the plugin set and notice when it changes.
    """

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.generation = 0
        self.failures: list[PluginFailure] = []
        self.distributions: dict[str, tuple[str, str]] = {}
        self.blocked: set[str] = set()

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` (see :meth:`pluggy.PluginManager.register`)."""
        result = super().register(plugin, name)
        self.generation += 1
        return result

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        """Unregister a plugin by object or name."""
        result = super().unregister(plugin, name)
        self.generation += 1
        return result

    def set_blocked(self, name: str) -> None:
        """Block ``name``: it is unregistered and never loaded again."""
        super().set_blocked(name)
        self.blocked.add(name)
        self.generation += 1

    def load_entry_points(self) -> int:
        """Load every plugin of the ``hedge`` entry-point group not yet loaded or blocked.

        Returns:
            how many plugins were registered.
        """
        blocked = _blocked_names()
        loaded = 0
        for dist_name, dist_version, entry_point in _hedge_entry_points():
            name = entry_point.name
            if name in blocked or "*" in blocked:
                if not self.is_blocked(name):
                    self.set_blocked(name)
                continue
            if self.is_blocked(name) or self.has_plugin(name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
                self._fail(name, dist_name, "import", exc)
                continue
            try:
                self.register(plugin, name=name)
                self.check_pending()
            except Exception as exc:  # noqa: BLE001
                if self.has_plugin(name):
                    self.unregister(name=name)
                self._fail(name, dist_name, "register", exc)
                continue
            self.distributions[name] = (dist_name, dist_version)
            loaded += 1
        return loaded

    def _fail(self, name: str, distribution: str | None, stage: str, exc: BaseException) -> None:
        failure = PluginFailure(name, distribution, stage, repr(exc))
        self.failures.append(failure)
        origin = f" (from {distribution})" if distribution else ""
        warnings.warn(
            f"hedge plugin {name!r}{origin} was skipped: {stage} failed with {exc!r}",
            HedgePluginWarning,
            stacklevel=3,
        )


def _blocked_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _hedge_entry_points() -> Iterator[tuple[str, str, metadata.EntryPoint]]:
    """Yield ``(distribution, version, entry point)`` for the ``hedge`` group, once per name."""
    seen: set[str] = set()
    for dist in metadata.distributions():
        try:
            entry_points = [ep for ep in dist.entry_points if ep.group == hookspecs.PROJECT]
        except Exception:  # noqa: BLE001 - a broken dist-info must not stop discovery
            continue
        if not entry_points:
            continue
        dist_name = dist.metadata["Name"] or "?"
        for entry_point in entry_points:
            if entry_point.name in seen:
                continue
            seen.add(entry_point.name)
            yield dist_name, dist.version, entry_point


_manager: HedgePluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> HedgePluginManager:
    """Return the process-wide plugin manager, loading entry points on first call."""
    global _manager
    manager = _manager
    if manager is None:
        with _manager_lock:
            manager = _manager
            if manager is None:
                manager = HedgePluginManager()
                manager.load_entry_points()
                _manager = manager
    return manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager; the next use loads plugins again.

    For tests and for applications that install plugins at run time.
    """
    global _manager
    with _manager_lock:
        _manager = None


def discover_adapters(manager: HedgePluginManager | None = None) -> list[AdapterStatus]:
    """Return every adapter registered by loaded plugins, with its status.

    Each plugin's ``hedge_register_adapters`` is called on its own; one that
    raises is recorded in ``manager.failures`` (with a warning) and skipped.
    Frameworks are not imported: their versions come from package metadata.
    """
    manager = manager or get_plugin_manager()
    found: list[AdapterStatus] = []
    for impl in reversed(manager.hook.hedge_register_adapters.get_hookimpls()):
        specs: list[AdapterSpec] = []

        def register(spec: AdapterSpec, _specs: list[AdapterSpec] = specs) -> None:
            if not isinstance(spec, AdapterSpec):
                raise TypeError(f"register() takes a hedge.AdapterSpec, got {type(spec).__name__}")
            _specs.append(spec)

        dist_name, dist_version = manager.distributions.get(impl.plugin_name, (None, None))
        try:
            impl.function(**_accepted({"register": register}, impl.argnames))
        except Exception as exc:  # noqa: BLE001
            manager._fail(impl.plugin_name, dist_name, "adapters", exc)
            continue
        for spec in specs:
            found.append(
                AdapterStatus(spec, impl.plugin_name, dist_name, dist_version, spec.installed_version())
            )
    return found


def _call_isolated(function: Callable[..., Any], plugin: str, hook: str, kwargs: dict[str, Any]) -> Any:
    try:
        return function(**kwargs)
    except Exception:  # noqa: BLE001 - a plugin must never break a request
        _report_hook_error(plugin, hook)
        return None


_reported: set[tuple[str, str]] = set()


def _report_hook_error(plugin: str, hook: str) -> None:
    level = logging.DEBUG if (plugin, hook) in _reported else logging.WARNING
    _reported.add((plugin, hook))
    logger.log(level, "hedge plugin %r raised in %s; ignored", plugin, hook, exc_info=sys.exc_info())


class HookDispatch:
    """The per-request hooks of one plugin set, each implementation isolated.

    Built by the engine when the plugin set changes. Each attribute is
    ``None`` when no plugin implements that hook.
    """

    __slots__ = ("emit", "generation", "request_key", "should_hedge")

    def __init__(self, manager: HedgePluginManager) -> None:
        self.generation = manager.generation
        self.request_key = _first_result(manager, "hedge_request_key", "request")
        self.should_hedge = _first_result(manager, "hedge_should_hedge", "request")
        self.emit = _broadcast(manager, "hedge_event", "event")


def _accepted(kwargs: dict[str, Any], argnames: tuple[str, ...]) -> dict[str, Any]:
    """Keep the arguments an implementation declares (pluggy lets it take a subset)."""
    return {name: value for name, value in kwargs.items() if name in argnames}


def _implementations(
    manager: HedgePluginManager, hook: str, argument: str
) -> list[tuple[str, Callable[..., Any], bool]]:
    caller = getattr(manager.hook, hook)
    # pluggy calls implementations from the end of this list to the start.
    return [
        (impl.plugin_name, impl.function, argument in impl.argnames)
        for impl in reversed(caller.get_hookimpls())
    ]


def _first_result(
    manager: HedgePluginManager, hook: str, argument: str
) -> Callable[[RequestInfo], Any] | None:
    impls = _implementations(manager, hook, argument)
    if not impls:
        return None

    def call(request: RequestInfo) -> Any:
        for plugin, function, takes_argument in impls:
            kwargs = {argument: request} if takes_argument else {}
            result = _call_isolated(function, plugin, hook, kwargs)
            if result is not None:
                return result
        return None

    return call


def _broadcast(manager: HedgePluginManager, hook: str, argument: str) -> Callable[[HedgeEvent], None] | None:
    impls = _implementations(manager, hook, argument)
    if not impls:
        return None

    def call(event: HedgeEvent) -> None:
        for plugin, function, takes_argument in impls:
            _call_isolated(function, plugin, hook, {argument: event} if takes_argument else {})

    return call
