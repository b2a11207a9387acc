from __future__ import annotations

import email.utils

import pytest

from hedge import RetryAfter, Verdict
from hedge.http import hedge_override, judge_status, parse_retry_after


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 404, 429, 500, 501])
def test_answers_are_accepted(status: int) -> None:
    assert judge_status(status) is Verdict.ACCEPT


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_failures_are_retryable(status: int) -> None:
    assert judge_status(status) is Verdict.RETRY
    assert judge_status(status, "2") == RetryAfter(2.0)
    assert judge_status(status, "garbage") is Verdict.RETRY


def test_retry_after_forms() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after(" 120 ") == 120.0
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        ("true", True),
        ("1", True),
        ("OFF", False),
        (" no ", False),
    ],
)
def test_hedge_override(value: object, expected: bool | None) -> None:
    assert hedge_override(value) is expected


def test_hedge_override_rejects_other_values() -> None:
    with pytest.raises(ValueError, match="true or false"):
        hedge_override("maybe")
    with pytest.raises(TypeError, match="bool or None"):
        hedge_override(1)


def test_retry_after_rejects_nan() -> None:
    with pytest.raises(ValueError, match="RetryAfter.seconds"):
        RetryAfter(float("nan"))
