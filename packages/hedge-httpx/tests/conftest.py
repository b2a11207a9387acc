"""Shared fixtures: the installed frameworks, a hedged client in either form, leak checks.

Every behaviour test runs for each installed framework (httpx, httpx2) and,
where it applies, for both forms of the transport (``async`` and ``sync``),
so that the sync transport is proven to behave like the async one. A
framework that is not installed is not collected (a nox row installs one
framework); ``test_a_framework_is_installed`` fails if none is.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import warnings
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import pytest

from hedge import HedgeConfig, Stats
from hedge.testing import ScriptedServer

T = TypeVar("T")

HEDGE_DELAY = 0.05
SYNC_HEDGE_DELAY = 0.2
SLOW = 5.0
SYNC_SLOW = 1.5


@dataclass(frozen=True)
class Framework:
    """One installed httpx-compatible framework and its hedged transports."""

    name: str
    module: ModuleType
    async_transport: type[Any]
    sync_transport: type[Any]

    def __str__(self) -> str:
        return self.name


def _installed() -> list[Framework]:
    found = []
    for name, async_name, sync_name in (
        ("httpx", "HedgedHttpxTransport", "HedgedHttpxSyncTransport"),
        ("httpx2", "HedgedHttpx2Transport", "HedgedHttpx2SyncTransport"),
    ):
        if importlib.util.find_spec(name) is None:
            continue
        import hedge_httpx

        found.append(
            Framework(
                name,
                importlib.import_module(name),
                getattr(hedge_httpx, async_name),
                getattr(hedge_httpx, sync_name),
            )
        )
    return found


FRAMEWORKS = _installed()
MODES = ("async", "sync")


@pytest.fixture
def frameworks() -> list[Framework]:
    """Every installed framework."""
    return list(FRAMEWORKS)


@pytest.fixture(params=FRAMEWORKS, ids=str)
def framework(request: pytest.FixtureRequest) -> Framework:
    """Each installed framework in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """``"async"`` then ``"sync"``: the transport form under test."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def config(**changes: Any) -> HedgeConfig:
    """A config with a fixed hedge delay, an ample budget and its own Stats."""
    settings: dict[str, Any] = {
        "min_delay": HEDGE_DELAY,
        "max_delay": HEDGE_DELAY,
        "warmup_delay": HEDGE_DELAY,
        "budget_percent": 100.0,
        "stats": Stats(),
    }
    settings.update(changes)
    return HedgeConfig(**settings)


@dataclass
class Result:
    """What the caller got, in a form both transports produce."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)


class Caller:
    """A hedged client of either form, driven from async test code.

    The sync form runs each call on a thread (``asyncio.to_thread``), so one
    scenario, written once, exercises both transports.
    """

    def __init__(
        self, framework: Framework, mode: str, config: HedgeConfig, inner: Any = None, **client: Any
    ):
        self.framework = framework
        self.mode = mode
        module = framework.module
        if mode == "async":
            self.transport = framework.async_transport(inner=inner, config=config)
            self.client = module.AsyncClient(transport=self.transport, **client)
        else:
            self.transport = framework.sync_transport(inner=inner, config=config)
            self.client = module.Client(transport=self.transport, **client)

    async def __aenter__(self) -> Caller:
        if self.mode == "async":
            await self.client.__aenter__()
        else:
            await asyncio.to_thread(self.client.__enter__)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self.mode == "async":
            await self.client.__aexit__(*exc_info)
        else:
            await asyncio.to_thread(self.client.__exit__, *exc_info)

    async def request(self, method: str, url: str, *, stream: bool = False, **kwargs: Any) -> Result:
        """Send one request; with ``stream`` read the body chunk by chunk through ``client.stream``."""
        if self.mode == "async":
            if stream:
                async with self.client.stream(method, url, **kwargs) as response:
                    chunks = [chunk async for chunk in response.aiter_raw()]
                return Result(response.status_code, b"".join(chunks), dict(response.headers), chunks)
            response = await self.client.request(method, url, **kwargs)
            return Result(response.status_code, response.content, dict(response.headers))

        def call() -> Result:
            if stream:
                with self.client.stream(method, url, **kwargs) as response:
                    chunks = list(response.iter_raw())
                return Result(response.status_code, b"".join(chunks), dict(response.headers), chunks)
            response = self.client.request(method, url, **kwargs)
            return Result(response.status_code, response.content, dict(response.headers))

        return await asyncio.to_thread(call)

    @property
    def stats(self) -> Stats:
        return self.transport.stats  # type: ignore[no-any-return]


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` in a fresh event loop; fail on unclosed resources or unhandled loop errors."""
    loop_errors: list[str] = []

    async def wrapped() -> T:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: loop_errors.append(str(context.get("message"))))
        return await main()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = asyncio.run(wrapped())
        gc.collect()
    leaks = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) or "nclosed" in str(w.message)
    ]
    assert not leaks, f"resources left open: {leaks}"
    assert not loop_errors, f"unhandled event-loop errors: {loop_errors}"
    for other in caught:
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return result


class Kit:
    """Everything a behaviour test needs for one framework in one transport form.

    Attributes:
        framework: the framework under test.
        mode: ``"async"`` or ``"sync"``.
        module: the framework's module (``httpx`` or ``httpx2``).

    """

    def __init__(self, framework: Framework, mode: str) -> None:
        self.framework = framework
        self.mode = mode
        self.module = framework.module
        # A sync loser that cannot be aborted runs for this long on its thread
        # (and closing the client waits for it), so sync keeps it shorter.
        self.slow = SLOW if mode == "async" else SYNC_SLOW
        # Scripts answer in arrival order, so the primary must reach the server
        # first; a worker thread on a loaded machine gets a wider head start.
        self.hedge_delay = HEDGE_DELAY if mode == "async" else SYNC_HEDGE_DELAY

    def config(self, **changes: Any) -> HedgeConfig:
        """A config with this kit's fixed hedge delay, an ample budget and its own Stats."""
        delay = self.hedge_delay
        return config(**{"min_delay": delay, "max_delay": delay, "warmup_delay": delay, **changes})

    def client(self, config: HedgeConfig, inner: Any = None, **client: Any) -> Caller:
        """A hedged client (an async context manager) of this kit's form."""
        return Caller(self.framework, self.mode, config, inner, **client)

    @staticmethod
    def run(main: Callable[[], Awaitable[T]]) -> T:
        return run(main)

    def __repr__(self) -> str:
        return f"Kit({self.framework.name}, {self.mode})"


@pytest.fixture
def kit(framework: Framework, mode: str) -> Kit:
    """Each installed framework, in each transport form."""
    return Kit(framework, mode)


@pytest.fixture
def async_kit(framework: Framework) -> Kit:
    """Each installed framework, async transport only."""
    return Kit(framework, "async")


@pytest.fixture
def sync_kit(framework: Framework) -> Kit:
    """Each installed framework, sync transport only."""
    return Kit(framework, "sync")
