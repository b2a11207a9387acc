"""hedge's conformance kit against HedgedTornadoClient and a ScriptedServer on 127.0.0.1."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from tornado.httpclient import HTTPRequest

from hedge import HedgeConfig
from hedge.testing import ContractResponse, HttpAdapterContract
from hedge_tornado import HedgedTornadoClient


class TestHedgedTornadoClientContract(HttpAdapterContract):
    # Tornado raises the socket's own error: ConnectionRefusedError,
    # ConnectionResetError, socket.gaierror (all OSError), also mid-body.
    connection_errors = (OSError,)
    read_errors = (OSError,)

    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[HedgedTornadoClient]:
        # The kit's busiest scenario has thirty attempts in flight at once;
        # tornado's default of ten slots would queue most of them.
        async with HedgedTornadoClient(config, max_clients=64) as client:
            yield client

    async def request(
        self,
        client: HedgedTornadoClient,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        chunks: list[bytes] = []
        options: dict[str, Any] = {"method": method, "headers": dict(headers or {})}
        if stream_body:
            payload = body or b""

            async def producer(write: Any) -> None:
                await write(payload)

            options["body_producer"] = producer
            options["headers"]["Content-Length"] = str(len(payload))
        elif body is not None:
            options["body"] = body
        if stream_response:
            options["streaming_callback"] = chunks.append
        response = await client.fetch(HTTPRequest(url, **options), raise_error=False, hedge=hedge)
        content = b"".join(chunks) if stream_response else response.body
        lowered = {name.lower(): value for name, value in response.headers.get_all()}
        return ContractResponse(response.code, content, lowered)
