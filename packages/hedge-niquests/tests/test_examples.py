"""The examples of docs/pages/adapters/niquests.md run, and the page and README show them verbatim."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from hedge.testing import Reply, ScriptedServer

EXAMPLES = Path(__file__).parent / "examples"
PACKAGE = Path(__file__).resolve().parents[1]
DOCS_PAGE = PACKAGE.parents[1] / "docs" / "pages" / "adapters" / "niquests.md"


def shown(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)


def test_the_docs_page_shows_every_example_verbatim() -> None:
    blocks = shown(DOCS_PAGE)
    examples = {path.name: path.read_text() for path in sorted(EXAMPLES.glob("*.py"))}
    assert len(examples) == 5
    for name, source in examples.items():
        assert source in blocks, f"{name} is not shown verbatim in {DOCS_PAGE.name}"


def test_the_readme_shows_examples_verbatim() -> None:
    blocks = shown(PACKAGE / "README.md")
    sources = {path.read_text() for path in EXAMPLES.glob("*.py")}
    assert blocks
    assert all(block in sources for block in blocks)


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"niquests_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(default=Reply(body=b'{"ok": true}')) as running:
        yield running


def test_quickstart_async(server: ScriptedServer) -> None:
    assert asyncio.run(load("quickstart_async").main(server.url_for("/get"))) == '{"ok": true}'
    # The default warm-up delay is 10 ms: a busy machine may have sent a hedge too.
    assert {r.path for r in server.requests} == {"/get"}


def test_quickstart_sync(server: ScriptedServer) -> None:
    assert load("quickstart_sync").main(server.url) == '{"ok": true}'
    assert {r.target for r in server.requests} == {"/users?page=2"}


def test_mount_adapter(server: ScriptedServer) -> None:
    # Default delays: a loaded machine may hedge, so every attempt gets the same answer.
    server.script("/status", Reply(status=204, body=b""), Reply(status=204, body=b""))
    assert load("mount_adapter").main(server.url) == 204


def test_overrides(server: ScriptedServer) -> None:
    server.script("/items/7", Reply(status=201), Reply(status=201))
    server.script("/payments", Reply(status=202), Reply(status=202))
    statuses, snapshot = asyncio.run(load("overrides").main(server.url))
    assert statuses == [200, 200, 201, 202]
    assert (snapshot.passthrough_requests, snapshot.total_requests) == (2, 2)
    assert [r.path for r in server.requests if r.headers.get("x-hedge-attempt") is None] == [
        "/report",
        "/report",
        "/items/7",
        "/payments",
    ]
    # The override header is consumed by the adapter, never sent.
    assert all("x-hedge" not in r.headers for r in server.requests)


def test_streaming(server: ScriptedServer) -> None:
    server.script(
        "/sse",
        Reply(chunks=[b"data: slow\n\n"], body_delay=5.0),
        Reply(chunks=[b"data: one\n\n", b"data: two\n\n"], chunk_delay=0.01),
    )
    assert asyncio.run(load("streaming").main(server.url_for("/sse"))) == ["data: one", "data: two"]
