"""Racing a streamed response on its first body chunk (``race_on="first_byte"``).

An attempt that must deliver its first chunk to win reads it through
niquests' own ``iter_content`` (so a failure raises niquests' own exception
types) and then puts it back in front of the rest of the body, in the
decoded-data buffer urllib3-future's response keeps for partial reads and
always serves first. The caller then reads the response as if nobody had
touched it: ``iter_content``, ``iter_lines``, ``content``, ``text`` and
``json`` all start with that chunk. A response whose raw object has no such
buffer (a third-party adapter's) is not read ahead: it races on its headers.

One limit: the chunk is put back *decoded*, so reading the same response
undecoded afterwards (``iter_raw``, ``raw.read(decode_content=False)``) on
a compressed body is refused by urllib3-future; read it decoded.
"""

from __future__ import annotations

from typing import Any

from niquests import AsyncResponse, Response

__all__ = ["read_first_chunk", "read_first_chunk_async"]


def _buffer_of(response: Response) -> Any:
    raw = response.raw
    if raw is None or response.extension is not None:
        return None
    return getattr(raw, "_decoded_buffer", None)


def _put_back(response: Response, buffer: Any, first: bytes) -> None:
    if not first:
        # The body was empty and is now consumed: record it as such, so that
        # ``content`` and ``iter_content`` answer b"" instead of refusing.
        response._content = b""
        return
    rest = buffer.get(len(buffer)) if len(buffer) else b""
    buffer.put(first)
    if rest:
        buffer.put(rest)


def read_first_chunk(response: Response) -> None:
    """Wait for the first body chunk of ``response``, leaving it to be read again.

    Raises:
        whatever niquests raises reading the body (e.g.
        :class:`~niquests.exceptions.ChunkedEncodingError`).

    """
    buffer = _buffer_of(response)
    if buffer is None:
        return
    chunks = response.iter_content(chunk_size=-1)
    try:
        first = next(chunks, b"")
    finally:
        chunks.close()
    _put_back(response, buffer, first)


async def read_first_chunk_async(response: AsyncResponse) -> None:
    """The :func:`read_first_chunk` of an :class:`~niquests.AsyncResponse`."""
    buffer = _buffer_of(response)
    if buffer is None:
        return
    chunks = await response.iter_content(chunk_size=-1)
    try:
        first = b""
        async for chunk in chunks:
            first = chunk
            break
    finally:
        await chunks.aclose()
    _put_back(response, buffer, first)
