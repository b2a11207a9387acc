"""The examples shown in the docs and the README run, and the docs show them verbatim."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hedge.testing import Reply, ScriptedServer

EXAMPLES = Path(__file__).parent / "examples"
PACKAGE = Path(__file__).resolve().parents[1]
DOCS_PAGE = PACKAGE.parents[1] / "docs" / "pages" / "adapters" / "tornado.md"


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tornado_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, *args: Any) -> Any:
    return asyncio.run(example(name).main(*args))


def python_blocks(path: Path) -> list[str]:
    return [block.strip() for block in re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL)]


# The examples use the default config, whose hedge delay before any estimate
# is 10 ms: on a busy machine a request may be hedged. Every path is scripted
# for two attempts, so a hedge gets the same answer as its primary.


def test_quickstart(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.script("/data", *[Reply(body=b'{"answer": 42}')] * 2)
    assert run("quickstart", server.url_for("/data")) == b'{"answer": 42}'
    assert capsys.readouterr().out.startswith("200 StatsSnapshot(")


def test_fetch_options(server: ScriptedServer) -> None:
    server.script("/orders", *[Reply(status=201)] * 2)
    server.script("/missing", *[Reply(status=404)] * 4)
    assert run("fetch_options", server.url) == [200, 200, 201, 200, 404, 404]
    for order in server.requests_to("/orders"):
        assert (order.body, order.headers["idempotency-key"]) == (b'{"sku": 1}', "order-42")
    assert {r.target for r in server.requests_to("/items")} == {"/items?page=1", "/items?page=2"}
    assert len(server.requests_to("/report")) == 1  # hedge=False


def test_streaming(server: ScriptedServer) -> None:
    server.script("/events", *[Reply(chunks=[b"data: 1\n\n", b"data: 2\n\n"], chunk_delay=0.05)] * 2)
    assert b"".join(run("streaming", server.url_for("/events"))) == b"data: 1\n\ndata: 2\n\n"


def test_seed_import_path(server: ScriptedServer) -> None:
    assert run("seed_import", server.url_for("/")) == 200


def test_the_docs_page_shows_every_example_verbatim() -> None:
    shown = python_blocks(DOCS_PAGE)
    for path in sorted(EXAMPLES.glob("*.py")):
        assert path.read_text().strip() in shown, f"{path.name} is not shown verbatim in {DOCS_PAGE.name}"


def test_the_readme_quick_start_is_the_example() -> None:
    assert (EXAMPLES / "quickstart.py").read_text().strip() in python_blocks(PACKAGE / "README.md")
