"""The examples run, and the README and docs/pages/adapters/aiohttp.md show them verbatim.

Every Python block of both pages is a copy of a file in ``tests/examples/``,
every example is on the docs page, and each runs here against a local
aiohttp.web server.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EXAMPLES = Path(__file__).parent / "examples"
PACKAGE = Path(__file__).resolve().parents[1]
README = PACKAGE / "README.md"
DOCS_PAGE = PACKAGE.parents[1] / "docs" / "pages" / "adapters" / "aiohttp.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
SLOW = 5.0


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hedge_aiohttp_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", [README, DOCS_PAGE], ids=lambda path: path.name)
def test_documented_code_is_a_tested_example(page: Path) -> None:
    examples = [path.read_text() for path in EXAMPLES.glob("*.py")]
    blocks = BLOCK.findall(page.read_text())
    assert blocks, f"{page.name} shows no Python example"
    for block in blocks:
        assert block in examples, f"not a verbatim example file:\n{block}"


def test_every_example_is_on_the_docs_page() -> None:
    blocks = BLOCK.findall(DOCS_PAGE.read_text())
    for path in sorted(EXAMPLES.glob("*.py")):
        assert path.read_text() in blocks, f"{path.name} is not shown on {DOCS_PAGE.name}"


def test_session_example(web_server: Any, run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Default delays: a loaded machine may hedge, so every attempt gets the same answer.
    web_server.set_default("/v1/items", {"body": b"[1, 2]", "headers": {"content-type": "application/json"}})
    main = _load("session").main

    async def scenario() -> list[int]:
        async with web_server:
            result: list[int] = await main(web_server.url("/v1/"))
            return result

    assert run(scenario) == [1, 2, 1, 2]
    assert {seen.query for seen in web_server.to("/v1/items")} == {"page=1", "page=2"}
    assert len(web_server.to("/v1/report")) == 1
    assert "StatsSnapshot(total_requests=2" in capsys.readouterr().out


def test_middleware_example(web_server: Any, run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    web_server.script("/items", {"delay": SLOW, "body": b"primary"}, {"body": b"hedge"})
    web_server.set_default("/items", {"body": b"not hedged"})
    main = _load("middleware").main

    async def scenario() -> bytes:
        async with web_server:
            result: bytes = await main(web_server.url("/items"))
            return result

    assert run(scenario) == b"hedge"
    assert len(web_server.to("/items")) == 3
    assert capsys.readouterr().out.strip() == "1.0"  # the one eligible request was hedged


def test_writes_example(web_server: Any, run: Any) -> None:
    web_server.script("/payments", {"delay": SLOW, "status": 201}, {"status": 201})
    main = _load("writes").main

    async def scenario() -> int:
        async with web_server:
            result: int = await main(web_server.url("/payments"))
            return result

    assert run(scenario) == 201
    primary, hedge = web_server.to("/payments")
    assert primary.headers["idempotency-key"] == hedge.headers["idempotency-key"]
    assert json.loads(hedge.body) == {"amount": 10}


def test_streaming_example(web_server: Any, run: Any) -> None:
    web_server.script(
        "/stream",
        {"chunks": [b"data: primary\n\n"], "body_delay": SLOW},
        {"chunks": [b"data: one\n\n", b"data: two\n\n"], "chunk_delay": 0.05},
    )
    main = _load("streaming").main

    async def scenario() -> list[str]:
        async with web_server:
            result: list[str] = await main(web_server.url("/stream"))
            return result

    assert run(scenario) == ["one", "two"]
