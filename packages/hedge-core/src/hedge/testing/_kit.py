"""The base of the conformance kit: how a test talks to an adapter, and shared helpers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import pytest

from .._config import HedgeConfig
from .._stats import Stats
from ..events import HedgeEvent
from ..hookspecs import hookimpl
from ..plugins import get_plugin_manager
from ._server import ScriptedServer

__all__ = ["ContractBase", "ContractResponse", "EventRecorder"]

T = TypeVar("T")
_names = itertools.count()

#: The kit marks hedges with this header, and its server scripts replies by it.
ATTEMPT_HEADER = "x-hedge-attempt"


@dataclass
class ContractResponse:
    """What the caller received, in framework-neutral form.

    Attributes:
        status: the HTTP status code.
        body: the full response body.
        headers: response headers with lower-case names.
    """

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class EventRecorder:
    """An observer plugin that keeps every :mod:`hedge.events` event it sees."""

    def __init__(self) -> None:
        self.events: list[HedgeEvent] = []

    @hookimpl
    def hedge_event(self, event: HedgeEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[T]) -> list[T]:
        """The recorded events of type ``kind``."""
        return [event for event in self.events if isinstance(event, kind)]


class ContractBase:
    """What every conformance test needs: the adapter's two methods, its capabilities, helpers.

    Adapters subclass :class:`HttpAdapterContract` (or the sync variant), not this.
    """

    #: Exception types the framework raises for a refused, reset or unresolvable connection.
    connection_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)
    #: Exception types the framework raises when a response body breaks off.
    read_errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)
    #: How many times the framework itself resends a request whose connection
    #: broke (aiohttp resends an idempotent request once); each resend is a race.
    framework_resends: ClassVar[int] = 0
    #: Whether a losing attempt is cancelled on the wire (the server sees it leave).
    cancels_in_flight: ClassVar[bool] = True
    #: Whether the adapter can send a request body from an (async) iterator.
    supports_stream_body: ClassVar[bool] = True
    #: Whether the adapter supports streamed responses (and ``race_on="first_byte"``).
    supports_stream_response: ClassVar[bool] = True
    #: Seconds a "slow" attempt takes; hedges are sent after :attr:`hedge_delay`.
    #: (Longer than frameworks' default timeouts, e.g. httpx's 5 s: a slow attempt is always cancelled.)
    slow: ClassVar[float] = 20.0
    hedge_delay: ClassVar[float] = 0.05

    # -- to implement ------------------------------------------------------------

    def open_client(self, config: HedgeConfig) -> contextlib.AbstractAsyncContextManager[Any]:
        """Return an async context manager yielding a hedged client for ``config``."""
        raise NotImplementedError

    async def request(
        self,
        client: Any,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        """Send one request with ``client`` and return what the caller got.

        Args:
            headers: extra request headers.
            body: the request body; with ``stream_body`` send it from an
                iterator (a body the adapter cannot replay).
            stream_response: use the framework's streaming-response API.
            hedge: the per-request hedging override (``None``: not given).

        Raises:
            whatever the framework raises (connection errors, timeouts).
        """
        raise NotImplementedError

    # -- fixtures and helpers -------------------------------------------------------------

    @pytest.fixture
    def hedge_server(self) -> Iterator[ScriptedServer]:
        """A running :class:`ScriptedServer` matching replies by attempt, stopped after the test."""
        with ScriptedServer(attempt_header=ATTEMPT_HEADER) as server:
            yield server

    @pytest.fixture
    def hedge_events(self) -> Iterator[EventRecorder]:
        """An :class:`EventRecorder` registered as a plugin for the test."""
        recorder = EventRecorder()
        manager = get_plugin_manager()
        name = f"hedge-contract-recorder-{next(_names)}"
        manager.register(recorder, name=name)
        try:
            yield recorder
        finally:
            manager.unregister(name=name)

    def config(self, **changes: Any) -> HedgeConfig:
        """A config with a fixed hedge delay, an ample budget and its own Stats."""
        settings: dict[str, Any] = {
            "attempt_header": ATTEMPT_HEADER,
            "min_delay": self.hedge_delay,
            "max_delay": self.hedge_delay,
            "warmup_delay": self.hedge_delay,
            "budget_percent": 100.0,
            "budget_floor": 1000.0,
            "stats": Stats(),
        }
        settings.update(changes)
        return HedgeConfig(**settings)

    def run_scenario(self, config: HedgeConfig, scenario: Callable[[Any], Awaitable[T]]) -> T:
        """Open a client for ``config``, run ``scenario(client)``, close the client.

        Fails if the scenario left an unclosed resource behind (a
        ``ResourceWarning`` or an "unclosed" warning after garbage
        collection) or if the event loop reported an unhandled error.
        Other warnings are re-issued.
        """
        loop_errors: list[str] = []

        async def main() -> T:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(lambda _loop, context: loop_errors.append(str(context.get("message"))))
            async with self.open_client(config) as client:
                return await scenario(client)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _run_in_new_loop(main)
            gc.collect()
        leaks = [w for w in caught if issubclass(w.category, ResourceWarning) or "nclosed" in str(w.message)]
        for other in caught:
            if other not in leaks:
                warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
        assert not leaks, f"resources left open: {[str(w.message) for w in leaks]}"
        assert not loop_errors, f"unhandled event-loop errors: {loop_errors}"
        return result

    @staticmethod
    def stats_of(config: HedgeConfig) -> Stats:
        assert config.stats is not None
        return config.stats

    def wait_for_losers(self, server: ScriptedServer, path: str, count: int) -> bool:
        """Wait until ``count`` requests to ``path`` ended (answered, or abandoned by the client)."""
        return server.wait_until(
            lambda s: sum(1 for r in s.requests_to(path) if r.completed or r.disconnected) >= count,
            timeout=self.slow + 10.0,
        )

    async def settle(self, server: ScriptedServer, path: str, count: int) -> None:
        """With a synchronous adapter, wait until the losers that run to their end have ended."""
        if not self.cancels_in_flight:
            assert await asyncio.to_thread(self.wait_for_losers, server, path, count)


def _run_in_new_loop(main: Callable[[], Awaitable[T]]) -> T:
    """Like :func:`asyncio.run`, but leave the thread's current event loop alone.

    ``asyncio.run`` ends with ``set_event_loop(None)``: an event loop a test
    plugin had set for the main thread (pytest-asyncio on Python 3.9 creates
    one between tests) would then be dropped unclosed, and its ResourceWarning
    would land in whichever scenario next collects garbage.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
