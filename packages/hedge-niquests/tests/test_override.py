"""The per-request override: the X-Hedge header and the hedging() block."""

from __future__ import annotations

import asyncio
from typing import Any

import niquests
import pytest

from hedge import HedgeConfig, Stats
from hedge.testing import Reply, ScriptedServer
from hedge_niquests import HEDGE_HEADER, HedgedNiquestsSession, HedgedNiquestsSyncSession, hedging
from hedge_niquests._override import read_override


def prepare(headers: dict[str, str] | None = None) -> niquests.PreparedRequest:
    return niquests.Request("GET", "http://example.com/", headers=headers).prepare()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("true", True), ("1", True), ("On", True), ("false", False), ("0", False), ("no", False)],
)
def test_the_header(value: str | None, expected: bool | None) -> None:
    headers = {} if value is None else {HEDGE_HEADER.lower(): value}
    assert read_override(prepare(headers)) is expected


def test_the_header_rejects_other_values() -> None:
    with pytest.raises(ValueError, match=r"X-Hedge request header must be true or false.*'later'"):
        read_override(prepare({HEDGE_HEADER: "later"}))


def test_the_block_and_its_precedence() -> None:
    assert read_override(prepare()) is None
    with hedging(False):
        assert read_override(prepare()) is False
        # The header is the more specific choice.
        assert read_override(prepare({HEDGE_HEADER: "true"})) is True
        with hedging(None):
            assert read_override(prepare()) is None
        assert read_override(prepare()) is False
    assert read_override(prepare()) is None


def test_the_block_rejects_bad_values() -> None:
    with pytest.raises(TypeError, match="must be a bool or None"), hedging(1):  # type: ignore[arg-type]
        pass
    with pytest.raises(ValueError, match="must be true or false"), hedging("sometimes"):  # type: ignore[arg-type]
        pass


def config() -> HedgeConfig:
    return HedgeConfig(min_delay=0.05, max_delay=0.05, warmup_delay=0.05, budget_percent=100.0, stats=Stats())


def test_the_block_reaches_sync_and_async_sessions() -> None:
    with ScriptedServer() as server:
        for path in ("/off-sync", "/off-async"):
            server.script(path, Reply(delay=0.3, body=b"primary"))
        for path in ("/on-sync", "/on-async"):
            server.script(path, Reply(delay=5.0, body=b"primary"), Reply(body=b"hedge"))

        with HedgedNiquestsSyncSession(config=config()) as session:
            with hedging(False):
                off_sync = session.get(server.url_for("/off-sync")).content
            with hedging(True):
                on_sync = session.put(server.url_for("/on-sync"), data=b"x").content

        async def main() -> tuple[Any, Any]:
            async with HedgedNiquestsSession(config=config()) as session:
                with hedging(False):
                    off = (await session.get(server.url_for("/off-async"))).content
                with hedging(True):
                    on = (await session.put(server.url_for("/on-async"), data=b"x")).content
                return off, on

        off_async, on_async = asyncio.run(main())
        assert (off_sync, on_sync, off_async, on_async) == (b"primary", b"hedge", b"primary", b"hedge")
        assert [len(server.requests_to(p)) for p in ("/off-sync", "/on-sync", "/off-async", "/on-async")] == [
            1,
            2,
            1,
            2,
        ]
