"""The conformance kit, proven against two minimal reference adapters.

``StreamsClient`` is a hedged HTTP/1.1 client on bare asyncio streams and
``BlockingClient`` one on :mod:`http.client` with worker threads. Both are
deliberately small (one connection per request, no pool) and show the whole
adapter contract: describe the request, send one attempt, classify, release.
They run the same :class:`~hedge.testing.HttpAdapterContract` tests every
real adapter runs, so the kit is proven before the first framework adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from hedge import Attempt, Classifier, HedgeConfig, Hedger, Judgement, RequestInfo, Verdict
from hedge.testing import ContractResponse, HttpAdapterContract, SyncHttpAdapterContract

RETRYABLE_STATUS = frozenset({502, 503, 504})


class StreamsResponse:
    """A response whose body is still on the wire until read."""

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        first: bytes = b"",
    ) -> None:
        self.status = status
        self.headers = headers
        self._reader = reader
        self._writer = writer
        self._first = first
        self.closed = False

    async def read(self) -> bytes:
        try:
            if self.headers.get("transfer-encoding") == "chunked":
                body = self._first
                while True:
                    chunk = await _read_chunk(self._reader)
                    if not chunk:
                        return body
                    body += chunk
            length = int(self.headers.get("content-length", "0"))
            return await self._reader.readexactly(length)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()


async def _read_chunk(reader: asyncio.StreamReader) -> bytes:
    size = int((await reader.readline()).strip() or b"0", 16)
    if size == 0:
        await reader.readline()
        return b""
    chunk = await reader.readexactly(size)
    await reader.readexactly(2)
    return chunk


class StreamsClassifier(Classifier[StreamsResponse]):
    def classify_result(self, result: StreamsResponse) -> Judgement:
        return Verdict.RETRY if result.status in RETRYABLE_STATUS else Verdict.ACCEPT

    def classify_error(self, error: BaseException) -> Judgement:
        if isinstance(error, (OSError, asyncio.IncompleteReadError)):
            return Verdict.RETRY
        return Verdict.FATAL


class StreamsClient:
    """A hedged HTTP/1.1 client on asyncio streams."""

    def __init__(self, config: HedgeConfig) -> None:
        self.hedger = Hedger(config)
        self.classifier = StreamsClassifier()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        hedge: bool | None = None,
        stream: bool = False,
    ) -> StreamsResponse:
        headers = dict(headers or {})
        info = RequestInfo.from_url(method, url, headers=headers, framework="reference-streams")
        config = self.hedger.config
        first_byte = stream and config.race_on == "first_byte"

        async def send(attempt: Attempt) -> StreamsResponse:
            reader, writer = await asyncio.open_connection(info.host, info.port)
            try:
                lines = [f"{method} {_target(url)} HTTP/1.1", f"host: {info.host}"]
                lines += [f"{name}: {value}" for name, value in headers.items()]
                if attempt.index and config.attempt_header:
                    lines.append(f"{config.attempt_header}: {attempt.index}")
                payload = body or b""
                if stream_body:
                    lines.append("transfer-encoding: chunked")
                    payload = b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload) if payload else b"0\r\n\r\n"
                else:
                    lines.append(f"content-length: {len(payload)}")
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
                await writer.drain()
                status_line = await reader.readline()
                if not status_line:
                    raise ConnectionResetError("server closed the connection without answering")
                status = int(status_line.split()[1])
                response_headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    response_headers[name.strip().lower()] = value.strip()
                first = b""
                if first_byte and response_headers.get("transfer-encoding") == "chunked":
                    first = await _read_chunk(reader)
                return StreamsResponse(status, response_headers, reader, writer, first)
            except BaseException:
                writer.close()
                raise

        return await self.hedger.run(
            info,
            send,
            hedge=hedge,
            replayable=not stream_body,
            classifier=self.classifier,
            release=lambda response: response.aclose(),
        )


Exchange = tuple[http.client.HTTPConnection, http.client.HTTPResponse, bytes]


def _close(exchange: Exchange) -> None:
    connection, response, _ = exchange
    response.close()
    connection.close()


class BlockingClassifier(Classifier[Exchange]):
    def classify_result(self, result: Exchange) -> Judgement:
        return Verdict.RETRY if result[1].status in RETRYABLE_STATUS else Verdict.ACCEPT

    def classify_error(self, error: BaseException) -> Judgement:
        return Verdict.RETRY if isinstance(error, (OSError, http.client.HTTPException)) else Verdict.FATAL


class BlockingClient:
    """A hedged HTTP/1.1 client on http.client; losers are aborted by shutting their socket."""

    def __init__(self, config: HedgeConfig) -> None:
        self.hedger = Hedger(config)
        self.classifier = BlockingClassifier()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        hedge: bool | None = None,
        stream: bool = False,
    ) -> tuple[int, bytes]:
        headers = dict(headers or {})
        info = RequestInfo.from_url(method, url, headers=headers, framework="reference-blocking")
        config = self.hedger.config
        first_byte = stream and config.race_on == "first_byte"

        def send(attempt: Attempt) -> Exchange:
            connection = http.client.HTTPConnection(info.host, info.port, timeout=30)

            def abort() -> None:
                if connection.sock is not None:
                    with contextlib.suppress(OSError):
                        connection.sock.shutdown(socket.SHUT_RDWR)

            attempt.on_cancel(abort)
            extra = dict(headers)
            if attempt.index and config.attempt_header:
                extra[config.attempt_header] = str(attempt.index)
            try:
                payload: Any = iter([body or b""]) if stream_body else body
                connection.request(
                    method, _target(url), body=payload, headers=extra, encode_chunked=stream_body
                )
                response = connection.getresponse()
                first = response.read1(1) if first_byte else b""
            except BaseException:
                connection.close()
                raise
            return connection, response, first

        exchange = self.hedger.run_sync(
            info, send, hedge=hedge, replayable=not stream_body, classifier=self.classifier, release=_close
        )
        _, response, first = exchange
        try:
            return response.status, first + response.read()
        finally:
            _close(exchange)

    def close(self) -> None:
        self.hedger.close()


def _target(url: str) -> str:
    """The request target (path and query) of an absolute URL."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class TestStreamsClientContract(HttpAdapterContract):
    connection_errors = (OSError,)

    @contextlib.asynccontextmanager
    async def open_client(self, config: HedgeConfig) -> AsyncIterator[StreamsClient]:
        yield StreamsClient(config)

    async def request(
        self,
        client: StreamsClient,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        response = await client.request(
            method,
            url,
            headers=headers,
            body=body,
            stream_body=stream_body,
            hedge=hedge,
            stream=stream_response,
        )
        return ContractResponse(response.status, await response.read(), response.headers)


class TestBlockingClientContract(SyncHttpAdapterContract):
    connection_errors = (OSError,)
    cancels_in_flight = True

    @contextlib.contextmanager
    def open_sync_client(self, config: HedgeConfig) -> Iterator[BlockingClient]:
        client = BlockingClient(config)
        try:
            yield client
        finally:
            client.close()

    def request_sync(
        self,
        client: BlockingClient,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream_body: bool = False,
        stream_response: bool = False,
        hedge: bool | None = None,
    ) -> ContractResponse:
        status, content = client.request(
            method,
            url,
            headers=headers,
            body=body,
            stream_body=stream_body,
            hedge=hedge,
            stream=stream_response,
        )
        return ContractResponse(status, content)


def test_reference_clients_are_complete() -> None:
    # Guard against the contract silently skipping capabilities the reference clients have.
    for contract in (TestStreamsClientContract, TestBlockingClientContract):
        assert contract.supports_stream_body
        assert contract.supports_stream_response
