"""Which httpx outcomes win, retry, or end the race (hedge_httpx._classify)."""

from __future__ import annotations

from typing import Any

import pytest

from hedge import RetryAfter, Verdict
from hedge_httpx._flavor import Flavor

RETRY = Verdict.RETRY
FATAL = Verdict.FATAL
STOP = RetryAfter(-1.0)


@pytest.fixture
def classifier(framework: Any) -> Any:
    return Flavor(framework.module, framework.name).classifier


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("ConnectError", RETRY),
        ("ConnectTimeout", RETRY),
        ("ReadError", RETRY),
        ("WriteError", RETRY),
        ("CloseError", RETRY),
        ("RemoteProtocolError", RETRY),
        ("ReadTimeout", STOP),
        ("WriteTimeout", STOP),
        ("PoolTimeout", STOP),
        ("LocalProtocolError", FATAL),
        ("UnsupportedProtocol", FATAL),
        ("ProxyError", FATAL),
        ("DecodingError", FATAL),
        ("TooManyRedirects", FATAL),
    ],
)
def test_httpx_errors(framework: Any, classifier: Any, name: str, verdict: Any) -> None:
    error = getattr(framework.module, name)("boom")
    assert classifier.classify_error(error) == verdict


def test_misuse_and_invalid_urls_are_fatal(framework: Any, classifier: Any) -> None:
    assert classifier.classify_error(framework.module.InvalidURL("bad")) is FATAL
    assert classifier.classify_error(framework.module.StreamConsumed()) is FATAL


@pytest.mark.parametrize(
    ("error", "verdict"),
    [(ConnectionResetError(), RETRY), (ConnectionRefusedError(), RETRY), (ValueError("bug"), FATAL)],
)
def test_other_errors_follow_the_core_defaults(classifier: Any, error: BaseException, verdict: Any) -> None:
    # Raised by inner transports that do not map their errors to httpx's.
    assert classifier.classify_error(error) is verdict


@pytest.mark.parametrize(
    ("status", "headers", "verdict"),
    [
        (200, {}, Verdict.ACCEPT),
        (404, {}, Verdict.ACCEPT),
        (500, {}, Verdict.ACCEPT),
        (429, {"retry-after": "1"}, Verdict.ACCEPT),
        (502, {}, RETRY),
        (503, {}, RETRY),
        (504, {}, RETRY),
        (503, {"Retry-After": "2"}, RetryAfter(2.0)),
        (503, {"retry-after": "soon"}, RETRY),
    ],
)
def test_responses(
    framework: Any, classifier: Any, status: int, headers: dict[str, str], verdict: Any
) -> None:
    response = framework.module.Response(status, headers=headers)
    assert classifier.classify_result(response) == verdict
