"""What the adapters read from a PreparedRequest, and the copies each attempt sends."""

from __future__ import annotations

import io
from typing import Any

import niquests
import pytest

from hedge import RequestInfo
from hedge_niquests import HEDGE_HEADER
from hedge_niquests._request import AttemptRequests, describe, is_replayable


def prepare(method: str = "GET", url: str = "users?id=5", **kwargs: Any) -> niquests.PreparedRequest:
    """A request prepared by a real session whose base_url is set."""
    with niquests.Session(base_url="http://User:pw@API.example.com:8080/v1/") as session:
        return session.prepare_request(niquests.Request(method, url, **kwargs))


def test_describe_uses_the_url_niquests_resolved_against_base_url() -> None:
    info = describe(prepare(headers={"Idempotency-Key": "k"}))
    assert info[:5] == RequestInfo("GET", "http", "api.example.com", 8080, "/v1/users")[:5]
    assert info.framework == "niquests"
    assert info.target == "http://api.example.com:8080"
    assert info.endpoint == "http://api.example.com:8080/v1/users"
    # niquests' case-insensitive headers, as they are.
    assert info.headers["idempotency-key"] == "k"


@pytest.mark.parametrize(
    ("kwargs", "replayable"),
    [
        ({}, True),
        ({"data": b"raw"}, True),
        ({"data": "text"}, True),
        ({"data": {"form": "field"}}, True),
        ({"json": {"a": 1}}, True),
        ({"files": {"f": ("a.txt", b"x")}}, True),
        ({"data": iter([b"chunk"])}, False),
        ({"data": io.BytesIO(b"file")}, False),
    ],
)
def test_is_replayable(kwargs: dict[str, Any], replayable: bool) -> None:
    assert is_replayable(prepare("POST", **kwargs)) is replayable


def test_the_primary_sends_the_callers_own_request() -> None:
    request = prepare()
    attempts = AttemptRequests(request, "x-hedge-attempt")
    assert attempts.primary is request
    assert attempts.for_attempt(0) is request


def test_hedges_send_marked_copies() -> None:
    request = prepare("PUT", data=b"body", headers={"A": "1"})
    attempts = AttemptRequests(request, "x-hedge-attempt")
    first, second = attempts.for_attempt(1), attempts.for_attempt(2)
    assert first is not request and second is not first
    assert (first.headers["x-hedge-attempt"], second.headers["x-hedge-attempt"]) == ("1", "2")
    assert (first.method, first.url, first.body, first.headers["A"]) == ("PUT", request.url, b"body", "1")
    assert "x-hedge-attempt" not in request.headers


def test_hedges_are_unmarked_without_an_attempt_header() -> None:
    request = prepare()
    hedge = AttemptRequests(request, None).for_attempt(1)
    assert hedge is not request
    assert dict(hedge.headers) == dict(request.headers)


def test_the_override_header_is_dropped_from_every_attempt_but_kept_by_the_caller() -> None:
    request = prepare(headers={HEDGE_HEADER: "true"})
    attempts = AttemptRequests(request, "x-hedge-attempt")
    assert attempts.primary is not request
    assert HEDGE_HEADER not in attempts.primary.headers
    assert HEDGE_HEADER not in attempts.for_attempt(1).headers
    # The caller's object is untouched, so a redirect hop carries the same choice.
    assert request.headers[HEDGE_HEADER] == "true"
