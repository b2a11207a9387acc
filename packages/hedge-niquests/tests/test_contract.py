"""The conformance kit, against the async and the sync session."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import niquests

from hedge import HedgeConfig
from hedge.testing import ContractResponse, HttpAdapterContract, SyncHttpAdapterContract
from hedge_niquests import HEDGE_HEADER, HedgedNiquestsSession, HedgedNiquestsSyncSession


def _headers(headers: Mapping[str, str] | None, hedge: bool | None) -> dict[str, str]:
    result = dict(headers or {})
    if hedge is not None:
        result[HEDGE_HEADER] = "true" if hedge else "false"
    return result


# Room for the kit's attempts: 30 at once, or a slow primary and its hedge per twenty
# of the requests in flight (HEDGE_KIT_IN_FLIGHT, 1,000 in the full reliability profile).
POOL = max(32, int(os.environ.get("HEDGE_KIT_IN_FLIGHT", "200")) // 5)


class TestAsyncSessionContract(HttpAdapterContract):
    connection_errors = (niquests.exceptions.ConnectionError,)
    read_errors = (niquests.exceptions.ChunkedEncodingError,)

    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[HedgedNiquestsSession]:
        # niquests keeps at most pool_maxsize (default 10) connections busy per
        # host and queues the rest; the kit runs up to 30 attempts at once, and
        # its many-in-flight test holds one slow primary per twenty requests.
        async with HedgedNiquestsSession(config=config, pool_maxsize=POOL) as session:
            yield session

    async def request(
        self,
        client: HedgedNiquestsSession,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        data: Any = body
        if stream_body:

            async def chunks() -> AsyncIterator[bytes]:
                yield body or b""

            data = chunks()
        response = await client.request(
            method, url, data=data, headers=_headers(headers, hedge), stream=stream_response
        )
        if stream_response:
            content = b"".join([chunk async for chunk in await response.iter_content(-1)])
        else:
            content = response.content or b""
        return ContractResponse(
            response.status_code or 0, content, {k.lower(): v for k, v in response.headers.items()}
        )


class TestSyncSessionContract(SyncHttpAdapterContract):
    connection_errors = (niquests.exceptions.ConnectionError,)
    read_errors = (niquests.exceptions.ChunkedEncodingError,)
    cancels_in_flight = True

    @contextlib.contextmanager
    def open_sync_client(self, config: HedgeConfig) -> Iterator[HedgedNiquestsSyncSession]:
        with HedgedNiquestsSyncSession(config=config, pool_maxsize=POOL) as session:
            yield session

    def request_sync(
        self,
        client: HedgedNiquestsSyncSession,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        data: Any = iter([body or b""]) if stream_body else body
        response = client.request(
            method, url, data=data, headers=_headers(headers, hedge), stream=stream_response
        )
        if stream_response:
            content = b"".join(response.iter_content(-1))
        else:
            content = response.content or b""
        return ContractResponse(
            response.status_code or 0, content, {k.lower(): v for k, v in response.headers.items()}
        )
