"""What one hedged attempt produced, in the shape the classifier and the interceptors read.

An attempt never raises for an RPC status: it returns one of these records,
so that the call object itself (with its metadata, status and ``cancel()``)
is what the race hands back when it wins.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOTHING", "StreamOpening", "UnaryOutcome"]

NOTHING: Any = object()
"""Marks a stream that ended (or failed) before its first message."""


class UnaryOutcome:
    """A unary attempt that has ended.

    Attributes:
        call: the attempt's call object, done.
        code: its status code.
        trailing_metadata: its trailing metadata when the code is non-fatal
            (pushback is read from it), else ``None``.
    """

    __slots__ = ("call", "code", "trailing_metadata")

    def __init__(self, call: Any, code: Any, trailing_metadata: Any) -> None:
        self.call = call
        self.code = code
        self.trailing_metadata = trailing_metadata


class StreamOpening:
    """A server-streaming attempt that delivered its first message, or ended before one.

    Attributes:
        call: the attempt's call object.
        iterator: the iterator its messages come from (the first one already taken).
        first: the first message, or :data:`NOTHING`.
        error: the status error that ended the stream before its first message, or ``None``.
        code: ``None`` while the stream runs; its status code if it already ended.
        trailing_metadata: as for :class:`UnaryOutcome`.
    """

    __slots__ = ("call", "code", "error", "first", "iterator", "trailing_metadata")

    def __init__(
        self,
        call: Any,
        iterator: Any,
        first: Any,
        *,
        error: BaseException | None = None,
        code: Any = None,
        trailing_metadata: Any = None,
    ) -> None:
        self.call = call
        self.iterator = iterator
        self.first = first
        self.error = error
        self.code = code
        self.trailing_metadata = trailing_metadata
