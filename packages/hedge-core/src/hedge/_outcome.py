"""Verdicts: how the race engine judges what an attempt produced.

Every attempt ends with a result or an exception. The adapter's
:class:`Classifier` turns it into one of three verdicts (gRFC A6's model):

``ACCEPT``
    A usable answer. The first accepted outcome wins the race.
``RETRY``
    This attempt failed in a way another attempt may not (connection refused
    or reset, HTTP 502/503/504, gRPC ``UNAVAILABLE``). It does not win: the
    engine waits for the others, or sends the next hedge at once if the
    budget allows. A :class:`RetryAfter` is a ``RETRY`` that carries server
    pushback.
``FATAL``
    The request itself failed (a programming error, an invalid argument, a
    gRPC status the service owner marked fatal). It ends the race at once and
    goes to the caller.

If every attempt ends in ``RETRY``, the caller receives the primary
attempt's outcome, exactly as the framework produced it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Generic, TypeVar, Union

__all__ = ["Classifier", "RetryAfter", "Verdict", "Judgement"]

T = TypeVar("T")


class Verdict(enum.Enum):
    """The engine's three ways to treat an attempt's outcome."""

    ACCEPT = "accept"
    RETRY = "retry"
    FATAL = "fatal"


@dataclass(frozen=True)
class RetryAfter:
    """A retryable outcome whose server asked the client to hold back.

    Attributes:
        seconds: wait at least this long before the next hedge; a negative
            value stops hedging for this request (gRPC's
            ``grpc-retry-pushback-ms``; HTTP's ``Retry-After``). A pushback
            longer than the config's ``max_delay`` also stops hedging.
    """

    seconds: float

    def __post_init__(self) -> None:
        if (
            isinstance(self.seconds, bool)
            or not isinstance(self.seconds, (int, float))
            or math.isnan(self.seconds)
        ):
            raise ValueError(f"RetryAfter.seconds must be a number, got {self.seconds!r}")


Judgement = Union[Verdict, RetryAfter]
"""What a classifier returns."""

_RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionRefusedError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    TimeoutError,
)


class Classifier(Generic[T]):
    """Judge attempt outcomes. Subclass and override either method.

    The defaults accept every result, treat the stdlib's connection errors
    and :class:`TimeoutError` as ``RETRY``, and every other exception as
    ``FATAL``. Adapters subclass this with their framework's types.

    Both methods run on the hot path, once per finished attempt; keep them
    cheap and never let them raise (an exception here is treated as FATAL).
    """

    def classify_result(self, result: T) -> Judgement:
        """Return the verdict for an attempt that returned ``result``."""
        return Verdict.ACCEPT

    def classify_error(self, error: BaseException) -> Judgement:
        """Return the verdict for an attempt that raised ``error``."""
        if isinstance(error, _RETRYABLE_ERRORS):
            return Verdict.RETRY
        return Verdict.FATAL
