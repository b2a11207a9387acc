"""Verdicts for niquests responses and exceptions."""

from __future__ import annotations

import niquests
import pytest
from niquests import exceptions

from hedge import RetryAfter, Verdict
from hedge_niquests import NiquestsClassifier

classifier = NiquestsClassifier()


def response(status: int | None, **headers: str) -> niquests.Response:
    result = niquests.Response()
    result.status_code = status
    result.headers.update(headers)
    return result


@pytest.mark.parametrize("status", [200, 204, 301, 400, 404, 429, 500, 501])
def test_answers_are_accepted(status: int) -> None:
    assert classifier.classify_result(response(status)) is Verdict.ACCEPT


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_failures_do_not_win(status: int) -> None:
    assert classifier.classify_result(response(status)) is Verdict.RETRY


def test_retry_after_is_pushback() -> None:
    assert classifier.classify_result(response(503, **{"Retry-After": "2"})) == RetryAfter(2.0)


def test_a_response_without_status_is_accepted() -> None:
    assert classifier.classify_result(response(None)) is Verdict.ACCEPT


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ConnectionError("refused"),
        exceptions.ConnectTimeout("connect timed out"),
        exceptions.ReadTimeout("read timed out"),
        exceptions.ProxyError("proxy down"),
        exceptions.ChunkedEncodingError("cut short"),
        exceptions.RetryError("retries exhausted"),
        ConnectionResetError("reset"),
        TimeoutError(),
    ],
)
def test_connection_failures_are_retried(error: BaseException) -> None:
    assert classifier.classify_error(error) is Verdict.RETRY


@pytest.mark.parametrize(
    "error",
    [
        exceptions.SSLError("certificate verify failed"),
        exceptions.InvalidURL("bad"),
        exceptions.InvalidSchema("ftp"),
        exceptions.InvalidHeader("bad header"),
        exceptions.ContentDecodingError("bad gzip"),
        exceptions.MultiplexingError("lazy"),
        ValueError("bug"),
    ],
)
def test_other_failures_are_fatal(error: BaseException) -> None:
    assert classifier.classify_error(error) is Verdict.FATAL
