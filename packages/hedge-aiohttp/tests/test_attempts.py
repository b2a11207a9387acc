"""Which bodies are sent twice, and what a hedge's copy of the request looks like.

Each body kind is sent as an opted-in POST whose primary is slow: a body
that can be replayed reaches the server twice, byte for byte; any other is
sent once and the request is simply not hedged.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.helpers import TimerNoop
from aiohttp.streams import StreamReader

from hedge_aiohttp import HedgedAiohttpSession
from hedge_aiohttp._attempts import clone_request, is_replayable

SLOW = 5.0


def _multipart_of_bytes() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("name", "value")
    form.add_field("file", b"\x00\x01binary", filename="data.bin", content_type="application/octet-stream")
    return form


def _multipart_with_a_file_object() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(b"streamed"), filename="data.bin")
    return form


REPLAYABLE: dict[str, Callable[[], dict[str, Any]]] = {
    "bytes": lambda: {"data": b"payload"},
    "bytearray": lambda: {"data": bytearray(b"payload")},
    "str": lambda: {"data": "payload"},
    "json": lambda: {"json": {"key": [1, 2, 3]}},
    "urlencoded form": lambda: {"data": {"key": "value", "other": "1"}},
    "multipart of bytes": lambda: {"data": _multipart_of_bytes()},
    "StringIO": lambda: {"data": io.StringIO("text read up front")},
}

SENT_ONCE: dict[str, Callable[[], dict[str, Any]]] = {
    "BytesIO": lambda: {"data": io.BytesIO(b"payload")},
    "multipart with a file object": lambda: {"data": _multipart_with_a_file_object()},
    "expect 100-continue": lambda: {"data": b"payload", "expect100": True},
}
if hasattr(aiohttp, "UploadTracker"):  # aiohttp 3.14+: one tracker follows one upload
    SENT_ONCE["upload tracker"] = lambda: {"data": b"payload", "upload_tracker": aiohttp.UploadTracker()}


@pytest.mark.parametrize("kind", list(REPLAYABLE))
def test_replayable_bodies_reach_the_server_twice(
    web_server: Any, run: Any, make_config: Any, kind: str
) -> None:
    config = make_config()
    web_server.script("/upload", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})

    async def scenario() -> bytes:
        async with (
            web_server,
            HedgedAiohttpSession(config=config) as session,
            session.post(web_server.url("/upload"), hedge=True, **REPLAYABLE[kind]()) as response,
        ):
            return await response.read()

    assert run(scenario) == b"hedge"
    primary, hedge = web_server.to("/upload")
    assert primary.body
    assert hedge.body == primary.body
    assert hedge.headers.get("content-type") == primary.headers.get("content-type")


@pytest.mark.parametrize("kind", list(SENT_ONCE))
def test_other_bodies_are_sent_once(web_server: Any, run: Any, make_config: Any, kind: str) -> None:
    config = make_config()
    web_server.script("/upload", {"delay": 0.3, "body": b"primary"})

    async def scenario() -> bytes:
        async with (
            web_server,
            HedgedAiohttpSession(config=config) as session,
            session.post(web_server.url("/upload"), hedge=True, **SENT_ONCE[kind]()) as response,
        ):
            return await response.read()

    assert run(scenario) == b"primary"
    assert len(web_server.to("/upload")) == 1
    assert config.stats.snapshot().passthrough_requests == 1


def test_an_open_file_is_sent_once(web_server: Any, run: Any, make_config: Any, tmp_path: Path) -> None:
    config = make_config()
    path = tmp_path / "upload.bin"
    path.write_bytes(b"file contents" * 100)
    web_server.script("/upload", {"delay": 0.3})

    async def scenario() -> None:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            with path.open("rb") as handle:
                async with session.put(web_server.url("/upload"), data=handle, hedge=True) as response:
                    await response.read()

    run(scenario)
    (seen,) = web_server.to("/upload")
    assert seen.body == path.read_bytes()


def test_an_async_generator_body_is_sent_once(
    web_server: Any, run: Any, make_config: Any, stream_body: Any
) -> None:
    config = make_config()
    web_server.script("/upload", {"delay": 0.3})

    async def scenario() -> None:
        async with web_server, HedgedAiohttpSession(config=config) as session:
            data = stream_body(b"one ", b"two")
            async with session.put(web_server.url("/upload"), data=data, hedge=True) as response:
                await response.read()

    run(scenario)
    assert [seen.body for seen in web_server.to("/upload")] == [b"one two"]


def test_a_hedge_sends_a_copy_with_its_own_headers_and_no_per_send_state(web_server: Any, run: Any) -> None:
    checked: list[str] = []

    async def inspect(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        response: aiohttp.ClientResponse = await handler(request)
        assert request.response is response  # sending recorded per-send state on the original
        clone = clone_request(request, 2, "x-hedge-attempt")
        assert clone is not request
        assert clone.response is None
        assert "_ClientRequest__writer" not in vars(clone)
        assert clone.headers is not request.headers
        assert clone.headers["x-hedge-attempt"] == "2"
        assert "x-hedge-attempt" not in request.headers
        assert dict(clone.headers) == {**dict(request.headers), "x-hedge-attempt": "2"}
        assert (clone.method, clone.url, clone.body) == (request.method, request.url, request.body)
        assert isinstance(clone._timer, TimerNoop)
        assert is_replayable(clone) == is_replayable(request) is True
        checked.append(request.method)
        return response

    async def scenario() -> None:
        async with (
            web_server,
            aiohttp.ClientSession(middlewares=[inspect]) as session,
            session.post(web_server.url("/x"), data=b"body") as response,
        ):
            await response.read()

    run(scenario)
    assert checked == ["POST"]
    # The copy was never sent: the server saw the one request.
    assert len(web_server.seen) == 1


def test_the_aiohttp_internals_relied_on_still_exist() -> None:
    # The adapter relies on these private details (see _attempts and _middleware);
    # an aiohttp release that changes them must fail here, not misbehave quietly.
    assert "__slots__" not in vars(aiohttp.ClientRequest)  # copies are made through __dict__
    assert "_ClientRequest__writer" in vars(aiohttp.ClientRequest)
    assert {"_buffer", "_waiter", "_timer"} <= set(StreamReader.__slots__)
    assert "_timer" in aiohttp.ClientRequest.__init__.__code__.co_names
