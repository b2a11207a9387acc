"""The conformance kit, run against both forms of the adapter.

``TestSessionContract`` drives :class:`HedgedAiohttpSession` with its
``hedge=`` keyword; ``TestMiddlewareContract`` drives a plain
``aiohttp.ClientSession(middlewares=[hedge_middleware(config)])`` with the
:func:`hedging` block as the per-request switch. Both read the body through
aiohttp's streaming API when the kit asks for a streamed response.
``AiohttpContract`` declares aiohttp's exception types and its own resend
of a request whose connection broke.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from hedge import HedgeConfig
from hedge.testing import ContractResponse, HttpAdapterContract
from hedge_aiohttp import HedgedAiohttpSession, hedge_middleware, hedging


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _collect(response: aiohttp.ClientResponse, stream: bool) -> ContractResponse:
    if stream:
        body = b"".join([chunk async for chunk in response.content.iter_any()])
    else:
        body = await response.read()
    headers = {name.lower(): value for name, value in response.headers.items()}
    return ContractResponse(response.status, body, headers)


def _data(body: bytes | None, stream_body: bool) -> Any:
    if body is None:
        return None
    return _chunks(body) if stream_body else body


class AiohttpContract(HttpAdapterContract):
    """What the two forms share: aiohttp's exception types and its own retry."""

    # Refused, reset, dropped, unresolvable: aiohttp's connection errors.
    connection_errors = (aiohttp.ClientConnectionError,)
    # A body broken off after the headers.
    read_errors = (aiohttp.ClientPayloadError,)
    # aiohttp itself resends an idempotent request once after ClientOSError or
    # ServerDisconnectedError (meant for a pooled connection the server had
    # closed), with or without hedging; the middleware sits inside that loop.
    framework_resends = 1


class TestSessionContract(AiohttpContract):
    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[HedgedAiohttpSession]:
        async with HedgedAiohttpSession(config=config) as session:
            yield session

    async def request(
        self,
        client: HedgedAiohttpSession,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        data = _data(body, stream_body)
        async with client.request(method, url, headers=headers, data=data, hedge=hedge) as response:
            return await _collect(response, stream_response)


class TestMiddlewareContract(AiohttpContract):
    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[aiohttp.ClientSession]:
        async with aiohttp.ClientSession(middlewares=[hedge_middleware(config)]) as session:
            yield session

    async def request(
        self,
        client: aiohttp.ClientSession,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        data = _data(body, stream_body)
        with hedging(hedge):
            async with client.request(method, url, headers=headers, data=data) as response:
                return await _collect(response, stream_response)
