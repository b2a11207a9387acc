"""hedge's conformance kit, run against both transports of every installed framework."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import pytest

from hedge import HedgeConfig
from hedge.testing import ContractResponse, HttpAdapterContract, SyncHttpAdapterContract


def test_a_framework_is_installed(frameworks: list[Any]) -> None:
    # Every other test is parametrised over the installed frameworks; with
    # none installed they would silently not run.
    assert frameworks, "install hedge-httpx[httpx] or hedge-httpx[httpx2]"


# The kit's slow replies take 5 s, httpx's default timeout is 5 s: the kit
# times its scenarios itself, so httpx's own timeouts stay out of the way.
KIT_TIMEOUT = 30.0
# The kit's clients have no connection limit: its load scenario sends 200
# requests and up to 200 hedges at once, and with httpx's default pool of 100
# the hedges would queue behind the primaries they are meant to overtake
# (a pool-sizing matter the docs cover, not what the kit checks).


class _Framework:
    """Binds a kit class to each installed framework in turn."""

    framework: Any

    @pytest.fixture(autouse=True)
    def _bind(self, framework: Any) -> None:
        self.framework = framework
        module = framework.module
        # Refused and unknown hosts raise ConnectError; a reset ReadError or
        # WriteError, depending on when it hits: all of them NetworkErrors.
        self.connection_errors = (module.NetworkError,)
        # A body cut off by a reset, or by the peer closing mid-message.
        self.read_errors = (module.ReadError, module.RemoteProtocolError)

    @staticmethod
    def _arguments(
        headers: Mapping[str, str] | None,
        body: bytes | None,
        stream_body: bool,
        hedge: bool | None,
        sync: bool,
    ) -> dict[str, Any]:
        arguments: dict[str, Any] = {"headers": dict(headers or {})}
        if body is not None:
            if not stream_body:
                arguments["content"] = body
            elif sync:
                arguments["content"] = iter([body])
            else:

                async def chunks() -> AsyncIterator[bytes]:
                    yield body

                arguments["content"] = chunks()
        if hedge is not None:
            arguments["extensions"] = {"hedge": hedge}
        return arguments


class TestAsyncContract(_Framework, HttpAdapterContract):
    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[Any]:
        module = self.framework.module
        inner = module.AsyncHTTPTransport(
            limits=module.Limits(max_connections=None, max_keepalive_connections=20)
        )
        transport = self.framework.async_transport(inner=inner, config=config)
        async with module.AsyncClient(transport=transport, timeout=KIT_TIMEOUT) as client:
            yield client

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
        arguments = self._arguments(headers, body, stream_body, hedge, sync=False)
        if stream_response:
            async with client.stream(method, url, **arguments) as response:
                content = b"".join([chunk async for chunk in response.aiter_bytes()])
        else:
            response = await client.request(method, url, **arguments)
            content = response.content
        return ContractResponse(response.status_code, content, dict(response.headers))


class TestSyncContract(_Framework, SyncHttpAdapterContract):
    # The kit scripts replies in arrival order: give the primary's worker
    # thread a head start that survives a loaded machine.
    hedge_delay = 0.2

    @contextlib.contextmanager
    def open_sync_client(self, config: HedgeConfig) -> Iterator[Any]:
        module = self.framework.module
        inner = module.HTTPTransport(limits=module.Limits(max_connections=None, max_keepalive_connections=20))
        transport = self.framework.sync_transport(inner=inner, config=config)
        with module.Client(transport=transport, timeout=KIT_TIMEOUT) as client:
            yield client

    def request_sync(
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
        arguments = self._arguments(headers, body, stream_body, hedge, sync=True)
        if stream_response:
            with client.stream(method, url, **arguments) as response:
                content = b"".join(response.iter_bytes())
        else:
            response = client.request(method, url, **arguments)
            content = response.content
        return ContractResponse(response.status_code, content, dict(response.headers))
