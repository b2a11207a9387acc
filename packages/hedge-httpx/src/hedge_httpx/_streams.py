"""Racing on the first body chunk, without losing it.

With ``race_on="first_byte"`` an attempt is finished only when its response
body has produced its first non-empty chunk (or ended), which is what an
SSE or LLM stream is really waiting for. That chunk has then been read from
the wire, so the winner's response gets a replacement stream that yields
the chunk again and then the rest of the original, and whose close closes
the original. The chunks are the raw bytes from the transport: decoding
(gzip, charset) still happens in the client, over the replayed stream.

The replacement must be an instance of the module's own ``AsyncByteStream``
/ ``SyncByteStream`` (httpx's client asserts it), so the classes are made
per module by :func:`make_replay_streams`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ._flavor import HttpxModule

__all__ = ["ReplayStreams", "make_replay_streams"]


class _AsyncReplay:
    """An async response stream that yields ``first``, then the rest of ``source``."""

    def __init__(self, first: bytes, rest: AsyncIterator[bytes] | None, source: Any) -> None:
        self._first = first
        self._rest = rest
        self._source = source

    async def __aiter__(self) -> AsyncIterator[bytes]:
        first, self._first = self._first, b""
        if first:
            yield first
        rest = self._rest
        if rest is not None:
            async for chunk in rest:
                yield chunk

    async def aclose(self) -> None:
        rest, self._rest = self._rest, None
        try:
            close = getattr(rest, "aclose", None)
            if close is not None:
                await close()
        finally:
            await self._source.aclose()


class _SyncReplay:
    """A response stream that yields ``first``, then the rest of ``source``."""

    def __init__(self, first: bytes, rest: Iterator[bytes] | None, source: Any) -> None:
        self._first = first
        self._rest = rest
        self._source = source

    def __iter__(self) -> Iterator[bytes]:
        first, self._first = self._first, b""
        if first:
            yield first
        rest = self._rest
        if rest is not None:
            yield from rest

    def close(self) -> None:
        rest, self._rest = self._rest, None
        try:
            close = getattr(rest, "close", None)
            if close is not None:
                close()
        finally:
            self._source.close()


class ReplayStreams(NamedTuple):
    """The first-chunk peekers of one module.

    Each reads the first non-empty chunk of ``response.stream`` (waiting
    for it), installs the replaying stream on the response and returns the
    response. If reading fails or is cancelled, the exception propagates
    and the caller must close the response.
    """

    peek_async: Callable[[Any], Awaitable[Any]]
    peek_sync: Callable[[Any], Any]


def make_replay_streams(module: HttpxModule) -> ReplayStreams:
    """Build the replaying stream classes of ``module`` and the functions that install them."""
    async_replay: Callable[..., Any] = type("AsyncReplayStream", (_AsyncReplay, module.AsyncByteStream), {})
    sync_replay: Callable[..., Any] = type("SyncReplayStream", (_SyncReplay, module.SyncByteStream), {})

    async def peek_async(response: Any) -> Any:
        source = response.stream
        iterator: AsyncIterator[bytes] = source.__aiter__()
        rest: AsyncIterator[bytes] | None = iterator
        first = b""
        try:
            while not first:
                first = await iterator.__anext__()
        except StopAsyncIteration:
            rest = None
        response.stream = async_replay(first, rest, source)
        return response

    def peek_sync(response: Any) -> Any:
        source = response.stream
        iterator: Iterator[bytes] = iter(source)
        rest: Iterator[bytes] | None = iterator
        first = b""
        try:
            while not first:
                first = next(iterator)
        except StopIteration:
            rest = None
        response.stream = sync_replay(first, rest, source)
        return response

    return ReplayStreams(peek_async, peek_sync)
