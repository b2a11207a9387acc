"""The hedging() block: the middleware form's per-request switch."""

from __future__ import annotations

import asyncio

import pytest

from hedge_aiohttp import hedging
from hedge_aiohttp._override import HEDGE


def test_blocks_nest_and_restore() -> None:
    assert HEDGE.get() is None
    with hedging(False):
        assert HEDGE.get() is False
        with hedging(True):
            assert HEDGE.get() is True
            with hedging(None):
                assert HEDGE.get() is None
            assert HEDGE.get() is True
        assert HEDGE.get() is False
    assert HEDGE.get() is None


def test_restored_when_the_block_raises() -> None:
    with pytest.raises(KeyError), hedging(True):
        raise KeyError("boom")
    assert HEDGE.get() is None


def test_strings_from_configuration_are_accepted() -> None:
    with hedging("off"):  # type: ignore[arg-type]
        assert HEDGE.get() is False


@pytest.mark.parametrize(("value", "error"), [(0, TypeError), ([], TypeError), ("sometimes", ValueError)])
def test_bad_values_raise(value: object, error: type) -> None:
    with pytest.raises(error, match="hedge override"), hedging(value):  # type: ignore[arg-type]
        pass
    assert HEDGE.get() is None


def test_tasks_created_in_a_block_inherit_it_and_other_tasks_do_not() -> None:
    async def read() -> bool | None:
        return HEDGE.get()

    async def main() -> tuple[bool | None, bool | None]:
        outside = asyncio.ensure_future(read())
        with hedging(False):
            inside = asyncio.ensure_future(read())
        return await inside, await outside

    assert asyncio.run(main()) == (False, None)
