"""Reading a response's first chunk ahead, and giving it back whole (race_on="first_byte")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import niquests
import pytest

from hedge import HedgeConfig, Stats
from hedge_niquests import HedgedNiquestsSession, HedgedNiquestsSyncSession
from hedge_niquests._stream import read_first_chunk, read_first_chunk_async

if TYPE_CHECKING:
    from conftest import RealServer

GZIP_TEXT = b"line one\nline two\n" * 50

READERS: dict[str, Callable[[niquests.Response], Any]] = {
    "content": lambda r: r.content,
    "iter_content": lambda r: b"".join(r.iter_content(-1)),
    "iter_content_small": lambda r: b"".join(r.iter_content(7)),
    "iter_lines": lambda r: b"\n".join(r.iter_lines()),
    "text": lambda r: r.text.encode(),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_the_first_chunk_is_given_back_to_every_reader(real_server: RealServer, reader: str) -> None:
    with niquests.Session() as session:
        response = session.get(real_server.url_for("/sse?slow=0&chunks=2"), stream=True)
        read_first_chunk(response)
        body = READERS[reader](response)
    expected = b"data: primary\n\ndata: 0\n\ndata: 1\n\n"
    if reader == "iter_lines":
        expected = b"data: primary\n\ndata: 0\n\ndata: 1\n"
    assert body == expected


def test_a_compressed_body_is_given_back_decoded(real_server: RealServer) -> None:
    with niquests.Session() as session:
        response = session.get(real_server.url_for("/gzip"), stream=True)
        read_first_chunk(response)
        assert response.content == GZIP_TEXT


def test_an_empty_body_reads_as_empty(real_server: RealServer) -> None:
    with niquests.Session() as session:
        response = session.get(real_server.url_for("/empty"), stream=True)
        read_first_chunk(response)
        assert response.status_code == 204
        assert response.content == b""
        assert list(response.iter_content(-1)) == []


def test_a_response_without_a_raw_body_is_left_alone() -> None:
    response = niquests.Response()
    read_first_chunk(response)
    assert response.raw is None
    assert response._content is False


def test_async_first_chunk_is_given_back(real_server: RealServer) -> None:
    async def main() -> tuple[bytes, bytes, list[bytes]]:
        async with niquests.AsyncSession() as session:
            sse = await session.get(real_server.url_for("/sse?slow=0&chunks=1"), stream=True)
            await read_first_chunk_async(sse)
            lines = [line async for line in sse.iter_lines() if line]
            gz = await session.get(real_server.url_for("/gzip"), stream=True)
            await read_first_chunk_async(gz)
            empty = await session.get(real_server.url_for("/empty"), stream=True)
            await read_first_chunk_async(empty)
            return await gz.content or b"", await empty.content or b"", lines

    gz, empty, lines = asyncio.run(main())
    assert (gz, empty) == (GZIP_TEXT, b"")
    assert lines == [b"data: primary", b"data: 0"]


def first_byte_config(delay: float = 0.05) -> HedgeConfig:
    return HedgeConfig(
        min_delay=delay,
        max_delay=delay,
        warmup_delay=delay,
        budget_percent=100.0,
        attempt_header="x-hedge-attempt",
        race_on="first_byte",
        stats=Stats(),
    )


def test_sync_first_byte_race_on_a_compressed_stream(real_server: RealServer) -> None:
    # The primary's headers come at once but its body 5 s later: the hedge's first chunk wins.
    with HedgedNiquestsSyncSession(config=first_byte_config()) as session:
        response = session.get(real_server.url_for("/gzip?slow=5"), stream=True)
        assert b"".join(response.iter_content(-1)) == GZIP_TEXT
        assert session.stats.snapshot().hedge_wins == 1
    assert [s.attempt for s in real_server.to("/gzip")] == [None, "1"]
    assert real_server.wait_until(lambda s: s.to("/gzip")[0].left)


def test_first_byte_applies_to_streamed_requests_only(real_server: RealServer) -> None:
    # Without stream=True the session reads the body after the race: headers decide.
    async def main() -> bytes:
        async with HedgedNiquestsSession(config=first_byte_config(0.5)) as session:
            response = await session.get(real_server.url_for("/sse?slow=1.5&chunks=1"))
            return response.content or b""

    assert asyncio.run(main()) == b"data: primary\n\ndata: 0\n\n"
    assert len(real_server.to("/sse")) == 1
