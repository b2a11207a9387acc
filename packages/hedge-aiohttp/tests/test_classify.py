"""AiohttpClassifier: which aiohttp failures another attempt may fix."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import aiohttp
import pytest

from hedge import RetryAfter, Verdict
from hedge_aiohttp import AiohttpClassifier


def _bare(kind: type[BaseException]) -> BaseException:
    # Connector errors need a live connection key to construct; the verdict
    # depends on the type alone.
    return kind.__new__(kind)


RETRY = [
    _bare(aiohttp.ClientConnectorError),
    _bare(aiohttp.ClientConnectorDNSError),
    _bare(aiohttp.ClientProxyConnectionError),
    aiohttp.ClientOSError(104, "Connection reset by peer"),
    aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
    aiohttp.ServerDisconnectedError(),
    aiohttp.ConnectionTimeoutError("connect timed out"),
    aiohttp.ClientPayloadError("Response payload is not completed"),
    ConnectionRefusedError(),
    ConnectionResetError(),
]

FATAL = [
    _bare(aiohttp.ClientSSLError),
    _bare(aiohttp.ClientConnectorCertificateError),
    _bare(aiohttp.ClientConnectorSSLError),
    aiohttp.ServerFingerprintMismatch(b"expected", b"got", "example.com", 443),
    asyncio.TimeoutError(),  # the request's total timeout
    aiohttp.InvalidURL("http://"),
    aiohttp.ClientResponseError(None, (), status=400),  # type: ignore[arg-type]
    ssl.SSLError(),
    ValueError("bad argument"),
]


@pytest.mark.parametrize("error", RETRY, ids=lambda error: type(error).__name__)
def test_connection_failures_are_retried(error: BaseException) -> None:
    assert AiohttpClassifier().classify_error(error) is Verdict.RETRY


@pytest.mark.parametrize(
    "error",
    [aiohttp.SocketTimeoutError("sock_read timed out"), aiohttp.ServerTimeoutError("timed out")],
    ids=lambda error: type(error).__name__,
)
def test_read_timeouts_stop_hedging_but_await_attempts_in_flight(error: BaseException) -> None:
    assert AiohttpClassifier().classify_error(error) == RetryAfter(-1.0)


@pytest.mark.parametrize("error", FATAL, ids=lambda error: type(error).__name__)
def test_other_failures_are_fatal(error: BaseException) -> None:
    assert AiohttpClassifier().classify_error(error) is Verdict.FATAL


def test_a_subclass_can_change_a_rule(web_server: Any, run: Any, make_config: Any) -> None:
    from hedge import Judgement
    from hedge_aiohttp import HedgedAiohttpSession

    class RetryTooManyRequests(AiohttpClassifier):
        def classify_result(self, result: aiohttp.ClientResponse) -> Judgement:
            if result.status == 429:
                return Verdict.RETRY
            return super().classify_result(result)

    config = make_config(min_delay=60.0, max_delay=60.0, warmup_delay=60.0)
    web_server.script("/limited", {"status": 429}, {"body": b"fine"})

    async def scenario() -> bytes:
        async with (
            web_server,
            HedgedAiohttpSession(config=config, classifier=RetryTooManyRequests()) as session,
            session.get(web_server.url("/limited")) as response,
        ):
            return await response.read()

    assert run(scenario) == b"fine"
    assert len(web_server.to("/limited")) == 2
