"""HTTP rules shared by every HTTP adapter, so that they judge alike.

* :data:`RETRYABLE_STATUSES` — 502, 503 and 504: the server (or a proxy in
  front of it) failed in a way another attempt may not. They never win a
  race. Other statuses, 500 included, are answers and are returned.
* :func:`judge_status` — the verdict for a response status, honouring a
  ``Retry-After`` header on a retryable status as server pushback.
* :func:`parse_retry_after` — ``Retry-After`` as seconds (delta-seconds or
  an HTTP-date).
* :func:`hedge_override` — reads a per-request ``hedge`` override given as
  a bool or as the strings adapters receive from headers and extensions.
"""

from __future__ import annotations

import math
import time
from email.utils import parsedate_to_datetime

from ._outcome import Judgement, RetryAfter, Verdict

__all__ = ["RETRYABLE_STATUSES", "hedge_override", "judge_status", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for, or ``None`` if absent or unreadable.

    Args:
        value: the header value: delta-seconds (``"2"``) or an HTTP-date.
        now: the current Unix time for HTTP-dates (default :func:`time.time`).
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def judge_status(status: int, retry_after: str | None = None) -> Judgement:
    """The verdict for a response with ``status`` (and its ``Retry-After`` header, if any)."""
    if status not in RETRYABLE_STATUSES:
        return Verdict.ACCEPT
    seconds = parse_retry_after(retry_after)
    if seconds is None:
        return Verdict.RETRY
    return RetryAfter(seconds)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def hedge_override(value: object) -> bool | None:
    """Read a per-request hedging override.

    Accepts ``None`` (no override), a bool, or one of the strings ``true``,
    ``1``, ``yes``, ``on`` / ``false``, ``0``, ``no``, ``off`` (any case).

    Raises:
        TypeError: for any other type.
        ValueError: for any other string.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"the hedge override must be true or false, got {value!r}")
    raise TypeError(f"the hedge override must be a bool or None, got {type(value).__name__}")
